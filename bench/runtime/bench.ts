/**
 * bench/runtime — the issue's runtime targets, side by side with the same command started bare
 * in one run (see bench/runtime/README.md). Started by bench/runtime/run.sh inside
 * scripts/sandbox and pinned with taskset; it must never run on a real host's network:
 *
 *   node --expose-gc --import tsx bench/runtime/bench.ts --work DIR [--reps 50] [--warmup 3]
 *     [--scale 50] [--scale-runs 2] [--mem-bare 10] [--quiet-busy 15] [--cpu 0]
 *
 * The real pieces in-process, as test/runtime/runtime-agent.netns.test.ts assembles them: a
 * Store, an EventBus, the exec runner, the NetworkAgent with LinuxSpaceHost (warm namespaces),
 * a LogStore, `DynoProcess` with `defaultHost()` and the RuntimeAgent. This process plays the
 * daemon. Prints the Markdown report on stdout; exits 1 (after the report) when a check failed
 * (a wrong answer, a start that never listened, something left behind).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { parseArgs } from 'node:util'
import { LinuxSpaceHost } from '../../src/agent/linux-space-host.js'
import { NetworkAgent } from '../../src/agent/network-agent.js'
import { RuntimeAgent, type RuntimeAgentOptions } from '../../src/agent/runtime-agent.js'
import { createAccount } from '../../src/platform/accounts.js'
import { spaceAddresses } from '../../src/core/address-plan.js'
import { DnsFeed } from '../../src/daemon/dns-feed.js'
import { DnsService, MemoryDnsRecords } from '../../src/dns/index.js'
import { EventBus } from '../../src/core/events.js'
import { newId, nowIso } from '../../src/core/ids.js'
import type { Attachment } from '../../src/core/types.js'
import { run } from '../../src/exec/run.js'
import { startExecRunner } from '../../src/exec/runner.js'
import { LogStore } from '../../src/logs/store.js'
import { netnsName } from '../../src/network/names.js'
import { createCgroup, members, removeCgroup } from '../../src/runtime/cgroup.js'
import { listensOn } from '../../src/runtime/listening.js'
import {
  DEFAULT_CGROUP_ROOT,
  defaultHost,
  DynoProcess,
  type DynoSpec,
} from '../../src/runtime/index.js'
import { Store } from '../../src/store/store.js'
import { NamePoller } from './name-poller.js'
import { inSandbox } from '../../test/helpers/sandbox.js'

const { values } = parseArgs({
  options: {
    work: { type: 'string' },
    reps: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '3' },
    scale: { type: 'string', default: '50' },
    'scale-runs': { type: 'string', default: '2' },
    'mem-bare': { type: 'string', default: '10' },
    'quiet-busy': { type: 'string', default: '15' },
    cpu: { type: 'string', default: '0' },
    'dns-reps': { type: 'string', default: '50' },
  },
})
if (!values.work || !inSandbox()) {
  console.error('usage (inside scripts/sandbox, as bench/runtime/run.sh does): bench.ts --work DIR')
  process.exit(2)
}
const WORK = values.work
const REPS = Number(values.reps)
const WARMUP = Number(values.warmup)
const SCALE = Number(values.scale)
const SCALE_RUNS = Number(values['scale-runs'])
const MEM_BARE = Number(values['mem-bare'])
const QUIET_BUSY = Number(values['quiet-busy'])
const CPU = values.cpu ?? '0'
const DNS_REPS = Number(values['dns-reps'])
/** The DNS poller is the load generator: it runs on the other CPU (bench/README.md). */
const POLLER_CPU = String((Number(CPU) + 1) % cpus().length) // (this process is pinned)

const APP_UID = 64_123
const DYNO_PORT = 5000
const RUN_ID = randomBytes(3).toString('hex')
/** Ids of the dynos this run starts directly (sandbox level) and of the memory anchors. */
const SBX_PREFIX = `lsbr-${RUN_ID}-`
const MEM_PREFIX = `lsbm-${RUN_ID}-`
/** The Procfile command, the same on both sides (run with `bash -c`, as Heroku and the dyno do). */
const COMMAND = 'node server.js'
/** The dyno's default PATH (src/runtime/sandbox.ts), for the bare side too. */
const APP_PATH = '/app/bin:/usr/local/bin:/usr/bin:/bin'
const POLL_MS = 5 // waitListening's default poll interval; the bare side polls the same way
const TIMEOUT_MS = 60_000

const log = (message: string) => console.error(`[bench/runtime] ${message}`)
const nowMs = () => Number(process.hrtime.bigint()) / 1e6
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)

/** Nearest-rank percentile. */
function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return NaN
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
const median = (xs: readonly number[]) => pct(xs, 50)

const findings: string[] = []
const checks: Array<{ what: string; ok: boolean; detail: string }> = []
let wrongAnswers = 0

// --- CPU accounting (as bench/network counts it) ------------------------------------------------

const HZ = Number(process.env.CLK_TCK ?? 100)

/** utime + stime + cutime + cstime of a process, in ticks; 0 when it is gone. */
function procTicks(pid: number | 'self'): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return sum([11, 12, 13, 14].map((i) => Number(f[i])))
  } catch {
    return 0
  }
}

interface CpuSnapshot {
  at: number
  busy: number[]
  total: number[]
  ours: number
}

function cpuSnapshot(): CpuSnapshot {
  const busy: number[] = []
  const total: number[] = []
  for (const line of readFileSync('/proc/stat', 'utf8').split('\n')) {
    const m = /^cpu(\d+) (.*)$/.exec(line)
    if (!m) continue
    const f = m[2]!.trim().split(/\s+/).map(Number)
    // user nice system idle iowait irq softirq steal: busy = processes and the hypervisor
    busy[Number(m[1])] = f[0]! + f[1]! + f[2]! + f[7]!
    total[Number(m[1])] = sum(f.slice(0, 8))
  }
  // This process (and every process it reaped: bare apps, dyno wrappers and through them the
  // whole dyno) plus the exec runner (the daemon's other process) and the DNS poller.
  const pollerTicks = poller?.pid ? procTicks(poller.pid) : 0
  return { at: nowMs(), busy, total, ours: procTicks('self') + procTicks(runnerPid) + pollerTicks }
}

interface CpuUse {
  wallS: number
  ours: number
  busy: number[]
  other: number
}

function cpuUse(a: CpuSnapshot, b: CpuSnapshot): CpuUse {
  const wallS = (b.at - a.at) / 1000
  const busy = b.busy.map((x, i) => (100 * (x - a.busy[i]!)) / (b.total[i]! - a.total[i]! || 1))
  const ours = (100 * (b.ours - a.ours)) / HZ / wallS
  const busyTicks = sum(b.busy.map((x, i) => x - a.busy[i]!))
  const other = Math.max(0, (100 * busyTicks) / HZ / wallS - ours)
  return { wallS, ours, busy, other }
}

const sections: Array<{ name: string; use: CpuUse }> = []
async function section(name: string, fn: () => Promise<void>): Promise<void> {
  log(name)
  const before = cpuSnapshot()
  await fn()
  sections.push({ name, use: cpuUse(before, cpuSnapshot()) })
}

// --- the daemon's pieces, as the test assembles them ---------------------------------------------

chmodSync(WORK, 0o711) // as the daemon's data dir: searchable on the way to the dynos
const slugDir = join(WORK, 'slugs', 'slug-1')
mkdirSync(slugDir, { recursive: true })
// A trivial web app. It stamps CLOCK_MONOTONIC (the same clock as this process's hrtime; bwrap
// makes no time namespace) at its first line and once it listens, so each start splits into
// "until the app's first line" (spawn, sandbox, Node's own boot), "the app" and "detection".
writeFileSync(
  join(slugDir, 'server.js'),
  `const t0 = process.hrtime.bigint()\n` +
    `require('http').createServer((q, s) => s.end((process.env.DYNO || 'bare') + '\\n'))` +
    `.listen(Number(process.env.PORT), () => console.log('bench-boot', String(t0), String(process.hrtime.bigint())))\n`,
)
const store = Store.open(join(WORK, 'localspace.db'))
const events = new EventBus()
const runner = startExecRunner()
const runnerPid = findRunnerPid()
const spaceHost = new LinuxSpaceHost(runner.exec, { openShell: runner.openShell })
const network = new NetworkAgent(store, events, spaceHost, {
  settings: { egressPoolCidrs: [], allowPrivate: [], routerListeners: [] },
  intervalMs: 0,
  log,
})
const logs = new LogStore()
const sandbox = await defaultHost({ hide: [WORK] })

function findRunnerPid(): number {
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (ppid === process.pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('runner'))
        return Number(p)
    } catch {
      // gone
    }
  }
  return 0
}

/** What the runtime agent did for each dyno start, by dyno id (runtime level). */
interface RuntimeTrace {
  attachMs?: number
  startMs?: number
  process?: DynoProcess
}
const traces = new Map<string, RuntimeTrace>()
const traceOf = (dynoId: string) => {
  let t = traces.get(dynoId)
  if (!t) traces.set(dynoId, (t = {}))
  return t
}
/** Every dyno (process) id the runtime started: the leak check looks for their cgroups. */
const runtimeSpecIds = new Set<string>()

const options: RuntimeAgentOptions = {
  dir: join(WORK, 'dynos'),
  logs,
  network: {
    attach: async (spaceId, kind, owner) => {
      const t0 = nowMs()
      const a = await network.attach(spaceId, kind, owner)
      traceOf(owner).attachMs = nowMs() - t0
      return a
    },
    detach: (id) => network.detach(id),
  },
  startProcess: async (spec) => {
    runtimeSpecIds.add(spec.id)
    const owner = spec.id.slice(0, spec.id.lastIndexOf('-'))
    const t0 = nowMs()
    const p = await DynoProcess.start(spec, sandbox)
    const t = traceOf(owner)
    t.startMs = nowMs() - t0
    t.process = p
    return p
  },
  adoptProcess: (runDir) => DynoProcess.adopt(runDir),
  slugFor: (_appId, slugId) => ({
    dir: join(WORK, 'slugs', slugId),
    processTypes: { web: COMMAND },
  }),
  uidFor: () => APP_UID,
  port: DYNO_PORT,
  graceMs: 5000,
  bootTimeoutMs: TIMEOUT_MS,
  intervalMs: 0,
  log,
}
const runtime = new RuntimeAgent(store, events, options)
// Service discovery as the daemon assembles it (src/daemon/daemon.ts): the runtime's events →
// DnsFeed → MemoryDnsRecords → DnsService on the space's gateway.
const dnsRecords = new MemoryDnsRecords()
const dns = await DnsService.start({ records: dnsRecords, upstreams: [] })
const dnsFeed = new DnsFeed({
  store,
  events,
  records: dnsRecords,
  dns,
  dynos: () => runtime.allDynos(),
  port: DYNO_PORT,
  domain: 'bench.internal',
  log,
})

// --- the store as the API leaves it ------------------------------------------------------------

const now = nowIso()
const owner = createAccount(store, {
  email: 'bench@example.com',
  password: 'bench-bench-bench',
  isAdmin: true,
})
store.teams.insert({ id: 'team-bench', name: 'team-bench', createdAt: now, updatedAt: now })
const spaceId = newId()
store.spaces.insert({
  id: spaceId,
  name: 'space-bench',
  teamId: 'team-bench',
  teamName: 'team-bench',
  region: 'virginia',
  state: 'allocating',
  shield: false,
  cidr: '10.64.0.0/16',
  dataCidr: '10.65.0.0/16',
  generation: 'cedar',
  createdAt: now,
  updatedAt: now,
})
const appId = newId()
store.apps.insert({
  id: appId,
  name: 'bench-app',
  ownerId: owner.id,
  ownerEmail: owner.email,
  teamId: 'team-bench',
  teamName: 'team-bench',
  spaceId,
  spaceName: 'space-bench',
  spaceShield: false,
  region: 'virginia',
  internalRouting: false,
  maintenance: false,
  stack: 'heroku-24',
  buildStack: 'heroku-24',
  createdAt: now,
  updatedAt: now,
  releasedAt: now,
})
store.releases.insert({
  id: newId(),
  appId,
  version: 1,
  description: 'Deploy slug-1',
  config: {},
  slugId: 'slug-1',
  userId: owner.id,
  status: 'succeeded',
  createdAt: now,
  updatedAt: now,
})
let formationId: string | undefined
function scale(quantity: number): void {
  const existing = store.releases.formation(appId).find((f) => f.type === 'web')
  formationId ??= newId()
  store.releases.upsertFormation({
    id: existing?.id ?? formationId,
    appId,
    type: 'web',
    command: '',
    quantity,
    size: 'Private-S',
    createdAt: existing?.createdAt ?? nowIso(),
    updatedAt: nowIso(),
  })
  events.emit('formation.changed', appId)
}

/** Resolves with the time at which `check` first held, checked on every dyno change. */
function whenDynos(what: string, check: () => boolean, timeoutMs = 180_000): Promise<number> {
  return new Promise((resolve, reject) => {
    let off = () => undefined as void
    const timer = setTimeout(() => {
      off()
      const states = runtime
        .dynosOf(appId)
        .map((d) => `${d.name}:${d.state}`)
        .join(' ')
      reject(new Error(`${what}: not after ${timeoutMs} ms; dynos: ${states}`))
    }, timeoutMs)
    const test = () => {
      if (!check()) return false
      clearTimeout(timer)
      off()
      resolve(nowMs())
      return true
    }
    off = events.on('dynos.changed', () => void test())
    test()
  })
}
const webDynos = () => runtime.dynosOf(appId)

// --- starting the app bare ----------------------------------------------------------------------

interface Stamps {
  /** bench → the app's first line (spawn, sandbox steps, Node's own boot) */
  toScript: number
  /** the app's first line → listening */
  app: number
  /** listening → noticed (the 5 ms poll) */
  detect: number
}

/** Reads the app's `bench-boot` line; the stamps are CLOCK_MONOTONIC ns. */
async function stamps(file: string, t0: number, tUp: number): Promise<Stamps | undefined> {
  for (let i = 0; i < 100; i++) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : ''
    const m = /bench-boot (\d+) (\d+)/.exec(text)
    if (m) {
      const first = Number(BigInt(m[1]!)) / 1e6
      const listen = Number(BigInt(m[2]!)) / 1e6
      return { toScript: first - t0, app: listen - first, detect: tUp - listen }
    }
    await sleep(5)
  }
  return undefined
}

let bareSeq = 0
interface Bare {
  child: ChildProcess
  pid: number
  port: number
  out: string
  t0: number
  exited: Promise<void>
}

/** `bash -c 'node server.js'` with PORT set, as the app's uid, in the bench's own namespace. */
function spawnBare(prefix: string[] = []): Bare {
  const n = ++bareSeq
  const port = 20_000 + n
  mkdirSync(join(WORK, 'bare'), { recursive: true })
  const out = join(WORK, 'bare', `${n}.out`)
  const fd = openSync(out, 'a', 0o644)
  const t0 = nowMs()
  const child = spawn('/bin/bash', [...prefix, '-c', COMMAND], {
    cwd: slugDir,
    env: { PATH: APP_PATH, PORT: String(port) },
    stdio: ['ignore', fd, fd],
    uid: APP_UID,
    gid: APP_UID,
    // A process group of its own, so that stopping it reaches whatever the command started.
    detached: true,
  })
  closeSync(fd)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return { child, pid: child.pid!, port, out, t0, exited }
}

/** Polls /proc/<pid>/net/tcp{,6} every POLL_MS, as waitListening does; the time it listened. */
async function bareListening(b: Bare): Promise<number> {
  let gone = false
  void b.exited.then(() => (gone = true))
  for (;;) {
    if ((await listensOn(b.pid, b.port)) === true) return nowMs()
    if (gone) throw new Error(`bare app on port ${b.port} exited: ${readFileSync(b.out, 'utf8')}`)
    if (nowMs() - b.t0 > TIMEOUT_MS) throw new Error(`bare app on port ${b.port} never listened`)
    await sleep(POLL_MS)
  }
}

/** SIGTERM to its process group (`sh` and `node`), then until none of the group is left. */
async function stopBare(b: Bare): Promise<void> {
  const signal = (sig: NodeJS.Signals | 0) => {
    try {
      process.kill(-b.pid, sig)
      return true
    } catch {
      return false
    }
  }
  signal('SIGTERM')
  await b.exited
  for (let i = 0; signal(0); i++) {
    if (i === 1000) signal('SIGKILL')
    await sleep(5)
  }
}

/** What the network looked like at the first wrong answer (into the work dir). */
async function diagnose(url: string, via: string | undefined): Promise<void> {
  const cmds: string[][] = [
    ['ip', '-br', 'link'],
    ['ip', '-br', 'addr'],
    ['bridge', 'link'],
    ['ip', 'netns', 'list'],
    ['nft', 'list', 'table', 'bridge', 'localspace'],
    ...(via
      ? [
          ['ip', '-n', via, 'neigh'],
          ['ip', '-n', via, '-br', 'addr'],
        ]
      : []),
  ]
  for (const ns of (await run('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!))
    if (ns.startsWith('ls-'))
      cmds.push(['ip', '-n', ns, '-br', 'addr'], ['ip', 'netns', 'exec', ns, 'ss', '-ltn'])
  let text = `wrong answer from ${url} via ${via}\n`
  for (const c of cmds) {
    const r = await run(c[0]!, c.slice(1)).catch((e: unknown) => ({ stdout: String(e) }))
    text += `$ ${c.join(' ')}\n${r.stdout}\n`
  }
  writeFileSync(join(WORK, 'diagnose.txt'), text)
}

/** Checks where the client still held a previous dyno's MAC for the address (see findings). */
let staleNeighbour = 0

/**
 * `GET /` must answer `expect`. From the client namespace: a new dyno that reuses a freed
 * address has a new MAC (a new veth), and the client may still hold the old one (REACHABLE for
 * 15–45 s; nothing announces the new one), so its GET would time out. When the client's
 * neighbour entry for the address names another MAC than the target namespace's `eth0`, that
 * is counted (and reported as its own finding) and the entry is flushed before the GET.
 */
async function checkAnswer(
  url: string,
  expect: string,
  via?: string,
  targetNetns?: string,
): Promise<void> {
  const host = new URL(url).hostname
  if (via && targetNetns) {
    const mac = async (args: string[]) =>
      /(?:lladdr|link\/ether) ([0-9a-f:]{17})/.exec(
        (await run('ip', args).catch(() => ({ stdout: '' }))).stdout,
      )?.[1]
    const cached = await mac(['-n', via, 'neigh', 'show', 'to', host])
    const actual = await mac(['-n', targetNetns, 'link', 'show', 'eth0'])
    if (cached !== undefined && actual !== undefined && cached !== actual) {
      staleNeighbour++
      await run('ip', ['-n', via, 'neigh', 'flush', 'to', host]).catch(() => undefined)
    }
  }
  let got: string
  try {
    got = via
      ? (await run('ip', ['netns', 'exec', via, 'curl', '-sS', '--max-time', '5', url])).stdout
      : await (await fetch(url)).text()
  } catch (e) {
    got = `error: ${e instanceof Error ? e.message : String(e)}`
  }
  if (got.trim() !== expect) {
    wrongAnswers++
    if (wrongAnswers <= 5) findings.push(`${url} answered ${JSON.stringify(got)}, not ${expect}`)
    if (wrongAnswers === 1) await diagnose(url, via)
  }
}

// --- the measurements ---------------------------------------------------------------------------

interface Sample {
  ms: number
  stamps?: Stamps | undefined
  /** Other load during the rep, % of one CPU. */
  other: number
  /** runtime level: network attach, DynoProcess.start */
  attachMs?: number | undefined
  startMs?: number | undefined
}

class Series {
  readonly samples: Sample[] = []
  constructor(readonly name: string) {}
  values(quietOnly = false): number[] {
    return this.samples.filter((s) => !quietOnly || s.other < QUIET_BUSY).map((s) => s.ms)
  }
}

const S = {
  bare: new Series(
    '**bare**: `bash -c "node server.js"` spawned from Node, no sandbox, no namespace',
  ),
  sandbox: new Series(
    '**sandbox**: `DynoProcess.start` + `waitListening`, in an attached namespace',
  ),
  runtime: new Series(
    '**runtime**: formation web 0→1 until `up` (`RuntimeAgent`: attach from the warm pool + sandbox + listen)',
  ),
}
const startCall = new Series('`DynoProcess.start()` until it returns (sandbox level)')
const sandboxStop = new Series('sandbox level: `stop()` + `cleanup()`')
const runtimeDown = new Series('runtime level: formation web 1→0 until the dyno is gone')
/** (e) A dyno's name, asked over and over from the client namespace (dns-poller.ts). */
const D = {
  upEvent: new Series("dyno reported `up` (the runtime's event) → its name resolves"),
  listening: new Series('the app listens (its own stamp) → its name resolves'),
  stop: new Series('formation web 1→0 (scale-down written) → its name is gone (NXDOMAIN)'),
  crash: new Series('the dyno crashes (`kill -9` of its processes) → its name is gone'),
}
let poller: NamePoller | undefined
const dynoName = '1.web.bench-app.app.localspace'

let sbxSeq = 0
let sandboxAttachment: Attachment
let clientNetns: string

function sandboxSpec(): DynoSpec {
  const id = `${SBX_PREFIX}${++sbxSeq}`
  return {
    id,
    appId,
    appName: 'bench-app',
    processType: 'web',
    number: 1,
    releaseVersion: 1,
    command: COMMAND,
    configVars: {},
    port: DYNO_PORT,
    privateIp: sandboxAttachment.address,
    memoryMb: 512,
    uid: APP_UID,
    gid: APP_UID,
    netns: netnsName(sandboxAttachment.id),
    slugDir,
    dynoDir: join(WORK, 'sbx', id),
  }
}

async function repBare(keep: boolean, other: () => number): Promise<void> {
  const b = spawnBare()
  const tUp = await bareListening(b)
  const st = await stamps(b.out, b.t0, tUp)
  await checkAnswer(`http://127.0.0.1:${b.port}/`, 'bare')
  await stopBare(b)
  if (keep) S.bare.samples.push({ ms: tUp - b.t0, stamps: st, other: other() })
}

async function repSandbox(keep: boolean, other: () => number): Promise<void> {
  const t0 = nowMs()
  const d = await DynoProcess.start(sandboxSpec(), sandbox)
  const tStarted = nowMs()
  const result = await d.waitListening(DYNO_PORT, { timeoutMs: TIMEOUT_MS })
  const tUp = nowMs()
  if (result !== 'listening') {
    findings.push(`sandbox level: a dyno ${result} (${readFileSync(d.paths.stderr, 'utf8')})`)
  }
  const st = await stamps(d.paths.stdout, t0, tUp)
  await checkAnswer(`http://${sandboxAttachment.address}:${DYNO_PORT}/`, 'web.1', clientNetns)
  const t1 = nowMs()
  await d.stop({ graceMs: 5000 })
  await d.cleanup()
  const stopMs = nowMs() - t1
  if (keep) {
    const o = other()
    S.sandbox.samples.push({ ms: tUp - t0, stamps: st, other: o })
    startCall.samples.push({ ms: tStarted - t0, other: o })
    sandboxStop.samples.push({ ms: stopMs, other: o })
  }
}

async function repRuntime(keep: boolean, other: () => number): Promise<void> {
  await spaceHost.warmed() // every rep starts with the warm pool full, as a quiet daemon has it
  await runtime.idle()
  await network.idle()
  await poller!.when((a) => a === 'NXDOMAIN', `${dynoName} unknown before the start`)
  const t0 = nowMs()
  scale(1)
  const tUp = await whenDynos('web.1 up', () => webDynos().some((d) => d.state === 'up'))
  const dyno = webDynos()[0]!
  const trace = traceOf(dyno.id)
  const tName = await poller!.when((a) => a === `A ${dyno.privateIp}`, `${dynoName} resolving`)
  const st = trace.process ? await stamps(trace.process.paths.stdout, t0, tUp) : undefined
  await checkAnswer(
    `http://${dyno.privateIp}:${DYNO_PORT}/`,
    'web.1',
    clientNetns,
    trace.process?.meta.netns,
  )
  const t1 = nowMs()
  scale(0)
  const tNameGone = await poller!.when((a) => a === 'NXDOMAIN', `${dynoName} gone after the stop`)
  const tGone = await whenDynos('web gone', () => runtime.allDynos().length === 0)
  traces.delete(dyno.id)
  if (keep) {
    const o = other()
    D.upEvent.samples.push({ ms: tName - tUp, other: o })
    if (st) D.listening.samples.push({ ms: tName - (tUp - st.detect), other: o })
    D.stop.samples.push({ ms: tNameGone - t1, other: o })
    S.runtime.samples.push({
      ms: tUp - t0,
      stamps: st,
      other: o,
      attachMs: trace.attachMs,
      startMs: trace.startMs,
    })
    runtimeDown.samples.push({ ms: tGone - t1, other: o })
  }
}

/** (a) and (b), interleaved: each rep runs the three in a rotating order. */
async function starts(): Promise<void> {
  const kinds = [repBare, repSandbox, repRuntime]
  for (let i = 0; i < WARMUP + REPS; i++) {
    const keep = i >= WARMUP
    for (let k = 0; k < kinds.length; k++) {
      const fn = kinds[(i + k) % kinds.length]!
      const before = cpuSnapshot()
      await fn(keep, () => cpuUse(before, cpuSnapshot()).other)
    }
    if (keep && (i - WARMUP + 1) % 10 === 0) {
      log(
        `  ${i - WARMUP + 1}/${REPS}: p50 bare ${fmt(median(S.bare.values()))}, sandbox ` +
          `${fmt(median(S.sandbox.values()))}, runtime ${fmt(median(S.runtime.values()))}`,
      )
    }
  }
}

/** (e) Crashes: a dyno up and resolving is killed (SIGKILL to its cgroup); until its name goes. */
async function dnsCrashes(): Promise<void> {
  for (let i = 0; i < WARMUP + DNS_REPS; i++) {
    const before = cpuSnapshot()
    await poller!.when((a) => a === 'NXDOMAIN', `${dynoName} unknown before the start`)
    scale(1)
    await whenDynos('web.1 up', () => webDynos().some((d) => d.state === 'up'))
    const dyno = webDynos()[0]!
    await poller!.when((a) => a === `A ${dyno.privateIp}`, `${dynoName} resolving`)
    const cgroup = traceOf(dyno.id).process?.meta.cgroup
    if (!cgroup) throw new Error('no process recorded for the dyno')
    const pids = await members(cgroup)
    const tKill = nowMs()
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // already gone: its parent died first
      }
    }
    const tNameGone = await poller!.when((a) => a === 'NXDOMAIN', `${dynoName} gone after a crash`)
    // Heroku restarts a crashed dyno at once the first time: let it come back, then stop it.
    scale(0)
    await whenDynos('web gone', () => runtime.allDynos().length === 0)
    traces.delete(dyno.id)
    if (i >= WARMUP)
      D.crash.samples.push({ ms: tNameGone - tKill, other: cpuUse(before, cpuSnapshot()).other })
  }
}

// --- (c) scale 0 → N → 0, and (d) memory with N up ------------------------------------------------

interface ScaleRun {
  kind: 'bare' | 'runtime'
  upMs: number
  firstUpMs: number
  eachUp: number[]
  downMs: number
  other: number
}
const scaleRuns: ScaleRun[] = []

async function scaleBare(): Promise<void> {
  const before = cpuSnapshot()
  const t0 = nowMs()
  const all: Bare[] = []
  for (let i = 0; i < SCALE; i++) all.push(spawnBare())
  const eachUp = await Promise.all(all.map((b) => bareListening(b).then((t) => t - t0)))
  const tUp = nowMs()
  for (const b of all) await checkAnswer(`http://127.0.0.1:${b.port}/`, 'bare')
  const t1 = nowMs()
  await Promise.all(all.map((b) => stopBare(b)))
  const downMs = nowMs() - t1
  scaleRuns.push({
    kind: 'bare',
    upMs: tUp - t0,
    firstUpMs: Math.min(...eachUp),
    eachUp,
    downMs,
    other: cpuUse(before, cpuSnapshot()).other,
  })
}

interface DaemonMem {
  heapUsed: number
  rss: number
  external: number
  fds: number
  runnerRss: number
}

function daemonMem(): DaemonMem {
  ;(globalThis as { gc?: () => void }).gc?.()
  const m = process.memoryUsage()
  return {
    heapUsed: m.heapUsed,
    rss: m.rss,
    external: m.external + m.arrayBuffers,
    fds: readdirSync('/proc/self/fd').length,
    runnerRss: procMem(runnerPid)?.rss ?? 0,
  }
}
const daemonSnapshots: Array<{ when: string; mem: DaemonMem }> = []
let memReport: string[] = []

async function scaleRuntime(measureMemory: boolean): Promise<void> {
  await spaceHost.warmed()
  await runtime.idle()
  await network.idle()
  if (measureMemory) {
    await sleep(200)
    daemonSnapshots.push({ when: `0 dynos (before scaling to ${SCALE})`, mem: daemonMem() })
  }
  const before = cpuSnapshot()
  const upAt = new Map<string, number>()
  const off = events.on('dynos.changed', () => {
    for (const d of webDynos()) if (d.state === 'up' && !upAt.has(d.id)) upAt.set(d.id, nowMs())
  })
  const t0 = nowMs()
  scale(SCALE)
  const tUp = await whenDynos(
    `${SCALE} up`,
    () => webDynos().filter((d) => d.state === 'up').length === SCALE,
    600_000,
  )
  off()
  const eachUp = [...upAt.values()].map((t) => t - t0)
  const up = webDynos()
  // Addresses of earlier dynos are reused with new MACs: start the client's cache afresh.
  await run('ip', ['-n', clientNetns, 'neigh', 'flush', 'all']).catch(() => undefined)
  const { stdout } = await run('ip', [
    'netns',
    'exec',
    clientNetns,
    'curl',
    '-sS',
    '--max-time',
    '10',
    ...up.map((d) => `http://${d.privateIp}:${DYNO_PORT}/`),
  ]).catch((e: unknown) => ({ stdout: `error: ${String(e)}` }))
  const answers = stdout.trim().split('\n').sort().join(' ')
  const expected = up
    .map((d) => d.name)
    .sort()
    .join(' ')
  if (answers !== expected) {
    wrongAnswers++
    findings.push(`scale: the ${SCALE} dynos answered ${answers.slice(0, 200)}…`)
  }
  if (measureMemory) await memory(up.map((d) => traceOf(d.id).process!))
  const t1 = nowMs()
  scale(0)
  const tGone = await whenDynos('all gone', () => runtime.allDynos().length === 0, 600_000)
  for (const d of up) traces.delete(d.id)
  scaleRuns.push({
    kind: 'runtime',
    upMs: tUp - t0,
    firstUpMs: Math.min(...eachUp),
    eachUp,
    downMs: tGone - t1,
    other: cpuUse(before, cpuSnapshot()).other,
  })
  if (measureMemory) {
    await network.idle()
    await sleep(200)
    daemonSnapshots.push({ when: `0 dynos again (after ${SCALE} → 0)`, mem: daemonMem() })
  }
}

async function scaleTest(): Promise<void> {
  for (let r = 0; r < SCALE_RUNS; r++) {
    // ABBA: bare, runtime, runtime, bare, … so neither side always goes first.
    const order = r % 2 === 0 ? ['bare', 'runtime'] : ['runtime', 'bare']
    for (const kind of order) {
      log(`  scale run ${r + 1}/${SCALE_RUNS}: ${kind} 0 → ${SCALE} → 0`)
      if (kind === 'bare') await scaleBare()
      else await scaleRuntime(!scaleRuns.some((s) => s.kind === 'runtime'))
    }
  }
}

interface ProcMem {
  comm: string
  rss: number
  pss: number
  pte: number
}

/** Bytes, from /proc/<pid>/smaps_rollup (Rss, Pss) and status (VmPTE: its page tables). */
function procMem(pid: number): ProcMem | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = (text: string, key: string) =>
      1024 * Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0)
    return {
      comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim(),
      rss: kb(rollup, 'Rss'),
      pss: kb(rollup, 'Pss'),
      pte: kb(status, 'VmPTE'),
    }
  } catch {
    return undefined
  }
}

interface CgroupMem {
  usage: number
  rss: number
  cache: number
  kmem: number
}

function cgroupMem(dir: string): CgroupMem {
  const num = (f: string) => Number(readFileSync(join(dir, f), 'utf8').trim())
  const stat = readFileSync(join(dir, 'memory.stat'), 'utf8')
  const field = (k: string) => Number(new RegExp(`^${k} (\\d+)$`, 'm').exec(stat)?.[1] ?? 0)
  return {
    usage: num('memory.usage_in_bytes'),
    rss: field('rss'),
    cache: field('cache'),
    kmem: existsSync(join(dir, 'memory.kmem.usage_in_bytes'))
      ? num('memory.kmem.usage_in_bytes')
      : 0,
  }
}

interface PerDyno {
  platform: ProcMem[]
  app: ProcMem[]
  cgroup: CgroupMem
}

const kib = (b: number) => `${(b / 1024).toFixed(0)} KiB`
const mib = (b: number) => `${(b / 1024 / 1024).toFixed(1)} MiB`
const sumBy = (ps: readonly ProcMem[], k: 'rss' | 'pss' | 'pte') => sum(ps.map((p) => p[k]))

/**
 * (d) With SCALE dynos up: each dyno's processes (the exit-status wrapper outside its cgroup, the
 * bwrap monitor and bwrap's init in it: the platform; everything else in it: the app) and its
 * cgroup; beside MEM_BARE bare apps, each started in a cgroup of its own (`sh` joins it, then
 * execs the same command), measured at the same moment.
 */
async function memory(dynos: DynoProcess[]): Promise<void> {
  const inCgroup: Array<{ bare: Bare; cgroup: string }> = []
  for (let i = 0; i < MEM_BARE; i++) {
    // cgroup v1 does not move charges with a task: each anchor starts inside its cgroup.
    const cgroup = join(DEFAULT_CGROUP_ROOT, `${MEM_PREFIX}${i}`)
    await createCgroup(cgroup, 512 * 1024 * 1024)
    inCgroup.push({ bare: spawnBareInCgroup(join(cgroup, 'cgroup.procs')), cgroup })
  }
  await Promise.all(inCgroup.map((a) => bareListening(a.bare)))
  await sleep(1000) // let both sides settle (lazy allocations after listen)
  daemonSnapshots.push({ when: `${SCALE} dynos up`, mem: daemonMem() })

  const perDyno: PerDyno[] = []
  for (const d of dynos) {
    const pids = await members(d.meta.cgroup)
    const mems = pids.map((p) => procMem(p)).filter((m): m is ProcMem => m !== undefined)
    const wrapper = d.pid === undefined ? undefined : procMem(d.pid)
    perDyno.push({
      platform: [
        ...(wrapper ? [{ ...wrapper, comm: `${wrapper.comm} (wrapper)` }] : []),
        ...mems.filter((m) => m.comm === 'bwrap'),
      ],
      app: mems.filter((m) => m.comm !== 'bwrap'),
      cgroup: cgroupMem(d.meta.cgroup),
    })
  }
  const bareMem = inCgroup.map((a) => ({
    procs: readFileSync(join(a.cgroup, 'cgroup.procs'), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((p) => procMem(Number(p)))
      .filter((m): m is ProcMem => m !== undefined),
    cgroup: cgroupMem(a.cgroup),
  }))
  const cpus = dynos[0]?.pid
    ? /Cpus_allowed_list:\s+(\S+)/.exec(readFileSync(`/proc/${dynos[0].pid}/status`, 'utf8'))?.[1]
    : undefined
  for (const a of inCgroup) await stopBare(a.bare)
  for (const a of inCgroup) await removeCgroup(a.cgroup)

  const med = (xs: number[]) => median(xs)
  const kinds = [...new Set(perDyno.flatMap((d) => d.platform.map((p) => p.comm)))]
  const appComms = [...new Set(perDyno.flatMap((d) => d.app.map((p) => p.comm)))]
  const bareComms = [...new Set(bareMem.flatMap((b) => b.procs.map((p) => p.comm)))]
  const platformPss = med(perDyno.map((d) => sumBy(d.platform, 'pss')))
  const platformRss = med(perDyno.map((d) => sumBy(d.platform, 'rss')))
  const platformPte = med(perDyno.map((d) => sumBy(d.platform, 'pte')))
  const appRss = med(perDyno.map((d) => sumBy(d.app, 'rss')))
  const bareRss = med(bareMem.map((b) => sumBy(b.procs, 'rss')))
  const appPss = med(perDyno.map((d) => sumBy(d.app, 'pss')))
  const barePss = med(bareMem.map((b) => sumBy(b.procs, 'pss')))
  const cg = (k: keyof CgroupMem) => med(perDyno.map((d) => d.cgroup[k]))
  const bcg = (k: keyof CgroupMem) => med(bareMem.map((b) => b.cgroup[k]))
  const inside = cg('usage') - bcg('usage')
  const bwrapRssInCgroup = med(
    perDyno.map((d) =>
      sumBy(
        d.platform.filter((p) => p.comm === 'bwrap'),
        'rss',
      ),
    ),
  )
  const wrapperPss = med(
    perDyno.map((d) =>
      sumBy(
        d.platform.filter((p) => p.comm !== 'bwrap'),
        'pss',
      ),
    ),
  )
  const [zero, up] = [daemonSnapshots.at(-2)!.mem, daemonSnapshots.at(-1)!.mem]
  const per = (a: number, b: number) => (b - a) / SCALE
  const heapPer = per(zero.heapUsed, up.heapUsed)
  const rssPer = per(zero.rss, up.rss)
  const runnerPer = per(zero.runnerRss, up.runnerRss)
  const fdsPer = per(zero.fds, up.fds)
  memReport = [
    `Measured with ${SCALE} runtime dynos up (medians over the dynos) and ${MEM_BARE} bare anchors ` +
      `started at the same time, each bare one in a memory cgroup of its own (a \`sh\` joins it, ` +
      `\`setpriv\` drops to the app's uid, then \`bash -c "node server.js"\`: the sandbox's steps 1 and 4), so both sides' ` +
      `kernel-side charge is counted the same way. The apps ran on CPU(s) ${cpus ?? '?'} ` +
      `(inherited from the daemon's pin).`,
    '',
    '| per dyno | platform | app (dyno) | bare app (anchor) |',
    '|---|---|---|---|',
    `| processes | ${kinds.join(', ')} | ${appComms.join(', ')} | ${bareComms.join(', ')} |`,
    `| RSS (smaps_rollup) | ${kib(platformRss)} | ${mib(appRss)} | ${mib(bareRss)} |`,
    `| PSS (smaps_rollup: shared pages split between sharers) | **${kib(platformPss)}** | ${mib(appPss)} | ${mib(barePss)} |`,
    `| page tables (VmPTE) | ${kib(platformPte)} | ${kib(med(perDyno.map((d) => sumBy(d.app, 'pte'))))} | ${kib(med(bareMem.map((b) => sumBy(b.procs, 'pte'))))} |`,
    `| cgroup \`memory.usage_in_bytes\` | | ${mib(cg('usage'))} | ${mib(bcg('usage'))} |`,
    `| cgroup \`memory.stat\` rss / cache | | ${mib(cg('rss'))} / ${kib(cg('cache'))} | ${mib(bcg('rss'))} / ${kib(bcg('cache'))} |`,
    `| cgroup \`memory.kmem.usage_in_bytes\` (kernel objects, stacks, page tables) | | ${kib(cg('kmem'))} | ${kib(bcg('kmem'))} |`,
    '',
    `**Platform memory per dyno** (what a dyno costs beyond the same app run bare):`,
    '',
    '| component | per dyno | how |',
    '|---|---|---|',
    `| in the dyno's cgroup, beyond the bare app's | **${kib(inside)}** | median \`usage_in_bytes\` of the dynos − of the bare anchors; of it kmem ${kib(cg('kmem') - bcg('kmem'))}; the two bwrap processes' pages are charged here (their RSS, ${kib(bwrapRssInCgroup)}, is mostly shared libraries, charged once to whoever read them first) |`,
    `| exit-status wrapper \`sh\` (outside the cgroup) | ${kib(wrapperPss)} PSS | smaps_rollup; charged to the daemon's cgroup |`,
    `| bwrap monitor + init, PSS | ${kib(
      med(
        perDyno.map((d) =>
          sumBy(
            d.platform.filter((p) => p.comm === 'bwrap'),
            'pss',
          ),
        ),
      ),
    )} | smaps_rollup (part of the first row) |`,
    `| daemon heap (\`heapUsed\` after \`gc()\`) | ${kib(heapPer)} | (${SCALE} up − 0 up) / ${SCALE}; includes the log lines kept |`,
    `| daemon RSS | ${kib(rssPer)} | same; RSS moves in pages and arenas, so it is coarse |`,
    `| exec runner RSS | ${kib(runnerPer)} | same |`,
    `| daemon file descriptors | ${fdsPer.toFixed(1)} | /proc/self/fd (inotify watch of the exit status, …) |`,
    '',
    `Not counted: the dyno's network namespace and veth pair (made by the exec runner, charged to ` +
      `its cgroup; the kernel does not report them per namespace), and \`/etc/netns\`/dyno files ` +
      `on tmpfs or disk (a few KiB). \`usage_in_bytes\` is batched per CPU in cgroup v1 (up to ` +
      `~128 KiB of fuzz per cgroup), so differences under that are noise.`,
  ]
}

/** A bare app in a cgroup: `sh` writes its pid to `procs`, then execs the bare command. */
function spawnBareInCgroup(procs: string): Bare {
  const n = ++bareSeq
  const port = 20_000 + n
  const out = join(WORK, 'bare', `${n}.out`)
  const fd = openSync(out, 'a', 0o644)
  const t0 = nowMs()
  // Root joins the cgroup (the app's uid may not write cgroup.procs); setpriv then drops to
  // the app's uid, as the sandbox's step 4 does.
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      'echo $$ >"$1" && shift && exec "$@"',
      'bench-join',
      procs,
      '/usr/bin/setpriv',
      `--reuid=${APP_UID}`,
      `--regid=${APP_UID}`,
      '--clear-groups',
      '--',
      '/bin/bash',
      '-c',
      COMMAND,
    ],
    {
      cwd: slugDir,
      env: { PATH: APP_PATH, PORT: String(port) },
      stdio: ['ignore', fd, fd],
      detached: true,
    },
  )
  closeSync(fd)
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return { child, pid: child.pid!, port, out, t0, exited }
}

// --- leak check ---------------------------------------------------------------------------------

async function leakCheck(): Promise<void> {
  const check = (what: string, bad: readonly string[]) =>
    checks.push({
      what,
      ok: bad.length === 0,
      detail: bad.length === 0 ? 'none' : `${bad.length}: ${bad.slice(0, 5).join(', ')}`,
    })
  const { stdout } = await run('ip', ['-j', 'netns', 'list'])
  const netns = stdout.trim() === '' ? [] : (JSON.parse(stdout) as Array<{ name: string }>)
  check(
    'network namespaces left (`ls-*`)',
    netns.map((n) => n.name).filter((n) => n.startsWith('ls-')),
  )
  check(
    '`/etc/netns/ls-*` left',
    existsSync('/etc/netns') ? readdirSync('/etc/netns').filter((n) => n.startsWith('ls-')) : [],
  )
  const ours = (name: string) =>
    name.startsWith(SBX_PREFIX) || name.startsWith(MEM_PREFIX) || runtimeSpecIds.has(name)
  check(
    `dyno cgroups of this run left under ${DEFAULT_CGROUP_ROOT}`,
    existsSync(DEFAULT_CGROUP_ROOT)
      ? readdirSync(DEFAULT_CGROUP_ROOT, { withFileTypes: true })
          .filter((e) => e.isDirectory() && ours(e.name))
          .map((e) => e.name)
      : [],
  )
  const procs: string[] = []
  for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    if (Number(p) === process.pid || Number(p) === runnerPid) continue
    try {
      const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' ')
      const cgroup = readFileSync(`/proc/${p}/cgroup`, 'utf8')
      let cwd = ''
      try {
        cwd = readlinkSync(`/proc/${p}/cwd`)
      } catch {
        // a kernel thread or gone
      }
      const inOurCgroup = /memory:\/localspace\/([^\n]+)/.exec(cgroup)?.[1]
      if (
        cmdline.includes(WORK) ||
        cwd.startsWith(WORK) ||
        (inOurCgroup !== undefined && ours(inOurCgroup))
      )
        procs.push(`${p} ${cmdline.slice(0, 60)}`)
    } catch {
      // gone meanwhile
    }
  }
  check('processes left (dyno or bare: command line, cwd or cgroup of this run)', procs)
  const dirs = ['dynos', 'sbx']
    .map((d) => join(WORK, d))
    .filter((d) => existsSync(d))
    .flatMap((d) => readdirSync(d).map((e) => join(d, e)))
  check('dyno directories left', dirs)
  check(
    'store: attachments left',
    store.network.attachments().map((a) => a.id),
  )
  check(
    'wrong or missing answers (HTTP GET to every app started)',
    wrongAnswers ? [String(wrongAnswers)] : [],
  )
}

// --- the report ---------------------------------------------------------------------------------

const fmt = (n: number) =>
  Number.isNaN(n)
    ? '–'
    : Math.abs(n) < 10
      ? `${n.toFixed(2)} ms`
      : Math.abs(n) < 100
        ? `${n.toFixed(1)} ms`
        : `${n.toFixed(0)} ms`
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`
const yes = (ok: boolean) => (ok ? 'yes' : '**no**')

async function version(cmd: string, args: string[]): Promise<string> {
  const r = await run(cmd, args).catch(() => ({ stdout: '?', stderr: '' }))
  return (r.stdout || r.stderr).trim().split('\n')[0]!
}

function startRows(quiet: boolean): string[] {
  const bare = S.bare.values(quiet)
  const rows: string[] = []
  for (const s of [S.bare, S.sandbox, S.runtime]) {
    const v = s.values(quiet)
    const over =
      s === S.bare ? '' : `${fmt(median(v) - median(bare))} / ${fmt(pct(v, 99) - pct(bare, 99))}`
    const ratio =
      s === S.bare
        ? ''
        : `${(median(v) / median(bare)).toFixed(2)}× / ${(pct(v, 99) / pct(bare, 99)).toFixed(2)}×`
    const paired =
      s === S.bare
        ? ''
        : fmt(
            median(
              s.samples
                .map((x, i) => ({ x, b: S.bare.samples[i]! }))
                .filter(({ x, b }) => !quiet || (x.other < QUIET_BUSY && b.other < QUIET_BUSY))
                .map(({ x, b }) => x.ms - b.ms),
            ),
          )
    rows.push(
      `| ${s.name} | ${v.length} | ${fmt(median(v))} | ${fmt(pct(v, 99))} | ${over} | ${paired} | ${ratio} |`,
    )
  }
  return rows
}

function stampRows(): string[] {
  const rows = [
    '| side | until the app’s first line | the app (first line → listening) | listening → noticed | total |',
    '|---|---|---|---|---|',
  ]
  for (const s of [S.bare, S.sandbox, S.runtime]) {
    const st = s.samples.map((x) => x.stamps).filter((x): x is Stamps => x !== undefined)
    rows.push(
      `| ${s.name.replace(/:.*$/, '')} | ${fmt(median(st.map((x) => x.toScript)))} | ${fmt(median(st.map((x) => x.app)))} | ${fmt(median(st.map((x) => x.detect)))} | ${fmt(median(s.values()))} |`,
    )
  }
  const att = S.runtime.samples.map((x) => x.attachMs).filter((x): x is number => x !== undefined)
  const st = S.runtime.samples.map((x) => x.startMs).filter((x): x is number => x !== undefined)
  rows.push(
    '',
    `Runtime level, inside: \`network.attach\` (warm pool) p50 ${fmt(median(att))} / p99 ${fmt(pct(att, 99))}; ` +
      `\`DynoProcess.start()\` until it returns p50 ${fmt(median(st))} / p99 ${fmt(pct(st, 99))}. ` +
      `Sandbox level: ${startCall.name} p50 ${fmt(median(startCall.values()))} / p99 ${fmt(pct(startCall.values(), 99))}.`,
  )
  return rows
}

/** (e) The issue-5 target: a dyno's name within 100 ms of it starting, stopping, crashing. */
function dnsReport(): string[] {
  const rows = Object.values(D).map((s) => {
    const quiet = s.values(true)
    return (
      `| ${s.name} | ${s.samples.length} | ${fmt(median(s.values()))} | ${fmt(pct(s.values(), 99))} | ` +
      `${fmt(Math.max(...s.values()))} | ${quiet.length} | ${fmt(median(quiet))} / ${fmt(pct(quiet, 99))} |`
    )
  })
  const worst = Math.max(...Object.values(D).map((s) => pct(s.values(), 99)))
  const quietP99 = Object.values(D)
    .filter((s) => s.values(true).length > 0)
    .map((s) => pct(s.values(true), 99))
  const quietText =
    quietP99.length === 0
      ? 'no round was quiet'
      : `in the quiet rounds ${fmt(Math.max(...quietP99))}: ${yes(Math.max(...quietP99) <= 100)}`
  return [
    '## DNS: a dyno’s name after it starts, stops or crashes',
    '',
    `The daemon’s own path: the runtime’s events → \`DnsFeed\` → \`DnsService\` on the space ` +
      `gateway. \`dns-poller.ts\` in the client namespace (on the bridge, as a dyno) asks for ` +
      `\`${dynoName}\` A over and over (one query in flight, 1 ms between answers; pinned to CPU ` +
      `${POLLER_CPU}); a change counts at the first answer that shows it. Starts and stops are ` +
      `the runtime rounds above; crashes are ${DNS_REPS} more (after ${WARMUP} warm-up): a dyno up ` +
      `and resolving, every process in its cgroup sent SIGKILL.`,
    '',
    `| from → to | n | p50 | p99 | max | rounds with other load < ${QUIET_BUSY} % | their p50 / p99 |`,
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Target: ≤ 100 ms (p99) — ${fmt(worst)} at worst: ${yes(worst <= 100)}; ${quietText}. ` +
      `Everything on the path (this process, the dyno, the exec runner) shares CPU ${CPU}: ` +
      `other load there delays it all.`,
    '',
  ]
}

async function report(whole: CpuUse): Promise<string> {
  const cpuModel =
    /model name\s*: (.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown'
  const overhead = median(S.sandbox.values()) - median(S.bare.values())
  const overheadRt = median(S.runtime.values()) - median(S.bare.values())
  const quietN = S.bare.samples.filter(
    (b, i) =>
      b.other < QUIET_BUSY &&
      (S.sandbox.samples[i]?.other ?? 100) < QUIET_BUSY &&
      (S.runtime.samples[i]?.other ?? 100) < QUIET_BUSY,
  ).length
  const noisy = (u: CpuUse) => (u.other >= QUIET_BUSY ? ' ⚠ noisy' : '')
  const leaked = checks.some((c) => !c.ok)
  const quietReps = S.bare.values(true).length
  const lines = [
    `# bench/runtime — ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `Node ${process.version}, ${await version('bwrap', ['--version'])}, ` +
      `${await version('ip', ['-V'])}, kernel ${await version('uname', ['-r'])}, ` +
      `${cpuModel} ×${whole.busy.length}; commit ${process.env.BENCH_COMMIT ?? 'unknown'}. ` +
      `The daemon's side (this process and its exec runner) pinned to CPU ${CPU} (taskset); what ` +
      `it starts (bare apps, dynos) inherits the pin, so both sides boot Node on the same CPU. ` +
      `Inside scripts/sandbox. ${REPS} starts of each kind after ${WARMUP} warm-up rounds, ` +
      `**interleaved**: each round starts the app bare, then sandboxed, then through the runtime ` +
      `(the order rotates every round), so all three see the same machine load. “Up” is detected ` +
      `the same way for all: a LISTEN socket on $PORT in \`/proc/<pid>/net/tcp{,6}\`, polled every ` +
      `${POLL_MS} ms (\`waitListening\`'s own loop for the dynos; the same \`listensOn\` for bare). ` +
      `Every app started is asked \`GET /\` afterwards and must answer its \`DYNO\` (or \`bare\`). ` +
      `p50/p99 are nearest-rank.`,
    '',
    '## Start to up',
    '',
    '| start | n | p50 | p99 | overhead vs bare (p50 / p99) | overhead, paired (median of per-round differences) | ratio to bare (p50 / p99) |',
    '|---|---|---|---|---|---|---|',
    ...startRows(false),
    `| ${startCall.name} | ${startCall.samples.length} | ${fmt(median(startCall.values()))} | ${fmt(pct(startCall.values(), 99))} | | | |`,
    `| ${sandboxStop.name} | ${sandboxStop.samples.length} | ${fmt(median(sandboxStop.values()))} | ${fmt(pct(sandboxStop.values(), 99))} | | | |`,
    `| ${runtimeDown.name} | ${runtimeDown.samples.length} | ${fmt(median(runtimeDown.values()))} | ${fmt(pct(runtimeDown.values(), 99))} | | | |`,
    '',
    `Target: sandbox overhead ≤ 50 ms p50 — sandbox level ${fmt(overhead)}: ${yes(overhead <= 50)}; ` +
      `full runtime path ${fmt(overheadRt)}: ${yes(overheadRt <= 50)}.`,
    '',
    quietReps >= 10
      ? [
          `Only the rounds where other load stayed under ${QUIET_BUSY} % of a CPU (${quietReps} bare, ` +
            `${S.sandbox.values(true).length} sandbox, ${S.runtime.values(true).length} runtime samples; ${quietN} rounds quiet for all three):`,
          '',
          '| start | n | p50 | p99 | overhead vs bare (p50 / p99) | overhead, paired | ratio to bare |',
          '|---|---|---|---|---|---|---|',
          ...startRows(true),
        ].join('\n')
      : `Fewer than 10 samples ran with other load under ${QUIET_BUSY} % of a CPU (${quietReps}): ` +
        'no quiet-only table; read the ratios and the paired differences.',
    '',
    '### Where the time goes (medians)',
    '',
    'From the app’s own CLOCK_MONOTONIC stamps: its first line runs after the spawn, the ' +
      'sandbox’s steps (cgroup join, `ip netns exec`, overlay mount, `setpriv`, `bwrap`) and ' +
      'Node’s own boot; “the app” is the same script on both sides.',
    '',
    ...stampRows(),
    '',
    ...dnsReport(),
    `## Scale 0 → ${SCALE} → 0`,
    '',
    `\`RuntimeAgent\`: formation web=${SCALE} until all ${SCALE} are \`up\`, then web=0 until all ` +
      `are gone (SIGTERM, exit, cleanup, network detach, directory removed). Bare: ${SCALE} ` +
      `\`bash -c "node server.js"\` spawned at once until all listen, then SIGTERM until all exited. ` +
      `Runs alternate (ABBA) so neither side always goes first.`,
    '',
    '| run | side | all up | first up | each up (p50 / p99) | all gone | other load |',
    '|---|---|---|---|---|---|---|',
    ...scaleRuns.map(
      (r, i) =>
        `| ${Math.floor(i / 2) + 1} | ${r.kind} | **${secs(r.upMs)}** | ${fmt(r.firstUpMs)} | ` +
        `${fmt(median(r.eachUp))} / ${fmt(pct(r.eachUp, 99))} | ${secs(r.downMs)} | ${r.other.toFixed(0)} %${r.other >= QUIET_BUSY ? ' ⚠' : ''} |`,
    ),
    '',
    (() => {
      const rt = scaleRuns.filter((r) => r.kind === 'runtime').map((r) => r.upMs)
      const bare = scaleRuns.filter((r) => r.kind === 'bare').map((r) => r.upMs)
      return rt.length && bare.length
        ? `Median all-up: runtime ${secs(median(rt))}, bare ${secs(median(bare))} ` +
            `(${(median(rt) / median(bare)).toFixed(1)}×); per dyno ` +
            `${fmt((median(rt) - median(bare)) / SCALE)} more.`
        : ''
    })(),
    '',
    `## Memory the platform adds per dyno`,
    '',
    ...memReport,
    '',
    '| daemon (this process) | heapUsed | RSS | external + buffers | fds | exec runner RSS |',
    '|---|---|---|---|---|---|',
    ...daemonSnapshots.map(
      ({ when, mem }) =>
        `| ${when} | ${mib(mem.heapUsed)} | ${mib(mem.rss)} | ${mib(mem.external)} | ${mem.fds} | ${mib(mem.runnerRss)} |`,
    ),
    '',
    '## Leak check (after everything was stopped and the network agent stopped)',
    '',
    '| what | found | ok? |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.what} | ${c.detail} | ${yes(c.ok)} |`),
    '',
    '## Findings',
    '',
    ...(staleNeighbour > 0
      ? [
          `- ${staleNeighbour} of the GET checks from the client namespace found the client still ` +
            'holding another MAC for the dyno’s address (flushed before the GET; without it the ' +
            'GET times out, checked by hand): a dyno that ' +
            'reuses a freed private IP gets a new MAC (a new veth), and peers that talked to the ' +
            'previous holder keep the old MAC (REACHABLE, 15–45 s) — nothing announces the new ' +
            'one. Real apps calling a replaced dyno by IP would black-hole for that long. For ' +
            'src/network (not changed here): set `arp_notify=1` on `eth0` in the namespace (a ' +
            'gratuitous ARP when it comes up) or derive the MAC from the address.',
        ]
      : []),
    ...(findings.length === 0 && staleNeighbour === 0 ? ['none'] : findings.map((f) => `- ${f}`)),
    '',
    '## Machine load',
    '',
    `“Other load” is the busy time (user+nice+system+steal, /proc/stat) of all CPUs minus this ` +
      `process, its exec runner and everything they reaped (bare apps, dyno wrappers and through ` +
      `them the dynos), in % of one CPU: other work sharing the machine (and kernel threads). A ` +
      `section or round with other load ≥ ${QUIET_BUSY} % is flagged ⚠ noisy. Load average at the ` +
      `end: ${readFileSync('/proc/loadavg', 'utf8').trim()}.`,
    '',
    `| section | wall | ours (% of one CPU) | ${whole.busy.map((_, i) => `CPU ${i} busy`).join(' | ')} | other load |`,
    `|---|---|---|${whole.busy.map(() => '---|').join('')}---|`,
    ...[...sections, { name: '**whole run**', use: whole }].map(
      ({ name, use }) =>
        `| ${name} | ${use.wallS.toFixed(1)} s | ${use.ours.toFixed(0)} % | ${use.busy
          .map((b) => `${b.toFixed(0)} %`)
          .join(' | ')} | ${use.other.toFixed(0)} %${noisy(use)} |`,
    ),
    '',
    `Rounds of the start test with other load ≥ ${QUIET_BUSY} %: bare ` +
      `${S.bare.samples.length - S.bare.values(true).length}/${S.bare.samples.length}, sandbox ` +
      `${S.sandbox.samples.length - S.sandbox.values(true).length}/${S.sandbox.samples.length}, runtime ` +
      `${S.runtime.samples.length - S.runtime.values(true).length}/${S.runtime.samples.length}; median ` +
      `other load per start: ${median(S.bare.samples.map((s) => s.other)).toFixed(0)} % / ` +
      `${median(S.sandbox.samples.map((s) => s.other)).toFixed(0)} % / ` +
      `${median(S.runtime.samples.map((s) => s.other)).toFixed(0)} %.`,
    leaked ? '\n**Something was left behind: see the leak check.**' : '',
    '',
  ]
  return lines.join('\n')
}

// --- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const before = cpuSnapshot()
  await section('setup: network agent, space allocated, warm pool', async () => {
    await network.start()
    if (store.spaces.find(spaceId)?.state !== 'allocated')
      throw new Error(`the space is not allocated: ${network.lastError?.message}`)
    await runtime.start()
    sandboxAttachment = await network.attach(spaceId, 'dyno', 'bench-sandbox-level')
    const client = await network.attach(spaceId, 'dyno', 'bench-client')
    clientNetns = netnsName(client.id)
    await dnsFeed.start()
    const space = store.spaces.find(spaceId)!
    const gateway = spaceAddresses(space.cidr, space.dataCidr).gateway
    if (!dns.listenAddresses.includes(gateway)) throw new Error(`DNS not listening on ${gateway}`)
    poller = new NamePoller(clientNetns, POLLER_CPU, gateway, dynoName)
    await spaceHost.warmed()
  })
  let failed: unknown
  try {
    await section(
      `1. start to up: bare, sandbox, runtime, interleaved (${WARMUP} + ${REPS} rounds)`,
      starts,
    )
    await section(`4. DNS: crashes until the name is gone (${WARMUP} + ${DNS_REPS})`, dnsCrashes)
    await section(
      `2+3. scale 0 → ${SCALE} → 0 (runtime and bare, ${SCALE_RUNS} runs each), memory`,
      scaleTest,
    )
  } catch (e) {
    failed = e
    findings.push(`aborted: ${e instanceof Error ? e.message : String(e)}`)
    log(`aborted: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`)
  }
  await section('teardown and leak check', async () => {
    scale(0)
    await whenDynos('all gone', () => runtime.allDynos().length === 0, 120_000).catch(
      (e: unknown) => findings.push(String(e)),
    )
    await runtime.stop()
    poller?.stop()
    await dnsFeed.stop()
    await dns.close()
    await network.detach(sandboxAttachment.id).catch(() => undefined)
    const client = store.network.attachments().find((a) => a.owner === 'bench-client')
    if (client) await network.detach(client.id)
    await network.stop() // removes the prepared namespaces, as a daemon's SIGTERM does
    await leakCheck()
  })
  const whole = cpuUse(before, cpuSnapshot())
  console.log(await report(whole))
  return failed === undefined && checks.every((c) => c.ok) ? 0 : 1
}

main()
  .then(async (code) => {
    await runner.close()
    logs.close()
    store.close()
    process.exitCode = code
  })
  .catch(async (e: unknown) => {
    console.error(e)
    await runner.close().catch(() => undefined)
    process.exitCode = 1
  })
