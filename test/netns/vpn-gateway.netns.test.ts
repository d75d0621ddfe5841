/**
 * The VPN and peer rows of the truth table (docs/design.md §4) as a probe matrix against the
 * real kernel: three spaces made by the network module (reconcileHost + Firewall, no daemon),
 * VPN gateways for two of them with the same remote CIDRs, an operator-attached peer network
 * for one, a space-to-space peering, an "internet" on the egress interface, and one probe agent
 * (probe-agent.ts) in every namespace.
 *
 * The IPsec tunnel itself is src/vpn's (charon): here each gateway's decrypted side is stood in
 * for by a plain veth `rmt0` from the gateway namespace to a "remote LAN" namespace, routed as
 * charon's table-220 routes would be. The strongSwan end-to-end test is separate. What stands
 * in for the daemon's DNS server and internal router on C.0.1:53 and C.0.3:80 is an echo
 * server of the host's probe agent, so a "yes" here is the network's, not the router's.
 *
 * Runs inside scripts/sandbox (it re-runs itself inside one); needs root, `ip`, `nft`.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { spaceAddresses } from '../../src/core/address-plan.js'
import { run } from '../../src/exec/run.js'
import { Firewall } from '../../src/network/firewall.js'
import {
  dataBridgeName,
  dynoBridgeName,
  netnsName,
  spaceRouteTable,
  vethName,
} from '../../src/network/names.js'
import type { FirewallState } from '../../src/network/nft/render.js'
import { observeHost } from '../../src/network/observe.js'
import { planAll, reconcileHost } from '../../src/network/reconcile.js'
import type {
  DesiredAttachment,
  DesiredHost,
  DesiredPeerNetwork,
  DesiredSpaceNetwork,
  DesiredVpnGateway,
} from '../../src/network/types.js'
import { desiredVpnGateway, type GatewayFirewalls } from '../../src/network/vpn-gateway.js'
import { sandboxed } from '../helpers/sandbox.js'
import type { Proto } from './probe-agent.js'
import { compileAgent, offset, ProbeAgent, quietly, removeFirewall } from './probe-client.js'

const NEGATIVE_TIMEOUT_MS = 500
const POSITIVE_TIMEOUT_MS = 3000
const ECHO = 9000
const FORBIDDEN = 9999

// The world: an "internet" on the egress interface, each gateway's remote LAN, a peer network.
const INTERNET_NS = 'vpn-inet'
const EGRESS_IF = 'inet0'
const HOST_PUBLIC = '198.51.100.1'
const INTERNET_ADDRESS = '198.51.100.2'
const VPN_POOL = '203.0.113.64/28'
/** Both spaces' VPNs route the same remote network; their remote servers share an address. */
const REMOTE_CIDR = '172.16.0.0/16'
const REMOTE_SERVER = '172.16.5.1'
/** Each remote server listens on a port of its own, so a probe tells which one it reached. */
const REMOTE_PORT = { a: 9000, b: 9001 } as const
const PEER_NS = 'vpn-peer'
const PEER_IF = 'peer0'
const PEER_LINK_HOST = '192.168.200.1'
const PEER_LINK_PEER = '192.168.200.2'
const PEER_CIDR = '10.99.0.0/16'
const PEER_SERVER = '10.99.0.1'

interface TestSpace {
  letter: string
  id: string
  net: DesiredSpaceNetwork
}

function testSpace(letter: string, n: number): TestSpace {
  const id = `5a0000${n.toString(16).padStart(2, '0')}-0000-4000-8000-000000000000`
  const cidr = `10.${60 + 2 * n}.0.0/16`
  const dataCidr = `10.${61 + 2 * n}.0.0/16`
  const plan = spaceAddresses(cidr, dataCidr)
  return {
    letter,
    id,
    net: {
      dynoBridge: dynoBridgeName(id),
      dataBridge: dataBridgeName(id),
      cidr,
      dataCidr,
      gateway: plan.gateway,
      internalRouter: plan.internalRouter,
      dataGateway: plan.dataGateway,
    },
  }
}

const A = testSpace('a', 0)
const B = testSpace('b', 1)
const C = testSpace('c', 2)

function member(space: TestSpace, label: string, kind: 'dyno' | 'data'): DesiredAttachment {
  const dyno = kind === 'dyno'
  const id = `${dyno ? 'd' : 'e'}${space.id.slice(1)}` // a short id of its own
  const plan = spaceAddresses(space.net.cidr, space.net.dataCidr)
  return {
    id: label,
    bridge: dyno ? space.net.dynoBridge : space.net.dataBridge,
    address: dyno ? offset(space.net.cidr, 128 * 256 + 1) : offset(space.net.dataCidr, 10),
    prefix: 16,
    gateway: dyno ? plan.gateway : plan.dataGateway,
    dns: plan.gateway,
    netns: netnsName(id),
    veth: vethName(id),
  }
}

const members = {
  'a.d1': member(A, 'a.d1', 'dyno'),
  'a.db': member(A, 'a.db', 'data'),
  'b.d1': member(B, 'b.d1', 'dyno'),
  'c.d1': member(C, 'c.d1', 'dyno'),
}

const gatewayA = desiredVpnGateway(
  { ...A.net, id: A.id },
  ['203.0.113.65', '203.0.113.66'],
  [REMOTE_CIDR],
)
const gatewayB = desiredVpnGateway(
  { ...B.net, id: B.id },
  ['203.0.113.67', '203.0.113.68'],
  [REMOTE_CIDR],
)
const peerOfA: DesiredPeerNetwork = {
  dynoBridge: A.net.dynoBridge,
  cidr: A.net.cidr,
  internalRouter: A.net.internalRouter,
  iface: PEER_IF,
  cidrs: [PEER_CIDR],
  gateway: PEER_LINK_PEER,
}

interface World {
  gateways: DesiredVpnGateway[]
  peers: DesiredPeerNetwork[]
  /** No spaces at all (the end of the test). */
  empty?: boolean
}

function desired(world: World): { host: DesiredHost; firewall: FirewallState } {
  const spaces = world.empty ? [] : [A, B, C].map((s) => s.net)
  const attachments = world.empty ? [] : Object.values(members)
  return {
    host: {
      spaces,
      attachments,
      egress: { iface: EGRESS_IF, addresses: [], poolCidrs: [] },
      vpnGateways: world.gateways,
      vpnPool: { iface: EGRESS_IF, poolCidrs: [VPN_POOL] },
      peerNetworks: world.peers,
    },
    firewall: {
      spaces: spaces.map(({ dataGateway: _, ...s }) => ({ ...s, egress: [] })),
      attachments: attachments.map((a) => ({ veth: a.veth, address: a.address })),
      routerListeners: [],
      egressInterface: EGRESS_IF,
      allowedPrivate: [],
      vpnGateways: world.gateways,
      peerNetworks: world.peers,
      spacePeerings: world.empty
        ? []
        : [
            {
              a: { dynoBridge: A.net.dynoBridge, internalRouter: A.net.internalRouter },
              b: { dynoBridge: C.net.dynoBridge, internalRouter: C.net.internalRouter },
            },
          ],
    },
  }
}

const ip = (args: string[]) => run('ip', args)
/** The fields of `ip -j` output these tests read. */
interface IpEntry {
  name?: string
  ifname?: string
  dst?: string
  dev?: string
  src?: string
  srclen?: number
  protocol?: string
}
const json = async (args: string[]): Promise<IpEntry[]> => {
  const out = (await ip(['-j', ...args])).stdout.trim()
  return out ? (JSON.parse(out) as IpEntry[]) : []
}

async function makeWorld(): Promise<void> {
  await ip(['netns', 'add', INTERNET_NS])
  await ip(['link', 'add', EGRESS_IF, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', INTERNET_NS])
  await ip(['addr', 'add', `${HOST_PUBLIC}/24`, 'dev', EGRESS_IF])
  await ip(['link', 'set', EGRESS_IF, 'up'])
  const inet = (args: string[]) => ip(['-n', INTERNET_NS, ...args])
  await inet(['link', 'set', 'lo', 'up'])
  await inet(['addr', 'add', `${INTERNET_ADDRESS}/24`, 'dev', 'eth0'])
  await inet(['link', 'set', 'eth0', 'up'])
  // The VPN pool is on the internet's own link: it finds the tunnel addresses by ARP, which
  // the host answers (proxy entries on the egress interface).
  await inet(['route', 'add', VPN_POOL, 'dev', 'eth0'])
  await inet(['route', 'add', 'default', 'via', HOST_PUBLIC])

  // The peer network: the operator's interface peer0, a router behind it, and its network.
  await ip(['netns', 'add', PEER_NS])
  await ip(['link', 'add', PEER_IF, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', PEER_NS])
  await ip(['addr', 'add', `${PEER_LINK_HOST}/24`, 'dev', PEER_IF])
  await ip(['link', 'set', PEER_IF, 'up'])
  const peer = (args: string[]) => ip(['-n', PEER_NS, ...args])
  await peer(['link', 'set', 'lo', 'up'])
  await peer(['addr', 'add', `${PEER_SERVER}/32`, 'dev', 'lo'])
  await peer(['addr', 'add', `${PEER_LINK_PEER}/24`, 'dev', 'eth0'])
  await peer(['link', 'set', 'eth0', 'up'])
  await peer(['route', 'add', 'default', 'via', PEER_LINK_HOST, 'src', PEER_SERVER])
}

const remoteNs = (letter: string) => `vpn-remote-${letter}`

/**
 * Stands in for a tunnel: `rmt0` in the gateway namespace to a remote LAN namespace holding
 * REMOTE_SERVER, routed as charon's routes would route the remote CIDRs into the tunnel.
 * Neither `eth0` nor `ext0`: to the gateway's firewall it is what charon's `ipsec0` is.
 */
async function makeRemote(letter: string, gatewayNetns: string): Promise<void> {
  const ns = remoteNs(letter)
  await ip(['netns', 'add', ns])
  await ip([
    '-n',
    gatewayNetns,
    'link',
    'add',
    'rmt0',
    'type',
    'veth',
    'peer',
    'name',
    'eth0',
    'netns',
    ns,
  ])
  await ip(['-n', gatewayNetns, 'addr', 'add', '169.254.9.1/30', 'dev', 'rmt0'])
  await ip(['-n', gatewayNetns, 'link', 'set', 'rmt0', 'up'])
  await ip(['-n', gatewayNetns, 'route', 'add', REMOTE_CIDR, 'via', '169.254.9.2', 'dev', 'rmt0'])
  const inside = (args: string[]) => ip(['-n', ns, ...args])
  await inside(['link', 'set', 'lo', 'up'])
  await inside(['addr', 'add', `${REMOTE_SERVER}/32`, 'dev', 'lo'])
  await inside(['addr', 'add', '169.254.9.2/30', 'dev', 'eth0'])
  await inside(['link', 'set', 'eth0', 'up'])
  await inside(['route', 'add', 'default', 'via', '169.254.9.1', 'src', REMOTE_SERVER])
}

async function removeWorld(): Promise<void> {
  for (const ns of [INTERNET_NS, PEER_NS, remoteNs('a'), remoteNs('b')]) {
    await quietly('ip', ['netns', 'del', ns])
  }
  await quietly('ip', ['link', 'del', EGRESS_IF])
  await quietly('ip', ['link', 'del', PEER_IF])
}

/** Everything of ours the host holds beyond its links: routes, rules, proxy entries. */
async function ownedRouting() {
  return {
    routes: await json(['route', 'show', 'table', 'all', 'proto', '108']),
    rules: (await json(['rule', 'show'])).filter((r) => r.protocol === '108'),
    proxies: await json(['neigh', 'show', 'proxy']),
  }
}

interface Row {
  from: string
  to: string
  port: number
  proto: Proto
  want: boolean
  /** The address the destination must see (no translation on these paths). */
  seenAs?: string
}

const both = (row: Omit<Row, 'proto'>): Row[] => [
  { ...row, proto: 'tcp' },
  { ...row, proto: 'udp' },
]

const addr = (label: keyof typeof members) => members[label].address

/** The matrix: each row a cell of §4's VPN and peer rows (or a "never" below the table). */
function rows(): Row[] {
  const remoteA = 'remote-a'
  const remoteB = 'remote-b'
  return [
    // VPN remote of A: A's internal router and dynos, DNS on C.0.1; nothing else.
    {
      from: remoteA,
      to: A.net.internalRouter,
      port: 80,
      proto: 'tcp',
      want: true,
      seenAs: REMOTE_SERVER,
    },
    ...both({ from: remoteA, to: addr('a.d1'), port: ECHO, want: true, seenAs: REMOTE_SERVER }),
    ...both({ from: remoteA, to: A.net.gateway, port: 53, want: true }),
    ...both({ from: remoteA, to: A.net.gateway, port: FORBIDDEN, want: false }),
    ...both({ from: remoteA, to: addr('a.db'), port: ECHO, want: false }),
    ...both({ from: remoteA, to: addr('b.d1'), port: ECHO, want: false }),
    { from: remoteA, to: B.net.internalRouter, port: 80, proto: 'tcp', want: false },
    { from: remoteA, to: C.net.internalRouter, port: 80, proto: 'tcp', want: false },
    ...both({ from: remoteA, to: HOST_PUBLIC, port: FORBIDDEN, want: false }),
    ...both({ from: remoteA, to: INTERNET_ADDRESS, port: ECHO, want: false }),
    // B's VPN, same remote CIDRs: its own remote reaches B, never A.
    { from: remoteB, to: B.net.internalRouter, port: 80, proto: 'tcp', want: true },
    ...both({ from: remoteB, to: addr('b.d1'), port: ECHO, want: true, seenAs: REMOTE_SERVER }),
    ...both({ from: remoteB, to: addr('a.d1'), port: ECHO, want: false }),
    // Dynos → remote CIDRs: through their own space's tunnel, with their own address.
    ...both({
      from: 'a.d1',
      to: REMOTE_SERVER,
      port: REMOTE_PORT.a,
      want: true,
      seenAs: addr('a.d1'),
    }),
    ...both({ from: 'a.d1', to: REMOTE_SERVER, port: REMOTE_PORT.b, want: false }),
    ...both({
      from: 'b.d1',
      to: REMOTE_SERVER,
      port: REMOTE_PORT.b,
      want: true,
      seenAs: addr('b.d1'),
    }),
    ...both({ from: 'b.d1', to: REMOTE_SERVER, port: REMOTE_PORT.a, want: false }),
    ...both({ from: 'c.d1', to: REMOTE_SERVER, port: REMOTE_PORT.a, want: false }),
    ...both({ from: 'c.d1', to: REMOTE_SERVER, port: REMOTE_PORT.b, want: false }),
    // Space → its peer network (own address); another space never.
    ...both({ from: 'a.d1', to: PEER_SERVER, port: ECHO, want: true, seenAs: addr('a.d1') }),
    ...both({ from: 'b.d1', to: PEER_SERVER, port: ECHO, want: false }),
    // Peer network → only the internal router of its space.
    {
      from: 'peer',
      to: A.net.internalRouter,
      port: 80,
      proto: 'tcp',
      want: true,
      seenAs: PEER_SERVER,
    },
    ...both({ from: 'peer', to: addr('a.d1'), port: ECHO, want: false }),
    ...both({ from: 'peer', to: addr('a.db'), port: ECHO, want: false }),
    ...both({ from: 'peer', to: A.net.gateway, port: 53, want: false }),
    { from: 'peer', to: B.net.internalRouter, port: 80, proto: 'tcp', want: false },
    // Space-to-space peering (A ↔ C): each other's internal router, nothing else.
    { from: 'a.d1', to: C.net.internalRouter, port: 80, proto: 'tcp', want: true },
    { from: 'c.d1', to: A.net.internalRouter, port: 80, proto: 'tcp', want: true },
    ...both({ from: 'a.d1', to: addr('c.d1'), port: ECHO, want: false }),
    ...both({ from: 'c.d1', to: addr('a.d1'), port: ECHO, want: false }),
    { from: 'b.d1', to: C.net.internalRouter, port: 80, proto: 'tcp', want: false },
    // Tunnel addresses: IKE and NAT-T from outside, nothing else; not from dynos.
    { from: 'internet', to: '203.0.113.65', port: 500, proto: 'udp', want: true },
    { from: 'internet', to: '203.0.113.65', port: 4500, proto: 'udp', want: true },
    { from: 'internet', to: '203.0.113.65', port: 500, proto: 'tcp', want: false },
    ...both({ from: 'internet', to: '203.0.113.65', port: ECHO, want: false }),
    { from: 'a.d1', to: '203.0.113.65', port: 500, proto: 'udp', want: false },
  ]
}

if (sandboxed(import.meta.url, 280_000)) {
  describe('VPN gateways and peer networks against the kernel (docs/design.md §4)', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'localspace-vpn-'))
    const agents = new Map<string, ProbeAgent>()
    const firewall = new Firewall(run)
    const gatewayFirewalls: GatewayFirewalls = new Map()
    let script = ''

    async function converge(world: World) {
      const { host, firewall: state } = desired(world)
      await firewall.apply(state)
      return reconcileHost(run, host, {}, gatewayFirewalls)
    }

    async function agent(
      label: string,
      netns: string | undefined,
      serve: Array<[Proto, string, number]>,
    ) {
      const a = await ProbeAgent.start(label, script, netns)
      agents.set(label, a)
      await a.serve(serve.map(([proto, host, port]) => ({ proto, host, port })))
    }

    async function stopAgent(label: string) {
      await agents.get(label)?.stop()
      agents.delete(label)
    }

    async function assertRows(list: Row[], when: string) {
      // Positive cells first: they resolve the neighbours, so a "no" measures the firewall.
      const ordered = [...list.filter((r) => r.want), ...list.filter((r) => !r.want)]
      const wrong: string[] = []
      for (const want of [true, false]) {
        const results = await Promise.all(
          ordered
            .filter((r) => r.want === want)
            .map(async (r) => {
              const result = await agents.get(r.from)!.probe({
                proto: r.proto,
                host: r.to,
                port: r.port,
                timeoutMs: r.want ? POSITIVE_TIMEOUT_MS : NEGATIVE_TIMEOUT_MS,
              })
              return { r, result }
            }),
        )
        for (const { r, result } of results) {
          const cell = `${r.from} → ${r.to}:${r.port}/${r.proto}`
          if (result.ok !== r.want) {
            wrong.push(
              `${cell}: ${result.ok ? 'reached' : `not reached (${result.error})`}, §4 says ${r.want ? 'yes' : 'no'}`,
            )
          } else if (r.want && r.seenAs !== undefined && result.seenAs !== r.seenAs) {
            wrong.push(`${cell}: seen as ${result.seenAs}, not ${r.seenAs}`)
          }
        }
      }
      assert.deepEqual(wrong, [], `wrong cells ${when}`)
    }

    before(async () => {
      await removeWorld()
      await removeFirewall()
      script = compileAgent(scratch)
      await makeWorld()
      await converge({ gateways: [gatewayA, gatewayB], peers: [peerOfA] })
      await makeRemote('a', gatewayA.netns)
      await makeRemote('b', gatewayB.netns)
      const echo = (address: string, port = ECHO): Array<[Proto, string, number]> => [
        ['tcp', address, port],
        ['udp', address, port],
      ]
      await agent('host', undefined, [
        ['tcp', A.net.internalRouter, 80],
        ['tcp', B.net.internalRouter, 80],
        ['tcp', C.net.internalRouter, 80],
        ...echo(A.net.gateway, 53),
        ...echo('0.0.0.0', FORBIDDEN),
      ])
      for (const [label, m] of Object.entries(members)) await agent(label, m.netns, echo(m.address))
      await agent('remote-a', remoteNs('a'), echo(REMOTE_SERVER, REMOTE_PORT.a))
      await agent('remote-b', remoteNs('b'), echo(REMOTE_SERVER, REMOTE_PORT.b))
      await agent('peer', PEER_NS, echo(PEER_SERVER))
      await agent('internet', INTERNET_NS, echo(INTERNET_ADDRESS))
      // What stands in for charon on the tunnel address, and an echo a "no" must not reach.
      await agent('gateway-a', gatewayA.netns, [
        ['udp', '203.0.113.65', 500],
        ['udp', '203.0.113.65', 4500],
        ['tcp', '203.0.113.65', 500],
        ...echo('203.0.113.65'),
      ])
    })

    after(async () => {
      for (const a of agents.values()) await a.stop()
      await converge({ gateways: [], peers: [], empty: true }).catch(() => undefined)
      await removeFirewall()
      await removeWorld()
      rmSync(scratch, { recursive: true, force: true })
    })

    test('every VPN and peer cell as §4 says', async () => {
      await assertRows(rows(), 'fresh')
    })

    test('a second reconcile changes nothing', async () => {
      assert.deepEqual(await converge({ gateways: [gatewayA, gatewayB], peers: [peerOfA] }), [])
    })

    test('drift is repaired: a rule, a route, a proxy entry, a gateway firewall, an address', async () => {
      const tableA = String(spaceRouteTable(A.net.dynoBridge))
      await ip(['rule', 'del', 'from', A.net.cidr, 'table', tableA])
      await ip(['route', 'del', REMOTE_CIDR, 'table', String(spaceRouteTable(B.net.dynoBridge))])
      await ip(['neigh', 'del', 'proxy', '203.0.113.65', 'dev', EGRESS_IF])
      await run('ip', [
        'netns',
        'exec',
        gatewayA.netns,
        'nft',
        'flush',
        'chain',
        'inet',
        'localspace',
        'forward',
      ])
      await ip(['-n', gatewayB.netns, 'addr', 'del', '10.62.0.4/16', 'dev', 'eth0'])
      await ip(['link', 'set', gatewayB.port, 'nomaster'])
      const { host } = desired({ gateways: [gatewayA, gatewayB], peers: [peerOfA] })
      const found = await planAll(run, host, await observeHost(run), gatewayFirewalls)
      const kinds = found.map((a) => a.kind).sort()
      assert.deepEqual(kinds, [
        'gateway.firewall',
        'gateway.inside',
        'gateway.plug',
        'proxy.add',
        'route.add',
        'rule.add',
      ])
      const done = await converge({ gateways: [gatewayA, gatewayB], peers: [peerOfA] })
      assert.equal(done.length, kinds.length)
      await assertRows(rows(), 'after drift was repaired')
    })

    test('a VPN and a peering removed leave nothing of theirs; the other space keeps its VPN', async () => {
      await stopAgent('gateway-a') // a process inside would keep the namespace alive
      await converge({ gateways: [gatewayB], peers: [] })
      const netns = (await json(['netns', 'list'])).map((n) => n.name ?? '')
      assert.ok(!netns.includes(gatewayA.netns), `${gatewayA.netns} is gone`)
      const links = (await json(['link', 'show'])).map((l) => l.ifname ?? '')
      assert.ok(
        !links.includes(gatewayA.port) && !links.includes(gatewayA.ext),
        'its veths are gone',
      )
      const owned = await ownedRouting()
      assert.deepEqual(owned.proxies.map((p) => p.dst).sort(), ['203.0.113.67', '203.0.113.68'])
      assert.deepEqual(
        owned.rules.map((r) => `${r.src}/${r.srclen}`),
        [B.net.cidr],
        'only B has a routing rule',
      )
      assert.ok(owned.routes.every((r) => r.dev !== PEER_IF && r.dev !== gatewayA.ext))
      await assertRows(
        [
          ...both({
            from: 'b.d1',
            to: REMOTE_SERVER,
            port: REMOTE_PORT.b,
            want: true,
            seenAs: addr('b.d1'),
          }),
          ...both({ from: 'a.d1', to: REMOTE_SERVER, port: REMOTE_PORT.a, want: false }),
          ...both({ from: 'a.d1', to: PEER_SERVER, port: ECHO, want: false }),
          { from: 'peer', to: A.net.internalRouter, port: 80, proto: 'tcp', want: false },
          { from: 'internet', to: '203.0.113.65', port: 500, proto: 'udp', want: false },
        ],
        'after A lost its VPN and peering',
      )
    })

    test('nothing is left behind once no VPN or peering is desired, nor any space', async () => {
      await converge({ gateways: [], peers: [] })
      const netns = (await json(['netns', 'list'])).map((n) => n.name ?? '')
      assert.deepEqual(
        netns.filter((n) => n.startsWith('lsg-')),
        [],
      )
      const links = (await json(['link', 'show'])).map((l) => l.ifname ?? '')
      assert.deepEqual(
        links.filter((l) => /^ls[gx]-/.test(l)),
        [],
      )
      assert.deepEqual(await ownedRouting(), { routes: [], rules: [], proxies: [] })
      for (const label of [...agents.keys()]) await stopAgent(label)
      await converge({ gateways: [], peers: [], empty: true })
      const after = (await json(['netns', 'list'])).map((n) => n.name ?? '')
      assert.deepEqual(
        after.filter((n) => n.startsWith('ls')),
        [],
        'no ls* namespace',
      )
      const linksAfter = (await json(['link', 'show'])).map((l) => l.ifname ?? '')
      assert.deepEqual(
        linksAfter.filter((l) => l.startsWith('ls')),
        [],
        'no ls* link',
      )
    })
  })
}
