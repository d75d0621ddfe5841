/**
 * Proves custom domains before the router serves them (schema `domain`: `pending`, then
 * `succeeded`). A team shows it controls a hostname by publishing a TXT record at
 * `_localspace-challenge.<hostname>` (core/domains.ts `challengeName`) holding the domain's
 * random token. The verifier looks it up through the system resolver (or the servers it is
 * given), and when the token is there marks the domain verified and emits `domains.changed`,
 * on which the router feed starts serving it.
 *
 * When: every pending domain at start; an app's pending domains at once on its
 * `domains.changed` (a domain was just added; the record is usually published right before or
 * after); otherwise each again after a wait that doubles from `firstDelayMs` up to
 * `maxDelayMs`, so a forgotten claim costs one lookup every quarter of an hour, not a stream.
 */
import { Resolver } from 'node:dns/promises'
import { ReconcileLoop } from '../agent/reconcile-loop.js'
import { challengeName, type AppDomain } from '../core/domains.js'
import type { EventBus } from '../core/events.js'
import { markDomainVerified } from '../platform/domains.js'
import type { Store } from '../store/store.js'

export interface DomainVerifierOptions {
  store: Store
  events: EventBus
  /** DNS servers to ask (`ADDRESS` or `ADDRESS:PORT`); default: the system's (resolv.conf). */
  servers?: string[]
  /** A pending domain is looked at again after this long, then twice as long, … */
  firstDelayMs?: number
  /** … up to this long. */
  maxDelayMs?: number
  /** One lookup gives up after this long (an unanswered query is a record not found yet). */
  timeoutMs?: number
  log?: (message: string) => void
}

export const VERIFIER_DEFAULTS = {
  firstDelayMs: 10_000,
  maxDelayMs: 15 * 60_000,
  timeoutMs: 5_000,
} as const

/** Lookups in flight at once: a thousand claims do not become a thousand queries at once. */
const MAX_LOOKUPS_AT_ONCE = 8
/** Of a name's TXT records, this many are read; a record longer than this is not a token. */
const MAX_TXT_RECORDS = 64
const MAX_TXT_LENGTH = 1024

/**
 * Does one of the TXT records (each a list of character-strings, joined as RFC 7208 §3.3
 * does) hold exactly `token`? Reads a bounded part of what the resolver returned.
 */
export function txtHoldsToken(records: readonly (readonly string[])[], token: string): boolean {
  for (const chunks of records.slice(0, MAX_TXT_RECORDS)) {
    let length = 0
    for (const c of chunks) length += c.length
    if (length <= MAX_TXT_LENGTH && chunks.join('') === token) return true
  }
  return false
}

/** A name with no TXT records (or that does not exist) is a record not published yet. */
const NOT_PUBLISHED = new Set(['ENODATA', 'ENOTFOUND'])

export class DomainVerifier {
  /** When each pending domain is due, the wait after its next miss, and its last look. */
  private readonly due = new Map<string, { at: number; delay: number; lookedAt: number }>()
  private readonly resolvers = new Set<Resolver>()
  private readonly unsubscribe: Array<() => void> = []
  private timer: NodeJS.Timeout | undefined
  /** The project's one reconcile loop: one round at a time, kicks meanwhile make one more. */
  private readonly loop = new ReconcileLoop({
    run: async () => {
      await this.round()
      this.arm()
    },
    onError: (e) => this.options.log?.(`domain verification: ${e.message}`),
  })
  private stopped = false
  private emitting = false
  private readonly firstDelayMs: number
  private readonly maxDelayMs: number
  private readonly timeoutMs: number

  constructor(private readonly options: DomainVerifierOptions) {
    this.firstDelayMs = options.firstDelayMs ?? VERIFIER_DEFAULTS.firstDelayMs
    this.maxDelayMs = options.maxDelayMs ?? VERIFIER_DEFAULTS.maxDelayMs
    this.timeoutMs = options.timeoutMs ?? VERIFIER_DEFAULTS.timeoutMs
  }

  start(): void {
    const { events, store } = this.options
    this.unsubscribe.push(
      events.on('domains.changed', (appId) => {
        if (this.emitting) return // its own news: nothing new to look at
        for (const d of store.domains.forApp(appId)) {
          if (d.verifiedAt === null) this.soon(d.id)
        }
        void this.loop.kick()
      }),
    )
    void this.loop.start()
  }

  /**
   * A new domain is due now; one looked at before starts its backoff again, due at most
   * `firstDelayMs` after its last look: changing an app's domains again and again cannot
   * make the verifier query any faster than that.
   */
  private soon(id: string): void {
    const entry = this.due.get(id)
    const at = entry ? Math.min(entry.at, entry.lookedAt + this.firstDelayMs) : 0
    this.due.set(id, { at, delay: this.firstDelayMs, lookedAt: entry?.lookedAt ?? 0 })
  }

  /** Stops looking: lookups in flight are cancelled, nothing is marked after this. */
  async stop(): Promise<void> {
    this.stopped = true
    clearTimeout(this.timer)
    for (const off of this.unsubscribe.splice(0)) off()
    for (const r of this.resolvers) r.cancel()
    await this.loop.stop()
    clearTimeout(this.timer)
  }

  /** Looks up every pending domain that is due. */
  private async round(): Promise<void> {
    const now = Date.now()
    const pending = this.options.store.domains.pending()
    const ids = new Set(pending.map((d) => d.id))
    for (const id of this.due.keys()) if (!ids.has(id)) this.due.delete(id)
    const ready = pending.filter((d) => (this.due.get(d.id)?.at ?? 0) <= now)
    await inBatches(ready, MAX_LOOKUPS_AT_ONCE, (d) => this.check(d))
  }

  /** The next round when the earliest pending domain is due; none when nothing is pending. */
  private arm(): void {
    clearTimeout(this.timer)
    if (this.stopped) return
    let next = Infinity
    for (const { at } of this.due.values()) next = Math.min(next, at)
    if (next === Infinity) return
    this.timer = setTimeout(() => void this.loop.kick(), Math.max(0, next - Date.now()))
    this.timer.unref()
  }

  private async check(d: AppDomain): Promise<void> {
    const { store } = this.options
    if (this.stopped) return // the batches after a stop look up nothing
    // Held by another app: no lookup, only the next look on its schedule (the holder may let go).
    if (!store.domains.blocker(d.appId, d.hostname)) {
      const published = await this.tokenPublished(d)
      if (published && !this.stopped && this.markVerified(d)) {
        this.due.delete(d.id)
        return
      }
    }
    const now = Date.now()
    const delay = this.due.get(d.id)?.delay ?? this.firstDelayMs
    this.due.set(d.id, {
      at: now + delay,
      delay: Math.min(delay * 2, this.maxDelayMs),
      lookedAt: now,
    })
  }

  /** Verified, unless another app verified the name (or a wildcard over it) meanwhile. */
  private markVerified(d: AppDomain): boolean {
    const { store, events, log } = this.options
    this.emitting = true // the domains.changed that follows is its own news
    let marked: boolean
    try {
      marked = markDomainVerified({ store, events }, d)
    } finally {
      this.emitting = false
    }
    if (marked) log?.(`domain ${d.hostname} verified by its TXT record; the router serves it`)
    return marked
  }

  private async tokenPublished(d: AppDomain): Promise<boolean> {
    const name = challengeName(d.hostname)
    // One resolver per lookup: cancel() on the deadline cancels this lookup only.
    const resolver = new Resolver({ timeout: Math.ceil(this.timeoutMs / 2), tries: 2 })
    if (this.options.servers) resolver.setServers(this.options.servers)
    this.resolvers.add(resolver)
    const deadline = setTimeout(() => resolver.cancel(), this.timeoutMs)
    try {
      return txtHoldsToken(await resolver.resolveTxt(name), d.verificationToken)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? ''
      if (!NOT_PUBLISHED.has(code) && !this.stopped) {
        this.options.log?.(`domain verification: looking up TXT ${name}: ${code || String(e)}`)
      }
      return false
    } finally {
      clearTimeout(deadline)
      this.resolvers.delete(resolver)
    }
  }
}

/** Runs `fn` over `items`, at most `size` at a time. */
async function inBatches<T>(
  items: readonly T[],
  size: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  for (let i = 0; i < items.length; i += size) {
    await Promise.all(items.slice(i, i + size).map(fn))
  }
}
