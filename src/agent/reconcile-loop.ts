/**
 * The one reconcile loop under the network agent, the runtime agent and the daemon's DNS and
 * router feeds (docs/design.md §2): each gives it a pass — read the store, make its part match
 * — and the loop decides when that pass runs.
 *
 * - Single-flight: never two passes at once, so a pass never sees the half-done work of
 *   another.
 * - Coalescing: kicks while a pass runs make exactly one more pass, however many there were;
 *   with keys (the runtime agent's apps), that pass covers every key kicked meanwhile, or
 *   everything when any kick asked for everything.
 * - A timer, so drift is repaired, not only reported.
 * - Event subscriptions, undone by `stop`, which also waits for the pass under way.
 *
 * A kick on an idle loop starts its pass at once (synchronously, up to the pass's first
 * `await`): a pass that does not wait for anything is done when `kick` returns.
 */
import type { EventBus, PlatformEvents } from '../core/events.js'

/** What a pass covers: the keys kicked since the last pass began, or everything. */
export type ReconcileScope<K> = ReadonlySet<K> | 'all'

export interface ReconcileLoopOptions<K> {
  /** One pass over `scope`. A throw is given to `onError`; the loop goes on. */
  run(scope: ReconcileScope<K>): Promise<void> | void
  /** A pass over everything this often; 0 or absent = only when kicked. */
  intervalMs?: number
  onError?(error: Error): void
}

export class ReconcileLoop<K = never> {
  private running: Promise<void> | undefined
  /** What the next pass covers; undefined when nothing was kicked since the last began. */
  private pending: Set<K> | 'all' | undefined
  private timer: NodeJS.Timeout | undefined
  private readonly unsubscribe: Array<() => void> = []
  private stopped = false

  constructor(private readonly options: ReconcileLoopOptions<K>) {}

  /**
   * Runs a pass over `keys` (everything when none are given), or, while a pass runs, one more
   * after it. Resolves when the loop is idle again, so the caller's change has been seen.
   */
  kick(...keys: K[]): Promise<void> {
    if (this.stopped) return this.running ?? Promise.resolve()
    if (keys.length === 0) this.pending = 'all'
    else if (this.pending !== 'all') {
      this.pending ??= new Set()
      for (const key of keys) this.pending.add(key)
    }
    if (!this.running) {
      // Set before the pass starts: a kick from inside it (an event it emits) only coalesces.
      let done!: () => void
      this.running = new Promise((resolve) => (done = resolve))
      void this.drain().finally(() => {
        this.running = undefined
        done()
      })
    }
    return this.running
  }

  /**
   * Kicks on every `event`: a pass over everything, or over the keys `keysOf` picks from the
   * event's arguments (none picked: no pass).
   */
  follow<E extends keyof PlatformEvents>(
    events: EventBus,
    event: E,
    keysOf?: (...args: PlatformEvents[E]) => K | readonly K[],
  ): this {
    this.unsubscribe.push(
      events.on(event, (...args) => {
        if (!keysOf) return void this.kick()
        const keys = keysOf(...args)
        const list = Array.isArray(keys) ? (keys as readonly K[]) : [keys as K]
        if (list.length > 0) void this.kick(...list)
      }),
    )
    return this
  }

  /** Starts the timer, and the first pass over everything; resolves when it is done. */
  start(): Promise<void> {
    const interval = this.options.intervalMs ?? 0
    if (interval > 0 && !this.timer) {
      this.timer = setInterval(() => void this.kick(), interval)
      this.timer.unref()
    }
    return this.kick()
  }

  /** Resolves once no pass is running (tests wait on it instead of sleeping). */
  async idle(): Promise<void> {
    while (this.running) await this.running
  }

  /** No more passes: the timer and subscriptions end, and the pass under way finishes. */
  async stop(): Promise<void> {
    this.stopped = true
    clearInterval(this.timer)
    this.timer = undefined
    for (const off of this.unsubscribe.splice(0)) off()
    this.pending = undefined
    await this.idle()
  }

  /** Passes until nothing is pending; never rejects. */
  private async drain(): Promise<void> {
    while (this.pending !== undefined) {
      const scope = this.pending
      this.pending = undefined
      try {
        await this.options.run(scope)
      } catch (e) {
        this.options.onError?.(e instanceof Error ? e : new Error(String(e)))
      }
    }
  }
}
