/**
 * Rate limiting by token bucket, one bucket per key (a source address, an email).
 *
 * A bucket holds up to `burst` tokens and gains `perMinute` tokens a minute; each attempt
 * takes one, and an attempt that finds the bucket empty is refused. Buckets are made on
 * first use and the table holds at most `maxKeys` of them: when it is full the least
 * recently used bucket goes (a Map keeps insertion order, and a used bucket is moved to the
 * end), so memory stays bounded whatever keys an attacker invents. A bucket that has refilled
 * is the same as no bucket, so forgetting one that was left alone longest loses little.
 */
export interface BucketLimits {
  /** Attempts allowed at once, after a quiet period. */
  burst: number
  /** Attempts regained per minute. */
  perMinute: number
}

/**
 * Each bucket is kept as one number, the time at which it will be full again (the "theoretical
 * arrival time" of the generic cell rate algorithm): the same decisions as counting tokens,
 * without fractions of a token adding up rounding errors.
 */
export class TokenBuckets {
  private readonly fullAt = new Map<string, number>()
  /** Milliseconds per token. */
  private readonly interval: number
  /** How far ahead of now `fullAt` may be and still have a token: burst - 1 tokens. */
  private readonly tolerance: number

  constructor(
    limits: BucketLimits,
    private readonly maxKeys = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    this.interval = 60_000 / limits.perMinute
    this.tolerance = this.interval * (limits.burst - 1)
  }

  /** Takes a token for `key`: false when there is none (the attempt is refused). */
  take(key: string): boolean {
    const now = this.now()
    const fullAt = Math.max(this.fullAt.get(key) ?? now, now)
    // Delete and set: the key moves to the end of the Map, the most recently used.
    this.fullAt.delete(key)
    if (this.fullAt.size >= this.maxKeys) {
      const oldest = this.fullAt.keys().next().value
      if (oldest !== undefined) this.fullAt.delete(oldest)
    }
    const allowed = fullAt - now <= this.tolerance
    this.fullAt.set(key, allowed ? fullAt + this.interval : fullAt)
    return allowed
  }

  /** Whole seconds until `key` has a token again (0 when it has one now). */
  retryAfter(key: string): number {
    const fullAt = this.fullAt.get(key)
    if (fullAt === undefined) return 0
    return Math.max(0, Math.ceil((fullAt - this.tolerance - this.now()) / 1000))
  }

  get size(): number {
    return this.fullAt.size
  }
}
