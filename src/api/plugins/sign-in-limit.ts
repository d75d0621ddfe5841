/**
 * Password sign-ins (`heroku login -i`) are rate limited per source address and per email:
 * each attempt costs a scrypt, and guessing passwords needs many attempts. Over the limit the
 * API answers 429 with Heroku's `rate_limit` error and a Retry-After, before any account is
 * looked up, so a refused attempt costs nothing and tells nothing.
 */
import { TokenBuckets, type BucketLimits } from '../../core/token-buckets.js'

export interface SignInLimits {
  perAddress: BucketLimits
  perEmail: BucketLimits
  /** Most addresses and emails remembered at once (each table). */
  maxKeys: number
}

/**
 * One address may try 20 times in a row, then 10 a minute (a team behind one NAT signs in
 * now and then); one email 10 times, then 5 a minute (nobody mistypes a password more often).
 */
export const DEFAULT_SIGN_IN_LIMITS: SignInLimits = {
  perAddress: { burst: 20, perMinute: 10 },
  perEmail: { burst: 10, perMinute: 5 },
  maxKeys: 10_000,
}

/** Emails longer than any valid one are cut: the table's keys stay small. */
const MAX_EMAIL_KEY = 254

export class SignInLimiter {
  private readonly byAddress: TokenBuckets
  private readonly byEmail: TokenBuckets

  constructor(limits: SignInLimits = DEFAULT_SIGN_IN_LIMITS) {
    this.byAddress = new TokenBuckets(limits.perAddress, limits.maxKeys)
    this.byEmail = new TokenBuckets(limits.perEmail, limits.maxKeys)
  }

  /** Takes an attempt for the address and the email: 0, or the seconds to wait (refused). */
  admit(address: string, email: string): number {
    const emailKey = email.toLowerCase().slice(0, MAX_EMAIL_KEY)
    if (!this.byAddress.take(address)) return Math.max(1, this.byAddress.retryAfter(address))
    if (!this.byEmail.take(emailKey)) return Math.max(1, this.byEmail.retryAfter(emailKey))
    return 0
  }
}
