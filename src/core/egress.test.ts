import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  parseEgressPerSpace,
  parseEgressPool,
  pickEgressAddresses,
  planEgressTopUp,
  poolFor,
} from './egress.js'

describe('egress pools', () => {
  test('a pool may name its region or serve all of them', () => {
    assert.equal(parseEgressPool('tokyo=203.0.113.0/28').region, 'tokyo')
    assert.equal(parseEgressPool('203.0.113.0/28').region, undefined)
    const pools = [parseEgressPool('tokyo=203.0.113.0/28'), parseEgressPool('198.51.100.0/24')]
    assert.equal(poolFor(pools, 'tokyo')?.text, '203.0.113.0/28')
    assert.equal(poolFor(pools, 'oregon')?.text, '198.51.100.0/24')
    assert.equal(poolFor([pools[0]!], 'oregon'), undefined)
  })

  test('a malformed pool is refused with the flag named', () => {
    for (const bad of ['203.0.113.1/28', 'nope', 'Tokyo=203.0.113.0/28', '203.0.113.0/33']) {
      assert.throws(() => parseEgressPool(bad), /--egress-pool/)
    }
  })

  test('addresses are the lowest free ones, never the network or broadcast address', () => {
    const pool = parseEgressPool('203.0.113.0/30')
    assert.deepEqual(pickEgressAddresses(pool, new Set(), 2), ['203.0.113.1', '203.0.113.2'])
    assert.throws(() => pickEgressAddresses(pool, new Set(['203.0.113.1']), 2), {
      id: 'invalid_params',
    })
    assert.deepEqual(pickEgressAddresses(parseEgressPool('203.0.113.8/31'), new Set(), 2), [
      '203.0.113.8',
      '203.0.113.9',
    ])
  })

  test('--egress-per-space takes 1 to 64', () => {
    assert.equal(parseEgressPerSpace('4'), 4)
    for (const bad of ['0', '65', '-1', '2.5', 'four', '']) {
      assert.throws(() => parseEgressPerSpace(bad), /--egress-per-space/)
    }
  })

  test('a top-up adds only what is missing, oldest space first, and names the shortfall', () => {
    const pool = parseEgressPool('203.0.113.0/29') // .1 to .6
    const spaces = [
      { id: 'a', name: 'old', region: 'tokyo', addresses: ['203.0.113.1', '203.0.113.2'] },
      { id: 'b', name: 'new', region: 'tokyo', addresses: ['203.0.113.3', '203.0.113.4'] },
    ]
    const taken = new Set(spaces.flatMap((s) => s.addresses))
    const plan = planEgressTopUp(spaces, [pool], taken, 4)
    assert.deepEqual([...plan.additions], [['a', ['203.0.113.5', '203.0.113.6']]])
    assert.deepEqual(plan.short, [
      'space new has 2 of 4 outbound addresses: the pool 203.0.113.0/29 is exhausted',
    ])
    assert.deepEqual(planEgressTopUp(spaces, [pool], taken, 2), { additions: new Map(), short: [] })
    assert.deepEqual(planEgressTopUp(spaces, [], taken, 4), { additions: new Map(), short: [] })
  })
})
