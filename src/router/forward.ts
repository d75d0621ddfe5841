/**
 * One request on its way to a dyno and its response on the way back: the request head with
 * Heroku's headers, body streaming both ways with back-pressure, the 30 s first-byte (H12) and
 * 55 s idle (H15) timers, a client that goes away (H27), a dyno that closes without answering
 * (H13, retried once on a fresh connection when a kept-alive one had gone stale), and the
 * router log line at the end. The client side is a ClientExchange (HTTP/1 or HTTP/2). An
 * `Upgrade` request is forwarded like any other; only the dyno's 101 makes it a tunnel.
 */
import type { Socket } from 'node:net'
import type { ConnectionUser, DynoConnection, DynoPool } from './dyno-pool.js'
import type { ClientExchange, ClientUser } from './exchange.js'
import { FieldNames } from './field-names.js'
import {
  APPLICATION_ERROR_PAGE,
  ROUTER_ERRORS,
  routerLogLine,
  type RouterErrorCode,
} from './heroku.js'
import type { ResponseHead } from './http1-parser.js'
import type { AppRoute, RouterDyno } from './routing-table.js'
import type { Watched } from './watch-list.js'

/** What a request needs from the router around it. */
export interface ForwardHost {
  readonly firstByteMs: number
  readonly idleMs: number
  log(appId: string, text: string): void
  /** A new request: from now on its `tick` is called every so often (its timeouts). */
  watch(forward: Forward): void
  /** The request left its dyno (finished or failed): the next queued one may go. */
  released(forward: Forward): void
  /** The dyno answered the request's upgrade with 101: the connections become a tunnel. */
  tunnel(forward: Forward, client: { socket: Socket; rest: Buffer }, conn: DynoConnection): void
}

/** Facts about the request fixed before it is forwarded. */
export interface ForwardFacts {
  route: AppRoute
  /** When the router had the request's head (ms since the epoch): X-Request-Start. */
  receivedAt: number
  requestId: string
  /** Client address chain, as forwarded in X-Forwarded-For and logged as `fwd`. */
  fwd: string
  protocol: 'http' | 'https'
  port: number
  /** It came to a space's internal listener (admitted by the space's network, not its rules). */
  internal: boolean
  host: string
  /** The request's own fields that go on to the dyno, formatted (`Name: value\r\n…`). */
  fields: string
  /** `Via` values the request came with, as `a, b, ` (ours is appended). */
  via: string
}

/** What the router reads from a request's fields, in one pass (requestFields). */
export interface RequestFields {
  requestId: string | undefined
  /** X-Forwarded-For values as one comma-separated list. */
  forwardedFor: string | undefined
  via: string
  /** The fields that go on to the dyno, formatted. */
  fields: string
}

/** Hop-by-hop request fields and the ones the router sets itself (RFC 9110 §7.6.1). */
const DROP_REQUEST = new FieldNames([
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

/** Sorts the request's fields into what the router reads and what goes on to the dyno. */
export function requestFields(raw: readonly string[]): RequestFields {
  let fields = ''
  let via = ''
  let requestId: string | undefined
  let forwardedFor: string | undefined
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!
    if (name.charCodeAt(0) === 58) continue // HTTP/2 pseudo-header (`:path`)
    const value = raw[i + 1]!
    const dropped = DROP_REQUEST.match(name)
    if (dropped === undefined) fields += `${name}: ${value}\r\n`
    else if (dropped === 'via') via += `${value}, `
    else if (dropped === 'x-request-id') requestId ??= value
    else if (dropped === 'x-forwarded-for') {
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`
    }
  }
  return { requestId, forwardedFor, via, fields }
}

const VIA = '1.1 localspace'

/** The request head to send upstream; `upgrade` is the protocol a tunnel asks for. */
export function upstreamHead(
  client: { method: string; url: string; contentLength: number | undefined },
  facts: ForwardFacts,
  body: 'none' | 'length' | 'chunked',
  upgrade: string | undefined,
): string {
  let head = `${client.method} ${client.url} HTTP/1.1\r\nHost: ${facts.host}\r\n${facts.fields}`
  if (upgrade !== undefined) head += `Upgrade: ${upgrade}\r\nConnection: Upgrade\r\n`
  if (body === 'length') head += `Content-Length: ${client.contentLength}\r\n`
  else if (body === 'chunked') head += 'Transfer-Encoding: chunked\r\n'
  return (
    `${head}X-Forwarded-For: ${facts.fwd}\r\nX-Forwarded-Proto: ${facts.protocol}\r\n` +
    `X-Forwarded-Port: ${facts.port}\r\nX-Request-Id: ${facts.requestId}\r\n` +
    `X-Request-Start: ${facts.receivedAt}\r\nVia: ${facts.via}${VIA}\r\n\r\n`
  )
}

export class Forward implements ConnectionUser, ClientUser, Watched {
  dyno: RouterDyno | undefined
  watchSlot = -1
  private pool: DynoPool | undefined
  private conn: DynoConnection | undefined
  /** When the last byte of the request went out (arrival for bodiless ones: queueing counts). */
  private sentAt: number
  private connectStart = 0
  private connectMs = 0
  /** When a byte last went either way, as the sweep saw it (see tick). */
  private lastActivity: number
  /** A byte went either way since the last sweep. */
  private active = false
  private status = 0
  private bytes = 0
  private headSent = false
  private finished = false
  private retried = false
  private bodyStarted = false
  private bodyDone: boolean
  private readonly body: 'none' | 'length' | 'chunked'

  constructor(
    private readonly host: ForwardHost,
    readonly client: ClientExchange,
    readonly facts: ForwardFacts,
  ) {
    this.sentAt = this.lastActivity = facts.receivedAt
    this.body = client.body
    this.bodyDone = this.body === 'none'
    client.listen(this)
    host.watch(this)
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
    conn.attach(this, this.client.method === 'HEAD', this.client.upgrade !== undefined)
    if (conn.connected) this.send()
    else this.connectStart = Date.now()
  }

  onConnect(): void {
    this.connectMs = Date.now() - this.connectStart
    this.send()
  }

  private send(): void {
    const head = upstreamHead(this.client, this.facts, this.body, this.client.upgrade)
    this.conn!.socket.write(head, 'latin1')
    this.active = true
    if (this.body === 'none' || this.bodyStarted) return
    this.bodyStarted = true
    this.client.readBody()
  }

  onClientBody(chunk: Buffer): void {
    const socket = this.conn?.socket
    if (!socket || chunk.length === 0) return
    this.active = true
    let ok: boolean
    if (this.body === 'chunked') {
      socket.cork()
      socket.write(`${chunk.length.toString(16)}\r\n`)
      socket.write(chunk)
      ok = socket.write('\r\n')
      socket.uncork()
    } else {
      ok = socket.write(chunk)
    }
    if (!ok) this.client.pauseBody()
  }

  onClientBodyEnd(): void {
    this.bodyDone = true
    this.sentAt = Date.now()
    if (this.body === 'chunked') this.conn?.socket.write('0\r\n\r\n')
  }

  onDrain(): void {
    if (this.bodyStarted && !this.bodyDone) this.client.resumeBody()
  }

  onHead(head: ResponseHead): void {
    // The parser reports a 101 only to a request that asked to upgrade.
    if (head.status === 101) return this.switchProtocols(head)
    this.status = head.status
    this.active = true
    const s = head.status
    try {
      this.client.writeHead(head, this.client.method === 'HEAD' || s === 204 || s === 304)
      this.headSent = true
    } catch {
      // Node refuses header values it would not send: the dyno's response is unusable.
      this.conn?.socket.destroy()
      this.fail('H13')
    }
  }

  /**
   * The dyno's 101: the request is over (logged with status 101), its client connection and
   * dyno connection now carry the new protocol between them (a tunnel, router.ts).
   */
  private switchProtocols(head: ResponseHead): void {
    const conn = this.conn!
    this.conn = undefined // never back to the pool
    this.finished = true
    this.status = 101
    this.headSent = true
    this.host.tunnel(this, this.client.tunnel(head), conn)
    this.leaveDyno(false)
    this.logLine(undefined)
  }

  onBody(chunk: Buffer): void {
    this.bytes += chunk.length
    this.active = true
    if (!this.client.write(chunk)) this.conn?.socket.pause()
  }

  onReadDone(): void {
    this.client.flush()
  }

  onClientDrain(): void {
    this.conn?.socket.resume()
  }

  onClientGone(): void {
    if (!this.finished) this.fail('H27')
  }

  onEnd(reusable: boolean): void {
    if (this.finished) return
    this.finished = true
    this.client.end()
    // A connection that carried an upgrade the dyno declined is not reused: a server may have
    // handed it over to its upgrade handler all the same (Node's does).
    this.leaveDyno(reusable && this.bodyDone && this.client.upgrade === undefined)
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
      if (!this.headSent && !this.client.headSent) {
        this.client.sendPage(this.status, APPLICATION_ERROR_PAGE)
      } else {
        this.client.destroy()
      }
    }
    this.leaveDyno(false)
    this.logLine(code)
  }

  private leaveDyno(reusable: boolean): void {
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
   * The request's timeouts, checked by the router's sweep (no timer per request). Before the
   * response head: 30 s from when the whole request was sent (H12; Heroku starts the clock once
   * the body is through), and while the body is still uploading, 55 s without a byte (H15).
   * After the head: 55 s without a byte (H15). Bytes only mark the request active (no clock
   * read per chunk): the sweep after them counts as the last activity, so H15 is never early
   * and at most two sweeps late.
   */
  tick(now: number): void {
    if (this.finished) return
    if (this.active) {
      this.active = false
      this.lastActivity = now
    }
    if (!this.headSent && this.bodyDone) {
      if (now - this.sentAt >= this.host.firstByteMs) this.fail('H12')
    } else if (now - this.lastActivity >= this.host.idleMs) {
      this.fail('H15')
    }
  }

  private logLine(code: RouterErrorCode | undefined): void {
    const now = Date.now()
    const f = this.facts
    this.host.log(
      f.route.app.id,
      routerLogLine({
        code,
        method: this.client.method,
        path: this.client.url,
        host: f.host,
        requestId: f.requestId,
        fwd: f.fwd,
        dyno: this.dyno?.name ?? 'router',
        connectMs: this.connectMs,
        serviceMs: Math.max(0, now - this.facts.receivedAt - this.connectMs),
        status: this.status,
        bytes: this.bytes,
        protocol: f.protocol,
      }),
    )
  }
}
