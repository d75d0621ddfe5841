/**
 * Log sessions (`heroku logs`): POST /apps/{app}/log-sessions checks access and the filters
 * and answers with a `logplex_url`; GET on that URL streams the lines.
 *
 * The URL needs no API key (the heroku CLI opens it with a plain EventSource, without its
 * Authorization header), so it carries an unguessable token instead, and the token is
 * short-lived: a session is forgotten SESSION_TTL_MS after it was made or last read, unless a
 * stream is still open on it. The token is not a credential of its own: every read, and an
 * open tail every KEEPALIVE_MS, checks that the account that made the session may still see
 * the app (someone removed from the team stops reading its logs).
 *
 * The stream speaks what the reader asks for: Server-Sent Events (`Accept: text/event-stream`,
 * what heroku CLI 11 sends) or plain text, one line per line (curl, the localspace CLI).
 * Without `tail` it ends after the recent lines; with `tail` it stays open and sends each new
 * line as it is appended, until the reader goes away.
 */
import { randomBytes } from 'node:crypto'
import type { ServerResponse } from 'node:http'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, PlatformError } from '../../core/errors.js'
import { newId, nowIso } from '../../core/ids.js'
import {
  formatLogLine,
  LOG_SOURCES,
  MAX_LOG_LINES,
  type LogFilter,
  type LogLine,
  type LogSource,
  type LogView,
} from '../../core/log-view.js'
import { findApp } from '../access.js'

export const SESSION_TTL_MS = 5 * 60_000
export const DEFAULT_LINES = 100
/** SSE comment sent on an idle tail, so proxies and NAT boxes keep the connection. */
const KEEPALIVE_MS = 30_000
/** A reader this far behind loses lines (counted and reported) rather than growing memory. */
const MAX_BUFFERED_BYTES = 1024 * 1024
const DYNO_NAME = /^[A-Za-z0-9_][\w.-]{0,99}$/

export interface LogSessionRequest {
  filter: LogFilter
  lines: number
  tail: boolean
}

interface LogSession extends LogSessionRequest {
  id: string
  appId: string
  /** Who made the session: their access to the app is checked again on every read. */
  accountId: string
  createdAt: string
  /** When the token stops working, unless a stream is open on it. */
  expiresAt: number
  openStreams: number
}

/**
 * Checks a log-session body (heroku-reference: `dyno`, `source`, `lines`, `tail`; the newer
 * schema's `dyno_name` and `type` too). Unknown fields are ignored; wrong ones are 422.
 */
export function parseLogSessionBody(body: unknown): LogSessionRequest {
  if (body === undefined || body === null) body = {}
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw errors.invalidParams('Request body must be a JSON object.')
  }
  const b = body as Record<string, unknown>
  const text = (name: string): string | undefined => {
    const value = b[name]
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'string') throw errors.invalidParams(`${name} must be a string.`)
    return value
  }
  const filter: LogFilter = {}
  const dyno = text('dyno_name') ?? text('dyno') ?? text('type')
  if (dyno !== undefined && dyno !== '') {
    if (!DYNO_NAME.test(dyno)) {
      throw errors.invalidParams(`Invalid dyno ${JSON.stringify(dyno)}: use e.g. web or web.1.`)
    }
    filter.dyno = dyno
  }
  const source = text('source')
  if (source !== undefined && source !== '') {
    if (!LOG_SOURCES.includes(source as LogSource)) {
      throw errors.invalidParams(
        `Invalid source ${JSON.stringify(source)}: use ${LOG_SOURCES.join(' or ')}.`,
      )
    }
    filter.source = source as LogSource
  }
  const lines = b.lines ?? DEFAULT_LINES
  if (typeof lines !== 'number' || !Number.isInteger(lines) || lines < 0 || lines > MAX_LOG_LINES) {
    throw errors.invalidParams(`lines must be a whole number from 0 to ${MAX_LOG_LINES}.`)
  }
  const tail = b.tail ?? false
  if (typeof tail !== 'boolean') throw errors.invalidParams('tail must be true or false.')
  return { filter, lines, tail }
}

/** The sessions of one server, by token. */
class LogSessions {
  private readonly byToken = new Map<string, LogSession>()

  create(
    appId: string,
    accountId: string,
    request: LogSessionRequest,
  ): { token: string; session: LogSession } {
    this.prune()
    const token = randomBytes(32).toString('base64url')
    const session: LogSession = {
      ...request,
      id: newId(),
      appId,
      accountId,
      createdAt: nowIso(),
      expiresAt: Date.now() + SESSION_TTL_MS,
      openStreams: 0,
    }
    this.byToken.set(token, session)
    return { token, session }
  }

  find(token: string): LogSession | undefined {
    this.prune()
    return this.byToken.get(token)
  }

  /** Expired sessions go at the next create or find: no timer to stop on close. */
  private prune(): void {
    const now = Date.now()
    for (const [token, s] of this.byToken) {
      if (s.openStreams === 0 && s.expiresAt <= now) this.byToken.delete(token)
    }
  }
}

/** How lines are framed for the reader: SSE events, or bare lines. */
interface Framing {
  contentType: string
  line: (line: LogLine) => string
  keepalive?: string
}

const SSE: Framing = {
  contentType: 'text/event-stream; charset=utf-8',
  // The id lets a reconnecting EventSource say (Last-Event-ID) where it stopped; notices
  // that are not stored lines (seq 0) carry none, so they do not move that mark.
  line: (l) => `${l.seq > 0 ? `id: ${l.seq}\n` : ''}data: ${formatLogLine(l)}\n\n`,
  keepalive: ': keep-alive\n\n',
}

const PLAIN: Framing = {
  contentType: 'text/plain; charset=utf-8',
  line: (l) => `${formatLogLine(l)}\n`,
}

const wantsEventStream = (request: FastifyRequest) =>
  /text\/event-stream/i.test(request.headers.accept ?? '')

/** Logplex's notice for a reader that fell behind (Heroku error L10). */
function overflowLine(dropped: number, since: string): LogLine {
  return {
    seq: 0,
    time: since,
    source: 'heroku',
    dyno: 'logplex',
    text: `Error L10 (output buffer overflow): ${dropped} messages dropped since ${since}.`,
  }
}

/** Writes the session's recent lines and, with tail, every new one until the reader leaves. */
function stream(
  logs: LogView,
  session: LogSession,
  request: FastifyRequest,
  reply: FastifyReply,
  open: Set<ServerResponse>,
  mayRead: () => boolean,
): void {
  const framing = wantsEventStream(request) ? SSE : PLAIN
  const res = reply.raw
  void reply.hijack()
  res.writeHead(200, {
    'content-type': framing.contentType,
    'cache-control': 'no-cache',
    'request-id': request.id,
  })
  res.flushHeaders() // a tail with no history yet still tells the reader it is connected

  // An EventSource reconnecting after a drop already has the lines up to Last-Event-ID.
  const after = Number(request.headers['last-event-id'] ?? 0) || 0
  const recent = logs.recent(session.appId, { ...session.filter, lines: session.lines })
  res.write(
    recent
      .filter((l) => l.seq > after)
      .map(framing.line)
      .join(''),
  )
  if (!session.tail) {
    res.end()
    session.expiresAt = Date.now() + SESSION_TTL_MS
    return
  }

  let dropped = 0
  let droppedSince = ''
  // Subscribed in the same tick as recent() was read: no line can fall in between.
  const unsubscribe = logs.follow(session.appId, session.filter, (line) => {
    if (res.writableLength > MAX_BUFFERED_BYTES) {
      if (dropped++ === 0) droppedSince = line.time
      return
    }
    if (dropped > 0) {
      res.write(framing.line(overflowLine(dropped, droppedSince)))
      dropped = 0
    }
    res.write(framing.line(line))
  })
  const keepalive = framing.keepalive
  const timer = setInterval(() => {
    if (!mayRead()) res.end()
    else if (keepalive) res.write(keepalive)
  }, KEEPALIVE_MS)
  timer.unref()
  session.openStreams++
  open.add(res)
  res.once('close', () => {
    unsubscribe()
    clearInterval(timer)
    open.delete(res)
    session.openStreams--
    session.expiresAt = Date.now() + SESSION_TTL_MS
  })
}

export function logSessionRoutes(app: FastifyInstance): void {
  const { store } = app.ctx
  const sessions = new LogSessions()
  /** Tail streams in flight: ended when the server closes, which would otherwise wait on them. */
  const open = new Set<ServerResponse>()
  app.addHook('preClose', async () => {
    for (const res of open) res.end()
  })

  /** Whether the session's account may still see its app (it may have left the team). */
  const mayRead = (session: LogSession): boolean => {
    const account = store.accounts.find(session.accountId)
    if (!account) return false
    try {
      return findApp(store, account, session.appId).id === session.appId
    } catch {
      return false
    }
  }

  app.post<{ Params: { app: string } }>('/apps/:app/log-sessions', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const { token, session } = sessions.create(
      target.id,
      request.account.id,
      parseLogSessionBody(request.body),
    )
    return reply.code(201).send({
      id: session.id,
      // Read now, not at start-up: the daemon learns its own port only after listening.
      logplex_url: `${app.ctx.apiUrl.replace(/\/+$/, '')}/localspace/log-sessions/${token}`,
      created_at: session.createdAt,
      updated_at: session.createdAt,
    })
  })

  app.get<{ Params: { token: string } }>(
    '/localspace/log-sessions/:token',
    { config: { public: true } },
    async (request, reply) => {
      const session = sessions.find(request.params.token)
      if (!session || !mayRead(session)) {
        // The heroku CLI reads a 404 on a tail as "Log stream timed out. Please try again."
        throw new PlatformError('not_found', 404, 'This log session does not exist or expired.')
      }
      stream(app.ctx.logs, session, request, reply, open, () => mayRead(session))
      return reply
    },
  )
}
