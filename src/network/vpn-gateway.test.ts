import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InvalidNetworkStateError, NetworkConflictError } from './errors.js'
import { renderGatewayFirewall } from './nft/render.js'
import { spaceRouteTable } from './names.js'
import { planHost } from './plan.js'
import { recordingExec } from './testing/recording-exec.js'
import type { DesiredHost, DesiredSpaceNetwork, ObservedHost, ObservedLink } from './types.js'
import { applyVpnActions } from './vpn-apply.js'
import {
  desiredVpnGateway,
  GATEWAY_LINK_ADDRESS,
  planVpn,
  type GatewayFirewalls,
  type VpnAction,
} from './vpn-gateway.js'
import {
  parseOwnedRoutes,
  parseOwnedRules,
  parseProxies,
  type ObservedGateway,
  type ObservedVpn,
} from './vpn-observe.js'

const SPACE_A = '0000000a-0000-4000-8000-000000000000'
const SPACE_B = '0000000b-0000-4000-8000-000000000000'

const spaceNet = (hex: string, second: number): DesiredSpaceNetwork => ({
  dynoBridge: `lsb-${hex}`,
  dataBridge: `lsd-${hex}`,
  cidr: `10.${second}.0.0/16`,
  dataCidr: `10.${second + 1}.0.0/16`,
  gateway: `10.${second}.0.1`,
  internalRouter: `10.${second}.0.3`,
  dataGateway: `10.${second + 1}.0.1`,
})
const a = spaceNet('0000000a', 40)
const b = spaceNet('0000000b', 42)

const gwA = desiredVpnGateway(
  { id: SPACE_A, cidr: a.cidr, dataCidr: a.dataCidr },
  ['203.0.113.10', '203.0.113.11'],
  ['172.16.0.0/16'],
)
const gwB = desiredVpnGateway(
  { id: SPACE_B, cidr: b.cidr, dataCidr: b.dataCidr },
  ['203.0.113.12', '203.0.113.13'],
  ['172.16.0.0/16'],
)
const tableA = spaceRouteTable(a.dynoBridge)
const tableB = spaceRouteTable(b.dynoBridge)

const peer = {
  dynoBridge: a.dynoBridge,
  cidr: a.cidr,
  internalRouter: a.internalRouter,
  iface: 'peer0',
  cidrs: ['10.99.0.0/16'],
  gateway: '192.168.200.2',
}

const desired: DesiredHost = {
  spaces: [a, b],
  attachments: [],
  vpnGateways: [gwA, gwB],
  vpnPool: { iface: 'eth0', poolCidrs: ['203.0.113.0/26'] },
  peerNetworks: [peer],
}

const link = (name: string, rest: Partial<ObservedLink> = {}): ObservedLink => ({
  name,
  up: true,
  owned: /^ls/.test(name),
  addresses: [],
  ...rest,
})
const bridges = [a, b].flatMap((s) => [
  link(s.dynoBridge, { kind: 'bridge' }),
  link(s.dataBridge, { kind: 'bridge' }),
])

/** The host with both gateways, their routes, rules and proxy entries exactly as desired. */
const hostLinks = [
  link('eth0'),
  link('peer0'),
  ...bridges,
  ...[gwA, gwB].flatMap((g) => [
    link(g.port, { kind: 'veth', master: g.dynoBridge }),
    link(g.ext, { kind: 'veth', addresses: [{ address: GATEWAY_LINK_ADDRESS, prefix: 32 }] }),
  ]),
]
const host: ObservedHost = { links: hostLinks, netns: [gwA.netns, gwB.netns] }

const inside = (g: typeof gwA): ObservedGateway => ({
  links: [
    link('lo'),
    link('eth0', {
      kind: 'veth',
      mac: `02:6c:${g.address
        .split('.')
        .map((x) => Number(x).toString(16).padStart(2, '0'))
        .join(':')}`,
      addresses: [{ address: g.address, prefix: 16 }],
    }),
    link('ext0', {
      kind: 'veth',
      addresses: g.tunnelAddresses.map((address) => ({ address, prefix: 32 })),
    }),
  ],
  defaultRoute: { via: GATEWAY_LINK_ADDRESS, dev: 'ext0' },
  firewall: `listing of ${g.netns}`,
})
const firewalls = (): GatewayFirewalls =>
  new Map(
    [gwA, gwB].map((g) => [
      g.netns,
      { rendered: renderGatewayFirewall(g), listing: `listing of ${g.netns}` },
    ]),
  )

const convergedVpn: ObservedVpn = {
  routes: [
    ...[gwA, gwB].flatMap((g) =>
      g.tunnelAddresses.map((t) => ({ table: 'main' as const, dst: `${t}/32`, dev: g.ext })),
    ),
    { table: tableA, dst: '172.16.0.0/16', dev: a.dynoBridge, via: gwA.address },
    { table: tableB, dst: '172.16.0.0/16', dev: b.dynoBridge, via: gwB.address },
    { table: tableA, dst: '10.99.0.0/16', dev: 'peer0', via: '192.168.200.2' },
  ],
  rules: [
    { from: a.cidr, table: tableA },
    { from: b.cidr, table: tableB },
  ],
  proxies: ['203.0.113.10', '203.0.113.11', '203.0.113.12', '203.0.113.13'].map((address) => ({
    dev: 'eth0',
    address,
  })),
  gateways: new Map([
    [gwA.netns, inside(gwA)],
    [gwB.netns, inside(gwB)],
  ]),
}

const kinds = (actions: VpnAction[]) => actions.map((x) => x.kind)

describe('VPN gateway planning', () => {
  test('a gateway takes C.0.4 and the names of its space', () => {
    assert.equal(gwA.netns, 'lsg-0000000a')
    assert.equal(gwA.port, 'lsg-0000000a')
    assert.equal(gwA.ext, 'lsx-0000000a')
    assert.equal(gwA.dynoBridge, 'lsb-0000000a')
    assert.equal(gwA.address, '10.40.0.4')
    assert.deepEqual(gwA.dynoRanges, ['10.40.128.0/20', '10.40.144.0/20', '10.40.160.0/20'])
  })

  test('a host that matches plans nothing', () => {
    assert.deepEqual(planVpn(desired, host, convergedVpn, firewalls()), [])
  })

  test('from nothing: gateways made, firewalled before their addresses, then routes', () => {
    const bare: ObservedHost = { links: [link('eth0'), link('peer0'), ...bridges], netns: [] }
    const empty: ObservedVpn = { routes: [], rules: [], proxies: [], gateways: new Map() }
    const plan = planVpn(desired, bare, empty, new Map())
    assert.deepEqual(kinds(plan), [
      'gateway.make',
      'gateway.plug',
      'gateway.make',
      'gateway.plug',
      'gateway.firewall',
      'gateway.firewall',
      'gateway.inside',
      'gateway.inside',
      ...Array<'route.add'>(7).fill('route.add'),
      'rule.add',
      'rule.add',
      ...Array<'proxy.add'>(4).fill('proxy.add'),
    ])
    // Two spaces route the same remote CIDRs, each into its own table, via its own gateway.
    const remote = plan.flatMap((x) =>
      x.kind === 'route.add' && x.route.dst === '172.16.0.0/16' ? [x.route] : [],
    )
    assert.deepEqual(remote, [
      { table: tableA, dst: '172.16.0.0/16', dev: a.dynoBridge, via: '10.40.0.4' },
      { table: tableB, dst: '172.16.0.0/16', dev: b.dynoBridge, via: '10.42.0.4' },
    ])
  })

  test('leftovers of ours go; what is not ours stays', () => {
    const vpn: ObservedVpn = {
      ...convergedVpn,
      routes: [
        ...convergedVpn.routes,
        { table: tableA, dst: '192.168.50.0/24', dev: a.dynoBridge, via: gwA.address },
      ],
      rules: [...convergedVpn.rules, { from: '10.50.0.0/16', table: 77 }],
      proxies: [
        ...convergedVpn.proxies,
        { dev: 'eth0', address: '203.0.113.20' }, // in the pool: a stale tunnel address
        { dev: 'eth0', address: '192.0.2.9' }, // the operator's own
      ],
    }
    assert.deepEqual(planVpn(desired, host, vpn, firewalls()), [
      {
        kind: 'route.delete',
        route: { table: tableA, dst: '192.168.50.0/24', dev: a.dynoBridge, via: gwA.address },
      },
      { kind: 'rule.delete', rule: { from: '10.50.0.0/16', table: 77 } },
      { kind: 'proxy.delete', proxy: { dev: 'eth0', address: '203.0.113.20' } },
    ])
  })

  test('a namespace gone with its host ends left: the stale ends go, the gateway is remade', () => {
    const observed = { ...host, netns: [gwB.netns] }
    const gateways = new Map([[gwB.netns, inside(gwB)]])
    const plan = planVpn(desired, observed, { ...convergedVpn, gateways }, firewalls())
    const make = plan.find((x) => x.kind === 'gateway.make')
    assert.deepEqual(make, {
      kind: 'gateway.make',
      gateway: gwA,
      netns: true,
      port: true,
      ext: true,
      stale: [gwA.port, gwA.ext],
    })
    assert.deepEqual(
      plan
        .filter((x) => x.kind !== 'gateway.make')
        .map((x) => `${x.kind} ${'gateway' in x ? x.gateway.netns : ''}`),
      ['gateway.plug lsg-0000000a', 'gateway.firewall lsg-0000000a', 'gateway.inside lsg-0000000a'],
    )
  })

  test('damage inside: a foreign address is removed, a lost one put back', () => {
    const damaged = inside(gwA)
    const gateways = new Map(convergedVpn.gateways)
    gateways.set(gwA.netns, {
      ...damaged,
      links: damaged.links.map((l) =>
        l.name === 'ext0'
          ? {
              ...l,
              addresses: [
                { address: '203.0.113.10', prefix: 32 },
                { address: '198.18.0.1', prefix: 24 },
              ],
            }
          : l,
      ),
    })
    assert.deepEqual(planVpn(desired, host, { ...convergedVpn, gateways }, firewalls()), [
      {
        kind: 'gateway.inside',
        gateway: gwA,
        remove: [{ dev: 'ext0', address: '198.18.0.1', prefix: 24 }],
        reason: 'ext0 has 198.18.0.1/24, ext0 lacks 203.0.113.11/32',
      },
    ])
  })

  test('a gateway firewall changed by hand, or never applied by this process, is replaced', () => {
    const byHand = new Map(convergedVpn.gateways)
    byHand.set(gwB.netns, { ...inside(gwB), firewall: 'something else' })
    assert.deepEqual(planVpn(desired, host, { ...convergedVpn, gateways: byHand }, firewalls()), [
      { kind: 'gateway.firewall', gateway: gwB, reason: 'changed by hand' },
    ])
    const fresh = planVpn(desired, host, convergedVpn, new Map())
    assert.deepEqual(
      fresh.map((x) => x.kind === 'gateway.firewall' && x.reason),
      ['not applied by this daemon yet', 'not applied by this daemon yet'],
    )
  })

  test('the port plugged into the wrong bridge is plugged back', () => {
    const links = hostLinks.map((l) => (l.name === gwA.port ? { ...l, master: b.dynoBridge } : l))
    assert.deepEqual(planVpn(desired, { ...host, links }, convergedVpn, firewalls()), [
      { kind: 'gateway.plug', gateway: gwA },
    ])
  })

  test('a foreign object on a gateway name is a conflict; nothing is planned', () => {
    const links = hostLinks.map((l) => (l.name === gwA.ext ? { ...l, kind: 'bridge' } : l))
    assert.throws(
      () => planVpn(desired, { ...host, links }, convergedVpn, firewalls()),
      NetworkConflictError,
    )
  })

  test('a gateway or peer on a bridge no desired space has is refused', () => {
    assert.throws(
      () => planVpn({ ...desired, spaces: [b] }, host, convergedVpn, firewalls()),
      InvalidNetworkStateError,
    )
    const foreign = { ...peer, iface: 'lsv-00000001' }
    assert.throws(
      () => planVpn({ ...desired, peerNetworks: [foreign] }, host, convergedVpn, firewalls()),
      /one of localspace's/,
    )
  })

  test('planHost leaves desired gateways alone and sweeps the rest', () => {
    const leftovers: ObservedHost = {
      links: [
        ...hostLinks,
        link('lsg-0000000c', { kind: 'veth' }),
        link('lsx-0000000c', { kind: 'veth' }),
      ],
      netns: [gwA.netns, gwB.netns, 'lsg-0000000c'],
    }
    const deletes = planHost(desired, leftovers).flatMap((x) =>
      x.kind === 'link.delete' || x.kind === 'netns.delete' ? [`${x.kind} ${x.name}`] : [],
    )
    assert.ok(deletes.includes('link.delete lsg-0000000c'))
    assert.ok(deletes.includes('link.delete lsx-0000000c'))
    assert.ok(deletes.includes('netns.delete lsg-0000000c'))
    assert.ok(
      !deletes.some((d) => d.endsWith('0000000a') || d.endsWith('0000000b')),
      deletes.join(),
    )
  })
})

describe('VPN observation parsing', () => {
  test('routes of ours, in main and in tables, with their prefix', () => {
    const json = [
      {
        dst: '172.16.0.0/16',
        gateway: '10.60.0.4',
        dev: 'lsb-5a000000',
        table: '1510014976',
        flags: [],
      },
      { dst: '203.0.113.65', dev: 'lsx-5a000000', scope: 'link', flags: [] },
    ]
    assert.deepEqual(parseOwnedRoutes(json), [
      { table: 1510014976, dst: '172.16.0.0/16', dev: 'lsb-5a000000', via: '10.60.0.4' },
      { table: 'main', dst: '203.0.113.65/32', dev: 'lsx-5a000000' },
    ])
  })

  test('rules: only those of protocol 108', () => {
    const json = [
      { priority: 0, src: 'all', table: 'local' },
      { priority: 1000, src: '10.60.0.0', srclen: 16, table: '1510014976', protocol: '108' },
      { priority: 500, src: '10.9.0.0', srclen: 16, table: '9', protocol: 'static' },
    ]
    assert.deepEqual(parseOwnedRules(json), [{ from: '10.60.0.0/16', table: 1510014976 }])
  })

  test('proxy entries', () => {
    assert.deepEqual(parseProxies([{ dst: '203.0.113.50', dev: 'eth0', proxy: null }]), [
      { dev: 'eth0', address: '203.0.113.50' },
    ])
  })
})

describe('VPN apply', () => {
  test('stale entries out, gateway made, firewall then forwarding, inside, routes in', async () => {
    const exec = recordingExec((call) =>
      call.args.includes('list') ? JSON.stringify({ nftables: [] }) : undefined,
    )
    const memory: GatewayFirewalls = new Map()
    await applyVpnActions(
      exec,
      [
        { kind: 'proxy.delete', proxy: { dev: 'eth0', address: '203.0.113.20' } },
        { kind: 'gateway.make', gateway: gwA, netns: true, port: true, ext: true, stale: [] },
        { kind: 'gateway.plug', gateway: gwA },
        { kind: 'gateway.firewall', gateway: gwA, reason: 'new' },
        { kind: 'gateway.inside', gateway: gwA, remove: [], reason: 'new' },
        {
          kind: 'route.add',
          route: { table: tableA, dst: '172.16.0.0/16', dev: a.dynoBridge, via: gwA.address },
        },
        { kind: 'rule.add', rule: { from: a.cidr, table: tableA } },
        { kind: 'proxy.add', proxy: { dev: 'eth0', address: '203.0.113.10' } },
      ],
      memory,
    )
    assert.deepEqual(exec.lines(), [
      'ip -force -batch - | neigh del proxy 203.0.113.20 dev eth0',
      'ip -force -batch - | netns add lsg-0000000a' +
        ' | link add lsg-0000000a type veth peer name eth0 netns lsg-0000000a' +
        ' | link add lsx-0000000a type veth peer name ext0 netns lsg-0000000a' +
        ' | link set lsg-0000000a master lsb-0000000a up' +
        ' | addr replace 169.254.0.1/32 dev lsx-0000000a | link set lsx-0000000a up',
      `ip netns exec lsg-0000000a nft -f - | ${renderGatewayFirewall(gwA).trimEnd().split('\n').join(' | ')}`,
      'ip netns exec lsg-0000000a sysctl -q -w net.ipv4.ip_forward=1',
      'ip netns exec lsg-0000000a nft -j -s list table inet localspace',
      'ip -n lsg-0000000a -force -batch - | addr replace 10.40.0.4/16 dev eth0' +
        ' | link set eth0 address 02:6c:0a:28:00:04 up | link set lo up' +
        ' | addr replace 203.0.113.10/32 dev ext0 | addr replace 203.0.113.11/32 dev ext0' +
        ' | link set ext0 up | route replace default via 169.254.0.1 dev ext0 onlink',
      `ip -force -batch - | route replace 172.16.0.0/16 via 10.40.0.4 dev lsb-0000000a table ${tableA} proto 108` +
        ` | rule add from 10.40.0.0/16 table ${tableA} priority 1000 protocol 108` +
        ' | neigh replace proxy 203.0.113.10 dev eth0',
    ])
    assert.equal(memory.get(gwA.netns)?.rendered, renderGatewayFirewall(gwA))
  })
})
