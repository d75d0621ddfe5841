/**
 * One request on its way to a dyno and its response on the way back: the request head with
 * Heroku's headers, body streaming both ways with back-pressure, the 30 s first-byte (H12) and
 * 55 s idle (H15) timers, a client that goes away (H27), a dyno that closes without answering
 * (H13, retried once on a fresh connection when a kept-alive one had gone stale), and the
 * router log line at the end.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2'
import type { ConnectionUser, DynoConnection, DynoPool } from './dyno-pool.js'
import {
  APPLICATION_ERROR_PAGE,
  ROUTER_ERRORS,
  routerLogLine,
  type RouterErrorCode,
} from './heroku.js'
import type { ResponseHead } from './response-parser.js'
import type { AppRoute, RouterDyno } from './routing-table.js'

export type ClientRequest = IncomingMessage | Http2ServerRequest
export type ClientResponse = ServerResponse | Http2ServerResponse

/** What a request needs from the router around it. */
export interface ForwardHost {
  readonly firstByteMs: number
  readonly idleMs: number
  log(appId: string, text: string): void
  /** The request left its dyno (finished or failed): the next queued one may go. */
  released(forward: Forward): void
}

/** Facts about the request fixed before it is forwarded. */
export interface ForwardFacts {
  route: AppRoute
  requestId: string
  /** Client address chain, as forwarded in X-Forwarded-For and logged as `fwd`. */
  fwd: string
  protocol: 'http' | 'https'
  port: number
  host: string
  h2: boolean
}

// Hop-by-hop request headers and the ones the router sets itself (RFC 9110 §7.6.1).
const DROP_REQUEST = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
  'trailer',
  'content-length',
  'x-forwarded-for',
  'x-forwarded-proto',
  'x-forwarded-port',
  'x-request-id',
  'x-request-start',
  'via',
  'host',
])

const DROP_RESPONSE = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'trailer',
])

const VIA = '1.1 localspace'

/** The request head to send upstream; `body` decides the framing we give the dyno. */
export function upstreamHead(
  req: ClientRequest,
  facts: ForwardFacts,
  body: 'none' | 'length' | 'chunked',
  upgrade: boolean,
): string {
  let head = `${req.method} ${req.url} HTTP/1.1\r\nHost: ${facts.host}\r\n`
  const raw = req.rawHeaders
  let via = ''
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.charCodeAt(0) === 58) continue // HTTP/2 pseudo-header (`:path`)
    const lower = name.toLowerCase()
    if (DROP_REQUEST.has(lower)) {
      if (lower === 'via') via += `${raw[i + 1]}, `
      else if (upgrade && lower === 'upgrade') head += `Upgrade: ${raw[i + 1]}\r\n`
      continue
    }
    head += `${name}: ${raw[i + 1]}\r\n`
  }
  if (upgrade) head += 'Connection: Upgrade\r\n'
  if (body === 'length') head += `Content-Length: ${req.headers['content-length']}\r\n`
  else if (body === 'chunked') head += 'Transfer-Encoding: chunked\r\n'
  return (
    `${head}X-Forwarded-For: ${facts.fwd}\r\nX-Forwarded-Proto: ${facts.protocol}\r\n` +
    `X-Forwarded-Port: ${facts.port}\r\nX-Request-Id: ${facts.requestId}\r\n` +
    `X-Request-Start: ${Date.now()}\r\nVia: ${via}${VIA}\r\n\r\n`
  )
}

/** How the request body is framed towards the dyno. */
export function bodyMode(req: ClientRequest, h2: boolean): 'none' | 'length' | 'chunked' {
  if (req.headers['content-length'] !== undefined) return 'length'
  if (h2) return (req as Http2ServerRequest).stream.endAfterHeaders ? 'none' : 'chunked'
  return req.headers['transfer-encoding'] !== undefined ? 'chunked' : 'none'
}

export class Forward implements ConnectionUser {
  dyno: RouterDyno | undefined
  private pool: DynoPool | undefined
  private conn: DynoConnection | undefined
  private readonly started = Date.now()
  /** When the last byte of the request went out (arrival for bodiless ones: queueing counts). */
  private sentAt = this.started
  private connectStart = 0
  private connectMs = 0
  private lastActivity = 0
  private status = 0
  private bytes = 0
  private headSent = false
  private finished = false
  private retried = false
  private bodyStarted = false
  private bodyDone: boolean
  private timer: NodeJS.Timeout | undefined
  private readonly body: 'none' | 'length' | 'chunked'

  constructor(
    private readonly host: ForwardHost,
    readonly req: ClientRequest,
    readonly res: ClientResponse,
    readonly facts: ForwardFacts,
  ) {
    this.body = bodyMode(req, facts.h2)
    this.bodyDone = this.body === 'none'
    this.lastActivity = this.started
    this.timer = setTimeout(() => this.tick(), Math.min(host.firstByteMs, host.idleMs))
    res.on('close', () => {
      if (!this.finished) this.fail('H27')
    })
  }

  get appId(): string {
    return this.facts.route.app.id
  }

  /** Sends the request to `dyno` through `pool` (which counts it in flight). */
  dispatch(dyno: RouterDyno, pool: DynoPool): void {
    if (this.finished) return
    this.dyno = dyno
    this.pool = pool
    pool.inflight++
    this.use(pool.take())
  }

  private use(conn: DynoConnection): void {
    this.conn = conn
    conn.attach(this, this.req.method === 'HEAD')
    if (conn.connected) this.send()
    else this.connectStart = Date.now()
  }

  onConnect(): void {
    this.connectMs = Date.now() - this.connectStart
    this.send()
  }

  private send(): void {
    const conn = this.conn!
    conn.socket.write(upstreamHead(this.req, this.facts, this.body, false))
    this.lastActivity = Date.now()
    if (this.body === 'none' || this.bodyStarted) return
    this.bodyStarted = true
    const chunked = this.body === 'chunked'
    this.req.on('data', (chunk: Buffer) => {
      const socket = this.conn?.socket
      if (!socket || chunk.length === 0) return
      this.lastActivity = Date.now()
      let ok: boolean
      if (chunked) {
        socket.cork()
        socket.write(`${chunk.length.toString(16)}\r\n`)
        socket.write(chunk)
        ok = socket.write('\r\n')
        socket.uncork()
      } else {
        ok = socket.write(chunk)
      }
      if (!ok) this.req.pause()
    })
    this.req.on('end', () => {
      this.bodyDone = true
      this.sentAt = Date.now()
      if (chunked) this.conn?.socket.write('0\r\n\r\n')
    })
  }

  onDrain(): void {
    if (this.bodyStarted && !this.bodyDone) this.req.resume()
  }

  onHead(head: ResponseHead): void {
    this.status = head.status
    this.lastActivity = Date.now()
    const raw = head.rawHeaders
    try {
      if (this.facts.h2) {
        const headers: Record<string, string | string[]> = {}
        for (let i = 0; i < raw.length; i += 2) {
          const lower = raw[i]!.toLowerCase()
          if (DROP_RESPONSE.has(lower)) continue
          const prev = headers[lower]
          headers[lower] =
            prev === undefined
              ? raw[i + 1]!
              : [...(Array.isArray(prev) ? prev : [prev]), raw[i + 1]!]
        }
        ;(this.res as Http2ServerResponse).writeHead(head.status, headers)
      } else {
        const headers: string[] = []
        for (let i = 0; i < raw.length; i += 2) {
          if (!DROP_RESPONSE.has(raw[i]!.toLowerCase())) headers.push(raw[i]!, raw[i + 1]!)
        }
        const res = this.res as ServerResponse
        res.sendDate = false
        res.writeHead(head.status, head.reason, headers)
      }
      this.headSent = true
    } catch {
      // Node refuses header values it would not send: the dyno's response is unusable.
      this.conn?.socket.destroy()
      this.fail('H13')
    }
  }

  onBody(chunk: Buffer): void {
    this.bytes += chunk.length
    this.lastActivity = Date.now()
    if (!(this.res as ServerResponse).write(chunk)) {
      const socket = this.conn!.socket
      socket.pause()
      this.res.once('drain', () => socket.resume())
    }
  }

  onEnd(reusable: boolean): void {
    if (this.finished) return
    this.finished = true
    this.res.end()
    this.leaveDyno(reusable && this.bodyDone)
    this.logLine(undefined)
  }

  onError(reason: 'connect' | 'closed' | 'malformed' | 'too-large'): void {
    const conn = this.conn
    // A kept-alive connection the dyno closed while it sat idle: nothing was processed, so
    // the request goes again on a fresh connection (only when it has no body to replay).
    if (
      reason === 'closed' &&
      conn?.reused === true &&
      !conn.gotBytes &&
      this.body === 'none' &&
      !this.retried &&
      this.pool
    ) {
      this.retried = true
      this.use(this.pool.open())
      return
    }
    this.fail('H13')
  }

  /**
   * Ends the request with a router error: an error page if the client still waits and nothing
   * was sent yet, else the client connection is cut (a half-sent response cannot be fixed).
   */
  fail(code: RouterErrorCode): void {
    if (this.finished) return
    this.finished = true
    this.status = ROUTER_ERRORS[code].status
    this.conn?.socket.destroy()
    if (code !== 'H27') {
      if (!this.headSent && !this.res.headersSent) {
        sendPage(this.res, this.status, APPLICATION_ERROR_PAGE)
      } else {
        this.res.destroy()
      }
    }
    this.leaveDyno(false)
    this.logLine(code)
  }

  private leaveDyno(reusable: boolean): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    const conn = this.conn
    this.conn = undefined
    conn?.release(reusable)
    if (this.pool) {
      this.pool.inflight--
      this.pool = undefined
    }
    this.host.released(this)
  }

  /**
   * One timer per request. Before the response head: 30 s from when the whole request was
   * sent (H12; Heroku starts the clock once the body is through), and while the body is still
   * uploading, 55 s without a byte (H15). After the head: 55 s without a byte (H15).
   */
  private tick(): void {
    this.timer = undefined
    if (this.finished) return
    const now = Date.now()
    let left: number
    if (!this.headSent && this.bodyDone) {
      left = this.host.firstByteMs - (now - this.sentAt)
      if (left <= 0) return this.fail('H12')
    } else {
      left = this.host.idleMs - (now - this.lastActivity)
      if (left <= 0) return this.fail('H15')
    }
    this.timer = setTimeout(() => this.tick(), left)
  }

  private logLine(code: RouterErrorCode | undefined): void {
    const now = Date.now()
    const f = this.facts
    this.host.log(
      f.route.app.id,
      routerLogLine({
        ...(code !== undefined && { code }),
        method: this.req.method ?? 'GET',
        path: this.req.url ?? '/',
        host: f.host,
        requestId: f.requestId,
        fwd: f.fwd,
        dyno: this.dyno?.name ?? 'router',
        connectMs: this.connectMs,
        serviceMs: Math.max(0, now - this.started - this.connectMs),
        status: this.status,
        bytes: this.bytes,
        protocol: f.protocol,
      }),
    )
  }
}

/** A small HTML answer from the router itself. */
export function sendPage(res: ClientResponse, status: number, page: string, close = false): void {
  const headers: Record<string, string | number> = {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-cache, no-store',
    'content-length': Buffer.byteLength(page),
  }
  // HTTP/1: the connection's framing is in doubt, so it is not reused (HTTP/2 forbids it).
  if (close && !('stream' in res)) headers.connection = 'close'
  res.writeHead(status, headers)
  res.end(page)
}
