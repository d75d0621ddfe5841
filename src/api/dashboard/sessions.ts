/**
 * Dashboard sessions: a browser signs in once (email and password, or an API key) and gets an
 * opaque cookie; the session behind it lives here, on the server, so the page never holds a
 * credential it could leak (no API key in its storage, an HttpOnly cookie it cannot read).
 *
 * Sessions are kept in memory: a daemon restart signs everyone out, which costs a sign-in and
 * leaves no session table to migrate or to steal from a copied database. Only the SHA-256 of
 * the cookie value is kept, as for API keys. Each session has a CSRF token that the page
 * sends in a header on every change (the auth plugin checks it).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { hashToken } from '../../core/ids.js'

export const SESSION_COOKIE = 'localspace_session'
export const CSRF_HEADER = 'x-csrf-token'

export interface SessionLimits {
  /** A session unused this long ends (sliding). */
  idleMs: number
  /** A session ends this long after sign-in, used or not. */
  absoluteMs: number
  /** Most sessions kept at once; the oldest goes first. */
  maxSessions: number
}

/** A working day unused ends a session; none lives longer than 12 hours. */
export const DEFAULT_SESSION_LIMITS: SessionLimits = {
  idleMs: 2 * 60 * 60_000,
  absoluteMs: 12 * 60 * 60_000,
  maxSessions: 10_000,
}

export interface DashboardSession {
  /** SHA-256 of the cookie value: what the map is keyed by. */
  id: string
  accountId: string
  /**
   * Signed in with an API key: the key's hash. Every request looks the key up again, so a
   * revoked or expired key ends the session as it stops the CLI.
   */
  keyHash: string | undefined
  csrfToken: string
  createdAt: number
  lastSeenAt: number
}

export class DashboardSessions {
  private readonly sessions = new Map<string, DashboardSession>()
  /** Called with the id of each session that ends (sign-out, expiry, eviction). */
  private readonly endListeners = new Set<(id: string) => void>()

  constructor(
    readonly limits: SessionLimits = DEFAULT_SESSION_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new session; the token goes into the cookie and is not kept. */
  create(accountId: string, keyHash?: string): { token: string; session: DashboardSession } {
    this.sweep()
    while (this.sessions.size >= this.limits.maxSessions) {
      const oldest = this.sessions.keys().next().value
      if (oldest === undefined) break
      this.end(oldest)
    }
    const token = randomBytes(32).toString('base64url')
    const at = this.now()
    const session: DashboardSession = {
      id: hashToken(token),
      accountId,
      keyHash,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: at,
      lastSeenAt: at,
    }
    this.sessions.set(session.id, session)
    return { token, session }
  }

  /** The live session of a cookie value (and marks it used), or undefined. */
  find(token: string): DashboardSession | undefined {
    const session = this.sessions.get(hashToken(token))
    if (!session) return undefined
    if (!this.isLive(session)) {
      this.end(session.id)
      return undefined
    }
    session.lastSeenAt = this.now()
    return session
  }

  isLive(session: DashboardSession): boolean {
    const at = this.now()
    return (
      this.sessions.get(session.id) === session &&
      at - session.lastSeenAt < this.limits.idleMs &&
      at - session.createdAt < this.limits.absoluteMs
    )
  }

  end(id: string): void {
    if (!this.sessions.delete(id)) return
    for (const listener of this.endListeners) listener(id)
  }

  onEnd(listener: (id: string) => void): () => void {
    this.endListeners.add(listener)
    return () => this.endListeners.delete(listener)
  }

  get size(): number {
    return this.sessions.size
  }

  /** Seconds a new cookie should live: the absolute limit (the idle one is checked here). */
  get cookieMaxAgeSeconds(): number {
    return Math.floor(this.limits.absoluteMs / 1000)
  }

  private sweep(): void {
    for (const session of [...this.sessions.values()]) {
      if (!this.isLive(session)) this.end(session.id)
    }
  }
}

/** Whether the header carries the session's CSRF token (compared in constant time). */
export function csrfMatches(
  session: DashboardSession,
  header: string | string[] | undefined,
): boolean {
  if (typeof header !== 'string') return false
  const given = Buffer.from(header)
  const expected = Buffer.from(session.csrfToken)
  return given.length === expected.length && timingSafeEqual(given, expected)
}

/** The value of one cookie in a Cookie header (linear, no regular expression), or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim()
  }
  return undefined
}

/**
 * The Set-Cookie value for a session (or, with maxAge 0, the one that removes it). HttpOnly:
 * scripts cannot read it; SameSite=Strict: no other site's page sends it; Secure over HTTPS.
 */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  return [
    `${SESSION_COOKIE}=${value}`,
    'Path=/',
    `Max-Age=${maxAgeSeconds}`,
    'HttpOnly',
    'SameSite=Strict',
    ...(secure ? ['Secure'] : []),
  ].join('; ')
}
