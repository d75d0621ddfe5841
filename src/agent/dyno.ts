/**
 * One dyno through Heroku's lifecycle (docs/heroku-reference.md §8): `starting` → `up` (a web dyno
 * once it listens on $PORT; R10 after the boot timeout) → `crashed` when it exits unasked
 * (restarted at once the first time, then with exponential back-off) → `down` when stopped
 * (SIGTERM, grace, SIGKILL). Every change is logged as Heroku logs it (`heroku[web.1]: State
 * changed from starting to up`) and the app's output is followed into the app's log.
 *
 * A dyno keeps its network namespace (and so its private IP and DNS name) across restarts;
 * each run of its process gets a fresh sandbox directory (`run-<n>`). What a new daemon needs
 * to adopt it is in `dyno.json` beside the runs, rewritten on every state change.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LogView } from '../core/log-view.js'
import type { DynoView } from '../core/runtime-view.js'
import type { Attachment } from '../core/types.js'
import { netnsName } from '../network/names.js'
import type { DynoExit, DynoProcess, DynoSpec } from '../runtime/index.js'
import { outputTails, type FileTail } from './file-tail.js'
import { MemoryWatch } from './memory-watch.js'

export type DynoState = DynoView['state']

/** What a dyno is: fixed for its whole life. */
export interface DynoIdentity {
  id: string
  appId: string
  appName: string
  spaceId: string
  type: string
  number: number
  releaseId: string
  releaseVersion: number
  command: string
  size: string
  memoryMb: number
  uid: number
  slugDir: string
  configVars: Record<string, string>
  createdAt: string
}

/** dyno.json: the identity plus what a new daemon needs to pick the dyno up. */
export interface DynoFile {
  version: 1
  identity: DynoIdentity
  attachment: { id: string; address: string } | undefined
  run: number
  state: DynoState
  restarts: number
  updatedAt: string
  /** Where the log tails of the current run had got to. */
  offsets: { stdout: number; stderr: number }
}

/** What a dyno needs from the rest of the daemon. */
export interface DynoContext {
  dir: string
  logs: LogView
  attach(spaceId: string, owner: string): Promise<Attachment>
  detach(attachmentId: string): Promise<void>
  startProcess(spec: DynoSpec): Promise<DynoProcess>
  adoptProcess(runDir: string): Promise<DynoProcess>
  port: number
  bootTimeoutMs: number
  graceMs: number
  /** Delay before the n-th consecutive restart (n ≥ 1); the first is immediate. */
  backoffMs(n: number): number
  /** How often a running dyno's memory is read for R14/R15 (memory-watch.ts). */
  memoryCheckMs: number
  /** Called after every state change (DNS, router and API views follow it). */
  changed(dyno: Dyno): void
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** `web.1`: a dyno's name from its identity. */
export const dynoName = (d: DynoIdentity): string => `${d.type}.${d.number}`

/** What the API shows of a dyno (formation or one-off). */
export function dynoView(
  d: DynoIdentity,
  state: DynoState,
  attachment: { address: string } | undefined,
  updatedAt: string,
): DynoView {
  return {
    id: d.id,
    name: dynoName(d),
    type: d.type,
    command: d.command,
    size: d.size,
    state,
    releaseId: d.releaseId,
    releaseVersion: d.releaseVersion,
    privateIp: attachment?.address ?? null,
    createdAt: d.createdAt,
    updatedAt,
  }
}

/** The sandbox's input for run `run` of a dyno attached as `attachment`. */
export function dynoSpec(
  d: DynoIdentity,
  run: { number: number; dir: string; port: number; attachment: { id: string; address: string } },
): DynoSpec {
  return {
    id: `${d.id}-${run.number}`,
    appId: d.appId,
    appName: d.appName,
    processType: d.type,
    number: d.number,
    releaseVersion: d.releaseVersion,
    command: d.command,
    configVars: d.configVars,
    port: run.port,
    privateIp: run.attachment.address,
    memoryMb: d.memoryMb,
    uid: d.uid,
    gid: d.uid,
    netns: netnsName(run.attachment.id),
    slugDir: d.slugDir,
    dynoDir: run.dir,
  }
}

/** Heroku's line for a process that ended (its memory errors come first: memory-watch.ts). */
export function exitLine(exit: DynoExit): string {
  return exit.code === null
    ? 'Process exited (its status was lost)'
    : `Process exited with status ${exit.code}`
}

export class Dyno {
  state: DynoState = 'starting'
  updatedAt: string
  attachment: { id: string; address: string } | undefined
  /** Set once stop() was asked: the dyno is on its way out and is never restarted. */
  stopping = false
  private process: DynoProcess | undefined
  private run = 0
  private restarts = 0
  private tails: FileTail[] = []
  private memory: MemoryWatch | undefined
  private restartTimer: NodeJS.Timeout | undefined
  private launching: Promise<void> | undefined
  private ended: Promise<void> | undefined

  constructor(
    readonly identity: DynoIdentity,
    private readonly ctx: DynoContext,
  ) {
    this.updatedAt = identity.createdAt
  }

  get name(): string {
    return dynoName(this.identity)
  }

  private get runDir(): string {
    return join(this.ctx.dir, `run-${this.run}`)
  }

  view(): DynoView {
    return dynoView(this.identity, this.state, this.attachment, this.updatedAt)
  }

  private log(text: string): void {
    this.ctx.logs.append(this.identity.appId, { source: 'heroku', dyno: this.name, text })
  }

  private setState(next: DynoState): void {
    if (next !== this.state) this.log(`State changed from ${this.state} to ${next}`)
    this.state = next
    this.updatedAt = new Date().toISOString()
    void this.save()
    this.ctx.changed(this)
  }

  /** Starts the first run: network, sandbox, and for web dynos the wait for $PORT. */
  start(): Promise<void> {
    this.launching ??= this.launch().finally(() => (this.launching = undefined))
    return this.launching
  }

  private async launch(): Promise<void> {
    const { identity: d, ctx } = this
    try {
      this.attachment ??= await ctx.attach(d.spaceId, d.id).then((a) => ({
        id: a.id,
        address: a.address,
      }))
      if (this.stopping) return
      this.run += 1
      // Searchable (not readable) by others: the sandbox, already running as the app's uid,
      // binds run-<n>/app from here.
      await mkdir(ctx.dir, { recursive: true, mode: 0o711 })
      this.log(`Starting process with command \`${d.command}\``)
      const process = await ctx.startProcess(this.spec())
      this.follow(process, { stdout: 0, stderr: 0 }, { adopted: false })
      await this.save()
    } catch (e) {
      this.log(`Error starting process: ${errorText(e)}`)
      this.setState('crashed')
      this.scheduleRestart()
      return
    }
    await this.watchBoot()
  }

  private spec(): DynoSpec {
    return dynoSpec(this.identity, {
      number: this.run,
      dir: this.runDir,
      port: this.ctx.port,
      attachment: this.attachment!,
    })
  }

  /** Follows the run's output into the log and its end into the lifecycle. */
  private follow(
    process: DynoProcess,
    offsets: DynoFile['offsets'],
    { adopted }: { adopted: boolean },
  ): void {
    this.process = process
    this.memory = new MemoryWatch(process, (line) => this.log(line), this.ctx.memoryCheckMs)
    this.memory.start({ adopted })
    const toLog = (text: string) =>
      this.ctx.logs.append(this.identity.appId, { source: 'app', dyno: this.name, text })
    this.tails = outputTails(process.paths, offsets, {
      line: toLog,
      notice: (text) => this.log(text),
      save: () => void this.save(),
    })
    this.ended = process.exited.then((exit) => this.onExit(process, exit))
  }

  /** `up` at once for other types; for web once $PORT is listened on, or R10. */
  private async watchBoot(): Promise<void> {
    const process = this.process
    if (!process || this.stopping) return
    if (this.identity.type !== 'web') {
      this.setState('up')
      return
    }
    const result = await process.waitListening(this.ctx.port, {
      timeoutMs: this.ctx.bootTimeoutMs,
    })
    if (this.process !== process || this.stopping) return
    if (result === 'listening') {
      this.setState('up')
    } else if (result === 'timeout') {
      const seconds = Math.round(this.ctx.bootTimeoutMs / 1000)
      this.log(
        `Error R10 (Boot timeout) -> Web process failed to bind to $PORT within ${seconds} seconds of launch`,
      )
      this.log('Stopping process with SIGKILL')
      await process.stop({ graceMs: 0 })
    }
    // 'exited': onExit reports it
  }

  private async onExit(process: DynoProcess, exit: DynoExit): Promise<void> {
    if (this.process !== process) return
    await Promise.all(this.tails.map((t) => t.close()))
    await this.memory?.finish(exit.memory)
    this.log(exitLine(exit))
    const stopped = this.stopping || exit.stopRequested
    // The state before the cleanup (cgroup, mounts: tens of ms): its DNS names and routes go as
    // soon as the process is gone (issue 5: within 100 ms of a crash or stop).
    this.setState(stopped ? 'down' : 'crashed')
    await process.cleanup().catch((e: unknown) => this.log(`cleanup: ${errorText(e)}`))
    this.process = undefined
    if (!stopped) this.scheduleRestart()
  }

  /** Heroku restarts a crashed dyno at once the first time, then backs off. */
  private scheduleRestart(): void {
    if (this.stopping) return
    const delay = this.restarts === 0 ? 0 : this.ctx.backoffMs(this.restarts)
    this.restarts += 1
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return
      this.setState('starting')
      void this.start()
    }, delay)
  }

  /** Marks a dyno that stayed up as healthy again, so its next crash restarts it at once. */
  resetBackoff(): void {
    this.restarts = 0
  }

  /**
   * SIGTERM, the grace period, SIGKILL; then the network and the directory go. Resolves when
   * nothing of the dyno is left.
   */
  async stop(): Promise<void> {
    this.stopping = true
    clearTimeout(this.restartTimer)
    await this.launching
    const process = this.process
    if (process) {
      this.log('Stopping all processes with SIGTERM')
      await process.stop({ graceMs: this.ctx.graceMs })
      await this.ended
    } else if (this.state !== 'down') {
      this.setState('down')
    }
    if (this.attachment) await this.ctx.detach(this.attachment.id)
    this.attachment = undefined
    await rm(this.ctx.dir, { recursive: true, force: true })
  }

  /** `ps:restart`: the process is stopped and started again in the same namespace. */
  async restart(): Promise<void> {
    if (this.stopping) return
    clearTimeout(this.restartTimer)
    await this.launching
    this.log('Restarting')
    const process = this.process
    if (process) {
      this.log('Stopping all processes with SIGTERM')
      const exit = await process.stop({ graceMs: this.ctx.graceMs })
      await this.ended
      void exit
    }
    if (this.stopping) return
    this.restarts = 0
    this.setState('starting')
    await this.start()
  }

  /** Daemon shutdown: the dyno keeps running; a new daemon adopts it from dyno.json. */
  async release(): Promise<void> {
    clearTimeout(this.restartTimer)
    for (const tail of this.tails) tail.stop()
    this.memory?.stop()
    this.process?.release()
    await this.save()
  }

  private async save(): Promise<void> {
    const file: DynoFile = {
      version: 1,
      identity: this.identity,
      attachment: this.attachment,
      run: this.run,
      state: this.state,
      restarts: this.restarts,
      updatedAt: this.updatedAt,
      offsets: { stdout: this.tails[0]?.offset ?? 0, stderr: this.tails[1]?.offset ?? 0 },
    }
    if (this.stopping && this.state === 'down') return
    await mkdir(this.ctx.dir, { recursive: true, mode: 0o711 })
    await writeFile(join(this.ctx.dir, 'dyno.json'), JSON.stringify(file), { mode: 0o600 })
  }

  /**
   * A dyno found on disk by a new daemon: its process is adopted as it is (never restarted);
   * one that ended meanwhile is treated as having crashed.
   */
  static async adopt(file: DynoFile, ctx: DynoContext): Promise<Dyno> {
    const dyno = new Dyno(file.identity, ctx)
    dyno.attachment = file.attachment
    dyno.run = file.run
    dyno.restarts = file.restarts
    dyno.state = file.state
    dyno.updatedAt = file.updatedAt
    const process = await ctx.adoptProcess(dyno.runDir).catch(() => undefined)
    if (!process) {
      // The run never got going (the daemon died mid-start): start it again.
      dyno.setState('starting')
      void dyno.start()
      return dyno
    }
    dyno.follow(process, file.offsets, { adopted: true })
    if (file.state === 'starting') void dyno.watchBoot()
    return dyno
  }
}
