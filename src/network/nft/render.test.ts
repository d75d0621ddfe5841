import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { run } from '../../exec/run.js'
import { desiredVpnGateway } from '../vpn-gateway.js'
import {
  renderBridgeTable,
  renderDelta,
  renderFirewall,
  renderGatewayFirewall,
  renderInetTable,
  renderSettings,
  renderSpace,
  renderStructure,
  type FirewallState,
} from './render.js'

const space = (n: number, egress: string[]) => ({
  dynoBridge: `lsb-0000000${n}`,
  dataBridge: `lsd-0000000${n}`,
  cidr: `10.${2 * n}.0.0/16`,
  dataCidr: `10.${2 * n + 1}.0.0/16`,
  gateway: `10.${2 * n}.0.1`,
  internalRouter: `10.${2 * n}.0.3`,
  egress,
})

const state: FirewallState = {
  spaces: [space(1, ['203.0.113.10', '203.0.113.11']), space(2, [])],
  attachments: [
    { veth: 'lsv-00000001', address: '10.2.128.1' },
    { veth: 'lsv-00000002', address: '10.4.128.1' },
  ],
  routerListeners: [{ address: '0.0.0.0', port: 8080 }],
  egressInterface: 'eth-out',
  allowedPrivate: [],
}

const withBuilds: FirewallState = {
  ...state,
  buildNetwork: { bridge: 'lsc-00000000', cidr: '100.127.252.0/22', gateway: '100.127.252.1' },
  attachments: [...state.attachments, { veth: 'lsv-00000009', address: '100.127.252.16' }],
}

/** Space 1 with a VPN (the same remote CIDR as space 2's), a peer network, a peering with 2. */
const gateway1 = desiredVpnGateway(
  { id: '00000001-0000-4000-8000-000000000000', cidr: '10.2.0.0/16', dataCidr: '10.3.0.0/16' },
  ['203.0.113.50', '203.0.113.51'],
  ['172.16.0.0/16', '192.168.50.0/24'],
)
const gateway2 = desiredVpnGateway(
  { id: '00000002-0000-4000-8000-000000000000', cidr: '10.4.0.0/16', dataCidr: '10.5.0.0/16' },
  ['203.0.113.52', '203.0.113.53'],
  ['172.16.0.0/16'],
)
const withVpn: FirewallState = {
  ...state,
  vpnGateways: [gateway1, gateway2],
  peerNetworks: [
    {
      dynoBridge: 'lsb-00000001',
      cidr: '10.2.0.0/16',
      internalRouter: '10.2.0.3',
      iface: 'peer0',
      cidrs: ['10.99.0.0/16'],
      gateway: '192.168.200.2',
    },
  ],
  spacePeerings: [
    {
      a: { dynoBridge: 'lsb-00000001', internalRouter: '10.2.0.3' },
      b: { dynoBridge: 'lsb-00000002', internalRouter: '10.4.0.3' },
    },
  ],
}

/** nft's own parser in check mode: validates without touching the kernel's rules. */
async function nftAccepts(text: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-nft-'))
  try {
    writeFileSync(join(dir, 'rules.nft'), text)
    await run('nft', ['-c', '-f', join(dir, 'rules.nft')])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('firewall rendering', () => {
  test('the same state renders the same text', () => {
    assert.equal(renderFirewall(state), renderFirewall(structuredClone(state)))
  })

  test('a space with two outbound addresses picks one by a hash of the dyno address', () => {
    assert.match(
      renderInetTable(state),
      /chain snat-00000001 \{\n\s+snat ip to jhash ip saddr mod 2 seed 0x6c73 map \{ 0 : 203\.0\.113\.10, 1 : 203\.0\.113\.11 \}\n/,
    )
    // Reached from postrouting, for the space's addresses only, when they leave for outside.
    assert.match(renderInetTable(state), /10\.2\.0\.0\/16 : jump snat-00000001/)
    assert.match(renderInetTable(state), /oifname "eth-out" ip saddr vmap @snat_spaces/)
  })

  test('a space without outbound addresses is masqueraded', () => {
    assert.match(renderInetTable(state), /chain snat-00000002 \{\n\s+masquerade\n/)
  })

  test('dynos reach only DNS and the internal router of their own gateway', () => {
    const text = renderInetTable(state)
    assert.match(text, /"lsb-00000001" \. 10\.2\.0\.1 \. udp \. 53/)
    assert.match(text, /"lsb-00000001" \. 10\.2\.0\.3 \. tcp \. 443/)
    assert.doesNotMatch(text, /"lsb-00000001" \. 10\.4\.0\.1/)
  })

  test('interface wildcards are only trailing ones, the only kind nft matches', () => {
    // `"ls[bd]-*"` compiles to a literal prefix compare and matches nothing.
    const text = renderFirewall(state)
    for (const m of text.matchAll(/"([^"]*\*[^"]*)"/g)) assert.match(m[1]!, /^[\w-]+\*$/)
  })

  test("the outside world never reaches a space's host addresses", () => {
    const text = renderInetTable(state)
    assert.match(
      text,
      /iifname != \{ "lo", "lsb-\*", "lsc-\*", "lsd-\*" \} ip daddr @space_nets counter drop/,
    )
    assert.match(text, /10\.2\.0\.0\/16,\s+10\.3\.0\.0\/16/)
  })

  test('the rule count does not grow with dynos', () => {
    const many = {
      ...state,
      attachments: Array.from({ length: 1000 }, (_, i) => ({
        veth: `lsv-${i.toString(16).padStart(8, '0')}`,
        address: `10.2.${128 + (i >> 8)}.${(i & 255) + 1}`,
      })),
    }
    const rules = (text: string) =>
      text.split('\n').filter((l) => /^\s{4}(iifname|oifname|ip) /.test(l)).length
    assert.equal(rules(renderFirewall(many)), rules(renderFirewall(state)))
  })

  test('the delta deletes and adds exactly the dyno elements it is given', () => {
    const delta = renderDelta({
      add: [{ veth: 'lsv-00000003', address: '10.2.128.3' }],
      remove: [
        { veth: 'lsv-00000001', address: '10.2.128.1' },
        { veth: 'lsv-00000004', address: '10.2.128.4' },
      ],
    })
    assert.deepEqual(delta, [
      'delete element bridge localspace attachments { "lsv-00000001" . 10.2.128.1, "lsv-00000004" . 10.2.128.4 }',
      'add element bridge localspace attachments { "lsv-00000003" . 10.2.128.3 }',
    ])
    // The elements are written as the whole render writes them, so a listing of either
    // compares equal.
    assert.ok(renderFirewall(state).includes('"lsv-00000001" . 10.2.128.1'))
    // Nothing changed: no commands at all (nft refuses an empty `{ }`).
    assert.deepEqual(renderDelta({ add: [], remove: [] }), [])
  })

  test('a space as a delta carries every element the whole render gives it, and its chain', () => {
    const s = state.spaces[0]!
    const delta = renderDelta({ addSpaces: [s] })
    assert.equal(delta.join('\n'), renderSpace(s))
    assert.deepEqual(delta.slice(0, 2), [
      'add chain inet localspace snat-00000001',
      'add rule inet localspace snat-00000001 snat ip to jhash ip saddr mod 2 seed 0x6c73 map { 0 : 203.0.113.10, 1 : 203.0.113.11 }',
    ])
    const whole = renderInetTable(state)
    for (const command of delta.slice(2)) {
      const items = /^add element inet localspace \w+ \{ (.*) \}$/.exec(command)![1]!
      for (const item of items.split(', ')) assert.ok(whole.includes(item), item)
    }
    // Removed: its elements first (the map's jump among them), then its chain, emptied.
    const gone = renderDelta({ removeSpaces: [s] })
    assert.deepEqual(gone.slice(-2), [
      'flush chain inet localspace snat-00000001',
      'delete chain inet localspace snat-00000001',
    ])
    assert.ok(gone.some((c) => /^delete element inet localspace snat_spaces /.test(c)))
  })

  test('the structure is everything but the dyno elements', () => {
    assert.equal(renderStructure(state), renderStructure({ ...state, attachments: [] }))
    assert.doesNotMatch(renderStructure(state), /lsv-0/)
    assert.notEqual(
      renderStructure(state),
      renderStructure({ ...state, spaces: state.spaces.slice(1) }),
    )
  })

  test('the build network: DNS on its gateway, masqueraded, isolated, no router listeners', () => {
    const text = renderFirewall(withBuilds)
    assert.match(text, /"lsc-00000000" \. 100\.127\.252\.1 \. udp \. 53/)
    assert.match(text, /"lsc-00000000" \. 100\.127\.252\.1 \. tcp \. 53/)
    // Its gateway is kept from the outside like a space's host addresses.
    assert.match(text, /set space_nets \{[^}]*100\.127\.252\.0\/22/)
    // Leaves as the host, before the spaces' outbound addresses are looked up.
    assert.match(
      text,
      /oifname "eth-out" ip saddr 100\.127\.252\.0\/22 masquerade\n\s+oifname "eth-out" ip saddr vmap @snat_spaces/,
    )
    // The router's listeners are for spaces' dynos only.
    assert.match(text, /iifname "lsb-\*" meta l4proto tcp ip daddr \. th dport @router_listeners/)
    // The internet and allowed ranges as for a dyno; private ranges dropped before.
    assert.match(text, /iifname \{ "lsb-\*", "lsc-\*" \} ip daddr @reserved counter drop/)
    assert.match(text, /iifname \{ "lsb-\*", "lsc-\*" \} oifname "eth-out" accept/)
    // No frame from one build reaches another across its bridge.
    assert.match(
      text,
      /chain forward \{[^}]*ether type ip ip saddr 100\.127\.252\.0\/22 counter drop/,
    )
    assert.doesNotMatch(renderFirewall(state), /100\.127\.252/)
    // A setting: a delta never adds or removes it.
    assert.notEqual(renderSettings(withBuilds), renderSettings(state))
  })

  test('a space reaches its own VPN and peer CIDRs, and only through their interfaces', () => {
    const text = renderInetTable(withVpn)
    // Each space's remote CIDRs, turning around on its own bridge (via its gateway, C.0.4).
    assert.match(text, /"lsb-00000001" \. 172\.16\.0\.0\/16 \. "lsb-00000001"/)
    assert.match(text, /"lsb-00000001" \. 192\.168\.50\.0\/24 \. "lsb-00000001"/)
    assert.match(text, /"lsb-00000002" \. 172\.16\.0\.0\/16 \. "lsb-00000002"/)
    assert.match(text, /"lsb-00000001" \. 10\.99\.0\.0\/16 \. "peer0"/)
    assert.doesNotMatch(text, /"lsb-00000002" \. 10\.99\.0\.0\/16/)
    // Admitted before the private ranges are refused, and never translated.
    const forward = text.slice(text.indexOf('chain forward {'), text.indexOf('chain output {'))
    assert.ok(
      forward.indexOf('@space_routes accept') < forward.indexOf('@reserved counter drop'),
      forward,
    )
    assert.match(
      text,
      /srcnat; policy accept;\n\s+#[^\n]*\n\s+iifname \. ip daddr \. oifname @space_routes accept\n/,
    )
    // Without a VPN or peer the set is empty: the "no private ranges" rule holds as before.
    assert.match(
      renderInetTable(state),
      /set space_routes \{\n\s+type ifname \. ipv4_addr \. ifname\n\s+flags interval\n\s+\}/,
    )
  })

  test('a peer network reaches only its space’s internal router; peered spaces each other’s', () => {
    const text = renderInetTable(withVpn)
    assert.match(text, /"peer0" \. 10\.99\.0\.0\/16 \. 10\.2\.0\.3 \. tcp \. 80/)
    assert.match(text, /"peer0" \. 10\.99\.0\.0\/16 \. 10\.2\.0\.3 \. tcp \. 443/)
    assert.doesNotMatch(text, /"peer0" \. 10\.99\.0\.0\/16 \. 10\.2\.0\.1/)
    // First in input: before space addresses are refused to every other interface.
    assert.match(
      text,
      /policy accept;\n\s+# A peer[^\n]*\n\s+iifname \. ip saddr \. ip daddr \. meta l4proto \. th dport @peer_services accept/,
    )
    assert.match(text, /"lsb-00000001" \. 10\.4\.0\.3 \. tcp \. 443/)
    assert.match(text, /"lsb-00000002" \. 10\.2\.0\.3 \. tcp \. 80/)
    assert.doesNotMatch(text, /"lsb-00000001" \. 10\.4\.0\.1/)
    assert.doesNotMatch(renderInetTable(state), /"lsb-00000001" \. 10\.4\.0\.3/)
  })

  test('a gateway’s bridge port sends from its own address and its remote CIDRs only', () => {
    const text = renderBridgeTable(withVpn)
    assert.match(text, /"lsg-00000001" \. 10\.2\.0\.4,/)
    assert.match(text, /"lsg-00000001" \. 172\.16\.0\.0\/16/)
    assert.match(
      text,
      /iifname "lsg-\*" ether type ip iifname \. ip saddr != @gateway_sources counter drop/,
    )
    assert.match(
      text,
      /iifname "lsg-\*" ether type arp iifname \. arp saddr ip != @gateway_sources/,
    )
    // A VPN is a setting: adding one replaces the tables whole.
    assert.notEqual(renderSettings(withVpn), renderSettings(state))
  })

  test('the gateway’s own firewall: IKE in, the tunnels to the space’s router, DNS and dynos', () => {
    const text = renderGatewayFirewall(gateway1)
    assert.match(
      text,
      /set tunnel \{\n\s+type ipv4_addr\n\s+elements = \{ 203\.0\.113\.50,\n\s+203\.0\.113\.51 \}/,
    )
    assert.match(text, /iifname "ext0" ip daddr @tunnel udp dport \{ 500, 4500 \} accept/)
    assert.match(text, /iifname "ext0" ip daddr @tunnel meta l4proto esp accept/)
    assert.match(text, /chain input \{\n\s+type filter hook input priority filter; policy drop;/)
    assert.match(
      text,
      /chain forward \{\n\s+type filter hook forward priority filter; policy drop;/,
    )
    assert.match(text, /iifname "eth0" ip saddr 10\.2\.0\.0\/16 ip daddr @remote accept/)
    assert.match(text, /iifname "ext0" meta secpath missing counter drop/)
    assert.match(
      text,
      /ip daddr \. meta l4proto \. th dport \{ 10\.2\.0\.3 \. tcp \. 80, 10\.2\.0\.3 \. tcp \. 443, 10\.2\.0\.1 \. udp \. 53, 10\.2\.0\.1 \. tcp \. 53 \} accept/,
    )
    assert.match(
      text,
      /ip daddr \{ 10\.2\.128\.0\/20, 10\.2\.144\.0\/20, 10\.2\.160\.0\/20 \} accept/,
    )
    // Never the data network, the host's other addresses, or the world.
    assert.doesNotMatch(text, /10\.3\.|10\.2\.0\.0\/16 accept|0\.0\.0\.0/)
  })

  test('a follower in another space reaches its leader’s replication port, nothing more', () => {
    const withFollower: FirewallState = {
      ...state,
      dataReplication: [{ follower: '10.5.0.10', leader: '10.3.0.10', port: 5432 }],
    }
    const text = renderInetTable(withFollower)
    assert.match(
      text,
      /set data_replication \{[^}]*elements = \{ 10\.5\.0\.10 \. 10\.3\.0\.10 \. 5432 \}/,
    )
    const forward = text.slice(text.indexOf('chain forward {'), text.indexOf('chain output {'))
    const rule = forward.indexOf(
      'iifname "lsd-*" oifname "lsd-*" meta l4proto tcp ip saddr . ip daddr . th dport @data_replication accept',
    )
    assert.ok(rule > 0 && rule < forward.indexOf('counter drop'), forward)
    // Without followers: an empty set, the data networks closed to each other as before.
    assert.doesNotMatch(renderInetTable(state), /10\.5\.0\.10 \. 10\.3\.0\.10/)
  })

  test('the host opens no connection into a data network', () => {
    const text = renderInetTable(state)
    const output = text.slice(text.indexOf('chain output {'), text.indexOf('chain postrouting {'))
    assert.match(output, /oifname "lsd-\*" meta l4proto \{ tcp, udp \} ct state new counter drop/)
  })

  // Runs nft, so as root like the rest of the host tests.
  test('nft accepts the rendered firewall, empty and full', async () => {
    await nftAccepts(renderFirewall(withVpn))
    await nftAccepts(renderGatewayFirewall(gateway1))
    await nftAccepts(renderGatewayFirewall({ ...gateway1, tunnelAddresses: [], remoteCidrs: [] }))
    await nftAccepts(renderFirewall(state))
    await nftAccepts(renderFirewall(withBuilds))
    await nftAccepts(
      renderFirewall({
        ...state,
        dataReplication: [{ follower: '10.5.0.10', leader: '10.3.0.10', port: 5432 }],
      }),
    )
    await nftAccepts(
      renderFirewall({ spaces: [], attachments: [], routerListeners: [], allowedPrivate: [] }),
    )
  })
})
