/**
 * Limits per source address, checked when a connection is accepted — before any byte of it
 * is read, before trusted ranges are even looked at — so one source cannot hold every socket
 * of the router; and the report of refusals that have no app's log to go to.
 */

/** Open connections per source address, at most `max` each. */
export class SourceLimit {
  private readonly open = new Map<string, number>()

  constructor(private readonly max: number) {}

  /** Counts a new connection from `source`; false (not counted) when it has `max` open. */
  admit(source: string): boolean {
    const n = this.open.get(source) ?? 0
    if (n >= this.max) return false
    this.open.set(source, n + 1)
    return true
  }

  /** A connection admitted from `source` closed. */
  release(source: string): void {
    const n = this.open.get(source) ?? 0
    if (n <= 1) this.open.delete(source)
    else this.open.set(source, n - 1)
  }
}

/** Distinct sources remembered per kind and interval (a flood from many is still one line). */
const MAX_SOURCES = 1000

/**
 * Refusals told to the daemon's log as one line per kind and interval (connections over the
 * per-source cap, oversized heads that name no app): a flood of them must not become a flood
 * of log lines. The first of a kind starts the interval; its line says how many, from how
 * many sources, and the source with the most.
 */
export class RefusalReport {
  private readonly kinds = new Map<string, { count: number; sources: Map<string, number> }>()
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly warn: (text: string) => void,
    private readonly everyMs: number,
  ) {}

  add(kind: string, source: string): void {
    let entry = this.kinds.get(kind)
    if (!entry) this.kinds.set(kind, (entry = { count: 0, sources: new Map() }))
    entry.count++
    const n = entry.sources.get(source)
    if (n !== undefined || entry.sources.size < MAX_SOURCES) entry.sources.set(source, (n ?? 0) + 1)
    if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.everyMs)
      this.timer.unref()
    }
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    for (const [kind, { count, sources }] of this.kinds) {
      let top = ''
      let most = 0
      for (const [source, n] of sources) {
        if (n > most) [top, most] = [source, n]
      }
      const from = sources.size >= MAX_SOURCES ? `${MAX_SOURCES}+` : String(sources.size)
      this.warn(
        `router: refused ${count} ${kind} from ${from} source(s), most from ${top} (${most})`,
      )
    }
    this.kinds.clear()
  }
}
