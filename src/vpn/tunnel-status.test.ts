import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { tunnelsFromListing } from './tunnel-status.js'

const ike = (state: string, children: Record<string, string> = {}) => ({
  uniqueid: '1',
  state,
  'child-sas': Object.fromEntries(Object.entries(children).map(([k, v]) => [k, { state: v }])),
})

describe('tunnel status from list-sas', () => {
  test('UP needs an established IKE_SA and an installed CHILD_SA', () => {
    const m = tunnelsFromListing([
      { 'c-t1': ike('ESTABLISHED', { 'c-t1-1': 'INSTALLED' }) },
      { 'c-t2': ike('ESTABLISHED') },
    ])
    assert.equal(m.get('c-t1')?.status, 'UP')
    assert.equal(m.get('c-t2')?.status, 'DOWN')
    assert.equal(m.get('c-t2')?.statusMessage, 'IKE_SA established, no CHILD_SA')
  })

  test('a connecting IKE_SA is DOWN, with its state as the message', () => {
    const m = tunnelsFromListing([{ 'c-t1': ike('CONNECTING') }])
    assert.deepEqual(m.get('c-t1'), { status: 'DOWN', statusMessage: 'IKE_SA CONNECTING' })
  })

  test('an SA in the middle of a rekey still carries traffic: UP', () => {
    const m = tunnelsFromListing([{ 'c-t1': ike('ESTABLISHED', { a: 'REKEYING' }) }])
    assert.equal(m.get('c-t1')?.status, 'UP')
  })

  test('a duplicate IKE_SA that is down does not hide one that is up, in any order', () => {
    const up = { 'c-t1': ike('ESTABLISHED', { a: 'INSTALLED' }) }
    const down = { 'c-t1': ike('CONNECTING') }
    assert.equal(tunnelsFromListing([up, down]).get('c-t1')?.status, 'UP')
    assert.equal(tunnelsFromListing([down, up]).get('c-t1')?.status, 'UP')
  })

  test("names that are not our tunnels' are ignored, and odd shapes do not throw", () => {
    const m = tunnelsFromListing([
      { office: ike('ESTABLISHED', { a: 'INSTALLED' }) },
      { 'c-t1': 'not a section' },
      { 'c-t2': { state: 'ESTABLISHED', 'child-sas': ['x'] } },
    ])
    assert.deepEqual([...m.keys()], ['c-t2'])
    assert.equal(m.get('c-t2')?.status, 'DOWN')
  })
})
