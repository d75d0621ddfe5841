/**
 * What every dyno is, formation (dyno.ts) or one-off (one-off.ts): its identity, its state as
 * Heroku names it (each change logged: `heroku[web.1]: State changed from starting to up`),
 * its place in the space network (its private IP and DNS name, kept across runs), its file on
 * disk (what a new daemon needs to adopt it) and its current run (dyno-run.ts).
 *
 * The two kinds differ only in what they do around a run: a formation dyno watches a web
 * process boot and restarts one that crashed; a one-off may have a client attached and goes
 * away once its one run is over. They say so through `onExited` and `afterRun`.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { LogView } from '../core/log-view.js'
import type { DynoView } from '../core/runtime-view.js'
import type { Attachment } from '../core/types.js'
import { netnsName } from '../network/names.js'
import type { DynoExit, DynoProcess, DynoSpec } from '../runtime/index.js'
import { DynoRun, errorText, type Offsets, type RunOutput } from './dyno-run.js'

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

/** A dyno's place in its space network: a namespace (named after the id) and a private IP. */
export interface NetworkPlace {
  id: string
  address: string
}

/** What every dyno's file holds (dyno.ts and one-off.ts add their own fields). */
export interface DynoFileBase {
  version: 1
  identity: DynoIdentity
  attachment: NetworkPlace | undefined
  state: DynoState
  updatedAt: string
  /** Where the log tails of the current run had got to. */
  offsets: Offsets
}

/** What any dyno needs from the rest of the daemon. */
export interface DynoBaseContext {
  /** The dyno's directory: its file, and a `run-<n>` directory for each run. */
  dir: string
  logs: LogView
  attach(spaceId: string, owner: string): Promise<Attachment>
  detach(attachmentId: string): Promise<void>
  startProcess(spec: DynoSpec): Promise<DynoProcess>
  adoptProcess(runDir: string): Promise<DynoProcess>
  port: number
  graceMs: number
  /** How often a running dyno's memory is read for R14/R15 (memory-watch.ts). */
  memoryCheckMs: number
}

/** `web.1`: a dyno's name from its identity. */
export const dynoName = (d: DynoIdentity): string => `${d.type}.${d.number}`

export abstract class DynoBase<I extends DynoIdentity, C extends DynoBaseContext> {
  state: DynoState = 'starting'
  updatedAt: string
  attachment: NetworkPlace | undefined
  /** Set once stop() was asked: the dyno is on its way out and never runs again. */
  stopping = false
  /** The run under way, until it has ended and is cleaned up. */
  protected run: DynoRun | undefined
  /** The last run's end, including what the dyno did after it (`afterRun`). */
  private ended: Promise<void> | undefined
  /** Writes of the dyno's file, one after the other (the latest state wins). */
  private saving: Promise<void> = Promise.resolve()
  /** The directory is going: no write may bring it back. */
  private removed = false

  constructor(
    readonly identity: I,
    protected readonly ctx: C,
    /** The dyno's file in its directory (a new daemon tells the kinds apart by it). */
    private readonly fileName: string,
  ) {
    this.updatedAt = identity.createdAt
  }

  /** Reports a state change to the rest of the daemon (DNS, router, API views). */
  protected abstract changed(): void
  /** The run's process has ended, its output is out, its cleanup comes next: say how it ended. */
  protected abstract onExited(exit: DynoExit): void
  /** The run is over and cleaned up: what comes next (a restart, going away). */
  protected abstract afterRun(exit: DynoExit): Promise<void>

  /** What this kind adds to the dyno's file (a formation dyno: its run and restart count). */
  protected fileExtras(): object {
    return {}
  }

  get name(): string {
    return dynoName(this.identity)
  }

  view(): DynoView {
    const d = this.identity
    return {
      id: d.id,
      name: this.name,
      type: d.type,
      command: d.command,
      size: d.size,
      state: this.state,
      releaseId: d.releaseId,
      releaseVersion: d.releaseVersion,
      privateIp: this.attachment?.address ?? null,
      createdAt: d.createdAt,
      updatedAt: this.updatedAt,
    }
  }

  /** A `heroku[web.1]` line in the app's log. */
  protected log(text: string): void {
    this.ctx.logs.append(this.identity.appId, { source: 'heroku', dyno: this.name, text })
  }

  protected setState(next: DynoState): void {
    if (next !== this.state) this.log(`State changed from ${this.state} to ${next}`)
    this.state = next
    this.updatedAt = new Date().toISOString()
    void this.save()
    this.changed()
  }

  /** Joins the space network, once: the namespace stays until `leave`. */
  protected async joinNetwork(): Promise<NetworkPlace> {
    if (!this.attachment) {
      const { id, address } = await this.ctx.attach(this.identity.spaceId, this.identity.id)
      this.attachment = { id, address }
    }
    return this.attachment
  }

  protected runDir(number: number): string {
    return join(this.ctx.dir, `run-${number}`)
  }

  /** Starts run `number` in the dyno's namespace (joined first); `extra` adds to its spec. */
  protected async startRun(
    number: number,
    output: RunOutput,
    extra: Partial<DynoSpec> = {},
  ): Promise<void> {
    const d = this.identity
    const place = await this.joinNetwork()
    // Searchable (not readable) by others: the sandbox, already running as the app's uid,
    // binds run-<n>/app from here.
    await mkdir(this.ctx.dir, { recursive: true, mode: 0o711 })
    this.log(`Starting process with command \`${d.command}\``)
    const process = await this.ctx.startProcess({
      id: `${d.id}-${number}`,
      appId: d.appId,
      appName: d.appName,
      processType: d.type,
      number: d.number,
      releaseVersion: d.releaseVersion,
      command: d.command,
      configVars: d.configVars,
      port: this.ctx.port,
      privateIp: place.address,
      memoryMb: d.memoryMb,
      uid: d.uid,
      gid: d.uid,
      netns: netnsName(place.id),
      slugDir: d.slugDir,
      dynoDir: this.runDir(number),
      ...extra,
    })
    this.follow(process, output, { adopted: false })
  }

  /** Heroku's line for a run that could not start; the dyno counts as crashed. */
  protected startFailed(e: unknown): void {
    this.log(`Error starting process: ${errorText(e)}`)
    this.setState('crashed')
  }

  /**
   * Picks up run `number` as an earlier daemon left it; false when there is no process to
   * adopt (the daemon died before it started, or after its cleanup).
   */
  protected async adoptRun(number: number, output: RunOutput): Promise<boolean> {
    const process = await this.ctx.adoptProcess(this.runDir(number)).catch(() => undefined)
    if (!process) return false
    this.follow(process, output, { adopted: true })
    return true
  }

  private follow(process: DynoProcess, output: RunOutput, how: { adopted: boolean }): void {
    const run = new DynoRun(
      process,
      output,
      {
        heroku: (text) => this.log(text),
        app: (text) =>
          this.ctx.logs.append(this.identity.appId, { source: 'app', dyno: this.name, text }),
        save: () => void this.save(),
        exited: (exit) => this.onExited(exit),
        memoryCheckMs: this.ctx.memoryCheckMs,
      },
      how,
    )
    this.run = run
    this.ended = run.ended.then((exit) => {
      this.run = undefined
      return this.afterRun(exit)
    })
  }

  /** SIGTERM, the grace period, SIGKILL; resolves after `afterRun`. False: nothing ran. */
  protected async stopRun(): Promise<boolean> {
    const run = this.run
    if (!run) return false
    await run.stop(this.ctx.graceMs)
    await this.ended
    return true
  }

  /**
   * The dyno leaves its network and its directory goes. A failed detach is logged and the
   * directory goes all the same: the network agent finishes a detach it left half done.
   */
  protected async leave(): Promise<void> {
    this.removed = true
    await this.saving
    if (this.attachment) {
      await this.ctx
        .detach(this.attachment.id)
        .catch((e: unknown) => this.log(`network: ${errorText(e)}`))
    }
    this.attachment = undefined
    await rm(this.ctx.dir, { recursive: true, force: true })
  }

  /** Daemon shutdown: the process runs on; a new daemon adopts it from the dyno's file. */
  async release(): Promise<void> {
    this.run?.release()
    await this.save()
  }

  /** Takes up what the file of an earlier daemon says (adoption). */
  protected restore(file: DynoFileBase): void {
    this.attachment = file.attachment
    this.state = file.state
    this.updatedAt = file.updatedAt
  }

  protected save(): Promise<void> {
    const write = this.saving.then(() => this.write())
    this.saving = write.catch(() => undefined)
    return write
  }

  private async write(): Promise<void> {
    if (this.removed) return
    const file: DynoFileBase = {
      version: 1,
      identity: this.identity,
      attachment: this.attachment,
      state: this.state,
      updatedAt: this.updatedAt,
      offsets: this.run?.offsets ?? { stdout: 0, stderr: 0 },
    }
    await mkdir(this.ctx.dir, { recursive: true, mode: 0o711 })
    await writeFile(
      join(this.ctx.dir, this.fileName),
      JSON.stringify({ ...file, ...this.fileExtras() }),
      { mode: 0o600 },
    )
  }
}
