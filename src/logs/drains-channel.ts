/**
 * One drain's delivery: lines wait in a bounded buffer and go out in batches of at most
 * `batchSize` messages, as soon as that many wait or `flushIntervalMs` after the oldest one
 * arrived (Logplex: 500 lines or every 250 ms, docs/heroku-reference.md §8.6). One batch is in
 * flight at a time, so lines arrive in order; a batch that fails is sent again, unchanged
 * (same Logplex-Frame-Id), after an exponential back-off.
 *
 * While a drain is down its buffer fills; once full the oldest lines are dropped and counted,
 * and the next batch starts with Logplex's notice for it:
 * `heroku[logplex]: Error L10 (output buffer overflow): N messages dropped since <time>.`
 */
import { randomBytes } from 'node:crypto'
import type { DrainTarget } from '../core/drains.js'
import { logTime, type LogLine } from '../core/log-view.js'
import type { DrainBatch, DrainTransport } from './drains-transport.js'
import { PRI_WARNING, syslogFrames, type SyslogFormat } from './syslog.js'

export interface ChannelSettings {
  batchSize: number
  flushIntervalMs: number
  /** Messages kept while the drain is slow or down; beyond that the oldest are dropped. */
  bufferLines: number
  /** The same bound in characters of framed text (lines may be up to 10 KB each). */
  bufferChars: number
  /** Wait before the first retry; doubled per failure up to `maxBackoffMs`. */
  initialBackoffMs: number
  maxBackoffMs: number
  log: (message: string) => void
}

export interface DrainStats {
  id: string
  url: string
  /** Messages waiting (not counting a batch in flight). */
  queued: number
  /** Messages the drain accepted (L10 notices included). */
  delivered: number
  /** Messages dropped because the buffer was full. */
  dropped: number
  /** Failed sends, retried. */
  failures: number
  lastError: string | undefined
}

/** A FIFO of framed messages that drops from the front in O(1). */
class MessageQueue {
  private items: string[] = []
  private head = 0
  /** Characters queued, for the memory bound. */
  chars = 0

  get length(): number {
    return this.items.length - this.head
  }

  push(item: string): void {
    this.items.push(item)
    this.chars += item.length
  }

  shift(): void {
    this.chars -= this.items[this.head]!.length
    this.head++
    this.compact()
  }

  take(n: number): string[] {
    const out = this.items.slice(this.head, this.head + n)
    this.head += out.length
    for (const item of out) this.chars -= item.length
    this.compact()
    return out
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items = []
      this.head = 0
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head)
      this.head = 0
    }
  }
}

export class DrainChannel {
  private readonly queue = new MessageQueue()
  /** When the oldest queued message arrived (ms), for the flush interval. */
  private oldestAt = 0
  private inFlight: DrainBatch | undefined
  private timer: NodeJS.Timeout | undefined
  private retry: { timer: NodeJS.Timeout; wake: () => void } | undefined
  private closed = false
  /** Dropped since the last L10 notice went into a batch. */
  private droppedPending = 0
  private droppedSince = ''
  private failuresInARow = 0
  private readonly idleWaiters = new Set<() => void>()
  private readonly notice: SyslogFormat
  private readonly style: SyslogFormat['style']
  private readonly counters = {
    delivered: 0,
    dropped: 0,
    failures: 0,
    lastError: undefined as string | undefined,
  }

  constructor(
    readonly target: DrainTarget,
    private readonly transport: DrainTransport,
    private readonly settings: ChannelSettings,
    /** `logplex` for HTTP(S) drains, `rfc5424` for syslog ones. */
    style: SyslogFormat['style'],
  ) {
    this.style = style
    this.notice = { hostname: this.defaultHost(), style, pri: PRI_WARNING }
  }

  /** Queues one line of the app `appName`. Cheap: no I/O happens here. */
  push(line: LogLine, appName: string): void {
    if (this.closed) return
    // A space drain mixes the space's apps: the HOSTNAME field says which app a line is from.
    const hostname = this.target.scope === 'space' ? appName : this.defaultHost()
    for (const frame of syslogFrames(line, { hostname, style: this.style })) {
      if (this.queue.length === 0) this.oldestAt = Date.now()
      this.queue.push(frame)
      while (
        this.queue.length > this.settings.bufferLines ||
        (this.queue.chars > this.settings.bufferChars && this.queue.length > 1)
      ) {
        this.queue.shift()
        this.counters.dropped++
        if (this.droppedPending++ === 0) this.droppedSince = line.time
      }
    }
    this.schedule()
  }

  stats(): DrainStats {
    return {
      id: this.target.id,
      url: this.target.url,
      queued: this.queue.length,
      ...this.counters,
    }
  }

  /**
   * Stops delivering. With `graceMs`, first gives what is queued that long to go out;
   * whatever is left then is dropped.
   */
  async close(graceMs = 0): Promise<void> {
    if (this.closed) return
    if (graceMs > 0 && !this.isIdle()) {
      let deadline: NodeJS.Timeout | undefined
      await new Promise<void>((resolve) => {
        deadline = setTimeout(resolve, graceMs)
        this.idleWaiters.add(resolve)
        this.schedule(true)
      })
      clearTimeout(deadline)
    }
    this.closed = true
    clearTimeout(this.timer)
    this.timer = undefined
    if (this.retry) {
      clearTimeout(this.retry.timer)
      this.retry.wake()
    }
    this.transport.close()
    this.notifyIdle(true)
  }

  private defaultHost(): string {
    return this.style === 'logplex' ? 'host' : this.target.token
  }

  private isIdle(): boolean {
    return !this.inFlight && this.queue.length === 0 && this.droppedPending === 0
  }

  private notifyIdle(force = false): void {
    if (!force && !this.isIdle()) return
    for (const wake of this.idleWaiters) wake()
    this.idleWaiters.clear()
  }

  /** Sends now when a batch is full (or `now`), else when the oldest line is due. */
  private schedule(now = false): void {
    if (this.closed || this.inFlight || this.retry) return
    if (this.queue.length === 0 && this.droppedPending === 0) return
    const due =
      now || this.queue.length >= this.settings.batchSize
        ? 0
        : Math.max(0, this.oldestAt + this.settings.flushIntervalMs - Date.now())
    if (this.timer && due > 0) return // already set for the oldest line
    clearTimeout(this.timer)
    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.flush()
    }, due)
  }

  private nextBatch(): DrainBatch | undefined {
    const frames: string[] = []
    if (this.droppedPending > 0) {
      const text =
        `Error L10 (output buffer overflow): ${this.droppedPending} messages dropped ` +
        `since ${this.droppedSince}.`
      const line = { time: logTime(new Date()), source: 'heroku' as const, dyno: 'logplex', text }
      frames.push(...syslogFrames(line, this.notice))
      this.droppedPending = 0
    }
    frames.push(...this.queue.take(this.settings.batchSize - frames.length))
    if (this.queue.length > 0) this.oldestAt = Date.now()
    if (frames.length === 0) return undefined
    return {
      frameId: randomBytes(16).toString('hex').toUpperCase(),
      count: frames.length,
      body: Buffer.from(frames.join(''), 'utf8'),
    }
  }

  private async flush(): Promise<void> {
    if (this.closed || this.inFlight) return
    const batch = this.nextBatch()
    if (!batch) return
    this.inFlight = batch
    for (;;) {
      try {
        await this.transport.send(batch)
        break
      } catch (e) {
        if (this.closed) return
        const message = e instanceof Error ? e.message : String(e)
        this.counters.failures++
        this.counters.lastError = message
        const wait = Math.min(
          this.settings.initialBackoffMs * 2 ** Math.min(this.failuresInARow, 30),
          this.settings.maxBackoffMs,
        )
        if (this.failuresInARow++ === 0) {
          this.settings.log(`drain ${this.target.url}: ${message}; retrying`)
        }
        await new Promise<void>((wake) => {
          this.retry = { timer: setTimeout(wake, wait), wake }
        })
        this.retry = undefined
        if (this.closed) return
      }
    }
    if (this.failuresInARow > 0) {
      this.settings.log(
        `drain ${this.target.url}: delivering again after ${this.failuresInARow} failures`,
      )
      this.failuresInARow = 0
    }
    this.counters.delivered += batch.count
    this.inFlight = undefined
    this.notifyIdle()
    this.schedule(this.idleWaiters.size > 0)
  }
}
