/**
 * A one-off dyno (`heroku run`, `run:detached`, docs/heroku-reference.md §8): the app's current
 * release running a command given at creation, in the app's space network like any dyno, but
 * outside formation: the converge never stops it, nothing restarts it, and once its process
 * has exited it goes away. Its lines, as Heroku writes them:
 *
 *   heroku[run.1234]: Starting process with command `rake db:migrate`
 *   heroku[run.1234]: State changed from starting to up
 *   app[run.1234]: …                      (detached only; attached output goes to the client)
 *   heroku[run.1234]: Process exited with status 0
 *   heroku[run.1234]: State changed from up to complete
 *
 * A detached one starts at once and writes to the app log. An attached one starts when its
 * client connects to the rendezvous (so no output is missed), reads stdin from a FIFO the
 * daemon writes, and its output files are sent to the client as they grow.
 *
 * Like formation dynos it outlives a daemon restart (`one-off.json` in its directory): a
 * detached one is adopted and followed to its end; an attached one has lost its client and is
 * stopped.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Writable } from 'node:stream'
import type { LogView } from '../core/log-view.js'
import type { DynoView } from '../core/runtime-view.js'
import type { Attachment } from '../core/types.js'
import { makeFifo, openFifoWriter } from '../exec/detached.js'
import type { DynoExit, DynoProcess, DynoSpec } from '../runtime/index.js'
import { dynoName, dynoSpec, dynoView, errorText, exitLine, type DynoIdentity } from './dyno.js'
import { MemoryWatch } from './memory-watch.js'
import { FileFollower, outputTails, type FileTail } from './file-tail.js'
import type { AttachSession } from './one-off-session.js'

export const ONE_OFF_FILE = 'one-off.json'

export interface OneOffIdentity extends DynoIdentity {
  attach: boolean
  /** Seconds from creation after which it is stopped. */
  timeToLive?: number
}

/** one-off.json: what a new daemon needs to pick the dyno up. */
export interface OneOffFile {
  version: 1
  identity: OneOffIdentity
  attachment: { id: string; address: string } | undefined
  /** The process was started (run-1 holds it). */
  started: boolean
  state: DynoView['state']
  updatedAt: string
  offsets: { stdout: number; stderr: number }
}

export interface OneOffContext {
  dir: string
  logs: LogView
  attach(spaceId: string, owner: string): Promise<Attachment>
  detach(attachmentId: string): Promise<void>
  startProcess(spec: DynoSpec): Promise<DynoProcess>
  adoptProcess(runDir: string): Promise<DynoProcess>
  port: number
  graceMs: number
  memoryCheckMs: number
  /** After every state change. */
  changed(dyno: OneOffDyno): void
  /** Once nothing of it is left (network, directory): it leaves the runtime's views. */
  gone(dyno: OneOffDyno): void
}

export class OneOffDyno {
  state: DynoView['state'] = 'starting'
  updatedAt: string
  attachment: { id: string; address: string } | undefined
  stopping = false
  private started = false
  private process: DynoProcess | undefined
  private memory: MemoryWatch | undefined
  private session: AttachSession | undefined
  private appTails: FileTail[] = []
  private rawTails: FileFollower[] = []
  private ttlTimer: NodeJS.Timeout | undefined
  private preparing: Promise<void> | undefined
  private launching: Promise<void> | undefined
  private ended: Promise<void> | undefined
  private finished: Promise<void> | undefined
  private stopped: Promise<void> | undefined

  constructor(
    readonly identity: OneOffIdentity,
    private readonly ctx: OneOffContext,
  ) {
    this.updatedAt = identity.createdAt
  }

  get name(): string {
    return dynoName(this.identity)
  }

  private get runDir(): string {
    return join(this.ctx.dir, 'run-1')
  }

  view(): DynoView {
    return dynoView(this.identity, this.state, this.attachment, this.updatedAt)
  }

  private log(text: string): void {
    this.ctx.logs.append(this.identity.appId, { source: 'heroku', dyno: this.name, text })
  }

  private setState(next: DynoView['state']): void {
    if (next !== this.state) this.log(`State changed from ${this.state} to ${next}`)
    this.state = next
    this.updatedAt = new Date().toISOString()
    void this.save()
    this.ctx.changed(this)
  }

  /** Joins the space network (an attached dyno does this before its client arrives). */
  prepare(): Promise<void> {
    this.preparing ??= (async () => {
      const { identity: d, ctx } = this
      await mkdir(ctx.dir, { recursive: true, mode: 0o711 })
      await this.save()
      this.attachment ??= await ctx.attach(d.spaceId, d.id).then((a) => ({
        id: a.id,
        address: a.address,
      }))
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
    const { identity: d, ctx } = this
    this.session = session
    try {
      await this.prepare()
      if (this.stopping) {
        session?.fail('the dyno was stopped before it started')
        return
      }
      let stdinFifo: string | undefined
      let stdin: Writable | undefined
      if (session) {
        stdinFifo = join(ctx.dir, 'stdin')
        await rm(stdinFifo, { force: true })
        await makeFifo(stdinFifo)
        stdin = openFifoWriter(stdinFifo)
      }
      this.log(`Starting process with command \`${d.command}\``)
      let process: DynoProcess
      try {
        process = await ctx.startProcess(this.spec(stdinFifo))
      } catch (e) {
        stdin?.destroy()
        throw e
      }
      // Only now: the process holds the FIFO's read end, so the client's end of input (which
      // closes the write end) can no longer leave the start waiting for a writer.
      if (stdin) session?.connectStdin(stdin)
      this.started = true
      this.follow(process, { stdout: 0, stderr: 0 }, { adopted: false })
      this.setState('up')
      this.scheduleTtl()
    } catch (e) {
      this.log(`Error starting process: ${errorText(e)}`)
      session?.fail(`could not start the dyno: ${errorText(e)}`)
      this.setState('crashed')
      await this.finish()
    }
  }

  private spec(stdinFifo: string | undefined): DynoSpec {
    return {
      ...dynoSpec(this.identity, {
        number: 1,
        dir: this.runDir,
        port: this.ctx.port,
        attachment: this.attachment!,
      }),
      ...(stdinFifo !== undefined && { stdinFifo }),
    }
  }

  /** Output to the client (attached) or the app log (detached); the end to onExit. */
  private follow(
    process: DynoProcess,
    offsets: OneOffFile['offsets'],
    { adopted }: { adopted: boolean },
  ): void {
    this.process = process
    this.memory = new MemoryWatch(process, (line) => this.log(line), this.ctx.memoryCheckMs)
    this.memory.start({ adopted })
    if (this.identity.attach) {
      const session = this.session
      if (session) {
        const send = (chunk: Buffer) => session.output(chunk)
        // Raw bytes, promptly: a prompt without a newline must reach the client too.
        const options = { pollMs: 250 }
        this.rawTails = [
          new FileFollower(process.paths.stdout, send, options),
          new FileFollower(process.paths.stderr, send, options),
        ]
      }
    } else {
      const toLog = (text: string) =>
        this.ctx.logs.append(this.identity.appId, { source: 'app', dyno: this.name, text })
      this.appTails = outputTails(process.paths, offsets, {
        line: toLog,
        notice: (text) => this.log(text),
        save: () => void this.save(),
      })
    }
    this.ended = process.exited.then((exit) => this.onExit(process, exit))
  }

  private async onExit(process: DynoProcess, exit: DynoExit): Promise<void> {
    if (this.process !== process) return
    await Promise.all([
      ...this.appTails.map((t) => t.close()),
      ...this.rawTails.map((t) => t.close()),
    ])
    await this.memory?.finish(exit.memory)
    this.log(exitLine(exit))
    this.session?.exit(exit.code)
    await process.cleanup().catch((e: unknown) => this.log(`cleanup: ${errorText(e)}`))
    this.process = undefined
    this.setState(this.stopping || exit.stopRequested ? 'down' : 'complete')
    await this.finish()
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
    const process = this.process
    if (process) {
      this.log('Stopping all processes with SIGTERM')
      await process.stop({ graceMs: this.ctx.graceMs })
      await this.ended
    } else if (!this.finished) {
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
      if (this.attachment) {
        await this.ctx
          .detach(this.attachment.id)
          .catch((e: unknown) => this.log(`network: ${errorText(e)}`))
      }
      this.attachment = undefined
      await rm(this.ctx.dir, { recursive: true, force: true })
      this.ctx.gone(this)
    })()
    return this.finished
  }

  /** Daemon shutdown: the process keeps running; a new daemon adopts it. */
  async release(): Promise<void> {
    clearTimeout(this.ttlTimer)
    for (const tail of this.appTails) tail.stop()
    for (const tail of this.rawTails) tail.stop()
    this.session?.drop()
    this.memory?.stop()
    this.process?.release()
    await this.save()
  }

  private async save(): Promise<void> {
    if (this.finished) return
    const file: OneOffFile = {
      version: 1,
      identity: this.identity,
      attachment: this.attachment,
      started: this.started,
      state: this.state,
      updatedAt: this.updatedAt,
      offsets: {
        stdout: this.appTails[0]?.offset ?? 0,
        stderr: this.appTails[1]?.offset ?? 0,
      },
    }
    await mkdir(this.ctx.dir, { recursive: true, mode: 0o711 })
    await writeFile(join(this.ctx.dir, ONE_OFF_FILE), JSON.stringify(file), { mode: 0o600 })
  }

  /**
   * Found on disk by a new daemon. A detached dyno that runs is followed on; one that ended
   * meanwhile reports its end. One that never started, or was attached (its client is gone
   * with the old daemon), is stopped and removed.
   */
  static async adopt(file: OneOffFile, ctx: OneOffContext): Promise<OneOffDyno> {
    const dyno = new OneOffDyno(file.identity, ctx)
    dyno.attachment = file.attachment
    dyno.state = file.state
    dyno.updatedAt = file.updatedAt
    dyno.preparing = Promise.resolve()
    const process = await ctx.adoptProcess(dyno.runDir).catch(() => undefined)
    if (!process) {
      dyno.launching = Promise.resolve()
      void dyno.stop()
      return dyno
    }
    dyno.started = true
    dyno.launching = Promise.resolve()
    dyno.follow(process, file.offsets, { adopted: true })
    if (file.identity.attach) void dyno.stop()
    else dyno.scheduleTtl()
    return dyno
  }
}
