/**
 * The per-app log store: the last `capacity` lines of every app in memory (Heroku keeps
 * 1,500), readers following new lines, and optionally a journal file per app so history
 * survives a daemon restart. Everything is synchronous: append() hands a line to every
 * follower before it returns, and recent() followed by follow() in the same tick can neither
 * miss nor repeat a line.
 */
import {
  logTime,
  matchesLogFilter,
  MAX_LOG_LINES,
  type LogEntry,
  type LogFilter,
  type LogLine,
  type LogView,
} from '../core/log-view.js'
import { LogJournal } from './journal.js'
import { RingBuffer } from './ring.js'
import { splitLogText } from './split.js'

export interface LogStoreOptions {
  /** Lines kept per app; at least MAX_LOG_LINES so `-n 1500` is always served. */
  capacity?: number
  /** Directory for per-app journal files; memory only when absent. */
  dir?: string
  /** Journal write failures and follower exceptions; logging never breaks its callers. */
  onError?: (error: unknown) => void
}

interface Follower {
  filter: LogFilter
  onLine: (line: LogLine) => void
}

interface AppLog {
  lines: RingBuffer<LogLine>
  seq: number
  followers: Set<Follower>
}

export class LogStore implements LogView {
  readonly capacity: number
  private readonly apps = new Map<string, AppLog>()
  /** Deleted apps: a line their last dynos write on the way out is dropped, not kept. */
  private readonly forgotten = new Set<string>()
  private readonly journal: LogJournal | undefined
  private readonly onError: (error: unknown) => void

  constructor(options: LogStoreOptions = {}) {
    this.capacity = Math.max(options.capacity ?? MAX_LOG_LINES, 1)
    this.onError = options.onError ?? (() => undefined)
    this.journal = options.dir ? new LogJournal(options.dir, this.onError) : undefined
  }

  append(appId: string, entry: LogEntry): void {
    if (this.forgotten.has(appId)) return
    const log = this.log(appId)
    const time = logTime(entry.time ?? new Date())
    for (const text of splitLogText(entry.text)) {
      const line: LogLine = { seq: ++log.seq, time, source: entry.source, dyno: entry.dyno, text }
      log.lines.push(line)
      this.journal?.write(appId, line)
      for (const follower of log.followers) {
        if (!matchesLogFilter(line, follower.filter)) continue
        try {
          follower.onLine(line)
        } catch (e) {
          this.onError(e)
        }
      }
    }
    if (this.journal?.oversized(appId, 2 * this.capacity)) {
      this.journal.rewrite(appId, log.lines.toArray())
    }
  }

  recent(appId: string, options: LogFilter & { lines: number }): LogLine[] {
    const all = this.log(appId).lines.toArray()
    const out: LogLine[] = []
    for (let i = all.length - 1; i >= 0 && out.length < options.lines; i--) {
      if (matchesLogFilter(all[i]!, options)) out.push(all[i]!)
    }
    return out.reverse()
  }

  follow(appId: string, filter: LogFilter, onLine: (line: LogLine) => void): () => void {
    const followers = this.log(appId).followers
    // A copy: a caller changing its filter object later must not change what it receives.
    const follower: Follower = { filter: { ...filter }, onLine }
    followers.add(follower)
    return () => followers.delete(follower)
  }

  /** How many readers follow an app now; tests use it to prove streams let go. */
  followerCount(appId: string): number {
    return this.apps.get(appId)?.followers.size ?? 0
  }

  /**
   * A deleted app's log goes with it, in memory and on disk; its readers hear nothing more.
   * App ids are never reused, so the app stays forgotten.
   */
  forget(appId: string): void {
    this.forgotten.add(appId)
    this.apps.delete(appId)
    this.journal?.remove(appId)
  }

  /** Forgets the apps that have a journal and are not `kept` (deleted while no daemon ran). */
  forgetAllBut(kept: (appId: string) => boolean): void {
    for (const appId of this.journal?.appIds() ?? []) if (!kept(appId)) this.forget(appId)
  }

  /** Writes out whatever the journal still holds. */
  close(): void {
    this.journal?.close()
  }

  /** The app's log, loaded from its journal the first time it is touched. */
  private log(appId: string): AppLog {
    let log = this.apps.get(appId)
    if (!log) {
      log = { lines: new RingBuffer<LogLine>(this.capacity), seq: 0, followers: new Set() }
      for (const stored of this.journal?.load(appId, this.capacity) ?? []) {
        log.lines.push({ ...stored, seq: ++log.seq })
      }
      this.apps.set(appId, log)
    }
    return log
  }
}
