/**
 * One dyno process, for real: start it (sandboxed, detached, memory-limited), learn when a web
 * dyno listens on $PORT, stop it the Heroku way (SIGTERM, grace, SIGKILL), learn how it ended
 * (exit status, OOM kill), and clean up after it. A daemon that restarts re-adopts a running
 * dyno from its directory with `DynoProcess.adopt` without disturbing it.
 *
 * Deciding what to run, restarts, back-off, R10/R14/R15 and log lines are the runtime's job
 * on top of this; this module only reports facts.
 */
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  isAlive,
  readRecord,
  startDetached,
  waitForExit,
  type DetachedRecord,
  type DetachedState,
} from '../exec/detached.js'
import {
  createCgroup,
  DEFAULT_CGROUP_ROOT,
  memoryStats,
  members,
  removeCgroup,
  type MemoryStats,
} from './cgroup.js'
import { readHostRoot } from './host-root.js'
import { listensOn } from './listening.js'
import {
  cgroupDir,
  checkSpec,
  DEFAULT_TOOLS,
  dynoEnv,
  dynoPaths,
  envArgsFile,
  LAUNCH_ENV,
  sandboxCommand,
  type DynoPaths,
  type DynoSpec,
  type SandboxHost,
} from './sandbox.js'

const NETNS_DIR = '/run/netns'
export const DEFAULT_GRACE_MS = 30_000

/** The host as a daemon finds it: cgroup v1 under /sys/fs/cgroup/memory/localspace, `/` read. */
export async function defaultHost(overrides: Partial<SandboxHost> = {}): Promise<SandboxHost> {
  return {
    cgroupRoot: DEFAULT_CGROUP_ROOT,
    rootEntries: overrides.rootEntries ?? (await readHostRoot()),
    hide: [],
    tools: DEFAULT_TOOLS,
    ...overrides,
  }
}

/** What the runtime keeps about a dyno besides the process record (`dyno.json`). */
export interface DynoMeta {
  version: 1
  id: string
  netns: string
  port: number
  cgroup: string
  createdAt: string
}

/** How a dyno ended. */
export interface DynoExit {
  /**
   * 0–255 as Heroku prints it ("Process exited with status 143"): the exit code, or 128+N
   * when killed by signal N. null when lost.
   */
  code: number | null
  /** The signal, when `code` reads as 128+N. */
  signal: NodeJS.Signals | null
  /** The process vanished without an exit status (its wrapper was killed, or a reboot). */
  lost: boolean
  /** The kernel's OOM killer killed at least one of its processes (log R15). */
  oomKilled: boolean
  memory: MemoryStats | undefined
  /** stop() was called on this handle before it ended: not a crash. */
  stopRequested: boolean
}

export type ListenResult = 'listening' | 'exited' | 'timeout'

export class DynoExistsError extends Error {
  override name = 'DynoExistsError'
}

export class DynoProcess {
  private exitPromise: Promise<DynoExit> | undefined
  private exitResult: DynoExit | undefined
  private stopRequested = false
  private readonly unwatch = new AbortController()

  private constructor(
    readonly paths: DynoPaths,
    readonly meta: DynoMeta,
    /** undefined when a start died before the process existed (adopt only). */
    readonly record: DetachedRecord | undefined,
  ) {}

  get id(): string {
    return this.meta.id
  }

  get pid(): number | undefined {
    return this.record?.pid
  }

  /**
   * Starts a dyno. Resolves as soon as the process exists (a few ms); the app is then still
   * booting: await `waitListening()` for a web dyno, and `exited` for its end.
   * The dyno directory must not exist yet (one directory per dyno run).
   */
  static async start(spec: DynoSpec, host: SandboxHost): Promise<DynoProcess> {
    checkSpec(spec)
    const paths = dynoPaths(spec.dynoDir)
    await prepareDirectory(paths)
    await writeFile(paths.envArgs, envArgsFile(dynoEnv(spec)), { mode: 0o600 })
    const cgroup = cgroupDir(host, spec.id)
    await createCgroup(cgroup, spec.memoryMb * 1024 * 1024)
    const meta: DynoMeta = {
      version: 1,
      id: spec.id,
      netns: spec.netns,
      port: spec.port,
      cgroup,
      createdAt: new Date().toISOString(),
    }
    await writeFile(paths.meta, JSON.stringify(meta, null, 2) + '\n', { mode: 0o600 })
    const [command, ...args] = sandboxCommand(spec, host)
    try {
      const record = await startDetached(command ?? host.tools.sh, args, {
        env: { ...LAUNCH_ENV },
        stdoutFile: paths.stdout,
        stderrFile: paths.stderr,
        statusFile: paths.status,
        recordFile: paths.record,
        name: `localspace-dyno:${spec.id}`,
        ...(spec.stdinFifo !== undefined && { stdinFile: spec.stdinFifo }),
      })
      return new DynoProcess(paths, meta, record)
    } catch (e) {
      await removeCgroup(cgroup).catch(() => undefined)
      throw e
    }
  }

  /**
   * Finds a dyno started earlier (by this daemon or a previous one) from its directory,
   * without touching it. Its `exited` tells whether it still runs.
   */
  static async adopt(dynoDir: string): Promise<DynoProcess> {
    const paths = dynoPaths(dynoDir)
    const text = await readFile(paths.meta, 'utf8').catch(() => undefined)
    if (text === undefined) throw new Error(`no dyno in ${dynoDir}`)
    const meta = JSON.parse(text) as DynoMeta
    return new DynoProcess(paths, meta, await readRecord(paths.record))
  }

  /**
   * Resolves once the dyno has ended; never rejects. Watching starts on first use (inotify on
   * the status file, plus a 1 s liveness poll) and holds the event loop until then or release().
   */
  get exited(): Promise<DynoExit> {
    this.exitPromise ??= this.watchExit()
    return this.exitPromise
  }

  /** Stops watching (daemon shutdown) without touching the dyno; `exited` then never settles. */
  release(): void {
    this.unwatch.abort()
  }

  /**
   * A web dyno is `up` once something in its network namespace listens on `port` ($PORT).
   * Polls /proc/<pid>/net/tcp{,6} of a dyno process every `intervalMs` (no process spawned).
   * `timeoutMs` is Heroku's boot timeout (60 s, R10).
   */
  async waitListening(
    port = this.meta.port,
    { timeoutMs = 60_000, intervalMs = 5 } = {},
  ): Promise<ListenResult> {
    const deadline = Date.now() + timeoutMs
    const netns = await stat(join(NETNS_DIR, this.meta.netns))
    let ended = false
    void this.exited.then(() => (ended = true))
    let pid: number | undefined
    for (;;) {
      if (ended) return 'exited'
      pid ??= await this.pidInNetns(netns.dev, netns.ino)
      if (pid !== undefined) {
        const answer = await listensOn(pid, port)
        if (answer === true) return 'listening'
        if (answer === undefined) pid = undefined // that process is gone; pick another
      }
      if (Date.now() > deadline) return 'timeout'
      await sleep(intervalMs)
    }
  }

  /**
   * Heroku's stop: SIGTERM to every process of the dyno, up to `graceMs` (30 s) to exit, then
   * SIGKILL to whatever is left. Resolves with how it ended. Safe to call on an ended dyno.
   */
  async stop({ graceMs = DEFAULT_GRACE_MS } = {}): Promise<DynoExit> {
    this.stopRequested = true
    const exited = this.exited
    if (this.exitResult === undefined) {
      // The app's processes, not bwrap's: bwrap's monitor would die of SIGTERM at once and
      // take the dyno with it before the app had its grace period. While the dyno is still
      // starting there is no app yet: the launch steps are killed, again and again until the
      // run has ended, since the first of them may not have joined the cgroup yet (and a
      // SIGTERM could land on one that does not die of it), and the app would start after all,
      // unsignalled.
      const app = await this.appPids()
      if (app.length === 0) {
        const deadline = Date.now() + graceMs
        do await this.killAll()
        while (
          !(await Promise.race([exited.then(() => true), sleep(10, false)])) &&
          Date.now() < deadline
        )
      } else {
        signalAll(app, 'SIGTERM')
        const grace = new AbortController()
        const inTime = await Promise.race([
          exited.then(() => true),
          sleep(graceMs, false, { signal: grace.signal }).catch(() => false),
        ])
        grace.abort()
        if (!inTime) await this.killAll()
      }
    }
    const result = await exited
    // A lost wrapper may leave processes behind; nothing of a stopped dyno may survive.
    await this.killAll()
    return { ...result, stopRequested: true }
  }

  /** Memory use now (for R14 checks while running). */
  memory(): Promise<MemoryStats | undefined> {
    return memoryStats(this.meta.cgroup)
  }

  /**
   * Removes everything the dyno left on the host: its cgroup and its directory (the writable
   * layer's mount point, env file, status, logs unless `keepLogs`). The overlay mount itself lived only
   * in the dyno's own mount namespace and is already gone with its last process. Kills
   * leftovers first, so it is also the way to dispose of a dyno whose start was interrupted.
   */
  async cleanup({ keepLogs = false } = {}): Promise<void> {
    await this.killAll()
    await this.wrapperGone()
    await removeCgroup(this.meta.cgroup)
    if (!keepLogs) {
      await rm(this.paths.dir, { recursive: true, force: true })
      return
    }
    for (const p of [
      this.paths.rw,
      this.paths.app,
      this.paths.envArgs,
      join(this.paths.status, '..'),
      this.paths.meta,
      this.paths.record,
    ])
      await rm(p, { recursive: true, force: true })
  }

  private async watchExit(): Promise<DynoExit> {
    const state: DetachedState =
      this.record === undefined
        ? { state: 'lost' }
        : await waitForExit(this.record, { signal: this.unwatch.signal })
    if (state.state === 'running') return new Promise<never>(() => undefined) // released
    const memory = await memoryStats(this.meta.cgroup)
    this.exitResult = {
      code: state.state === 'exited' ? state.status.code : null,
      signal: state.state === 'exited' ? state.status.signal : null,
      lost: state.state === 'lost',
      oomKilled: (memory?.oomKills ?? 0) > 0,
      memory,
      stopRequested: this.stopRequested,
    }
    return this.exitResult
  }

  /**
   * Pids (as this daemon sees them) of the processes inside the dyno's pid namespace, except
   * its init (bwrap's reaper, pid 1 there). NSpid in /proc/<pid>/status lists a process's pid
   * in each pid namespace from ours inwards, so one entry more than ours means "inside".
   */
  private async appPids(): Promise<number[]> {
    const depth = (await nsPids('self'))?.length ?? 1
    const out: number[] = []
    for (const pid of await members(this.meta.cgroup)) {
      const ns = await nsPids(String(pid))
      if (ns !== undefined && ns.length > depth && ns.at(-1) !== 1) out.push(pid)
    }
    return out
  }

  /** A dyno process that is already inside the dyno's network namespace. */
  private async pidInNetns(dev: number, ino: number): Promise<number | undefined> {
    for (const pid of await members(this.meta.cgroup)) {
      const s = await stat(`/proc/${pid}/ns/net`).catch(() => undefined)
      if (s?.dev === dev && s.ino === ino) return pid
    }
    return undefined
  }

  /**
   * The exit-status wrapper lives outside the cgroup and exits just after writing the status;
   * give it a moment, then (still verified as ours by its start time) kill it.
   */
  private async wrapperGone(): Promise<void> {
    const record = this.record
    if (record === undefined) return
    for (let i = 0; (await isAlive(record)) && i < 400; i++) {
      if (i === 200) signalAll([record.pid], 'SIGKILL')
      await sleep(5)
    }
  }

  /** SIGKILL until the cgroup is empty (processes may fork while being killed). */
  private async killAll(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const pids = await members(this.meta.cgroup)
      if (pids.length === 0) return
      if (Date.now() > deadline)
        throw new Error(`dyno ${this.id}: processes ${pids.join(' ')} survive SIGKILL`)
      signalAll(pids, 'SIGKILL')
      await sleep(5)
    }
  }
}

async function prepareDirectory(paths: DynoPaths): Promise<void> {
  await mkdir(join(paths.dir, '..'), { recursive: true })
  try {
    await mkdir(paths.dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST')
      throw new DynoExistsError(`${paths.dir} exists: one directory per dyno run`)
    throw e
  }
  // Independent of each other once the directory exists: side by side, so a start waits for
  // one round of the fs thread pool here instead of six in a row.
  await Promise.all([
    // 0711: the app's uid must traverse it to reach `app` (bwrap binds it as that uid), but
    // may not list it; everything else in it is root's alone.
    chmod(paths.dir, 0o711),
    // The writable layer's mount point: the tmpfs and the overlay's directories in it are
    // made inside the dyno's own mount namespace (sandbox.ts, step 3).
    mkdir(paths.rw, { mode: 0o700 }),
    mkdir(paths.app, { mode: 0o755 }),
    mkdir(join(paths.status, '..'), { mode: 0o700 }),
  ])
}

function signalAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal)
    } catch {
      // Already gone: exactly what we want.
    }
  }
}

async function nsPids(pid: string): Promise<number[] | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => undefined)
  const line = status === undefined ? undefined : /^NSpid:\s+(.*)$/m.exec(status)?.[1]
  return line?.trim().split(/\s+/).map(Number)
}
