/**
 * docs/design.md §4, the truth table, as a probe matrix against the real kernel: a real daemon,
 * real spaces with dyno and data namespaces, an "internet" namespace behind the host, and one
 * probe agent (probe-agent.ts) in every namespace that serves TCP/UDP echo and opens TCP and
 * UDP to every destination. The matrix runs on a fresh installation, after a SIGTERM restart,
 * after kill -9, after a space is added and another removed, and after drift (a flushed chain,
 * a deleted bridge); spoofing and leaks are checked on their own.
 *
 * Run it with `npm run build && scripts/sandbox node --import tsx --test <this file>` (or
 * without scripts/sandbox: it then re-runs itself inside one). It needs root, `ip`, `nft`.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test, type TestContext } from 'node:test'
import { run } from '../../src/exec/run.js'
import { dataBridgeName, dynoBridgeName, vethName } from '../../src/network/names.js'
import { DEFAULT_POOL_SIZE } from '../../src/network/warm-pool.js'
import { freePort, startDaemonProcess, tempDataDir, type DaemonProcess } from '../helpers/daemon.js'
import { sandboxed } from '../helpers/sandbox.js'
import type { AgentReply, Proto, ServeCommand } from './probe-agent.js'
import {
  compileAgent,
  offset,
  ProbeAgent,
  quietly,
  removeFirewall,
  waitFor,
} from './probe-client.js'

type ProbeResult = AgentReply
type Server = ServeCommand

// Outside scripts/sandbox this file re-runs itself inside one (a network + mount namespace of
// its own, as test/helpers/sandbox.ts does for every host test), and never touches the host.
if (sandboxed(import.meta.url, 280_000)) truthTable()

// ---------------------------------------------------------------------------------------------
// The world around the installation

/** The "internet": a namespace behind the host, reached through the egress interface. */
const INTERNET_NS = 'inet-probe'
const EGRESS_IF = 'inet0'
const HOST_PUBLIC = '198.51.100.1'
const INTERNET_ADDRESS = '198.51.100.2'
/** A private network outside the installation (RFC 1918), behind the internet namespace. */
const PRIVATE_ADDRESS = '192.168.77.1'
// Four spaces at once, four outbound addresses each (a /28 holds only three spaces' worth).
const EGRESS_POOL = '203.0.113.0/27'
const ECHO_PORT = 9000
const DNS_PORT = 53
const INTERNAL_ROUTER_PORT = 80
/** Destinations the daemon serves itself (the probe agents serve the rest). */
const DAEMON_SERVICES: ReadonlySet<string> = new Set([
  'api-host',
  'api-lo',
  'dns',
  'internal-router',
  'router',
])
const FORBIDDEN_PORT = 9999
/** How long a probe that must fail waits; one that must succeed gets longer. */
const NEGATIVE_TIMEOUT_MS = 500
const POSITIVE_TIMEOUT_MS = 3000

// ---------------------------------------------------------------------------------------------
// The installation as the test sees it

interface Space {
  name: string
  id: string
  letter: string
  cidr: string
  gateway: string
  internalRouter: string
  dataGateway: string
  dynoBridge: string
  dataBridge: string
  /** GET /spaces/{s}/nat sources: the addresses the internet sees. */
  nat: string[]
}

interface Member {
  label: string
  kind: 'dyno' | 'data'
  space: Space
  id: string
  address: string
  netns: string
  agent: ProbeAgent
}

type SourceKind = 'dyno' | 'data' | 'internet' | 'host'
interface Source {
  label: string
  kind: SourceKind
  space?: Space
  address?: string
  agent: ProbeAgent
}

type DestKind =
  | 'dyno'
  | 'data'
  | 'dns'
  | 'internal-router'
  | 'router'
  | 'forbidden'
  | 'api-host'
  | 'api-lo'
  | 'internet'
  | 'private'
interface Destination {
  label: string
  kind: DestKind
  protos: readonly Proto[]
  port: number
  space?: Space
  /** Fixed address; undefined = the host as the source sees it (see `targetOf`). */
  address?: string
}

/**
 * The expected answer of one cell, from docs/design.md §4 (rows: "from", columns: "to"); undefined
 * for a pair the table does not speak about, which is not probed.
 */
function expected(src: Source, dst: Destination): boolean | undefined {
  if (dst.address !== undefined && dst.address === src.address) return undefined // itself
  const sameSpace = src.space !== undefined && src.space === dst.space
  switch (src.kind) {
    // Row "dyno in S".
    case 'dyno':
      switch (dst.kind) {
        case 'dyno': // "dyno in S (any port)": yes; "dyno / data in T": no
        case 'data': // "data in S": yes; "dyno / data in T": no
          return sameSpace
        case 'dns': // "daemon API, host": DNS on C.0.1:53 only, its own space's
          return sameSpace
        case 'internal-router': // "internal router S": yes, S's only
          return sameSpace
        case 'router': // "public router, app in S": yes
          return true
        case 'forbidden': // "daemon API, host": nothing but DNS
        case 'api-host':
        case 'api-lo':
          return false
        case 'internet': // "internet": yes, source = S's outbound IPs (checked apart)
          return true
        case 'private': // below the table: never private ranges outside the installation
          return false
      }
      return undefined
    // Row "data service in S": "dyno in S: replies only" (so no new connection), "dyno / data
    // in T: no", "daemon API, host: no", "internet: no", "public/internal router: no".
    case 'data':
      return false
    // Rows "client in S's trusted ranges" / "client outside trusted ranges": never a dyno or a
    // data service; the public router accepts the connection (admission by trusted ranges is
    // the router's, §6, before any byte reaches a dyno).
    // The internal router ("internal router S": no for both rows) and the space's DNS (on the
    // space's own gateway address; §1: nothing else can reach a space) are not the world's.
    case 'internet':
      if (dst.kind === 'dyno' || dst.kind === 'data') return false
      if (dst.kind === 'internal-router' || dst.kind === 'dns') return false
      if (dst.kind === 'router') return true
      return undefined
    // Not a row of §4: the router on the host must reach every dyno (§6), and the services the
    // dynos are refused must be up (the host reaching them proves a "no" is the firewall's).
    // Data services are the exception: nothing outside their space reaches them, the host
    // included (§4, issue 17); the same space's dynos reaching them proves they are up.
    case 'host':
      return dst.kind !== 'api-host' && dst.kind !== 'data'
  }
}

/** The address `src` uses for `dst`: host services through the source's own gateway. */
function targetOf(src: Source, dst: Destination): string {
  if (dst.kind === 'api-lo') return '127.0.0.1'
  if (dst.address !== undefined) return dst.address
  switch (src.kind) {
    case 'dyno':
      return src.space!.gateway
    case 'data':
      return src.space!.dataGateway
    case 'internet':
      return HOST_PUBLIC
    case 'host':
      return dst.kind === 'api-host' ? HOST_PUBLIC : '127.0.0.1'
  }
}

interface Cell {
  src: Source
  dst: Destination
  proto: Proto
  want: boolean
  result: ProbeResult
  /** Why a reachable cell is still wrong (the source seen as the wrong address). */
  problem?: string
}

interface MatrixRun {
  cells: Cell[]
  wrong: string[]
  table: string
  /** dyno label → the outbound address the internet saw (TCP). */
  outbound: Map<string, string>
}

const mark = (ok: boolean) => (ok ? '✓' : '✗')

function render(sources: readonly Source[], dests: readonly Destination[], cells: Cell[]): string {
  const byKey = new Map(cells.map((c) => [`${c.src.label}|${c.dst.label}|${c.proto}`, c]))
  const rows = sources.map((src) => [
    src.label,
    ...dests.map((dst) => {
      const parts = dst.protos.map((proto) => {
        const c = byKey.get(`${src.label}|${dst.label}|${proto}`)
        if (!c) return ''
        const text = `${proto === 'tcp' ? 'T' : 'U'}${mark(c.result.ok)}`
        return c.result.ok !== c.want || c.problem ? `[${text}]` : text
      })
      return parts.join('') || '·'
    }),
  ])
  const header = ['from ↓ to →', ...dests.map((d) => d.label)]
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const line = (cols: string[]) => cols.map((c, i) => c.padEnd(widths[i]!)).join(' ')
  return [
    line(header),
    ...rows.map(line),
    'T/U = TCP/UDP, ✓ reached, ✗ refused or timed out, [ ] = not what §4 says, · = not a cell',
  ].join('\n')
}

async function runMatrix(
  sources: readonly Source[],
  dests: readonly Destination[],
): Promise<MatrixRun> {
  const planned: Array<Omit<Cell, 'result'>> = []
  for (const src of sources) {
    for (const dst of dests) {
      const want = expected(src, dst)
      if (want === undefined) continue
      for (const proto of dst.protos) planned.push({ src, dst, proto, want })
    }
  }
  const cells: Cell[] = await Promise.all(
    planned.map(async (c) => {
      const result = await c.src.agent.probe({
        proto: c.proto,
        host: targetOf(c.src, c.dst),
        port: c.dst.port,
        timeoutMs: c.want ? POSITIVE_TIMEOUT_MS : NEGATIVE_TIMEOUT_MS,
        // The daemon's own services (API, DNS, routers) wait for a request: a connection is the
        // answer over TCP; over UDP the DNS server answers a real query.
        ...(DAEMON_SERVICES.has(c.dst.kind) && { connectOnly: true }),
        ...(c.dst.kind === 'dns' && c.proto === 'udp' && { dns: true }),
      })
      return { ...c, result }
    }),
  )
  const outbound = new Map<string, string>()
  for (const c of cells) {
    if (!c.result.ok) continue
    const seen = c.result.seenAs
    if (c.src.kind === 'dyno' && c.dst.kind === 'internet') {
      // "internet: yes, source = S's outbound IPs" — never the dyno's own address.
      if (!seen || !c.src.space!.nat.includes(seen)) {
        c.problem = `seen as ${seen}, not one of ${c.src.space!.nat.join(', ')}`
      } else if (c.proto === 'tcp') {
        outbound.set(c.src.label, seen)
      }
    } else if (c.src.kind === 'dyno' && (c.dst.kind === 'dyno' || c.dst.kind === 'data')) {
      // Inside the installation nothing is translated.
      if (seen !== c.src.address) c.problem = `seen as ${seen}, not ${c.src.address}`
    }
  }
  // The same dyno always leaves through the same outbound address (TCP and UDP alike).
  for (const c of cells) {
    if (c.src.kind !== 'dyno' || c.dst.kind !== 'internet' || c.proto !== 'udp') continue
    const tcp = outbound.get(c.src.label)
    if (c.result.ok && tcp && c.result.seenAs !== tcp && !c.problem) {
      c.problem = `UDP left as ${c.result.seenAs}, TCP as ${tcp}`
    }
  }
  const wrong = cells
    .filter((c) => c.result.ok !== c.want || c.problem)
    .map(
      (c) =>
        `${c.src.label} → ${c.dst.label} ${c.proto} ${targetOf(c.src, c.dst)}:${c.dst.port}: ` +
        (c.problem ??
          `${c.result.ok ? 'reached' : `not reached (${c.result.error})`}, §4 says ${c.want ? 'yes' : 'no'}`),
    )
  return { cells, wrong, table: render(sources, dests, cells), outbound }
}

// ---------------------------------------------------------------------------------------------
// Host helpers

/** Sends gratuitous ARP (request and reply) for IP at MAC out of IFACE: `-c GARP IFACE MAC IP`. */
const GARP = `
import socket, struct, sys
iface, mac, ip = sys.argv[1:4]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind((iface, 0))
m, a, bc = bytes.fromhex(mac.replace(':', '')), socket.inet_aton(ip), b'\\xff' * 6
for op in (1, 2):
    arp = struct.pack('!HHBBH', 1, 0x0800, 6, 4, op) + m + a + bc + a
    for _ in range(3):
        s.send(bc + m + b'\\x08\\x06' + arp)
`

const ip = (args: string[]) => run('ip', args)
async function ipv4Of(dev: string, netns?: string): Promise<string[]> {
  const { stdout } = await ip([...(netns ? ['-n', netns] : []), '-j', 'addr', 'show', 'dev', dev])
  const links = JSON.parse(stdout) as Array<{
    addr_info: Array<{ family: string; local: string; prefixlen: number }>
  }>
  return (links[0]?.addr_info ?? [])
    .filter((a) => a.family === 'inet')
    .map((a) => `${a.local}/${a.prefixlen}`)
    .sort()
}

async function linkNames(): Promise<string[]> {
  const links = JSON.parse((await ip(['-j', 'link', 'show'])).stdout) as Array<{ ifname: string }>
  return links.map((l) => l.ifname)
}

async function netnsNames(): Promise<string[]> {
  const out = (await ip(['-j', 'netns', 'list'])).stdout.trim()
  return out ? (JSON.parse(out) as Array<{ name: string }>).map((n) => n.name) : []
}

/** The inode of a named namespace: the same namespace keeps it, a new one gets another. */
const netnsInode = (name: string): number => statSync(`/run/netns/${name}`).ino

async function removeWorld(): Promise<void> {
  await quietly('ip', ['netns', 'del', INTERNET_NS])
  await quietly('ip', ['link', 'del', EGRESS_IF])
}

async function makeWorld(): Promise<void> {
  await removeWorld()
  await ip(['netns', 'add', INTERNET_NS])
  await ip(['link', 'add', EGRESS_IF, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', INTERNET_NS])
  await ip(['addr', 'add', `${HOST_PUBLIC}/24`, 'dev', EGRESS_IF])
  await ip(['link', 'set', EGRESS_IF, 'up'])
  const inside = (args: string[]) => ip(['-n', INTERNET_NS, ...args])
  await inside(['link', 'set', 'lo', 'up'])
  await inside(['addr', 'add', `${INTERNET_ADDRESS}/24`, 'dev', 'eth0'])
  await inside(['addr', 'add', `${PRIVATE_ADDRESS}/32`, 'dev', 'lo'])
  await inside(['link', 'set', 'eth0', 'up'])
  await inside(['route', 'add', 'default', 'via', HOST_PUBLIC])
  // Replies to the outbound addresses, and probes at dynos that really arrive at the host.
  await inside(['route', 'add', '203.0.113.0/24', 'via', HOST_PUBLIC])
  await inside(['route', 'add', '10.0.0.0/8', 'via', HOST_PUBLIC])
  await ip(['route', 'add', '192.168.77.0/24', 'via', INTERNET_ADDRESS])
}

// ---------------------------------------------------------------------------------------------

function truthTable(): void {
  describe('the truth table (docs/design.md §4) against the kernel', () => {
    const data = tempDataDir()
    /** Where the compiled agent lives. */
    const scratch = mkdtempSync(join(tmpdir(), 'localspace-probe-'))
    const agents = new Set<ProbeAgent>()
    const spaces: Space[] = []
    const members: Member[] = []
    /** Every matrix run's outbound address per dyno, in order. */
    const outboundHistory: Array<{ when: string; outbound: Map<string, string> }> = []
    let daemon: DaemonProcess | undefined
    let agentScript: string | undefined
    let apiPort = 0
    let routerPort = 0
    let internet: ProbeAgent
    let host: ProbeAgent
    let team = ''

    const daemonArgs = () => [
      '--egress-pool',
      EGRESS_POOL,
      '--egress-interface',
      EGRESS_IF,
      '--router-listen',
      `0.0.0.0:${routerPort}`,
    ]
    const startDaemon = async () => {
      daemon = await startDaemonProcess(data.dir, apiPort, daemonArgs(), 30_000)
    }

    async function api(method: string, path: string, body?: unknown) {
      const d = daemon
      if (!d) throw new Error('the daemon is not running')
      const res = await fetch(`${d.url}${path}`, {
        method,
        headers: {
          accept: 'application/vnd.heroku+json; version=3',
          authorization: `Bearer ${d.key}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      })
      const text = await res.text()
      return { status: res.status, body: text ? JSON.parse(text) : undefined }
    }

    /** The daemon's own words belong with any failure that involved it. */
    function withDaemonOutput(e: unknown): Error {
      const error = e instanceof Error ? e : new Error(String(e))
      const output = daemon?.output() ?? ''
      error.message += `\n--- daemon output (last 3000 characters) ---\n${output.slice(-3000)}`
      return error
    }

    async function startAgent(label: string, netns?: string, servers: Server[] = []) {
      agentScript ??= compileAgent(scratch)
      const agent = await ProbeAgent.start(label, agentScript, netns)
      agents.add(agent)
      await agent.serve(servers)
      return agent
    }

    const echo = (address: string): Server[] => [
      { proto: 'tcp', host: address, port: ECHO_PORT },
      { proto: 'udp', host: address, port: ECHO_PORT },
    ]
    /**
     * The daemon serves DNS on each space's gateway and the internal router on C.0.3 once the
     * space is allocated and its addresses are up: wait for both before probing.
     */
    const spaceServices = async (s: Space) => {
      for (const port of [DNS_PORT, INTERNAL_ROUTER_PORT]) {
        const target = port === DNS_PORT ? s.gateway : s.internalRouter
        await waitFor(`the daemon serving ${target}:${port}`, async () => {
          const r = await host.probe({
            proto: 'tcp',
            host: target,
            port,
            timeoutMs: POSITIVE_TIMEOUT_MS,
            connectOnly: true,
          })
          return r.ok ? true : undefined
        })
      }
    }

    async function createSpace(letter: string): Promise<Space> {
      const name = `truth-${letter}-${process.pid % 10_000}`
      const created = await api('POST', '/spaces', { name, team })
      assert.equal(created.status, 201, JSON.stringify(created.body))
      const info: any = await waitFor(`space ${name} allocated`, async () => {
        const r = await api('GET', `/spaces/${name}`)
        return r.body?.state === 'allocated' ? (r.body as object) : undefined
      })
      const nat = await api('GET', `/spaces/${name}/nat`)
      assert.equal(nat.status, 200)
      const cidr: string = info.cidr
      const dataCidr: string = info.data_cidr
      const space: Space = {
        name,
        id: info.id,
        letter,
        cidr,
        gateway: offset(cidr, 1),
        internalRouter: offset(cidr, 3),
        dataGateway: offset(dataCidr, 1),
        dynoBridge: dynoBridgeName(info.id),
        dataBridge: dataBridgeName(info.id),
        nat: nat.body.sources,
      }
      assert.equal(space.nat.length, 4, `four outbound addresses: ${JSON.stringify(nat.body)}`)
      spaces.push(space)
      return space
    }

    /**
     * Attaches `dynos` dynos and maybe a data service to `space`, each with an agent serving
     * echo on its address. The requests go one after another (each takes the next free
     * address, so the labels follow the addresses); the waits and agents run side by side.
     */
    async function populate(space: Space, dynos: number, withData: boolean) {
      const wanted: Array<['dyno' | 'data', string]> = []
      for (let i = 1; i <= dynos; i++) wanted.push(['dyno', `${space.letter}.d${i}`])
      if (withData) wanted.push(['data', `${space.letter}.db`])
      const created: Array<{ kind: 'dyno' | 'data'; label: string; body: any }> = []
      for (const [kind, label] of wanted) {
        const r = await api('POST', `/localspace/spaces/${space.name}/attachments`, { kind })
        assert.equal(r.status, 201, JSON.stringify(r.body))
        created.push({ kind, label, body: r.body })
      }
      const settled = await Promise.allSettled(
        created.map(async ({ kind, label, body }) => {
          const { id, address, netns } = body as { id: string; address: string; netns: string }
          await waitFor(`attachment ${label} ready`, async () => {
            const r = await api('GET', `/localspace/attachments/${id}`)
            return r.body?.state === 'ready'
          })
          const agent = await startAgent(label, netns, echo(address))
          members.push({ label, kind, space, id, address, netns, agent })
        }),
      )
      for (const r of settled) if (r.status === 'rejected') throw r.reason
    }

    /** Detaches every attachment of the space, then deletes it; waits until both are gone. */
    async function deleteSpace(space: Space) {
      const inSpace = members.filter((m) => m.space === space)
      for (const m of inSpace) {
        const r = await api('DELETE', `/localspace/attachments/${m.id}`)
        assert.equal(r.status, 202, JSON.stringify(r.body))
      }
      await Promise.all(
        inSpace.map((m) =>
          waitFor(`attachment ${m.label} gone`, async () => {
            return (await api('GET', `/localspace/attachments/${m.id}`)).status === 404
          }),
        ),
      )
      for (const m of inSpace) {
        await m.agent.stop()
        agents.delete(m.agent)
        members.splice(members.indexOf(m), 1)
      }
      const r = await api('DELETE', `/spaces/${space.name}`)
      assert.equal(r.status, 200, JSON.stringify(r.body))
      await waitFor(`space ${space.name} gone`, async () => {
        return (await api('GET', `/spaces/${space.name}`)).status === 404
      })
      spaces.splice(spaces.indexOf(space), 1)
    }

    const member = (label: string): Member => {
      const found = members.find((m) => m.label === label)
      assert.ok(found, `no attachment ${label}`)
      return found
    }
    const byLabel = () => [...members].sort((x, y) => x.label.localeCompare(y.label))

    function sources(): Source[] {
      return [
        ...byLabel().map((m) => ({
          label: m.label,
          kind: m.kind,
          space: m.space,
          address: m.address,
          agent: m.agent,
        })),
        {
          label: 'internet',
          kind: 'internet' as const,
          address: INTERNET_ADDRESS,
          agent: internet,
        },
        { label: 'host', kind: 'host' as const, agent: host },
      ]
    }

    function destinations(): Destination[] {
      const both = ['tcp', 'udp'] as const
      return [
        ...byLabel().map((m) => ({
          label: m.label,
          kind: m.kind,
          protos: both,
          port: ECHO_PORT,
          space: m.space,
          address: m.address,
        })),
        ...spaces.map((s) => ({
          label: `${s.letter}:53`,
          kind: 'dns' as const,
          protos: both,
          port: DNS_PORT,
          space: s,
          address: s.gateway,
        })),
        ...spaces.map((s) => ({
          label: `${s.letter}:80`,
          kind: 'internal-router' as const,
          protos: ['tcp'] as const,
          port: INTERNAL_ROUTER_PORT,
          space: s,
          address: s.internalRouter,
        })),
        { label: 'router', kind: 'router', protos: ['tcp'], port: routerPort },
        { label: String(FORBIDDEN_PORT), kind: 'forbidden', protos: both, port: FORBIDDEN_PORT },
        { label: 'api@gw', kind: 'api-host', protos: ['tcp'], port: apiPort },
        { label: 'api@lo', kind: 'api-lo', protos: ['tcp'], port: apiPort },
        {
          label: 'inet',
          kind: 'internet',
          protos: both,
          port: ECHO_PORT,
          address: INTERNET_ADDRESS,
        },
        { label: 'priv', kind: 'private', protos: both, port: ECHO_PORT, address: PRIVATE_ADDRESS },
      ]
    }

    /**
     * Runs the matrix and prints it, always; fails listing the wrong cells. A warm-up first
     * (the host reaching every namespace, each dyno its DNS) resolves neighbours, so that a
     * "no" cell's short timeout measures the firewall, not a first ARP exchange.
     */
    async function assertMatrix(t: TestContext, when: string) {
      for (const s of spaces) await spaceServices(s)
      const warm = (agent: ProbeAgent, host: string, port: number) =>
        agent.probe({ proto: 'tcp', host, port, timeoutMs: POSITIVE_TIMEOUT_MS })
      await Promise.all([
        ...members.map((m) => warm(host, m.address, ECHO_PORT)),
        ...members
          .filter((m) => m.kind === 'dyno')
          .map((m) => warm(m.agent, m.space.gateway, DNS_PORT)),
      ])
      const started = Date.now()
      const result = await runMatrix(sources(), destinations())
      const took = ((Date.now() - started) / 1000).toFixed(1)
      const summary = `${when}: ${result.cells.length} probes in ${took} s, ${result.wrong.length} wrong`
      console.log(`${summary}\n${result.table}`)
      if (result.wrong.length > 0) console.log(`wrong cells:\n${result.wrong.join('\n')}`)
      t.diagnostic(summary)
      outboundHistory.push({ when, outbound: result.outbound })
      assert.deepEqual(result.wrong, [], `wrong cells ${when}:\n${result.table}`)
    }

    before(async () => {
      try {
        await setUp()
      } catch (e) {
        throw withDaemonOutput(e)
      }
    })

    async function setUp() {
      await removeFirewall()
      await makeWorld()
      apiPort = await freePort()
      routerPort = await freePort()
      await startDaemon()
      team = `truth-team-${process.pid % 10_000}`
      const created = await api('POST', '/teams', { name: team })
      assert.equal(created.status, 201, JSON.stringify(created.body))
      for (const letter of ['a', 'b', 'c']) await createSpace(letter)
      internet = await startAgent('internet', INTERNET_NS, [
        ...echo(INTERNET_ADDRESS),
        ...echo(PRIVATE_ADDRESS),
      ])
      host = await startAgent('host', undefined, [
        { proto: 'tcp', host: '0.0.0.0', port: FORBIDDEN_PORT },
        { proto: 'udp', host: '0.0.0.0', port: FORBIDDEN_PORT },
      ])
      // allSettled: a failure must not leave the other spaces starting agents after `after`.
      const settled = await Promise.allSettled(spaces.map((s) => populate(s, 3, true)))
      for (const r of settled) if (r.status === 'rejected') throw r.reason
    }

    after(async () => {
      // Best effort: the last test does the same through the API and asserts it.
      if (daemon && daemon.child.exitCode === null && daemon.child.signalCode === null) {
        for (const s of [...spaces]) await deleteSpace(s).catch(() => {})
        await daemon.stop('SIGTERM')
      }
      await Promise.all([...agents].map((a) => a.stop()))
      await removeFirewall()
      await removeWorld()
      data.remove()
      rmSync(scratch, { recursive: true, force: true })
    })

    test('a fresh installation: every cell as §4 says', async (t) => {
      // The outbound addresses of different spaces are different, from the pool, on inet0.
      const all = spaces.flatMap((s) => s.nat)
      assert.equal(new Set(all).size, all.length, `outbound addresses overlap: ${all.join(', ')}`)
      const onEgress = await ipv4Of(EGRESS_IF)
      for (const a of all) {
        assert.match(a, /^203\.0\.113\.([0-9]|1[0-5])$/)
        assert.ok(
          onEgress.includes(`${a}/32`),
          `${a} is not on ${EGRESS_IF}: ${onEgress.join(' ')}`,
        )
      }
      await assertMatrix(t, 'fresh')
    })

    test('a dyno cannot send from an address that is not its own', async () => {
      const [a1, a2, a3] = ['a.d1', 'a.d2', 'a.d3'].map(member)
      const b1 = member('b.d1')
      // Root inside a.d1 gives eth0 the addresses of a.d2 and of b.d1 and sends from them.
      const spoofed = [a2!.address, b1.address]
      for (const address of spoofed) {
        await ip(['-n', a1!.netns, 'addr', 'add', `${address}/32`, 'dev', 'eth0'])
      }
      try {
        const targets = [
          { label: 'a.d3', agent: a3!.agent, host: a3!.address, port: ECHO_PORT },
          // The daemon's DNS server: a round trip is the only evidence there (no marker log).
          { label: 'a:53', agent: undefined, host: a1!.space.gateway, port: DNS_PORT },
          { label: 'inet', agent: internet, host: INTERNET_ADDRESS, port: ECHO_PORT },
        ]
        const results = await Promise.all(
          targets.flatMap((target) =>
            (['tcp', 'udp'] as const).flatMap((proto) =>
              [a1!.address, ...spoofed].map(async (from) => {
                const own = from === a1!.address
                const marker = `spoof-${proto}-${from}-${target.label}`
                const result = await a1!.agent.probe({
                  proto,
                  host: target.host,
                  port: target.port,
                  from,
                  marker,
                  timeoutMs: own ? POSITIVE_TIMEOUT_MS : NEGATIVE_TIMEOUT_MS,
                  ...(target.agent === undefined && { connectOnly: true, dns: true }),
                })
                // A round trip fails anyway when the answer goes to the address's real owner,
                // so for UDP the receiver also tells whether a spoofed datagram arrived at all.
                const arrived =
                  proto === 'udp' &&
                  target.agent !== undefined &&
                  (await target.agent.received(marker)).length > 0
                const text = `${proto} from ${from} to ${target.label}`
                return { text, own, reached: result.ok || arrived, result }
              }),
            ),
          ),
        )
        const wrong = results
          .filter((r) => r.reached !== r.own)
          .map((r) => `${r.text}: ${r.reached ? 'arrived' : `failed (${r.result.error})`}`)
        assert.deepEqual(wrong, [], 'only the dyno’s own address may send')
      } finally {
        for (const address of spoofed) {
          await ip(['-n', a1!.netns, 'addr', 'del', `${address}/32`, 'dev', 'eth0'])
        }
      }
    })

    // python3 sends the raw ARP frame; scripts/system-packages.txt installs it.
    test('a dyno cannot claim another dyno’s address with ARP', async () => {
      assert.equal(
        spawnSync('python3', ['-c', 'import socket; socket.AF_PACKET']).status,
        0,
        'python3 with AF_PACKET is needed to send a raw ARP frame',
      )
      const [a1, a2, a3] = ['a.d1', 'a.d2', 'a.d3'].map(member)
      const macOf = async (netns: string) => {
        const { stdout } = await ip(['-n', netns, '-j', 'link', 'show', 'dev', 'eth0'])
        return (JSON.parse(stdout) as Array<{ address: string }>)[0]!.address
      }
      const neighbour = async () => {
        const { stdout } = await ip(['-n', a3!.netns, '-j', 'neigh', 'show', a2!.address])
        return (JSON.parse(stdout) as Array<{ lladdr?: string }>)[0]?.lladdr
      }
      // a.d3 knows a.d2 (a probe makes the entry); a.d1 then claims a.d2's address.
      const warm = await a3!.agent.probe({
        proto: 'tcp',
        host: a2!.address,
        port: ECHO_PORT,
        timeoutMs: POSITIVE_TIMEOUT_MS,
      })
      assert.ok(warm.ok, `a.d3 reaches a.d2 (${warm.error})`)
      const [mac1, mac2] = [await macOf(a1!.netns), await macOf(a2!.netns)]
      assert.equal(await neighbour(), mac2)
      // Gratuitous ARP, as request and as reply: "a.d2's address is at a.d1's MAC".
      await run('ip', [
        'netns',
        'exec',
        a1!.netns,
        'python3',
        '-c',
        GARP,
        'eth0',
        mac1,
        a2!.address,
      ])
      // A barrier instead of a pause: frames from a.d1 to a.d3 keep their order, so once a
      // probe sent after the ARP frames has been answered, a.d3 has seen them all.
      const barrier = await a1!.agent.probe({
        proto: 'tcp',
        host: a3!.address,
        port: ECHO_PORT,
        timeoutMs: POSITIVE_TIMEOUT_MS,
      })
      assert.ok(barrier.ok, `a.d1 reaches a.d3 (${barrier.error})`)
      assert.equal(await neighbour(), mac2, 'a.d3 must not learn a.d2’s address at a.d1')
    })

    test('after SIGTERM and a restart on the same data dir', async (t) => {
      assert.equal(await daemon!.stop('SIGTERM'), 0)
      // Nothing goes away while the daemon is down: the dynos keep their network.
      for (const m of members) assert.ok((await netnsNames()).includes(m.netns), m.netns)
      await startDaemon()
      for (const s of spaces) {
        assert.equal((await api('GET', `/spaces/${s.name}`)).body.state, 'allocated')
        assert.deepEqual((await api('GET', `/spaces/${s.name}/nat`)).body.sources, s.nat)
      }
      await assertMatrix(t, 'after SIGTERM + restart')
    })

    test('after kill -9 and a restart', async (t) => {
      assert.equal(await daemon!.stop('SIGKILL'), 'SIGKILL')
      await startDaemon()
      for (const s of spaces) {
        assert.equal((await api('GET', `/spaces/${s.name}`)).body.state, 'allocated')
      }
      await assertMatrix(t, 'after kill -9 + restart')
    })

    test('after a fourth space is added and the third removed', async (t) => {
      const d = await createSpace('d')
      await spaceServices(d)
      await populate(d, 2, false)
      const c = spaces.find((s) => s.letter === 'c')!
      await deleteSpace(c)
      const links = await linkNames()
      assert.ok(
        !links.includes(c.dynoBridge) && !links.includes(c.dataBridge),
        'c’s bridges are gone',
      )
      const onEgress = await ipv4Of(EGRESS_IF)
      for (const a of c.nat)
        assert.ok(!onEgress.includes(`${a}/32`), `${a} is still on ${EGRESS_IF}`)
      await assertMatrix(t, 'spaces a, b, d')
    })

    test('each dyno keeps its outbound address across restarts and firewall changes', () => {
      const changes: string[] = []
      const first = new Map<string, { when: string; address: string }>()
      for (const { when, outbound } of outboundHistory) {
        for (const [dyno, address] of outbound) {
          const was = first.get(dyno)
          if (!was) first.set(dyno, { when, address })
          else if (was.address !== address) {
            changes.push(`${dyno}: ${was.address} (${was.when}) → ${address} (${when})`)
          }
        }
      }
      assert.deepEqual(changes, [], 'a dyno’s outbound address must be stable (§1, nat)')
    })

    test('a flushed forward chain is put back within 20 s', async (t) => {
      const [a1, b1] = [member('a.d1'), member('b.d1')]
      const cross = () =>
        a1.agent.probe({ proto: 'tcp', host: b1.address, port: ECHO_PORT, timeoutMs: 1000 })
      // The daemon is paused while the rule is gone and probed, so its timer cannot repair
      // the chain before the probe has shown that the flush really opened the way.
      const pid = daemon!.child.pid!
      process.kill(pid, 'SIGSTOP')
      try {
        await run('nft', ['flush', 'chain', 'inet', 'localspace', 'forward'])
        const chain = (await run('nft', ['list', 'chain', 'inet', 'localspace', 'forward'])).stdout
        assert.doesNotMatch(chain, /^\s*(iifname|oifname|ip|ct) /m, 'the chain is empty now')
        const open = await cross()
        assert.ok(open.ok, `without the chain a.d1 reaches b.d1 (${open.error})`)
      } finally {
        process.kill(pid, 'SIGCONT')
      }
      await waitFor(
        'the cross-space probe to fail again',
        async () => !(await cross()).ok,
        20_000,
        250,
      )
      await assertMatrix(t, 'after the forward chain was repaired')
    })

    /** The namespaces of space a before its bridge was deleted (label → inode). */
    const inodesBefore = new Map<string, number>()

    test('a deleted space bridge is back with its addresses', async () => {
      const a = spaces.find((s) => s.letter === 'a')!
      const inA = members.filter((m) => m.space === a)
      for (const m of inA) inodesBefore.set(m.label, netnsInode(m.netns))
      await ip(['link', 'del', a.dynoBridge])
      const prefix = a.cidr.split('/')[1]
      await waitFor(
        `${a.dynoBridge} back with ${a.gateway} and ${a.internalRouter}`,
        async () => {
          if (!(await linkNames()).includes(a.dynoBridge)) return false
          const addresses = await ipv4Of(a.dynoBridge)
          return (
            addresses.includes(`${a.gateway}/${prefix}`) &&
            addresses.includes(`${a.internalRouter}/${prefix}`)
          )
        },
        20_000,
        250,
      )
      // Every veth of the space back on the bridge (the repair is over)…
      await waitFor(
        `the veths of ${a.name} back on ${a.dynoBridge}`,
        async () => {
          const { stdout } = await ip(['-j', 'link', 'show', 'master', a.dynoBridge])
          const on = new Set((JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname))
          return inA.filter((m) => m.kind === 'dyno').every((m) => on.has(vethName(m.id)))
        },
        20_000,
        250,
      )
    })

    test('the dynos of a repaired space keep their namespaces and network', async (t) => {
      const inA = members.filter((m) => m.space.letter === 'a')
      // The same namespaces: a repair that swaps a running dyno's namespace for a
      // new, empty one cuts the dyno (here its probe agent) off for good.
      const replaced = inA.filter((m) => {
        try {
          return netnsInode(m.netns) !== inodesBefore.get(m.label)
        } catch {
          return true
        }
      })
      assert.deepEqual(
        replaced.map((m) => m.label),
        [],
        'namespaces replaced by the repair',
      )
      await assertMatrix(t, 'after the bridge was repaired')
    })

    test('teardown through the API leaves no namespace, link, address or agent', async () => {
      for (const s of [...spaces]) await deleteSpace(s)
      // While it runs, the daemon keeps a few namespaces prepared for the next dynos: on no
      // bridge, with no address. Nothing of the deleted spaces may remain.
      const prepared = (await netnsNames()).filter((n) => n.startsWith('ls-'))
      assert.ok(
        prepared.length <= DEFAULT_POOL_SIZE,
        `at most the prepared namespaces: ${prepared.join(', ')}`,
      )
      const links = JSON.parse((await ip(['-j', 'link', 'show'])).stdout) as Array<{
        ifname: string
        master?: string
      }>
      assert.deepEqual(
        links.filter((l) => /^ls[bd]-/.test(l.ifname) || (/^lsv-/.test(l.ifname) && l.master)),
        [],
        'no space bridge and no veth on one',
      )
      const onEgress = await ipv4Of(EGRESS_IF)
      assert.deepEqual(
        onEgress.filter((a) => a.startsWith('203.0.113.')),
        [],
        `no outbound address on ${EGRESS_IF}`,
      )
      assert.equal(await daemon!.stop('SIGTERM'), 0)
      daemon = undefined
      // Stopped, it removes the prepared ones too.
      assert.deepEqual(
        (await netnsNames()).filter((n) => n.startsWith('ls-')),
        [],
        'no ls-* namespace',
      )
      assert.deepEqual(
        (await linkNames()).filter((l) => /^ls[bdv]-/.test(l)),
        [],
        'no ls[bdv]-* link',
      )
      await Promise.all([...agents].map((a) => a.stop()))
      agents.clear()
      // The daemon leaves its firewall in place when it stops (dynos stay protected), so the
      // tables are ours to remove, with the "internet".
      await removeFirewall()
      await removeWorld()
      assert.doesNotMatch((await run('nft', ['list', 'tables'])).stdout, /localspace/)
      assert.ok(!(await linkNames()).includes(EGRESS_IF), `${EGRESS_IF} is gone`)
      assert.ok(!(await netnsNames()).includes(INTERNET_NS), `${INTERNET_NS} is gone`)
    })
  })
}
