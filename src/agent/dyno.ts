/**
 * One formation dyno through Heroku's lifecycle (docs/heroku-reference.md §8): `starting` → `up`
 * (a web dyno once it listens on $PORT; R10 after the boot timeout) → `crashed` when it exits
 * unasked (restarted at once the first time, then with exponential back-off) → `down` when
 * stopped (SIGTERM, grace, SIGKILL).
 *
 * What every dyno shares (state and its log lines, network, its file, following a run to its
 * end) is dyno-base.ts and dyno-run.ts; this file adds the boot watch and the restarts. A dyno
 * keeps its network namespace (and so its private IP and DNS name) across restarts; each run
 * of its process gets a fresh sandbox directory (`run-<n>`). What a new daemon needs to adopt
 * it is in `dyno.json` beside the runs, rewritten on every state change.
 */
import type { DynoExit } from '../runtime/index.js'
import {
  DynoBase,
  type DynoBaseContext,
  type DynoFileBase,
  type DynoIdentity,
  type DynoState,
} from './dyno-base.js'
import type { Offsets, RunOutput } from './dyno-run.js'

export type { DynoIdentity, DynoState }

/** dyno.json: the common file plus the run and the restart count. */
export interface DynoFile extends DynoFileBase {
  run: number
  restarts: number
}

/** What a formation dyno needs from the rest of the daemon. */
export interface DynoContext extends DynoBaseContext {
  bootTimeoutMs: number
  /** Delay before the n-th consecutive restart (n ≥ 1); the first is immediate. */
  backoffMs(n: number): number
  /** Called after every state change (DNS, router and API views follow it). */
  changed(dyno: Dyno): void
}

/** A formation dyno's output goes to the app log, from `offsets` on. */
const toLog = (offsets: Offsets): RunOutput => ({ to: 'log', offsets })

export class Dyno extends DynoBase<DynoIdentity, DynoContext> {
  private runNumber = 0
  private restarts = 0
  private restartTimer: NodeJS.Timeout | undefined
  private launching: Promise<void> | undefined

  constructor(identity: DynoIdentity, ctx: DynoContext) {
    super(identity, ctx, 'dyno.json')
  }

  protected changed(): void {
    this.ctx.changed(this)
  }

  protected override fileExtras(): Pick<DynoFile, 'run' | 'restarts'> {
    return { run: this.runNumber, restarts: this.restarts }
  }

  /** Starts the next run: network, sandbox, and for web dynos the wait for $PORT. */
  start(): Promise<void> {
    this.launching ??= this.launch().finally(() => (this.launching = undefined))
    return this.launching
  }

  private async launch(): Promise<void> {
    try {
      await this.joinNetwork()
      if (this.stopping) return
      this.runNumber += 1
      await this.startRun(this.runNumber, toLog({ stdout: 0, stderr: 0 }))
      await this.save()
    } catch (e) {
      this.startFailed(e)
      this.scheduleRestart()
      return
    }
    await this.watchBoot()
  }

  /** `up` at once for other types; for web once $PORT is listened on, or R10. */
  private async watchBoot(): Promise<void> {
    const run = this.run
    if (!run || this.stopping) return
    if (this.identity.type !== 'web') {
      this.setState('up')
      return
    }
    const { bootTimeoutMs } = this.ctx
    const result = await run.process.waitListening(this.ctx.port, { timeoutMs: bootTimeoutMs })
    if (this.run !== run || this.stopping) return
    if (result === 'listening') {
      this.setState('up')
    } else if (result === 'timeout') {
      this.log(
        `Error R10 (Boot timeout) -> Web process failed to bind to $PORT within ${Math.round(bootTimeoutMs / 1000)} seconds of launch`,
      )
      this.log('Stopping process with SIGKILL')
      await run.process.stop({ graceMs: 0 })
    }
    // 'exited': the run reports it
  }

  protected onExited(exit: DynoExit): void {
    this.setState(this.stopping || exit.stopRequested ? 'down' : 'crashed')
  }

  protected afterRun(exit: DynoExit): Promise<void> {
    if (!this.stopping && !exit.stopRequested) this.scheduleRestart()
    return Promise.resolve()
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
    if (!(await this.stopRun()) && this.state !== 'down') this.setState('down')
    await this.leave()
  }

  /** `ps:restart`: the process is stopped and started again in the same namespace. */
  async restart(): Promise<void> {
    if (this.stopping) return
    clearTimeout(this.restartTimer)
    await this.launching
    this.log('Restarting')
    await this.stopRun()
    if (this.stopping) return
    this.restarts = 0
    this.setState('starting')
    await this.start()
  }

  /** Daemon shutdown: the dyno keeps running; a new daemon adopts it from dyno.json. */
  override async release(): Promise<void> {
    clearTimeout(this.restartTimer)
    await super.release()
  }

  /**
   * A dyno found on disk by a new daemon: its process is adopted as it is (never restarted);
   * one that ended meanwhile is treated as having crashed.
   */
  static async adopt(file: DynoFile, ctx: DynoContext): Promise<Dyno> {
    const dyno = new Dyno(file.identity, ctx)
    dyno.restore(file)
    dyno.runNumber = file.run
    dyno.restarts = file.restarts
    if (!(await dyno.adoptRun(file.run, toLog(file.offsets)))) {
      // The run never got going (the daemon died mid-start): start it again.
      dyno.setState('starting')
      void dyno.start()
    } else if (file.state === 'starting') {
      void dyno.watchBoot()
    }
    return dyno
  }
}
