import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseEgressPool, pickEgressAddresses, poolFor } from './egress.js'

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
    assert.deepEqual(pickEgressAddresses(pool, new Set()), ['203.0.113.1', '203.0.113.2'])
    assert.throws(() => pickEgressAddresses(pool, new Set(['203.0.113.1'])), {
      id: 'invalid_params',
    })
    assert.deepEqual(pickEgressAddresses(parseEgressPool('203.0.113.8/31'), new Set()), [
      '203.0.113.8',
      '203.0.113.9',
    ])
  })
})
