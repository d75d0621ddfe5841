/**
 * Keeps each app's recent log lines in a file (`<dir>/<appId>.log`, one Heroku-format line
 * per line), so `heroku logs` after a daemon restart still shows what happened before it.
 *
 * Writes are batched: lines wait in memory and are appended every FLUSH_INTERVAL_MS (and on
 * close), so a chatty dyno costs one write per app per interval, not one per line. A file is
 * rewritten from the in-memory history once it holds twice as many lines as are kept, so it
 * never grows without bound.
 */
import {
  appendFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { join } from 'node:path'
import { formatLogLine, type LogLine, type LogSource } from '../core/log-view.js'

export const FLUSH_INTERVAL_MS = 250

/** `<time> <source>[<dyno>]: <text>`, the inverse of formatLogLine. */
const LINE = /^(\S+) (app|heroku)\[([^\]]+)\]: (.*)$/

/** App ids are UUIDs; anything else never becomes part of a file name. */
const SAFE_ID = /^[\w-]{1,100}$/

export type StoredLine = Omit<LogLine, 'seq'>

export class LogJournal {
  private readonly pending = new Map<string, string[]>()
  /** Lines in each file as far as we know, to decide when to rewrite it. */
  private readonly linesInFile = new Map<string, number>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly dir: string,
    private readonly onError: (error: unknown) => void,
  ) {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
  }

  private file(appId: string): string | undefined {
    return SAFE_ID.test(appId) ? join(this.dir, `${appId}.log`) : undefined
  }

  /** The last `max` lines in the app's file; none when there is no file or it is unreadable. */
  load(appId: string, max: number): StoredLine[] {
    const file = this.file(appId)
    if (!file) return []
    let text: string
    try {
      text = readFileSync(file, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.onError(e)
      return []
    }
    const rows = text.split('\n').filter((row) => row !== '')
    this.linesInFile.set(appId, rows.length)
    const lines: StoredLine[] = []
    for (const row of rows.slice(-max)) {
      const m = LINE.exec(row)
      // A torn last line (crash mid-write) or a foreign line is skipped, not fatal.
      if (m) lines.push({ time: m[1]!, source: m[2] as LogSource, dyno: m[3]!, text: m[4]! })
    }
    return lines
  }

  write(appId: string, line: LogLine): void {
    if (!this.file(appId)) return
    const queue = this.pending.get(appId)
    if (queue) queue.push(formatLogLine(line))
    else this.pending.set(appId, [formatLogLine(line)])
    this.timer ??= setTimeout(() => this.flush(), FLUSH_INTERVAL_MS).unref()
  }

  /** Whether the file holds more than `limit` lines (counting those not yet flushed). */
  oversized(appId: string, limit: number): boolean {
    const queued = this.pending.get(appId)?.length ?? 0
    return (this.linesInFile.get(appId) ?? 0) + queued > limit
  }

  /** Deletes the app's file and whatever was queued for it. */
  remove(appId: string): void {
    const file = this.file(appId)
    if (!file) return
    this.pending.delete(appId)
    this.linesInFile.delete(appId)
    rmSync(file, { force: true })
  }

  /** The apps that have a file. */
  appIds(): string[] {
    return readdirSync(this.dir)
      .map((name) => /^(.+)\.log$/.exec(name)?.[1])
      .filter((id): id is string => id !== undefined && SAFE_ID.test(id))
  }

  /** Replaces the app's file with `lines` (its in-memory history), atomically. */
  rewrite(appId: string, lines: readonly LogLine[]): void {
    const file = this.file(appId)
    if (!file) return
    this.pending.delete(appId)
    try {
      writeFileSync(`${file}.tmp`, lines.map((l) => `${formatLogLine(l)}\n`).join(''), {
        mode: 0o600,
      })
      renameSync(`${file}.tmp`, file)
      this.linesInFile.set(appId, lines.length)
    } catch (e) {
      this.onError(e)
    }
  }

  /** Writes everything queued. Synchronous, so close() can call it on the way out. */
  flush(): void {
    clearTimeout(this.timer)
    this.timer = undefined
    for (const [appId, rows] of this.pending) {
      try {
        appendFileSync(this.file(appId)!, `${rows.join('\n')}\n`, { mode: 0o600 })
        this.linesInFile.set(appId, (this.linesInFile.get(appId) ?? 0) + rows.length)
      } catch (e) {
        this.onError(e)
      }
    }
    this.pending.clear()
  }

  close(): void {
    this.flush()
  }
}
