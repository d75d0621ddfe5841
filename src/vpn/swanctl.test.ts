import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { renderSettings } from '../core/settings-text.js'
import {
  ESP_PROPOSALS,
  IKE_PROPOSALS,
  renderCustomerSwanctl,
  type CustomerVpnConfig,
} from '../core/vpn-config.js'
import { renderStrongswanConf, strongswanPlugins } from './strongswan-conf.js'
import { parseTunnelName, renderSpaceSwanctl, tunnelName } from './swanctl.js'
import type { DesiredVpnSpace } from './types.js'

const PSK1 = 'A'.repeat(31) + '1'
const PSK2 = 'b._' + 'c'.repeat(29)

const space = (over: Partial<DesiredVpnSpace> = {}): DesiredVpnSpace => ({
  spaceId: 'space-1',
  netns: 'lsg-1',
  spaceCidr: '10.0.0.0/16',
  connections: [
    {
      id: 'conn-1',
      name: 'office',
      ikeVersion: 1,
      routableCidrs: ['172.16.0.0/16', '192.168.50.0/24'],
      tunnels: [
        { localIp: '203.0.113.1', customerIp: '203.0.113.50', psk: PSK1 },
        { localIp: '203.0.113.2', customerIp: '203.0.113.50', psk: PSK2 },
      ],
    },
  ],
  ...over,
})

/** The value of `key` inside the section at `path` (sections named by their opening line). */
function setting(text: string, path: string[], key: string): string | undefined {
  const stack: string[] = []
  for (const raw of text.split('\n')) {
    const line = raw.trim()
    if (line.endsWith('{')) stack.push(line.slice(0, -1).trim())
    else if (line === '}') stack.pop()
    else if (stack.join('/') === path.join('/')) {
      const m = /^(\S+) = (.*)$/.exec(line)
      if (m?.[1] === key) return m[2]
    }
  }
  return undefined
}

describe('our side: renderSpaceSwanctl', () => {
  const text = renderSpaceSwanctl(space())

  test('one IKEv1 main-mode connection per tunnel, our address to the customer', () => {
    for (const [i, ip] of [
      [0, '203.0.113.1'],
      [1, '203.0.113.2'],
    ] as const) {
      const c = ['connections', tunnelName('conn-1', i)]
      assert.equal(setting(text, c, 'version'), '1')
      assert.equal(setting(text, c, 'aggressive'), 'no')
      assert.equal(setting(text, c, 'local_addrs'), ip)
      assert.equal(setting(text, c, 'remote_addrs'), '203.0.113.50')
      assert.equal(setting(text, c, 'proposals'), IKE_PROPOSALS)
      assert.equal(setting(text, c, 'dpd_delay'), '10s')
      assert.equal(setting(text, c, 'dpd_timeout'), '30s')
      assert.equal(setting(text, [...c, 'local'], 'auth'), 'psk')
      assert.equal(setting(text, [...c, 'local'], 'id'), ip)
      assert.equal(setting(text, [...c, 'remote'], 'id'), '203.0.113.50')
    }
  })

  test('the proposals are the seed and its two companions', () => {
    assert.equal(IKE_PROPOSALS, 'aes128-sha1-modp2048,aes128-sha1-modp1024,aes256-sha256-modp2048')
    assert.ok(ESP_PROPOSALS.startsWith(IKE_PROPOSALS))
  })

  test('traffic selectors: the space CIDR only, to the routable CIDRs; we initiate', () => {
    const child = ['connections', 'conn-1-t1', 'children', 'conn-1-t1']
    assert.equal(setting(text, child, 'local_ts'), '10.0.0.0/16')
    assert.equal(setting(text, child, 'remote_ts'), '172.16.0.0/16,192.168.50.0/24')
    assert.equal(setting(text, child, 'start_action'), 'start')
    assert.equal(setting(text, child, 'dpd_action'), 'restart')
  })

  test('one PSK per tunnel, owned by both addresses', () => {
    assert.equal(setting(text, ['secrets', 'ike-conn-1-t1'], 'secret'), PSK1)
    assert.equal(setting(text, ['secrets', 'ike-conn-1-t1'], 'id-gateway'), '203.0.113.1')
    assert.equal(setting(text, ['secrets', 'ike-conn-1-t2'], 'secret'), PSK2)
    assert.equal(setting(text, ['secrets', 'ike-conn-1-t2'], 'id-customer'), '203.0.113.50')
  })

  test('IKEv2 when the connection asks for it (no aggressive, no IKEv1 DPD timeout)', () => {
    const v2 = space()
    v2.connections[0]!.ikeVersion = 2
    const t = renderSpaceSwanctl(v2)
    assert.equal(setting(t, ['connections', 'conn-1-t1'], 'version'), '2')
    assert.equal(setting(t, ['connections', 'conn-1-t1'], 'aggressive'), undefined)
    assert.equal(setting(t, ['connections', 'conn-1-t1'], 'dpd_timeout'), undefined)
  })

  test('no connections: empty sections, which unload everything', () => {
    const t = renderSpaceSwanctl(space({ connections: [] }))
    assert.match(t, /^connections \{\n\}\nsecrets \{\n\}\n$/m)
  })

  test('refuses input that could inject settings, and malformed values', () => {
    const bad = (mutate: (s: DesiredVpnSpace) => void) => {
      const s = space()
      mutate(s)
      return () => renderSpaceSwanctl(s)
    }
    assert.throws(
      bad((s) => (s.connections[0]!.tunnels[0]!.psk = 'x'.repeat(31) + '\n')),
      /pre-shared/,
    )
    assert.throws(
      bad((s) => (s.connections[0]!.tunnels[0]!.psk = 'short')),
      /pre-shared/,
    )
    assert.throws(
      bad((s) => (s.connections[0]!.routableCidrs = ['172.16.0.0/16 }'])),
      /CIDR/,
    )
    assert.throws(
      bad((s) => (s.connections[0]!.routableCidrs = ['172.16.0.1/16'])),
      /CIDR/,
    )
    assert.throws(
      bad((s) => (s.connections[0]!.routableCidrs = [])),
      /no CIDRs/,
    )
    assert.throws(
      bad((s) => (s.connections[0]!.tunnels[1]!.customerIp = '1.2.3')),
      /IPv4/,
    )
    assert.throws(
      bad((s) => (s.connections[0]!.id = 'a b')),
      /unsafe/,
    )
    assert.throws(
      bad((s) => (s.spaceCidr = '10.0.0.0')),
      /CIDR/,
    )
    assert.throws(() => renderSettings({ k: 'a\nb = c' }), /unsafe value/)
    assert.throws(() => renderSettings({ 'k}': 'v' }), /unsafe setting name/)
  })

  test('tunnel names parse back; foreign names do not', () => {
    assert.deepEqual(parseTunnelName(tunnelName('conn-1', 1)), {
      connectionId: 'conn-1',
      tunnelIndex: 1,
    })
    assert.equal(parseTunnelName('office-tunnel1'), undefined)
  })
})

describe("the customer's side: renderCustomerSwanctl", () => {
  const printed: CustomerVpnConfig = {
    name: 'office',
    space_cidr_block: '10.0.0.0/16',
    ike_version: 1,
    routable_cidrs: ['172.16.0.0/16'],
    tunnels: [
      { ip: '203.0.113.1', customer_ip: '203.0.113.50', pre_shared_key: PSK1 },
      { ip: '203.0.113.2', customer_ip: '203.0.113.50', pre_shared_key: PSK2 },
    ],
  }
  const text = renderCustomerSwanctl(printed)

  test('mirrors ours: the customer address to each VPN gateway, the same PSKs', () => {
    for (const [i, ip, psk] of [
      [1, '203.0.113.1', PSK1],
      [2, '203.0.113.2', PSK2],
    ] as const) {
      const c = ['connections', `office-tunnel${i}`]
      assert.equal(setting(text, c, 'local_addrs'), '203.0.113.50')
      assert.equal(setting(text, c, 'remote_addrs'), ip)
      assert.equal(setting(text, c, 'version'), '1')
      assert.equal(
        setting(text, [...c, 'children', `office-tunnel${i}`], 'local_ts'),
        '172.16.0.0/16',
      )
      assert.equal(
        setting(text, [...c, 'children', `office-tunnel${i}`], 'remote_ts'),
        '10.0.0.0/16',
      )
      assert.equal(setting(text, ['secrets', `ike-office-tunnel${i}`], 'secret'), psk)
    }
  })

  test('it answers and re-arms on traffic instead of racing our initiator', () => {
    const child = ['connections', 'office-tunnel1', 'children', 'office-tunnel1']
    assert.equal(setting(text, child, 'start_action'), 'trap')
    assert.equal(setting(text, child, 'dpd_action'), 'trap')
  })

  test('a connection name that is not a safe section name is cleaned', () => {
    const t = renderCustomerSwanctl({ ...printed, name: 'my office {x}' })
    assert.ok(setting(t, ['connections', 'my-office--x--tunnel1'], 'version'))
  })

  test('refuses what it cannot render', () => {
    assert.throws(() => renderCustomerSwanctl({ ...printed, ike_version: 3 }), /IKE version/)
    assert.throws(() => renderCustomerSwanctl({ ...printed, routable_cidrs: [] }), /no routable/)
  })
})

describe('strongswan.conf', () => {
  test('kernel-libipsec before kernel-netlink only without kernel ESP', () => {
    const userspace = strongswanPlugins(false)
    assert.ok(userspace.indexOf('kernel-libipsec') >= 0)
    assert.ok(userspace.indexOf('kernel-libipsec') < userspace.indexOf('kernel-netlink'))
    assert.equal(strongswanPlugins(true).includes('kernel-libipsec'), false)
    assert.ok(strongswanPlugins(true).includes('vici'))
  })

  test('the vici socket and the log are the space directory ones', () => {
    const text = renderStrongswanConf({
      viciSocket: '/var/lib/localspace/vpn/s1/charon.vici',
      logFile: '/var/lib/localspace/vpn/s1/charon.log',
      kernelEsp: false,
    })
    assert.equal(
      setting(text, ['charon', 'plugins', 'vici'], 'socket'),
      'unix:///var/lib/localspace/vpn/s1/charon.vici',
    )
    assert.equal(setting(text, ['charon'], 'load_modular'), 'no')
    assert.match(setting(text, ['charon'], 'load') ?? '', /kernel-libipsec kernel-netlink/)
    assert.equal(
      setting(text, ['charon', 'filelog', 'charon'], 'path'),
      '/var/lib/localspace/vpn/s1/charon.log',
    )
  })
})
