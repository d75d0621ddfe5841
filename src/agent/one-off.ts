/**
 * A one-off dyno (`heroku run`, `run:detached`, docs/heroku-reference.md §8): the app's current
 * release running a command given at creation, in the app's space network like any dyno, but
 * outside formation: the converge never stops it, nothing restarts it, and once its one run
 * is over it goes away. Its lines, as Heroku writes them:
 *
 *   heroku[run.1234]: Starting process with command `rake db:migrate`
 *   heroku[run.1234]: State changed from starting to up
 *   app[run.1234]: …                      (detached only; attached output goes to the client)
 *   heroku[run.1234]: Process exited with status 0
 *   heroku[run.1234]: State changed from up to complete
 *
 * What every dyno shares (state, network, its file, following the run to its end) is
 * dyno-base.ts and dyno-run.ts; this file adds the attached client and the time to live.
 * A detached one starts at once and writes to the app log. An attached one starts when its
 * client connects to the rendezvous (so no output is missed), reads stdin from a FIFO the
 * daemon writes, and its output files are sent to the client as they grow.
 *
 * Like formation dynos it outlives a daemon restart (`one-off.json` in its directory): a
 * detached one is adopted and followed to its end; an attached one has lost its client and is
 * stopped.
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import { makeFifo, openFifoWriter } from '../exec/detached.js'
import type { DynoExit, DynoSpec } from '../runtime/index.js'
import {
  DynoBase,
  type DynoBaseContext,
  type DynoFileBase,
  type DynoIdentity,
} from './dyno-base.js'
import { errorText, type Offsets, type RunOutput } from './dyno-run.js'
import type { AttachSession } from './one-off-session.js'

export const ONE_OFF_FILE = 'one-off.json'

export interface OneOffIdentity extends DynoIdentity {
  attach: boolean
  /** Seconds from creation after which it is stopped. */
  timeToLive?: number
}

/** one-off.json: what a new daemon needs to pick the dyno up. */
export interface OneOffFile extends DynoFileBase {
  identity: OneOffIdentity
}

export interface OneOffContext extends DynoBaseContext {
  /** After every state change. */
  changed(dyno: OneOffDyno): void
  /** Once nothing of it is left (network, directory): it leaves the runtime's views. */
  gone(dyno: OneOffDyno): void
}

/** Its one run is `run-1`. */
const RUN = 1

export class OneOffDyno extends DynoBase<OneOffIdentity, OneOffContext> {
  private session: AttachSession | undefined
  private ttlTimer: NodeJS.Timeout | undefined
  private preparing: Promise<void> | undefined
  private launching: Promise<void> | undefined
  private finished: Promise<void> | undefined
  private stopped: Promise<void> | undefined

  constructor(identity: OneOffIdentity, ctx: OneOffContext) {
    super(identity, ctx, ONE_OFF_FILE)
  }

  protected changed(): void {
    this.ctx.changed(this)
  }

  /** Joins the space network (an attached dyno does this before its client arrives). */
  prepare(): Promise<void> {
    this.preparing ??= (async () => {
      // The file first: a daemon that dies while the network is joined still finds the dyno.
      await this.save()
      await this.joinNetwork()
      await this.save()
    })()
    return this.preparing
  }

  /** Starts the process; an attached dyno passes its client's session. Runs once. */
  start(session?: AttachSession): Promise<void> {
    this.launching ??= this.launch(session)
    return this.launching
  }

  private async launch(session: AttachSession | undefined): Promise<void> {
    this.session = session
    let stdin: Writable | undefined
    try {
      await this.prepare()
      if (this.stopping) {
        session?.fail('the dyno was stopped before it started')
        return
      }
      const extra: Partial<DynoSpec> = {}
      if (session) {
        extra.stdinFifo = join(this.ctx.dir, 'stdin')
        await rm(extra.stdinFifo, { force: true })
        await makeFifo(extra.stdinFifo)
        stdin = openFifoWriter(extra.stdinFifo)
      }
      await this.startRun(RUN, this.output({ stdout: 0, stderr: 0 }), extra)
      // Only now: the process holds the FIFO's read end, so the client's end of input (which
      // closes the write end) can no longer leave the start waiting for a writer.
      if (stdin) session?.connectStdin(stdin)
      this.setState('up')
      this.scheduleTtl()
    } catch (e) {
      stdin?.destroy()
      this.startFailed(e)
      session?.fail(`could not start the dyno: ${errorText(e)}`)
      await this.finish()
    }
  }

  /** Detached: the app log. Attached: the client, or nowhere once it is gone. */
  private output(offsets: Offsets): RunOutput {
    if (!this.identity.attach) return { to: 'log', offsets }
    const session = this.session
    return session ? { to: 'client', send: (chunk) => session.output(chunk) } : { to: 'nowhere' }
  }

  protected onExited(exit: DynoExit): void {
    this.session?.exit(exit.code)
    this.setState(this.stopping || exit.stopRequested ? 'down' : 'complete')
  }

  protected afterRun(): Promise<void> {
    return this.finish()
  }

  private scheduleTtl(): void {
    const ttl = this.identity.timeToLive
    if (ttl === undefined) return
    const left = Date.parse(this.identity.createdAt) + ttl * 1000 - Date.now()
    this.ttlTimer = setTimeout(
      () => {
        this.log(`Time to live of ${ttl} seconds reached`)
        void this.stop()
      },
      Math.max(0, left),
    )
    this.ttlTimer.unref()
  }

  /**
   * `ps:stop`, a client that hung up, a time to live reached: SIGTERM, the grace period,
   * SIGKILL. Resolves when nothing of the dyno is left.
   */
  stop(): Promise<void> {
    this.stopped ??= this.halt()
    return this.stopped
  }

  private async halt(): Promise<void> {
    this.stopping = true
    clearTimeout(this.ttlTimer)
    await this.launching
    if (!(await this.stopRun()) && !this.finished) {
      this.session?.fail('the dyno was stopped')
      this.setState('down')
      await this.finish()
    }
    await this.finished
  }

  /** The network and the directory go; then the runtime forgets the dyno. */
  private finish(): Promise<void> {
    this.finished ??= (async () => {
      clearTimeout(this.ttlTimer)
      await this.preparing?.catch(() => undefined)
      await this.leave()
      this.ctx.gone(this)
    })()
    return this.finished
  }

  /** Daemon shutdown: the process keeps running; a new daemon adopts it. */
  override async release(): Promise<void> {
    clearTimeout(this.ttlTimer)
    this.session?.drop()
    await super.release()
  }

  /**
   * Found on disk by a new daemon. A detached dyno that runs is followed on; one that ended
   * meanwhile reports its end. One that never started, or was attached (its client is gone
   * with the old daemon), is stopped and removed.
   */
  static async adopt(file: OneOffFile, ctx: OneOffContext): Promise<OneOffDyno> {
    const dyno = new OneOffDyno(file.identity, ctx)
    dyno.restore(file)
    dyno.preparing = Promise.resolve()
    dyno.launching = Promise.resolve()
    const adopted = await dyno.adoptRun(RUN, dyno.output(file.offsets))
    if (!adopted || file.identity.attach) void dyno.stop()
    else dyno.scheduleTtl()
    return dyno
  }
}
