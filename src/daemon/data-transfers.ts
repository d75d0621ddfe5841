/**
 * Runs Postgres backups and restores (`pg:backups:capture`, `…:restore`, `…:delete`, the
 * daily schedules) on the host: follows `transfers.changed`, takes the open transfers from
 * the store, one at a time, and reports back through platform/backups.ts. Backups go to the
 * blob store (data/backup-store.ts) under a temporary name, renamed when complete.
 *
 * A daemon killed mid-transfer: at the next `start()`, a transfer that had started and not
 * finished ends failed ("interrupted"), and its partial file is removed; it is not re-run,
 * because a restore half-applied by `pg_restore --clean` should not be re-applied behind the
 * user's back, and a backup is one `pg:backups:capture` away (as on Heroku, where a backup
 * interrupted by maintenance fails).
 *
 * The servers come from `serverFor` (the data agent's running `DataServer` of an add-on):
 * a transfer whose server is not available waits for the next change or clock tick.
 */
import type { BackupStore } from '../data/backup-store.js'
import type { DataServer } from '../data/server.js'
import { applyRetention, captureDueBackups } from '../platform/backup-schedules.js'
import {
  markBackupPurged,
  markTransferFinished,
  markTransferProgress,
  markTransferStarted,
  openTransfers,
} from '../platform/backups.js'
import type { PlatformContext } from '../platform/context.js'
import type { Transfer } from '../core/backups.js'

const errorMessage = (e: unknown) => (e instanceof Error ? e.message : String(e))

export interface TransferRunnerOptions {
  ctx: PlatformContext
  files: BackupStore
  serverFor: (addonId: string) => DataServer | undefined
  /** How often schedules are looked at (and waiting transfers retried); default a minute. */
  tickMs?: number
  now?: () => Date
  onError?: (message: string) => void
}

export class TransferRunner {
  private running: Promise<void> | undefined
  private again = false
  private stopped = false
  private unsubscribe: (() => void) | undefined
  private timer: NodeJS.Timeout | undefined

  constructor(private readonly options: TransferRunnerOptions) {}

  /** Ends what an earlier daemon left unfinished, then runs what is open and follows changes. */
  async start(): Promise<void> {
    await this.recover()
    this.unsubscribe = this.options.ctx.events.on('transfers.changed', () => this.poke())
    this.timer = setInterval(() => this.tick(), this.options.tickMs ?? 60_000)
    this.timer.unref()
    this.poke()
  }

  /** Stops following; resolves when the transfer in hand (if any) is done. */
  async stop(): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    clearInterval(this.timer)
    await this.running
  }

  /** Resolves once nothing is being run (tests wait on it after a change). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  /** Records due scheduled backups, then runs. */
  tick(): void {
    if (this.stopped) return
    try {
      captureDueBackups(this.options.ctx, this.options.now?.() ?? new Date())
    } catch (e) {
      this.options.onError?.(`backup schedules: ${errorMessage(e)}`)
    }
    this.poke()
  }

  /** Runs the open transfers now, or once more after the current pass. */
  poke(): void {
    if (this.stopped) return
    if (this.running) {
      this.again = true
      return
    }
    this.running = this.pass().finally(() => {
      this.running = undefined
      if (this.again && !this.stopped) {
        this.again = false
        this.poke()
      }
    })
  }

  private async recover(): Promise<void> {
    const { ctx, files } = this.options
    for (const t of openTransfers(ctx.store)) {
      if (t.startedAt === null || t.finishedAt !== null) continue
      markTransferFinished(ctx, t.id, {
        succeeded: false,
        processedBytes: 0,
        message: 'failed: interrupted (the daemon stopped while it ran); run it again',
      })
    }
    await files.removePartials()
  }

  private async pass(): Promise<void> {
    for (const t of openTransfers(this.options.ctx.store)) {
      if (this.stopped) return
      try {
        await this.run(t)
      } catch (e) {
        this.options.onError?.(`transfer ${t.id}: ${errorMessage(e)}`)
      }
    }
  }

  private async run(t: Transfer): Promise<void> {
    const { ctx, files, serverFor } = this.options
    if (t.deletedAt !== null) {
      await files.remove(t.id)
      markBackupPurged(ctx, t.id)
      return
    }
    if (!ctx.store.addons.byId(t.addonId)) {
      markTransferFinished(ctx, t.id, {
        succeeded: false,
        processedBytes: 0,
        message: 'failed: the database no longer exists',
      })
      return
    }
    const server = serverFor(t.addonId)
    if (server?.state !== 'available') return // waits for its server
    if (!markTransferStarted(ctx, t.id)) return // canceled meanwhile
    const engine = await server.context()
    try {
      if (t.kind === 'backup') {
        const size = await files.capture(engine, t.id, (bytes) => {
          markTransferProgress(ctx, t.id, bytes)
        })
        const done = markTransferFinished(ctx, t.id, {
          succeeded: true,
          processedBytes: size,
          message: `backup done: ${size} bytes`,
        })
        // Canceled while pg_dump ran: the file is not kept.
        if (!done) await files.remove(t.id)
        else applyRetention(ctx, t.addonId)
      } else {
        await files.restore(engine, t.backupId ?? '')
        markTransferFinished(ctx, t.id, {
          succeeded: true,
          processedBytes: t.processedBytes,
          message: 'restore done',
        })
      }
    } catch (e) {
      markTransferFinished(ctx, t.id, {
        succeeded: false,
        processedBytes: 0,
        message: `failed: ${errorMessage(e)}`,
      })
    }
  }
}
