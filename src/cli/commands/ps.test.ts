import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseScaleArgs } from './ps.js'

describe('parseScaleArgs', () => {
  const cases: Array<[string, object]> = [
    ['web=2', { type: 'web', quantity: '2' }],
    ['web=0', { type: 'web', quantity: '0' }],
    ['web=3:Private-M', { type: 'web', quantity: '3', size: 'Private-M' }],
    ['worker+1', { type: 'worker', quantity: '+1' }],
    ['worker-2', { type: 'worker', quantity: '-2' }],
    ['my-worker+1', { type: 'my-worker', quantity: '+1' }],
    ['clock_1=1:private-l', { type: 'clock_1', quantity: '1', size: 'private-l' }],
    ['web=2:Shield-L', { type: 'web', quantity: '2', size: 'Private-L' }],
    ['web=2:shield-s', { type: 'web', quantity: '2', size: 'Private-s' }],
  ]
  for (const [arg, expected] of cases) {
    test(`${arg} becomes ${JSON.stringify(expected)}`, () => {
      assert.deepEqual(parseScaleArgs([arg]), [expected])
    })
  }

  test('quantities stay strings, as the API takes relative values', () => {
    const [update] = parseScaleArgs(['web+10'])
    assert.equal(typeof update?.quantity, 'string')
  })

  test('several arguments make several updates, in order', () => {
    assert.deepEqual(parseScaleArgs(['web=2:Private-M', 'worker+1']), [
      { type: 'web', quantity: '2', size: 'Private-M' },
      { type: 'worker', quantity: '+1' },
    ])
  })

  test('no arguments means no updates (ps:scale then prints the formation)', () => {
    assert.deepEqual(parseScaleArgs([]), [])
  })

  for (const bad of ['web', 'web=', 'web=two', '=2', 'web=2:', 'web*2', 'web=2:Private M']) {
    test(`${JSON.stringify(bad)} is rejected rather than ignored`, () => {
      assert.throws(() => parseScaleArgs(['web=1', bad]), /not a valid scale argument/)
    })
  }
})
