import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { renderCustomerSwanctl, type VpnConfigView } from './vpn-config.js'
import {
  PSK_PATTERN,
  checkPrivateCidrs,
  newPreSharedKey,
  pickTunnelAddresses,
  parseVpnPool,
} from './vpn.js'

const VIEW: VpnConfigView = {
  name: 'office',
  space_cidr_block: '10.0.0.0/16',
  routable_cidrs: ['172.16.0.0/16', '192.168.50.0/24'],
  ike_version: 1,
  tunnels: [
    { ip: '198.51.100.1', customer_ip: '203.0.113.50', pre_shared_key: 'Abc.def_1' },
    { ip: '198.51.100.2', customer_ip: '203.0.113.50', pre_shared_key: 'Xyz.uvw_2' },
  ],
}

/** The body of the `name { … }` block that starts on the line `name {` (nesting counted). */
function block(text: string, name: string): string {
  const lines = text.split('\n')
  const start = lines.findIndex((l) => l.trim() === `${name} {`)
  assert.ok(start >= 0, `no block ${name}`)
  let depth = 0
  for (let i = start; i < lines.length; i++) {
    depth += (lines[i]!.match(/\{/g) ?? []).length - (lines[i]!.match(/\}/g) ?? []).length
    if (depth === 0) return lines.slice(start + 1, i).join('\n')
  }
  throw new Error(`unclosed block ${name}`)
}

const setting = (text: string, key: string): string[] =>
  text
    .split('\n')
    .filter((l) => l.trim().startsWith(`${key} = `))
    .map((l) => l.trim().slice(key.length + 3))

describe('renderCustomerSwanctl', () => {
  const conf = renderCustomerSwanctl(VIEW)

  test('one IKEv1 main-mode connection per tunnel: the customer gateway to our address', () => {
    for (const [i, t] of VIEW.tunnels.entries()) {
      const c = block(block(conf, 'connections'), `office-tunnel-${i + 1}`)
      assert.deepEqual(setting(c, 'version'), ['1'])
      assert.deepEqual(setting(c, 'aggressive'), ['no'])
      assert.deepEqual(setting(c, 'local_addrs'), [t.customer_ip])
      assert.deepEqual(setting(c, 'remote_addrs'), [t.ip])
      assert.deepEqual(setting(block(c, 'remote'), 'id'), [t.ip])
      assert.deepEqual(setting(block(c, 'local'), 'auth'), ['psk'])
      assert.deepEqual(setting(c, 'dpd_delay'), ['10s'])
      const proposals = 'aes128-sha1-modp2048,aes128-sha1-modp1024,aes256-sha256-modp2048'
      assert.deepEqual(setting(c, 'proposals'), [proposals])
      const child = block(block(c, 'children'), `office-tunnel-${i + 1}`)
      // The customer's networks are local; the space's network is the far side.
      assert.deepEqual(setting(child, 'local_ts'), ['172.16.0.0/16,192.168.50.0/24'])
      assert.deepEqual(setting(child, 'remote_ts'), ['10.0.0.0/16'])
      assert.deepEqual(setting(child, 'esp_proposals'), [proposals])
      assert.deepEqual(setting(child, 'dpd_action'), ['restart'])
    }
  })

  test('each tunnel has its own pre-shared key in secrets', () => {
    const secrets = block(conf, 'secrets')
    for (const [i, t] of VIEW.tunnels.entries()) {
      const s = block(secrets, `ike-office-tunnel-${i + 1}`)
      assert.deepEqual(setting(s, 'secret'), [`"${t.pre_shared_key}"`])
      assert.deepEqual(setting(s, 'id-2'), [t.ip])
    }
  })

  test('IKEv2 connections say version 2 and drop the IKEv1-only setting', () => {
    const v2 = renderCustomerSwanctl({ ...VIEW, ike_version: 2 })
    assert.deepEqual(setting(v2, 'version'), ['2', '2'])
    assert.deepEqual(setting(v2, 'aggressive'), [])
  })

  test('values that could change the file are refused, not written', () => {
    const t0 = VIEW.tunnels[0]!
    const evil: VpnConfigView[] = [
      { ...VIEW, name: 'x {\n}' },
      { ...VIEW, routable_cidrs: ['10.0.0.0/8\n}'] },
      { ...VIEW, routable_cidrs: [] },
      { ...VIEW, tunnels: [{ ...t0, pre_shared_key: 'a"b' }] },
      { ...VIEW, tunnels: [{ ...t0, ip: '1.2.3.4 remote_addrs = 6.6.6.6' }] },
      { ...VIEW, ike_version: 3 },
    ]
    for (const view of evil) assert.throws(() => renderCustomerSwanctl(view), /cannot render/)
  })
})

describe('VPN rules', () => {
  test('pre-shared keys: 32 of [A-Za-z0-9._], never a leading 0, never the same twice', () => {
    const keys = new Set<string>()
    for (let i = 0; i < 2000; i++) {
      const k = newPreSharedKey()
      assert.match(k, PSK_PATTERN)
      assert.notEqual(k[0], '0')
      keys.add(k)
    }
    assert.equal(keys.size, 2000)
  })

  test('routable CIDRs are normalised private networks', () => {
    assert.deepEqual(checkPrivateCidrs(['10.8.0.0/16', '192.168.1.0/24'], 'f'), [
      '10.8.0.0/16',
      '192.168.1.0/24',
    ])
    assert.throws(() => checkPrivateCidrs(['100.64.0.0/10'], 'f'), { statusCode: 422 })
  })

  test('tunnel addresses: two of the lowest free, or a 422 naming --vpn-pool', () => {
    const pool = parseVpnPool('198.51.100.0/29')
    assert.deepEqual(pickTunnelAddresses(pool, 'virginia', new Set(['198.51.100.1'])), [
      '198.51.100.2',
      '198.51.100.3',
    ])
    assert.throws(() => pickTunnelAddresses(undefined, 'tokyo', new Set()), /--vpn-pool tokyo=/)
    const full = new Set([
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.3',
      '198.51.100.4',
      '198.51.100.5',
    ])
    assert.throws(() => pickTunnelAddresses(pool, 'virginia', full), /--vpn-pool/)
    assert.throws(() => parseVpnPool('nope'), /--vpn-pool must be/)
  })
})
