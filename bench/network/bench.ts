/**
 * bench/network — the issue's network targets, side by side with the kernel floor in one run
 * (see bench/README.md). Started by bench/network/run.sh inside scripts/sandbox and pinned to
 * one CPU; it must never run on a real host's network:
 *
 *   node --import tsx bench/network/bench.ts --work DIR [--reps 100] [--spaces 100]
 *     [--dynos 10] [--fw-reps 20] [--cpu 0]
 *
 * Uses the real pieces in-process: a Store, an EventBus, the NetworkAgent with LinuxSpaceHost
 * and the functions of src/network, all through one Exec that times every process it starts.
 * Prints the Markdown report on stdout; exits 1 (after the report) when the leak check failed.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { desiredAttachment, desiredNetwork } from '../../src/agent/desired-network.js'
import type { NetworkSettings } from '../../src/agent/desired-network.js'
import { LinuxSpaceHost } from '../../src/agent/linux-space-host.js'
import { NetworkAgent } from '../../src/agent/network-agent.js'
import {
  DEFAULT_EGRESS_PER_SPACE,
  parseEgressPool,
  pickEgressAddresses,
} from '../../src/core/egress.js'
import { EventBus } from '../../src/core/events.js'
import { newId, nowIso, shortId } from '../../src/core/ids.js'
import { planSpaceCidrs } from '../../src/core/space-cidrs.js'
import type { Attachment, Space, Team } from '../../src/core/types.js'
import { run, type Exec } from '../../src/exec/run.js'
import { startExecRunner } from '../../src/exec/runner.js'
import { attach, detach } from '../../src/network/attach.js'
import { Firewall } from '../../src/network/firewall.js'
import { NFT_TABLE } from '../../src/network/names.js'
import { renderFirewall, renderInetTable } from '../../src/network/nft/render.js'
import { ensureForwarding } from '../../src/network/host-files.js'
import { observeHost, parseAddresses, parseLinks } from '../../src/network/observe.js'
import { Store } from '../../src/store/store.js'
import { inSandbox } from '../../test/helpers/sandbox.js'

const { values } = parseArgs({
  options: {
    work: { type: 'string' },
    reps: { type: 'string', default: '100' },
    spaces: { type: 'string', default: '100' },
    dynos: { type: 'string', default: '10' },
    'fw-reps': { type: 'string', default: '20' },
    cpu: { type: 'string', default: '0' },
  },
})
if (!values.work || !inSandbox()) {
  console.error('usage (inside scripts/sandbox, as bench/network/run.sh does): bench.ts --work DIR')
  process.exit(2)
}
const WORK = values.work
const REPS = Number(values.reps)
const SCALE_SPACES = Number(values.spaces)
const SCALE_DYNOS = Number(values.dynos)
const FW_REPS = Number(values['fw-reps'])
const CPU = Number(values.cpu)
const WARMUP = 3
const N_DYNOS = SCALE_SPACES * SCALE_DYNOS
const N = N_DYNOS.toLocaleString('en-US')

// The outbound pool and interface, as `--egress-pool`/`--egress-interface` give them: every
// space takes 2 addresses, added as /32s to the interface and SNATed to by the firewall.
const EGRESS_IFACE = 'bench-egress0'
const EGRESS_POOL = parseEgressPool('198.18.0.0/22')
const settings: NetworkSettings = {
  egressInterface: EGRESS_IFACE,
  egressPoolCidrs: [EGRESS_POOL.text],
  allowPrivate: [],
  // the daemon's default `--router-listen`
  routerListeners: [{ address: '127.0.0.1', port: 8080 }],
}

const log = (message: string) => console.error(`[bench/network] ${message}`)
const nowMs = () => Number(process.hrtime.bigint()) / 1e6

// --- timing ----------------------------------------------------------------------------------

interface Interval {
  label: string
  start: number
  end: number
}

interface Op {
  ms: number
  start: number
  steps: Interval[]
}

/** Where the Exec files the processes of the operation being measured; one at a time. */
let recording: Interval[] | undefined

function labelOf(cmd: string, args: readonly string[], input: string | undefined): string {
  if (cmd === 'nft') {
    if (args.includes('-c')) return 'nft -c -f (validate)'
    if (args.includes('list')) return 'nft -j -s list ruleset (read)'
    if (input?.startsWith('add element')) return 'nft add element'
    if (input?.startsWith('delete element')) return 'nft delete element'
    return 'nft -f (apply)'
  }
  if (cmd === 'ip') {
    if (args.includes('-j')) return 'ip -j … show (observe)'
    if (args[0] === '-n') return 'ip -n NS -batch (inside)'
    if (args.includes('-batch')) return 'ip -batch (host)'
    return `ip ${args.slice(0, 2).join(' ')}`
  }
  return cmd
}

/**
 * Host commands as the daemon runs them: in its exec runner process (src/exec/runner.ts),
 * with long-lived `ip`/`nft` shells for the attach path.
 */
const runner = startExecRunner()

/** The runner's exec, timing every process it starts into the current recording. */
const timedExec: Exec = async (cmd, args, options) => {
  const into = recording
  const start = nowMs()
  try {
    return await runner.exec(cmd, args, options)
  } finally {
    into?.push({ label: labelOf(cmd, args, options?.input), start, end: nowMs() })
  }
}

class Series {
  readonly ops: Op[] = []
  constructor(readonly name: string) {}
  values(): number[] {
    return this.ops.map((o) => o.ms)
  }
}

async function measure<T>(series: Series | undefined, fn: () => Promise<T>): Promise<T> {
  const steps: Interval[] = []
  recording = steps
  const start = nowMs()
  try {
    return await fn()
  } finally {
    const ms = nowMs() - start
    recording = undefined
    series?.ops.push({ ms, start, steps })
  }
}

/** Nearest-rank percentile. */
function pct(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!
}
const p50 = (s: Series) => pct(s.values(), 50)
const p99 = (s: Series) => pct(s.values(), 99)
const sum = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0)

/** The time covered by some intervals, overlaps counted once (observe runs 3 in parallel). */
function covered(intervals: readonly Interval[]): number {
  const sorted = [...intervals].sort((a, b) => a.start - b.start)
  let total = 0
  let end = -Infinity
  for (const i of sorted) {
    if (i.end <= end) continue
    total += i.end - Math.max(i.start, end)
    end = i.end
  }
  return total
}

interface StepRow {
  step: string
  perOp: number
  p50: number
}

/** Per process kind: how many per operation and its p50; the rest is time spent in Node. */
function breakdown(series: Series): StepRow[] {
  const labels = [...new Set(series.ops.flatMap((o) => o.steps.map((s) => s.label)))]
  const rows = labels.map((label) => {
    const per = series.ops.map((o) => o.steps.filter((s) => s.label === label))
    return {
      step: `\`${label}\``,
      perOp: sum(per.map((p) => p.length)) / series.ops.length,
      p50: pct(
        per.map((p) => covered(p)),
        50,
      ),
    }
  })
  rows.sort((a, b) => b.p50 - a.p50)
  rows.push({
    step: 'waiting on processes, in all',
    perOp: sum(series.ops.map((o) => o.steps.length)) / series.ops.length,
    p50: pct(
      series.ops.map((o) => covered(o.steps)),
      50,
    ),
  })
  rows.push({
    step: 'in Node (SQLite, files, rendering, parsing)',
    perOp: 0,
    p50: pct(
      series.ops.map((o) => o.ms - covered(o.steps)),
      50,
    ),
  })
  return rows
}

// --- CPU accounting ----------------------------------------------------------------------------

const HZ = Number(process.env.CLK_TCK ?? 100)

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
    // user nice system idle iowait irq softirq steal: busy is what processes and the
    // hypervisor took (as bench/api counts it)
    busy[Number(m[1])] = f[0]! + f[1]! + f[2]! + f[7]!
    total[Number(m[1])] = sum(f.slice(0, 8))
  }
  // utime stime cutime cstime: this process and the processes it waited for
  const stat = readFileSync('/proc/self/stat', 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ours = sum([11, 12, 13, 14].map((i) => Number(fields[i])))
  return { at: nowMs(), busy, total, ours }
}

interface CpuUse {
  wallS: number
  /** This process and its children, % of one CPU. */
  ours: number
  /** Busy % of each CPU over the interval. */
  busy: number[]
  /** Everything else on the machine, % of one CPU (both CPUs' busy time minus ours). */
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

// --- the host --------------------------------------------------------------------------------

const ip = (...args: string[]) => run('ip', args)

async function listNetns(): Promise<string[]> {
  const { stdout } = await ip('-j', 'netns', 'list')
  if (stdout.trim() === '') return []
  return (JSON.parse(stdout) as Array<{ name: string }>).map((n) => n.name)
}

async function linkNames(): Promise<string[]> {
  const { stdout } = await ip('-j', 'link', 'show')
  return (JSON.parse(stdout) as Array<{ ifname: string }>).map((l) => l.ifname)
}

/** A namespace is dismantled by the kernel after `ip netns del`: wait until its veth is gone. */
async function settle(prefix: string): Promise<void> {
  const deadline = nowMs() + 20_000
  while ((await linkNames()).some((n) => n.startsWith(prefix))) {
    if (nowMs() > deadline) throw new Error(`links ${prefix}* still there after 20 s`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

// --- the store, as the API fills it ------------------------------------------------------------

const store = Store.open(join(WORK, 'localspace.db'))
const events = new EventBus()
const host = new LinuxSpaceHost(timedExec, { openShell: runner.openShell })
const agent = new NetworkAgent(store, events, host, { settings, intervalMs: 0, log })
const team: Team = { id: newId(), name: 'bench', createdAt: nowIso(), updatedAt: nowIso() }
store.teams.insert(team)
let spaceSeq = 0

/** What POST /spaces writes (src/api/routes/spaces.routes.ts), in one transaction. */
function insertSpace(): Space {
  const now = nowIso()
  return store.transaction(() => {
    const all = store.spaces.all()
    const pair = planSpaceCidrs(
      {},
      all.flatMap((s) => [s.cidr, s.dataCidr]),
    )
    const used = new Set(all.map((s) => shortId(s.id)))
    let id = newId()
    while (used.has(shortId(id))) id = newId()
    const space: Space = {
      id,
      name: `bench-${++spaceSeq}`,
      teamId: team.id,
      teamName: team.name,
      region: 'virginia',
      state: 'allocating',
      shield: false,
      cidr: pair.cidr,
      dataCidr: pair.dataCidr,
      generation: 'cedar',
      createdAt: now,
      updatedAt: now,
    }
    store.spaces.insert(space)
    const taken = new Set(store.network.allEgress())
    store.network.insertEgress(
      id,
      pickEgressAddresses(EGRESS_POOL, taken, DEFAULT_EGRESS_PER_SPACE),
      now,
    )
    store.spaces.insertRuleset({
      id: newId(),
      spaceId: id,
      version: 1,
      rules: [{ action: 'allow', source: '0.0.0.0/0' }],
      createdBy: 'bench@localspace.localhost',
      applied: false,
      createdAt: now,
    })
    return space
  })
}

async function reconcileAllocated(space: Space): Promise<void> {
  await agent.reconcile()
  const state = store.spaces.find(space.id)?.state
  if (state !== 'allocated') {
    throw new Error(`${space.name} is ${state} after a reconcile: ${agent.lastError?.message}`)
  }
}

/** DELETE /spaces/{space} sets `deleting`; the reconcile removes the host objects and the row. */
function markDeleting(space: Space): void {
  store.spaces.setState(space.id, 'deleting', nowIso())
}

async function reconcileGone(spaces: readonly Space[]): Promise<void> {
  await agent.reconcile()
  const left = spaces.filter((s) => store.spaces.find(s.id))
  if (left.length > 0) {
    throw new Error(`${left.length} space(s) still there: ${agent.lastError?.message}`)
  }
}

// --- the measurements ----------------------------------------------------------------------------

const S = {
  spawn: new Series('process spawn from Node (`true`)'),
  floorSeparate: new Series('floor: netns + veth inside + addr + up + route, 5 `ip` processes'),
  floorBatched: new Series('floor: the same, batched (`ip -batch -` + `ip -n NS -batch -`)'),
  floorTeardown: new Series('floor: teardown (`ip netns del`)'),
  allocate: new Series('space allocation (insert + `agent.reconcile()` → allocated)'),
  spaceDelete: new Series('space teardown (`deleting` + `agent.reconcile()` → gone)'),
  attach: new Series(`dyno attach (\`agent.attach\`), 0–${REPS + WARMUP - 1} present`),
  detach: new Series('dyno detach (`agent.detach`)'),
  stepStore: new Series('step: store (allocate address + row `ready`, one transaction)'),
  stepFwAdd: new Series('step: `Firewall.addAttachment` (1 nft)'),
  stepAttach: new Series('step: `attach()` (2 ip + resolv.conf)'),
  stepDetach: new Series('step: `detach()` (1 ip + rm /etc/netns/NS)'),
  stepFwRemove: new Series('step: `Firewall.removeAttachment` (1 nft)'),
  ifAttach: new Series(
    'what-if: `addAttachment` ∥ `attach()` (side by side, not one after the other)',
  ),
  ifDetach: new Series('what-if: `detach()` ∥ `removeAttachment`'),
  forwarding: new Series(
    '`ensureForwarding` of every bridge, one after the other, as reconcileHost does',
  ),
  ifForwarding: new Series('what-if: the same files read with `readFileSync`'),
  scaleStore: new Series(
    `store: \`allocateAttachment\` + delete (2 transactions), ${N} dynos present`,
  ),
  scaleAllocate: new Series(`scale: space allocation, 0–${SCALE_SPACES - 1} spaces present`),
  scaleAttach: new Series(`scale: dyno attach, 0–${N_DYNOS - 1} present`),
  scaleAttachWarm: new Series(`  of them, those that found a prepared namespace`),
  scaleAttachCold: new Series(
    `  of them, those that did not (the pool was empty: 2 \`ip\` processes)`,
  ),
  fullReapply: new Series('scale: reconcile after attaches (whole firewall re-applied)'),
  steady: new Series('scale: reconcile, nothing changed (the 10 s timer)'),
  fwApply: new Series(
    `\`Firewall.apply\`, ${N} dynos, one dyno more or less (as a reconcile after a missed attach/detach)`,
  ),
  fwSpace: new Series(
    `\`Firewall.apply\`, ${N} dynos, one space more or less (its delta, then the read-back)`,
  ),
  fwWhole: new Series(
    '  `Firewall.apply` when the structure changed (or first, or after drift): whole + read',
  ),
  nftApply: new Series('  `nft -f` of the whole script alone'),
  nftRead: new Series('  the read alone (`nft -j -s list ruleset`)'),
  fwDrift: new Series(`\`Firewall.drifted()\`, ${N} dynos (the 10 s timer's firewall check)`),
  ifTextRead: new Series('  what-if: the same read as text (`nft -s list ruleset`)'),
  fwAdd: new Series(`\`Firewall.addAttachment\`, ${N} dynos present`),
  fwRemove: new Series(`\`Firewall.removeAttachment\`, ${N} dynos present`),
  ifInet: new Series('what-if: replace only the table that changed (`inet`, no dyno elements)'),
  ifDelta: new Series(
    'what-if: a new space as a delta: its 7 set elements in one `nft -f` (no SNAT rule)',
  ),
  observe: new Series(`\`observeHost()\` (3 \`ip -j\` in parallel), ${N} dynos`),
  ifObserve: new Series('what-if: one `ip -j -d addr show` + readdir /run/netns'),
  scaleDetach: new Series(`scale: dyno detach, ${N} → 0 present`),
  scaleDelete: new Series(`scale: one reconcile deleting ${SCALE_SPACES} spaces`),
}
const totals: Array<[string, number]> = []
const findings: string[] = []
const checks: Array<{ what: string; ok: boolean; detail: string }> = []
let scriptInfo = ''

interface FloorSet {
  spawn: Series
  create: Series
  teardown: Series
}

/** The floor again, interleaved with what a section measures, so both see the same load. */
const floorSet = (where: string): FloorSet => ({
  spawn: new Series(`  spawn \`true\`, interleaved with ${where}`),
  create: new Series(`  floor, batched, interleaved with ${where}`),
  teardown: new Series(`  floor teardown, interleaved with ${where}`),
})
const F2 = floorSet('§2')
const F3 = floorSet('§3')
const F4 = floorSet('§4')
const FLOOR_NS_LINES =
  'addr add 10.99.0.2/16 dev eth0\nlink set eth0 up\nroute add default via 10.99.0.1\n'
let floorSeq = 0

/** One batched floor operation and its teardown (and one bare spawn), into `set`. */
async function floorOnce(set: FloorSet | undefined): Promise<void> {
  const i = floorSeq++
  const ns = `lbf-${i}`
  await measure(set?.spawn, () => run('true', []))
  await measure(set?.create, async () => {
    // the fewest processes: one on the host, one inside
    await run('ip', ['-batch', '-'], {
      input: `netns add ${ns}\nlink add lbf${i} type veth peer name eth0 netns ${ns}\n`,
    })
    await run('ip', ['-n', ns, '-batch', '-'], { input: FLOOR_NS_LINES })
  })
  await measure(set?.teardown, () => ip('netns', 'del', ns))
}

async function floor(): Promise<void> {
  const F1 = { spawn: S.spawn, create: S.floorBatched, teardown: S.floorTeardown }
  for (let i = 0; i < WARMUP + REPS; i++) {
    const keep = i >= WARMUP
    await floorOnce(keep ? F1 : undefined)
    // one process per command, as a shell script would
    const ns = `lbf-s${i}`
    await measure(keep ? S.floorSeparate : undefined, async () => {
      await ip('netns', 'add', ns)
      await ip('link', 'add', `lbfs${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
      await ip('-n', ns, 'addr', 'add', '10.99.0.2/16', 'dev', 'eth0')
      await ip('-n', ns, 'link', 'set', 'eth0', 'up')
      await ip('-n', ns, 'route', 'add', 'default', 'via', '10.99.0.1')
    })
    await measure(keep ? S.floorTeardown : undefined, () => ip('netns', 'del', ns))
  }
}

async function spaceAllocation(): Promise<void> {
  await agent.reconcile() // the empty firewall, as a daemon's first start does
  for (let i = 0; i < WARMUP + REPS; i++) {
    const keep = i >= WARMUP
    await floorOnce(keep ? F2 : undefined)
    const space = insertSpace()
    await measure(keep ? S.allocate : undefined, () => reconcileAllocated(space))
    markDeleting(space)
    await measure(keep ? S.spaceDelete : undefined, () => reconcileGone([space]))
  }
}

async function dynoAttach(): Promise<void> {
  const space = insertSpace()
  await reconcileAllocated(space)
  // (a) the runtime's path, end to end
  const made: Attachment[] = []
  for (let i = 0; i < WARMUP + REPS; i++) {
    const keep = i >= WARMUP
    await floorOnce(keep ? F3 : undefined)
    // The daemon keeps namespaces prepared (src/network/warm-pool.ts); dynos that start one
    // after the other find one ready. §4's scale run attaches back to back without waiting.
    await host.warmed()
    made.push(
      await measure(keep ? S.attach : undefined, () =>
        agent.attach(space.id, 'dyno', `bench-dyno-${i}`),
      ),
    )
    if (i === 0) {
      // doctor must not see drift in what the agent itself just did
      const [networks] = await agent.doctor()
      if (!networks?.ok) {
        findings.push(
          `\`agent.doctor()\` right after one \`agent.attach\` reports drift: “${networks?.detail}”. ` +
            'LinuxSpaceHost.attach/detach change the `attachments` set but not `appliedFirewall`, ' +
            'so `renderFirewall(desired) !== appliedFirewall` until the next reconcile, which then ' +
            're-applies the whole firewall.',
        )
      }
    }
  }
  for (const [i, a] of made.entries()) {
    await measure(i >= WARMUP ? S.detach : undefined, () => agent.detach(a.id))
  }

  // (b) the same steps one by one, with the functions of src/network
  const firewall = new Firewall(timedExec)
  const live = store.spaces.find(space.id)!
  const steps: Array<{ a: Attachment; veth: string; netns: string }> = []
  for (let i = 0; i < WARMUP + REPS; i++) {
    const keep = i >= WARMUP
    const a = await measure(keep ? S.stepStore : undefined, async () =>
      store.transaction(() =>
        store.network.allocateAttachment(live, 'dyno', `bench-step-${i}`, { state: 'ready' }),
      ),
    )
    const desired = desiredAttachment(live, a)
    await measure(keep ? S.stepFwAdd : undefined, () =>
      firewall.addAttachment(desired.veth, desired.address),
    )
    await measure(keep ? S.stepAttach : undefined, () => attach(timedExec, desired))
    steps.push({ a, veth: desired.veth, netns: desired.netns })
  }
  for (const [i, { a, veth, netns }] of steps.entries()) {
    const keep = i >= WARMUP
    await measure(keep ? S.stepDetach : undefined, () => detach(timedExec, { netns, veth }))
    await measure(keep ? S.stepFwRemove : undefined, () =>
      firewall.removeAttachment(veth, a.address),
    )
    store.network.deleteAttachment(a.id)
  }

  // (c) what if the anti-spoofing element went in side by side with the namespace? It is safe
  // in either order: a veth without its element can send nothing (the set is an allow-list).
  // Its processes share the one CPU this runs on, like everything else here.
  const side: Array<{ a: Attachment; veth: string; netns: string }> = []
  for (let i = 0; i < WARMUP + FW_REPS; i++) {
    const a = store.transaction(() =>
      store.network.allocateAttachment(live, 'dyno', `bench-side-${i}`),
    )
    const desired = desiredAttachment(live, a)
    await measure(i >= WARMUP ? S.ifAttach : undefined, () =>
      Promise.all([
        firewall.addAttachment(desired.veth, desired.address),
        attach(timedExec, desired),
      ]),
    )
    side.push({ a, veth: desired.veth, netns: desired.netns })
  }
  for (const [i, { a, veth, netns }] of side.entries()) {
    await measure(i >= WARMUP ? S.ifDetach : undefined, () =>
      Promise.all([detach(timedExec, { netns, veth }), firewall.removeAttachment(veth, a.address)]),
    )
    store.network.deleteAttachment(a.id)
  }
  markDeleting(space)
  await reconcileGone([space])
}

async function scale(): Promise<void> {
  const spaces: Space[] = []
  const t0 = nowMs()
  for (let i = 0; i < SCALE_SPACES; i++) {
    await floorOnce(F4)
    const space = insertSpace()
    await measure(S.scaleAllocate, () => reconcileAllocated(space))
    spaces.push(space)
  }
  totals.push([`${SCALE_SPACES} spaces allocated, one reconcile each`, nowMs() - t0])

  const t1 = nowMs()
  const attachments: Attachment[] = []
  let prepared = 0
  for (let d = 0; d < SCALE_DYNOS; d++) {
    for (const [s, space] of spaces.entries()) {
      if (s % 10 === 0) await floorOnce(F4)
      const warm = host.preparedId() !== undefined
      if (warm) prepared++
      attachments.push(
        await measure(S.scaleAttach, () => agent.attach(space.id, 'dyno', `web.${s}.${d}`)),
      )
      ;(warm ? S.scaleAttachWarm : S.scaleAttachCold).ops.push(S.scaleAttach.ops.at(-1)!)
    }
  }
  totals.push([`${attachments.length} dynos attached (\`agent.attach\`)`, nowMs() - t1])
  totals.push([`of them, attaches that found a prepared namespace`, prepared])
  await measure(S.fullReapply, () => agent.reconcile())
  for (let i = 0; i < 10; i++) await measure(S.steady, () => agent.reconcile())
  if (agent.lastError) throw agent.lastError
  totals.push(['namespaces on the host with everything present', (await listNetns()).length])

  await firewallUpdate()

  const t2 = nowMs()
  for (const [i, a] of attachments.entries()) {
    if (i % 10 === 0) await floorOnce(F4)
    await measure(S.scaleDetach, () => agent.detach(a.id))
  }
  totals.push([`${attachments.length} dynos detached (\`agent.detach\`)`, nowMs() - t2])
  for (const space of spaces) markDeleting(space)
  await measure(S.scaleDelete, () => reconcileGone(spaces))
  totals.push([`${SCALE_SPACES} spaces deleted (one reconcile)`, S.scaleDelete.ops[0]!.ms])
  totals.push(['all of it, created and torn down', nowMs() - t0])
}

/** With the scale test's spaces and dynos present. */
async function firewallUpdate(): Promise<void> {
  const desired = desiredNetwork(
    store.spaces.all(),
    store.network.attachments(),
    (id) => store.network.egressOf(id),
    settings,
  )
  const script = renderFirewall(desired.firewall)
  scriptInfo =
    `${desired.firewall.spaces.length} spaces, ${desired.firewall.attachments.length} ` +
    `attachments: ${script.split('\n').length} lines, ${(script.length / 1024).toFixed(0)} KiB`
  const inetOnly = [
    `table inet ${NFT_TABLE}`,
    `delete table inet ${NFT_TABLE}`,
    renderInetTable(desired.firewall),
  ].join('\n')
  // As the daemon's LinuxSpaceHost has it: changes and reads through long-lived nft shells.
  const shells = {
    change: runner.openShell({ tool: 'nft' }),
    read: runner.openShell({ tool: 'nft-json' }),
  }
  const firewall = new Firewall(timedExec, shells)
  await firewall.apply(desired.firewall) // the whole replace, as at a daemon's start
  const fewer = { ...desired.firewall, attachments: desired.firewall.attachments.slice(1) }
  const lessOneSpace = { ...desired.firewall, spaces: desired.firewall.spaces.slice(1) }
  for (let i = 0; i < WARMUP + FW_REPS; i++) {
    const keep = i >= WARMUP
    // A reconcile that finds one dyno gone without its detach, then back: each a delta.
    await measure(keep ? S.fwApply : undefined, () => firewall.apply(fewer))
    await measure(keep ? S.fwApply : undefined, () => firewall.apply(desired.firewall))
    // A space deleted, then one allocated: each its delta and a read-back.
    await measure(keep ? S.fwSpace : undefined, () => firewall.apply(lessOneSpace))
    await measure(keep ? S.fwSpace : undefined, () => firewall.apply(desired.firewall))
    const drifted = await measure(keep ? S.fwDrift : undefined, () => firewall.drifted())
    if (drifted) throw new Error('Firewall.drifted() is true right after its own apply')
    // A Firewall that has applied nothing yet replaces both tables whole and reads them back.
    await measure(keep ? S.fwWhole : undefined, () =>
      new Firewall(timedExec, shells).apply(desired.firewall),
    )
    await measure(keep ? S.nftApply : undefined, () => run('nft', ['-f', '-'], { input: script }))
    await measure(keep ? S.nftRead : undefined, () => run('nft', ['-j', '-s', 'list', 'ruleset']))
    await measure(keep ? S.ifTextRead : undefined, () => run('nft', ['-s', 'list', 'ruleset']))
    await measure(keep ? S.ifInet : undefined, () => run('nft', ['-f', '-'], { input: inetOnly }))
    const b = `lsb-fd${i.toString(16).padStart(6, '0')}`
    const d = `lsd-fd${i.toString(16).padStart(6, '0')}`
    const elements = (verb: string) =>
      [
        `${verb} element inet ${NFT_TABLE} same_bridge { "${b}" . "${b}" }`,
        `${verb} element inet ${NFT_TABLE} dyno_to_data { "${b}" . "${d}" }`,
        `${verb} element inet ${NFT_TABLE} host_services { "${b}" . 10.253.0.1 . udp . 53, ` +
          `"${b}" . 10.253.0.1 . tcp . 53, "${b}" . 10.253.0.3 . tcp . 80, ` +
          `"${b}" . 10.253.0.3 . tcp . 443 }`,
        '',
      ].join('\n')
    await measure(keep ? S.ifDelta : undefined, () =>
      run('nft', ['-f', '-'], { input: elements('add') }),
    )
    await run('nft', ['-f', '-'], { input: elements('delete') })
  }
  // observing the host: what every reconcile does twice when something changed, once when not
  for (let i = 0; i < WARMUP + FW_REPS; i++) {
    const keep = i >= WARMUP
    await measure(keep ? S.observe : undefined, () => observeHost(timedExec))
    await measure(keep ? S.forwarding : undefined, async () => {
      for (const space of desired.host.spaces) {
        await ensureForwarding(space.dynoBridge)
        await ensureForwarding(space.dataBridge)
      }
    })
    await measure(keep ? S.ifForwarding : undefined, async () => {
      for (const space of desired.host.spaces) {
        for (const bridge of [space.dynoBridge, space.dataBridge]) {
          readFileSync(`/proc/sys/net/ipv4/conf/${bridge}/forwarding`, 'utf8')
        }
      }
    })
    const someSpace = store.spaces.all()[0]!
    await measure(keep ? S.scaleStore : undefined, async () => {
      const a = store.transaction(() =>
        store.network.allocateAttachment(someSpace, 'dyno', `bench-store-${i}`),
      )
      store.network.deleteAttachment(a.id)
    })
    await measure(keep ? S.ifObserve : undefined, async () => {
      const [{ stdout }, netns] = await Promise.all([
        run('ip', ['-j', '-d', 'addr', 'show']),
        readdir('/run/netns'),
      ])
      return { links: parseLinks(stdout, parseAddresses(stdout)), netns }
    })
  }
  for (let i = 0; i < WARMUP + FW_REPS; i++) {
    const keep = i >= WARMUP
    const veth = `lsv-fe${i.toString(16).padStart(6, '0')}`
    const address = `10.254.0.${i + 1}`
    await measure(keep ? S.fwAdd : undefined, () => firewall.addAttachment(veth, address))
    await measure(keep ? S.fwRemove : undefined, () => firewall.removeAttachment(veth, address))
  }
  shells.change.close()
  shells.read.close()
}

async function leakCheck(): Promise<void> {
  const check = (what: string, bad: readonly string[]) =>
    checks.push({
      what,
      ok: bad.length === 0,
      detail: bad.length === 0 ? 'none' : `${bad.length}: ${bad.slice(0, 5).join(', ')}`,
    })
  await agent.reconcile() // converged with 0 spaces: the firewall's sets are empty
  await settle('lbf') // the floor's namespaces are dismantled by the kernel, later
  check(
    'network namespaces left (`ls-*`, and the floor’s)',
    (await listNetns()).filter((n) => /^(ls-|lbf)/.test(n)),
  )
  check(
    'links left (`^ls[bdv]-`, the floor’s `lbf*`)',
    (await linkNames()).filter((n) => /^(ls[bdv]-|lbf)/.test(n)),
  )
  check(
    '`/etc/netns/ls-*` left',
    readdirSync('/etc/netns').filter((n) => n.startsWith('ls-')),
  )
  const { stdout: addrs } = await ip('-j', 'addr', 'show', 'dev', EGRESS_IFACE)
  check(
    `outbound /32s left on ${EGRESS_IFACE}`,
    (JSON.parse(addrs) as Array<{ addr_info: Array<{ local: string }> }>)
      .flatMap((l) => l.addr_info.map((a) => a.local))
      .filter((a) => a.startsWith('198.18.')),
  )
  const { stdout: ruleset } = await run('nft', ['list', 'ruleset'])
  check(
    'nft: names or outbound addresses of removed spaces and dynos',
    [...ruleset.matchAll(/ls[bdv]-[0-9a-f]{8}|198\.18\.\d+\.\d+/g)].map((m) => m[0]),
  )
  const { stdout: json } = await run('nft', ['-j', 'list', 'ruleset'])
  const items = (JSON.parse(json) as { nftables: Array<Record<string, any>> }).nftables
  const constant = new Set(['reserved', 'router_listeners', 'allowed_private'])
  check(
    'nft: elements in the per-space and per-dyno sets',
    items
      .map((x) => (x.set ?? x.map) as { table: string; name: string; elem?: unknown[] } | undefined)
      .filter((s) => s?.table === NFT_TABLE && !constant.has(s.name) && s.elem)
      .map((s) => `${s!.name} (${s!.elem!.length})`),
  )
  check(
    'nft: per-space SNAT chains (`snat-*`)',
    items
      .filter((x) => x.chain?.table === NFT_TABLE && /^snat-/.test(x.chain.name))
      .map((x) => `chain ${x.chain.name}`),
  )
  check('store: spaces, attachments or outbound addresses left', [
    ...store.spaces.all().map((s) => s.name),
    ...store.network.attachments().map((a) => a.id),
    ...store.network.allEgress(),
  ])
  if (agent.lastError) check('last reconcile', [agent.lastError.message])
}

// --- the report ------------------------------------------------------------------------------

const fmt = (n: number) =>
  Number.isNaN(n)
    ? '–'
    : n < 10
      ? `${n.toFixed(2)} ms`
      : n < 100
        ? `${n.toFixed(1)} ms`
        : `${n.toFixed(0)} ms`
const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`

function row(s: Series, target = '', met = '', floorOf?: Series): string {
  const r = floorOf ? `${ratio(p50(s), p50(floorOf))} / ${ratio(p99(s), p99(floorOf))}` : ''
  return `| ${s.name} | ${s.ops.length} | ${fmt(p50(s))} | ${fmt(p99(s))} | ${target} | ${met} | ${r} |`
}
const row2 = (s: Series) => `| ${s.name} | ${s.ops.length} | ${fmt(p50(s))} | ${fmt(p99(s))} |`
const floorRows = (f: FloorSet) => [row(f.spawn), row(f.create), row(f.teardown)]
const yes = (ok: boolean) => (ok ? 'yes' : '**no**')

const perOp = (s: Series) =>
  `${(sum(s.ops.map((o) => o.steps.length)) / (s.ops.length || 1)).toFixed(0)} processes`

function stepsTable(title: string, series: Series): string[] {
  return [
    `**${title}** (p50 of each over ${series.ops.length} operations; total p50 ${fmt(p50(series))})`,
    '',
    '| step | processes per op | p50 |',
    '|---|---|---|',
    ...breakdown(series).map(
      (r) => `| ${r.step} | ${r.perOp === 0 ? '' : r.perOp.toFixed(1)} | ${fmt(r.p50)} |`,
    ),
    '',
  ]
}

async function version(cmd: string, args: string[]): Promise<string> {
  return (await run(cmd, args).catch(() => ({ stdout: '?' }))).stdout.trim().split('\n')[0]!
}

async function report(whole: CpuUse): Promise<string> {
  const allocRatio = p50(S.allocate) / p50(F2.create)
  const fwWorst = Math.max(p99(S.fwAdd), p99(S.fwRemove))
  const leaked = checks.some((c) => !c.ok)
  const cpuModel =
    /model name\s*: (.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown'
  const lines = [
    `# bench/network — ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}`,
    '',
    `Node ${process.version}, ${await version('ip', ['-V'])}, ${await version('nft', ['-v'])}, ` +
      `kernel ${await version('uname', ['-r'])}, ${cpuModel} ×${whole.busy.length}; ` +
      `commit ${process.env.BENCH_COMMIT ?? 'unknown'}. Everything on CPU ${CPU} (taskset), inside ` +
      'scripts/sandbox. p50/p99 are nearest-rank; after 3 warm-up operations. Ratio = ' +
      'p50 / p99 against the floor measured interleaved with it (§2: one floor operation ' +
      'before each allocation; §3: before each attach; §4: before each space and every 10th ' +
      'attach and detach), so both saw the same load and the same number of namespaces.',
    '',
    '| measurement | n | p50 | p99 | target | met? | ratio to floor (p50 / p99) |',
    '|---|---|---|---|---|---|---|',
    row(S.spawn),
    row(S.floorSeparate),
    row(S.floorBatched),
    row(S.floorTeardown),
    row(S.allocate, '≤ 5× floor (p50)', yes(allocRatio <= 5), F2.create),
    row(S.spaceDelete, '', '', F2.teardown),
    ...floorRows(F2),
    row(S.attach, 'p99 ≤ 10 ms', yes(p99(S.attach) <= 10), F3.create),
    row(S.detach, '', '', F3.teardown),
    ...floorRows(F3),
    row(S.scaleAllocate, '', '', F4.create),
    row(S.scaleAttach, 'p99 ≤ 10 ms', yes(p99(S.scaleAttach) <= 10), F4.create),
    row(S.scaleAttachWarm, 'p99 ≤ 10 ms', yes(p99(S.scaleAttachWarm) <= 10), F4.create),
    row(S.scaleAttachCold, '', '', F4.create),
    row(S.scaleDetach, '', '', F4.teardown),
    ...floorRows(F4),
    row(S.scaleDelete),
    row(S.fullReapply),
    row(S.steady),
    row(S.fwApply, 'p99 ≤ 50 ms', yes(p99(S.fwApply) <= 50)),
    row(S.fwSpace, 'p99 ≤ 50 ms', yes(p99(S.fwSpace) <= 50)),
    row(S.fwWhole),
    row(S.nftApply),
    row(S.nftRead),
    row(S.fwDrift),
    row(S.ifTextRead),
    row(S.fwAdd, 'p99 ≤ 50 ms', yes(p99(S.fwAdd) <= 50)),
    row(S.fwRemove, 'p99 ≤ 50 ms', yes(p99(S.fwRemove) <= 50)),
    row(S.ifInet),
    row(S.ifDelta),
    row(S.observe),
    row(S.ifObserve),
    row(S.forwarding),
    row(S.ifForwarding),
    row(S.scaleStore),
    `| ${SCALE_SPACES} spaces × ${SCALE_DYNOS} dynos created and torn down, nothing left | | | | no leaks | ${yes(!leaked)} | |`,
    '',
    `Firewall with everything present: ${scriptInfo}. Incremental worst p99 ${fmt(fwWorst)}. ` +
      `A process costs ${fmt(p50(S.spawn))} p50 to start and reap here (\`true\` from Node); ` +
      `per operation (p50): ${perOp(S.allocate)} for a space allocation, ${perOp(S.attach)} ` +
      `for an attach, ${perOp(S.fwApply)} for \`Firewall.apply\`. “what-if” rows measure ` +
      `changes suggested for src, on the same host state; they are not what src does today.`,
    '',
    '## Scale totals',
    '',
    '| what | total |',
    '|---|---|',
    ...totals.map(([what, v]) =>
      /namespace/.test(what) ? `| ${what} | ${v} |` : `| ${what} | ${(v / 1000).toFixed(2)} s |`,
    ),
    '',
    '## Leak check (after everything was torn down and one more reconcile)',
    '',
    '| what | found | ok? |',
    '|---|---|---|',
    ...checks.map((c) => `| ${c.what} | ${c.detail} | ${yes(c.ok)} |`),
    '',
    '## Where the time goes',
    '',
    'Each process an operation started, by kind: how many, and the p50 of the time spent ' +
      'waiting on them (parallel ones counted once). “In Node” is the rest of the wall time.',
    '',
    ...stepsTable('space allocation (one reconcile)', S.allocate),
    ...stepsTable('space teardown (one reconcile)', S.spaceDelete),
    ...stepsTable('dyno attach (`agent.attach`)', S.attach),
    ...stepsTable('dyno detach (`agent.detach`)', S.detach),
    '**dyno attach and detach, step by step** (the functions of src/network, one at a time)',
    '',
    '| step | n | p50 | p99 |',
    '|---|---|---|---|',
    ...[S.stepStore, S.stepFwAdd, S.stepAttach, S.stepDetach, S.stepFwRemove].map(row2),
    row2(S.ifAttach),
    row2(S.ifDetach),
    '',
    ...stepsTable('`attach()` alone', S.stepAttach),
    ...stepsTable(`dyno attach with 0–${N_DYNOS - 1} present`, S.scaleAttach),
    ...stepsTable(`\`Firewall.apply\`, ${N} dynos, one dyno more or less`, S.fwApply),
    ...stepsTable(`\`Firewall.apply\`, ${N} dynos, one space more or less`, S.fwSpace),
    ...stepsTable('`Firewall.apply` when the structure changed', S.fwWhole),
    ...stepsTable(`reconcile after attaches, ${N} dynos`, S.fullReapply),
    ...stepsTable(`reconcile, nothing changed, ${N} dynos`, S.steady),
    ...stepsTable(`space allocation with 0–${SCALE_SPACES - 1} spaces present`, S.scaleAllocate),
    ...stepsTable('`observeHost()`', S.observe),
    '## Findings',
    '',
    ...(findings.length === 0 ? ['none'] : findings.map((f) => `- ${f}`)),
    '',
    '## Machine',
    '',
    `“Other load” is the busy time (user+nice+system+steal, /proc/stat) of all CPUs minus ` +
      `this process and the processes it started, in % of one CPU: other work sharing the ` +
      `machine, and kernel threads (a deleted namespace is dismantled by a kworker, so some of ` +
      `it is this benchmark's own). CPU ${CPU} is where everything measured runs.`,
    '',
    `| section | wall | ours (% of CPU ${CPU}) | ${whole.busy.map((_, i) => `CPU ${i} busy`).join(' | ')} | other load |`,
    `|---|---|---|${whole.busy.map(() => '---|').join('')}---|`,
    ...[...sections, { name: '**whole run**', use: whole }].map(
      ({ name, use }) =>
        `| ${name} | ${use.wallS.toFixed(1)} s | ${use.ours.toFixed(0)} % | ${use.busy
          .map((b) => `${b.toFixed(0)} %`)
          .join(' | ')} | ${use.other.toFixed(0)} % |`,
    ),
    '',
  ]
  return lines.join('\n')
}

// --- main --------------------------------------------------------------------------------------

async function main(): Promise<number> {
  // The egress interface: one end of a veth pair (this kernel may lack the dummy driver).
  await ip('link', 'add', EGRESS_IFACE, 'type', 'veth', 'peer', 'name', 'bench-egress1')
  await ip('link', 'set', EGRESS_IFACE, 'up')
  await ip('link', 'set', 'bench-egress1', 'up')
  await ip('addr', 'add', '192.0.2.10/24', 'dev', EGRESS_IFACE)
  const before = cpuSnapshot()
  await section('1. kernel floor', floor)
  await section('2. space allocation and teardown', spaceAllocation)
  await section('3. dyno attach and detach', dynoAttach)
  await section(
    `4+5. scale: ${SCALE_SPACES} spaces × ${SCALE_DYNOS} dynos, firewall updates, teardown`,
    scale,
  )
  await agent.stop() // removes the prepared namespaces, as a daemon's SIGTERM does
  await section('leak check', leakCheck)
  const whole = cpuUse(before, cpuSnapshot())
  console.log(await report(whole))
  return checks.every((c) => c.ok) ? 0 : 1
}

main()
  .then(async (code) => {
    await runner.close()
    store.close()
    process.exitCode = code
  })
  .catch((e: unknown) => {
    console.error(e)
    process.exitCode = 1
  })
