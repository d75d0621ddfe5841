/**
 * One add-on's server, whole: its namespace on the space's data bridge, its files, its
 * process (started, or adopted from an earlier daemon), readiness, restarts after a crash,
 * stop and destroy. Status goes to a callback; the caller (agent.ts, fed by the store)
 * records it.
 */
import { mkdir, readFile, rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { waitForExit, type DetachedRecord, type DetachedState } from '../exec/detached.js'
import type { Exec } from '../exec/run.js'
import { attach, detach } from '../network/attach.js'
import { netnsName, vethName } from '../network/names.js'
import type { DesiredAttachment } from '../network/types.js'
import type { Engine, EngineContext } from './engine.js'
import { exists } from './files.js'
import { dataLayout } from './layout.js'
import { followerEngine } from './followers.js'
import { postgresEngine } from './postgres.js'
import { redisEngine } from './redis.js'
import {
  adoptServer,
  launchServer,
  removeServerCgroup,
  serverPid,
  stopServer,
} from './server-process.js'
import { ensureDataUser, type DataUser } from './system-user.js'
import type { ConnectionFacts, DataServerSpec, DataServerState, DataServerStatus } from './types.js'
import { checkSpec } from './validate.js'

/** How a server gets its network: the network agent's LinuxSpaceHost fits (it adds the firewall's element too). */
export interface NetworkAttacher {
  attach(a: DesiredAttachment): Promise<void>
  detach(a: DesiredAttachment): Promise<void>
}

/** Attach and detach without the firewall (tests, and hosts whose firewall is fed otherwise). */
export const plainAttacher = (exec: Exec): NetworkAttacher => ({
  attach: (a) => attach(exec, a),
  detach: (a) => detach(exec, a),
})

/** The server's namespace, as the network module describes one. */
export function dataAttachment(spec: DataServerSpec): DesiredAttachment {
  const id = spec.attachmentId ?? spec.addonId
  return {
    id,
    bridge: spec.dataBridge,
    address: spec.address,
    prefix: spec.prefix,
    gateway: spec.gateway,
    dns: spec.gateway,
    netns: netnsName(id),
    veth: vethName(id),
  }
}

export const engineFor = (spec: DataServerSpec): Engine =>
  spec.kind === 'redis' ? redisEngine : spec.follow ? followerEngine : postgresEngine

export interface DataServerOptions {
  exec: Exec
  /** Default: plainAttacher(exec). */
  network?: NetworkAttacher
  /** Default: ensureDataUser(exec). */
  user?: DataUser
  onStatus?: (status: DataServerStatus) => void
  cgroupRoot?: string
  /** How long a start may take to accept a login (a follower's first start replays WAL). */
  readyTimeoutMs?: number
  /** How long a stop waits for a clean shutdown before SIGKILL. */
  stopGraceMs?: number
  /** Wait before restart `attempt` (1, 2, …) after a crash. */
  restartDelayMs?: (attempt: number) => number
}

const defaultRestartDelay = (attempt: number) => Math.min(30_000, 100 * 2 ** (attempt - 1))
/** After this many failed restarts in a row the status is `failed` (restarts go on). */
const FAILED_AFTER = 3

export class DataServer {
  private record: DetachedRecord | undefined
  private supervising: Promise<void> | undefined
  private abort = new AbortController()
  private ctx: EngineContext | undefined
  private current: DataServerState = 'stopped'

  constructor(
    private spec: DataServerSpec,
    private readonly options: DataServerOptions,
  ) {
    checkSpec(spec)
  }

  get addonId(): string {
    return this.spec.addonId
  }

  get state(): DataServerState {
    return this.current
  }

  /** True while its process is watched (and restarted when it dies). */
  get supervised(): boolean {
    return this.supervising !== undefined
  }

  get netns(): string {
    return netnsName(this.spec.attachmentId ?? this.spec.addonId)
  }

  get engine(): Engine {
    return engineFor(this.spec)
  }

  /** What a host-side operation (backups, followers) needs to reach this server. */
  async context(): Promise<EngineContext> {
    this.ctx ??= {
      spec: this.spec,
      layout: dataLayout(this.spec.dataDir),
      user: this.options.user ?? (await ensureDataUser(this.options.exec)),
      exec: this.options.exec,
      netns: this.netns,
    }
    return this.ctx
  }

  private emit(state: DataServerState, message: string): void {
    this.current = state
    this.options.onStatus?.({ addonId: this.spec.addonId, state, message })
  }

  /**
   * Makes the server run and accept logins: adopts the process of an earlier daemon when it
   * still runs, else prepares its files (initdb, base backup, certificate: once) and starts
   * it. Resolves when it is available, then watches it and restarts it when it dies.
   * Rejects (status `failed`) when it cannot be made available.
   */
  async start(): Promise<void> {
    if (this.supervising) return
    this.abort = new AbortController()
    this.emit('starting', 'starting the server')
    try {
      const ctx = await this.context()
      await mkdir(ctx.layout.root, { recursive: true, mode: 0o711 })
      if (!(await exists(`/run/netns/${this.netns}`)))
        await (this.options.network ?? plainAttacher(ctx.exec)).attach(dataAttachment(this.spec))
      const adopted = await adoptServer(ctx.layout)
      if (adopted) {
        this.record = adopted
        await this.waitReady(adopted)
      } else await this.launch()
      await this.engine.afterReady(ctx)
    } catch (e) {
      this.emit('failed', e instanceof Error ? e.message : String(e))
      throw e
    }
    this.emit('available', 'accepting connections')
    this.supervising = this.supervise()
  }

  private async launch(): Promise<void> {
    const ctx = await this.context()
    await this.engine.prepare(ctx)
    this.record = await launchServer({
      name: this.cgroupName,
      netns: this.netns,
      memoryMb: this.spec.memoryMb,
      user: ctx.user,
      argv: this.engine.argv(ctx),
      layout: ctx.layout,
      ...(this.options.cgroupRoot !== undefined && { cgroupRoot: this.options.cgroupRoot }),
    })
    try {
      await this.waitReady(this.record)
    } catch (e) {
      // Not ready in time: end it, so the next attempt starts clean.
      await this.kill()
      throw e
    }
  }

  private get cgroupName(): string {
    return `data-${this.spec.addonId}`
  }

  /** Probes until the server accepts a login; rejects when it exits first or times out. */
  private async waitReady(record: DetachedRecord): Promise<void> {
    const ctx = await this.context()
    const deadline = Date.now() + (this.options.readyTimeoutMs ?? 60_000)
    // Its own abort: the exit watch ends with the wait, or with a stop.
    const watch = new AbortController()
    const onStop = () => watch.abort()
    this.abort.signal.addEventListener('abort', onStop)
    let ended: DetachedState | undefined
    void waitForExit(record, { pollMs: 200, signal: watch.signal }).then((s) => {
      if (s.state !== 'running') ended = s
    })
    try {
      for (;;) {
        if (ended) throw new Error(`the server ${describeEnd(ended)}: ${await this.logTail()}`)
        if (this.abort.signal.aborted) throw new Error('stopped while starting')
        if (await this.engine.ready(ctx)) return
        if (Date.now() > deadline)
          throw new Error(`the server did not accept a login in time: ${await this.logTail()}`)
        await sleep(100)
      }
    } finally {
      watch.abort()
      this.abort.signal.removeEventListener('abort', onStop)
    }
  }

  /** Watches the process; restarts it with back-off when it ends without a stop. */
  private async supervise(): Promise<void> {
    let failures = 0
    const { signal } = this.abort
    for (;;) {
      const record = this.record
      if (!record) return
      const end = await waitForExit(record, { signal })
      if (signal.aborted) return
      const delay = (this.options.restartDelayMs ?? defaultRestartDelay)(failures + 1)
      this.emit(
        failures >= FAILED_AFTER ? 'failed' : 'starting',
        `the server ${describeEnd(end)}; restarting`,
      )
      try {
        await sleep(delay, undefined, { signal })
        await this.launch()
        failures = 0
        this.emit('available', 'accepting connections (restarted)')
      } catch (e) {
        if (signal.aborted) return
        failures++
        const message = e instanceof Error ? e.message : String(e)
        this.emit(failures >= FAILED_AFTER ? 'failed' : 'starting', message)
      }
    }
  }

  private async kill(): Promise<void> {
    if (!this.record) return
    await stopServer(this.record, this.cgroupName, {
      signal: 'SIGKILL',
      graceMs: 1000,
      ...(this.options.cgroupRoot !== undefined && { cgroupRoot: this.options.cgroupRoot }),
    })
  }

  /** Rewrites the configuration (a follower added or gone) and has the server re-read it. */
  async update(spec: DataServerSpec): Promise<void> {
    checkSpec(spec)
    this.spec = spec
    if (this.ctx) this.ctx = { ...this.ctx, spec }
    const pid = this.record && (await serverPid(this.record))
    if (pid !== undefined) await this.engine.reload(await this.context(), pid)
  }

  /** The server's own pid while it runs (tests kill it). */
  async pid(): Promise<number | undefined> {
    return this.record && serverPid(this.record)
  }

  async facts(): Promise<ConnectionFacts> {
    return this.engine.facts(await this.context())
  }

  /** Stops watching without touching the server (daemon shutdown: the next daemon adopts it). */
  async release(): Promise<void> {
    this.abort.abort()
    await this.supervising
    this.supervising = undefined
  }

  /** A clean shutdown (SIGKILL after the grace); data, certificate and namespace stay. */
  async stop(): Promise<void> {
    await this.release()
    const ctx = await this.context()
    const record = this.record ?? (await adoptServer(ctx.layout))
    if (record)
      await stopServer(record, this.cgroupName, {
        signal: this.engine.stopSignal,
        graceMs: this.options.stopGraceMs ?? 30_000,
        ...(this.options.cgroupRoot !== undefined && { cgroupRoot: this.options.cgroupRoot }),
      })
    this.emit('stopped', 'stopped')
  }

  /** Stops it and removes everything it had: process, cgroup, namespace, files. */
  async destroy(): Promise<void> {
    await this.stop()
    const ctx = await this.context()
    await removeServerCgroup(this.cgroupName, this.options.cgroupRoot)
    await (this.options.network ?? plainAttacher(ctx.exec)).detach(dataAttachment(this.spec))
    await rm(ctx.layout.root, { recursive: true, force: true })
    this.emit('destroyed', 'destroyed')
  }

  /** The last lines of the server's log, for a failure's message. */
  private async logTail(): Promise<string> {
    const { stdout, stderr } = (await this.context()).layout
    const text = [
      await readFile(stderr, 'utf8').catch(() => ''),
      await readFile(stdout, 'utf8').catch(() => ''),
    ].join('\n')
    return text.trim().split('\n').slice(-3).join(' | ').slice(-600) || '(no output)'
  }
}

function describeEnd(end: DetachedState): string {
  if (end.state === 'lost') return 'vanished'
  if (end.state === 'running') return 'is running'
  const { code, signal } = end.status
  return signal ? `was killed by ${signal}` : `exited with status ${code}`
}
