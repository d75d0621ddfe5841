import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseEgressPool } from '../core/egress.js'
import { parseVpnMaxPerSpace, parseVpnPool } from '../core/vpn.js'
import { checkPoolsApart } from './options.js'

describe('VPN flags', () => {
  test('--vpn-pool and --egress-pool must not share addresses', () => {
    const egress = [parseEgressPool('203.0.113.0/28')]
    assert.doesNotThrow(() => checkPoolsApart(egress, [parseVpnPool('198.51.100.0/28')]))
    assert.throws(
      () => checkPoolsApart(egress, [parseVpnPool('tokyo=203.0.113.8/29')]),
      /--vpn-pool 203\.0\.113\.8\/29 overlaps --egress-pool 203\.0\.113\.0\/28/,
    )
  })

  test('--vpn-max-per-space takes 1 to 64', () => {
    assert.equal(parseVpnMaxPerSpace('3'), 3)
    for (const bad of ['0', '65', 'two', '']) {
      assert.throws(
        () => parseVpnMaxPerSpace(bad),
        /--vpn-max-per-space must be a number from 1 to 64/,
      )
    }
  })
})
