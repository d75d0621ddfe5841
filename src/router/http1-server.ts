/**
 * The router's HTTP/1.x server: requests parsed straight off the socket (http1-parser.ts), one
 * at a time per connection, each handed over as a ClientExchange; keep-alive, pipelining (the
 * next request waits until the current response is out), `Expect: 100-continue`, upgrades
 * (an `Upgrade` request is a request like any other until its answer is a 101: only then does
 * the connection leave this server, see Http1Exchange.tunnel). It serves plain TCP
 * connections and the http/1.1 ones of TLS listeners alike.
 *
 * What Node's http server did for the router, kept as it was: a request head must arrive
 * within `headersTimeoutMs` of its first byte (or of the connection, for the first one) —
 * slow clients are cut with 408, not left to starve others; an idle kept-alive connection is
 * closed after `keepAliveTimeoutMs`; a head over `maxHeaderBytes` gets 400 as Heroku answers
 * it (H25, not 431), and the handler hears of it for a log line; anything the parser refuses
 * gets 400 and the connection is closed. One sweep per server checks the
 * timers of every connection (no timer per request, no clock read per request: a phase that
 * began since the last sweep counts from the sweep after it — never early, at most two sweeps
 * late).
 */
import { STATUS_CODES } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import {
  HOP_BY_HOP_RESPONSE,
  pageHeaders,
  type ClientExchange,
  type ClientUser,
} from './exchange.js'
import {
  RequestParser,
  type MessageEvents,
  type RefusedRequest,
  type RequestHead,
  type ResponseHead,
} from './http1-parser.js'

export interface Http1Options {
  maxHeaderBytes: number
  headersTimeoutMs: number
  keepAliveTimeoutMs: number
  checkEveryMs: number
  /** Text for the 400/408 answers to requests the server refuses itself. */
  badRequestPage: string
}

export interface Http1Handler {
  request(exchange: ClientExchange): void
  /**
   * A head refused for its size (answered 400): what could be read of it (method, target,
   * Host), for a log line.
   */
  tooLarge(request: RefusedRequest, remoteAddress: string): void
}

/** Bytes of pipelined requests kept while one is answered; beyond it reading pauses. */
const MAX_PIPELINED_BYTES = 64 * 1024
/** A response head and a first body piece up to this size leave as one buffer. */
const COMBINE_BYTES = 16 * 1024
/** After a response that ends the connection, how long a client may still send. */
const LINGER_MS = 1000

export class Http1Server {
  private readonly connections = new Set<Http1Connection>()
  private readonly sweep: NodeJS.Timeout

  constructor(
    readonly options: Http1Options,
    readonly handler: Http1Handler,
  ) {
    this.sweep = setInterval(() => this.checkTimeouts(), options.checkEveryMs)
    this.sweep.unref()
  }

  /** Serves an accepted connection (TCP, or TLS that chose http/1.1). */
  serve(socket: Socket): void {
    this.connections.add(new Http1Connection(this, socket))
  }

  forget(connection: Http1Connection): void {
    this.connections.delete(connection)
  }

  close(): void {
    clearInterval(this.sweep)
    for (const c of this.connections) c.socket.destroy()
    this.connections.clear()
  }

  private checkTimeouts(): void {
    const now = Date.now()
    const { headersTimeoutMs, keepAliveTimeoutMs } = this.options
    for (const c of this.connections) {
      if (c.phaseBegan) {
        c.phaseBegan = false
        c.since = now
        continue
      }
      const waited = now - c.since
      if (c.phase === 'head' && waited > headersTimeoutMs) c.refuse(408)
      else if (c.phase === 'idle' && waited > keepAliveTimeoutMs) c.socket.destroy()
      else if (c.phase === 'closing' && waited > LINGER_MS) c.socket.destroy()
    }
  }
}

type Phase = 'head' | 'busy' | 'idle' | 'closing'

class Http1Connection implements MessageEvents<RequestHead> {
  /** head: a request head is awaited; busy: a request is being answered; idle: kept alive. */
  phase: Phase = 'head'
  /** When the current phase began, as the sweep saw it (timeouts count from it). */
  since = Date.now()
  /** The phase changed since the last sweep (which then sets `since`). */
  phaseBegan = false
  private readonly parser: RequestParser
  private exchange: Http1Exchange | undefined
  private readonly listeners = {
    data: (data: Buffer) => this.onData(data),
    drain: () => this.exchange?.drained(),
    close: () => this.onClose(),
  }

  constructor(
    private readonly server: Http1Server,
    readonly socket: Socket,
  ) {
    this.parser = new RequestParser(server.options.maxHeaderBytes)
    socket.setNoDelay(true)
    socket.on('data', this.listeners.data)
    socket.on('drain', this.listeners.drain)
    socket.on('error', () => undefined) // 'close' follows
    socket.on('close', this.listeners.close)
    this.parser.begin(this)
  }

  private onData(data: Buffer): void {
    if (this.phase === 'closing') return // a refused or finished connection: discarded
    if (this.phase === 'idle') {
      this.phase = 'head'
      this.phaseBegan = true
    }
    if (this.parser.feed(data) && this.parser.buffered > MAX_PIPELINED_BYTES) this.socket.pause()
  }

  onHead(head: RequestHead): void {
    this.phase = 'busy'
    if (head.method === 'CONNECT') return void this.refuse(400)
    // A body before a protocol switch would leave its end in doubt on the tunnel.
    if (head.upgrade !== undefined && head.body !== 'none') return void this.refuse(400)
    if (head.expectContinue && head.body !== 'none') {
      this.socket.write('HTTP/1.1 100 Continue\r\n\r\n')
    }
    this.exchange = new Http1Exchange(this, head)
    this.server.handler.request(this.exchange)
  }

  onBody(chunk: Buffer): void {
    this.exchange?.bodyChunk(chunk)
  }

  onEnd(): void {
    const exchange = this.exchange
    if (!exchange) return
    exchange.bodyEnd()
    if (exchange.finished) this.next() // answered before the request was all in
  }

  onError(reason: 'malformed' | 'too-large'): void {
    const exchange = this.exchange
    if (exchange && !exchange.finished) {
      // A broken body: the request cannot be finished; it ends as an interrupted one.
      if (!exchange.headSent) exchange.sendPage(400, this.server.options.badRequestPage, true)
      else this.socket.destroy()
      exchange.gone()
      return
    }
    this.refuse(400)
    if (reason === 'too-large' && this.parser.refused) {
      this.server.handler.tooLarge(this.parser.refused, this.socket.remoteAddress ?? '')
    }
  }

  /**
   * The connection leaves this server (its request was answered 101): its socket and the bytes
   * the client sent after the request are the caller's from now on.
   */
  handOver(): Buffer {
    this.phase = 'closing'
    this.server.forget(this)
    this.socket.off('data', this.listeners.data)
    this.socket.off('drain', this.listeners.drain)
    this.socket.off('close', this.listeners.close)
    return this.parser.takeBuffered()
  }

  /** Answers with an error page of the server's own and ends the connection. */
  refuse(status: number): void {
    this.phase = 'closing'
    this.phaseBegan = true
    writePage(this.socket, status, this.server.options.badRequestPage)
  }

  /** The response of `exchange` is complete: the next request may go once this one is in. */
  responseDone(exchange: Http1Exchange): void {
    if (this.exchange !== exchange) return
    if (!exchange.keepsConnection) {
      this.exchange = undefined
      this.phase = 'closing'
      this.phaseBegan = true
      this.socket.end()
      return
    }
    if (this.parser.done) this.next()
  }

  /** Both the request and its response are complete: on to the next request. */
  private next(): void {
    this.exchange = undefined
    this.phase = this.parser.buffered > 0 ? 'head' : 'idle'
    this.phaseBegan = true
    this.socket.resume()
    // Pipelined bytes are parsed on the next tick: a long run of them never deepens the stack.
    if (this.parser.buffered > 0) {
      process.nextTick(() => {
        if (this.phase !== 'closing' && !this.socket.destroyed) this.parser.begin(this)
      })
    } else {
      this.parser.begin(this)
    }
  }

  private onClose(): void {
    this.server.forget(this)
    this.phase = 'closing'
    const exchange = this.exchange
    if (exchange && !exchange.finished) exchange.gone()
  }
}

/** One request on a connection, and its response written straight to the socket. */
class Http1Exchange implements ClientExchange {
  readonly h2 = false
  readonly method: string
  readonly url: string
  readonly rawHeaders: readonly string[]
  readonly host: string
  readonly remoteAddress: string
  readonly body: 'none' | 'length' | 'chunked'
  readonly contentLength: number | undefined
  readonly upgrade: string | undefined
  headSent = false
  finished = false
  private user: ClientUser | undefined
  private reading = false
  private paused = false
  private queued: Buffer[] = []
  private bodyComplete = false
  private endQueued = false
  private chunked = false
  private closeAfter: boolean
  /** A response head not written yet (see write). */
  private heldHead: string | undefined
  private readonly socket: Socket

  constructor(
    private readonly connection: Http1Connection,
    private readonly head: RequestHead,
  ) {
    this.socket = connection.socket
    this.method = head.method
    this.url = head.url
    this.rawHeaders = head.rawHeaders
    this.host = head.host
    this.remoteAddress = this.socket.remoteAddress ?? ''
    this.body = head.body
    this.contentLength = head.contentLength
    this.upgrade = head.upgrade
    this.closeAfter = !head.keepAlive
    this.bodyComplete = head.body === 'none'
  }

  /** The connection may carry another request after this one. */
  get keepsConnection(): boolean {
    return !this.closeAfter && this.bodyComplete && !this.socket.destroyed
  }

  listen(user: ClientUser): void {
    this.user = user
  }

  readBody(): void {
    this.reading = true
    this.deliverQueued()
  }

  pauseBody(): void {
    this.paused = true
    this.socket.pause()
  }

  resumeBody(): void {
    this.paused = false
    this.deliverQueued()
    if (!this.paused && !this.finished) this.socket.resume()
  }

  bodyChunk(chunk: Buffer): void {
    if (this.reading && !this.paused && this.queued.length === 0) {
      this.user?.onClientBody(chunk)
      return
    }
    this.queued.push(chunk) // held until the request goes to a dyno
    this.socket.pause()
  }

  bodyEnd(): void {
    if (this.body === 'none') return // complete from the start
    this.bodyComplete = true
    if (this.reading && !this.paused && this.queued.length === 0) this.user?.onClientBodyEnd()
    else this.endQueued = true
  }

  private deliverQueued(): void {
    while (this.reading && !this.paused && this.queued.length > 0) {
      this.user?.onClientBody(this.queued.shift()!)
    }
    if (this.reading && !this.paused && this.endQueued) {
      this.endQueued = false
      this.user?.onClientBodyEnd()
    }
  }

  drained(): void {
    this.user?.onClientDrain()
  }

  gone(): void {
    this.finished = true
    this.user?.onClientGone()
  }

  writeHead(head: ResponseHead, bodyless: boolean): void {
    const { rawHeaders } = head
    let text = `HTTP/1.1 ${head.status} ${head.reason || STATUS_CODES[head.status] || ''}\r\n`
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!
      if (HOP_BY_HOP_RESPONSE.match(name) === undefined) text += `${name}: ${rawHeaders[i + 1]}\r\n`
    }
    if (!bodyless && head.contentLength === undefined) {
      // A body of unknown length: chunked for HTTP/1.1, delimited by the close for 1.0.
      if (this.head.minor === 1) {
        this.chunked = true
        text += 'Transfer-Encoding: chunked\r\n'
      } else {
        this.closeAfter = true
      }
    }
    if (!this.bodyComplete) this.closeAfter = true // the rest of an unread body is in the way
    if (this.closeAfter) text += 'Connection: close\r\n'
    else if (this.head.minor === 0) text += 'Connection: keep-alive\r\n'
    this.headSent = true
    // Held until the body's first piece or the end: the response then leaves in one write.
    this.heldHead = `${text}\r\n`
  }

  write(chunk: Buffer): boolean {
    const head = this.heldHead
    if (head !== undefined) {
      this.heldHead = undefined
      if (!this.chunked && chunk.length <= COMBINE_BYTES) {
        const n = head.length // latin1: a byte per character
        const out = Buffer.allocUnsafe(n + chunk.length)
        out.write(head, 0, 'latin1')
        chunk.copy(out, n)
        return this.socket.write(out)
      }
      this.socket.cork()
      this.socket.write(head, 'latin1')
      const ok = this.writeBody(chunk)
      this.socket.uncork()
      return ok
    }
    return this.writeBody(chunk)
  }

  private writeBody(chunk: Buffer): boolean {
    if (!this.chunked) return this.socket.write(chunk)
    this.socket.cork()
    this.socket.write(`${chunk.length.toString(16)}\r\n`, 'latin1')
    this.socket.write(chunk)
    const ok = this.socket.write('\r\n', 'latin1')
    this.socket.uncork()
    return ok
  }

  flush(): void {
    const head = this.heldHead
    if (head === undefined) return
    this.heldHead = undefined
    this.socket.write(head, 'latin1')
  }

  end(): void {
    if (this.finished) return
    if (this.chunked) {
      const head = this.heldHead ?? ''
      this.heldHead = undefined
      this.socket.write(`${head}0\r\n\r\n`, 'latin1')
    } else {
      this.flush()
    }
    this.finished = true
    this.connection.responseDone(this)
  }

  sendPage(status: number, page: string, close = false): void {
    if (close || !this.bodyComplete) this.closeAfter = true
    let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`
    for (const [name, value] of Object.entries(pageHeaders(page))) text += `${name}: ${value}\r\n`
    if (this.closeAfter) text += 'Connection: close\r\n'
    else if (this.head.minor === 0) text += 'Connection: keep-alive\r\n'
    this.headSent = true
    this.socket.write(`${text}\r\n${this.method === 'HEAD' ? '' : page}`)
    this.end()
  }

  destroy(): void {
    this.finished = true
    this.socket.destroy()
  }

  tunnel(head: ResponseHead): { socket: Socket; rest: Buffer } {
    // The dyno's 101 as it came, but for the fields of its own connection: ours say the switch.
    let text = `HTTP/1.1 101 ${head.reason || 'Switching Protocols'}\r\n`
    let upgrade = this.upgrade
    const { rawHeaders } = head
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!
      const hop = HOP_BY_HOP_RESPONSE.match(name)
      if (hop === undefined) text += `${name}: ${rawHeaders[i + 1]}\r\n`
      else if (hop === 'upgrade') upgrade = rawHeaders[i + 1]
    }
    this.headSent = true
    this.finished = true
    this.socket.write(`${text}Upgrade: ${upgrade}\r\nConnection: Upgrade\r\n\r\n`, 'latin1')
    return { socket: this.socket, rest: this.connection.handOver() }
  }
}

/**
 * A complete answer on a raw connection, which then ends: refused requests and upgrades. A
 * client that never closes its side (a slowloris) does not keep the socket: the answer gets
 * a moment to leave, then the connection is cut.
 */
export function writePage(socket: Duplex, status: number, page: string): void {
  if (!socket.writable) return void socket.destroy()
  let text = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n`
  for (const [name, value] of Object.entries(pageHeaders(page))) text += `${name}: ${value}\r\n`
  socket.end(`${text}Connection: close\r\n\r\n${page}`)
  setTimeout(() => socket.destroy(), LINGER_MS).unref()
}
