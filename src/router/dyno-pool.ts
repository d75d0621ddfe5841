/**
 * Keep-alive connections to one dyno (`address:port`), reused across requests the way Heroku's
 * router reuses them. A connection carries one request at a time; its socket listeners are
 * attached once and report to whichever request holds it now, so a reused connection costs
 * no allocation beyond the request's own.
 */
import { connect, type Socket } from 'node:net'
import { ResponseParser, type ResponseHead } from './http1-parser.js'

/** What a request holding a connection hears from it. */
export interface ConnectionUser {
  onConnect(): void
  onHead(head: ResponseHead): void
  onBody(chunk: Buffer): void
  onEnd(reusable: boolean): void
  /** The connection failed before the response ended. `connect`: it never opened. */
  onError(reason: 'connect' | 'closed' | 'malformed' | 'too-large'): void
  /** The socket accepted everything written so far (request body back-pressure). */
  onDrain(): void
  /** Everything of the last read from the dyno was reported: a moment to flush to the client. */
  onReadDone(): void
}

export class DynoConnection {
  user: ConnectionUser | undefined
  connected = false
  /** It carried an earlier response: the dyno may have closed it meanwhile (retry-safe). */
  reused = false
  /** Bytes of the current response arrived (after that a failure is never retried). */
  gotBytes = false
  readonly parser: ResponseParser
  /** A tunnel's (after a 101): where every byte from the dyno goes, unparsed. */
  private raw: ((chunk: Buffer) => void) | undefined

  constructor(
    private readonly pool: DynoPool,
    readonly socket: Socket,
    maxHeadBytes: number,
  ) {
    this.parser = new ResponseParser(maxHeadBytes)
    socket.setNoDelay(true)
    socket.on('connect', () => {
      this.connected = true
      this.user?.onConnect()
    })
    socket.on('drain', () => this.user?.onDrain())
    socket.on('error', () => undefined) // 'close' follows and says it all
    socket.on('close', () => {
      this.pool.forget(this)
      const user = this.user
      this.user = undefined
      if (!user || this.parser.done) return
      if (this.parser.closed()) return // a body delimited by the end of the connection
      user.onError(this.connected ? 'closed' : 'connect')
    })
  }

  /** Bytes from the dyno (`n` of them in the shared read buffer, see DynoPool.open). */
  onRead(n: number, shared: Buffer): void {
    if (this.raw) return this.raw(Buffer.from(shared.subarray(0, n)))
    const user = this.user
    if (!user) {
      this.socket.destroy() // an idle connection never speaks first
      return
    }
    this.gotBytes = true
    // The read buffer is reused by the next read: what the parser and the client keep is a copy.
    if (!this.parser.feed(Buffer.from(shared.subarray(0, n)))) this.socket.destroy()
    // Still held after the read (a response that goes on streaming): flush what it wrote.
    if (this.user === user) user.onReadDone()
  }

  /**
   * Starts a response for `user` (who then writes the request to `socket`). `upgrade`: the
   * request asks to switch protocols (a 101 is then its answer, see `tunnel`).
   */
  attach(user: ConnectionUser, noBody: boolean, upgrade = false): void {
    this.user = user
    this.gotBytes = false
    this.parser.begin(user, noBody, upgrade)
  }

  /**
   * The dyno switched protocols: the connection is a tunnel's from now on (never back in the
   * pool), every byte read goes to `raw`. Returns the bytes that came after the 101.
   */
  tunnel(raw: (chunk: Buffer) => void): Buffer | undefined {
    this.user = undefined
    this.raw = raw
    return this.parser.takeRest()
  }

  /** The request is over: back to the pool if the connection is clean, else closed. */
  release(reusable: boolean): void {
    this.user = undefined
    if (reusable && this.parser.done && !this.socket.destroyed) {
      this.reused = true
      // Reading again: a response may end in the very read after which its request paused the
      // socket for a slow client. Left paused, the next request would never hear its answer
      // (H12), nor the pool hear a dyno close the idle connection.
      if (this.socket.isPaused()) this.socket.resume()
      this.pool.putIdle(this)
    } else {
      this.socket.destroy()
    }
  }
}

/** Where reads from dynos land (see DynoPool.open). */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024)

export class DynoPool {
  /** Requests on this dyno now (Heroku: at most 50, more wait in the app's queue). */
  inflight = 0
  private readonly idle: DynoConnection[] = []
  /** The dyno left the routing table: no connection is kept for it any more. */
  closed = false

  constructor(
    readonly address: string,
    readonly port: number,
    private readonly maxIdle: number,
    private readonly maxHeadBytes: number,
  ) {}

  /** An idle kept-alive connection, else a new one (check `connected`, wait for onConnect). */
  take(): DynoConnection {
    for (;;) {
      const conn = this.idle.pop()
      if (!conn) break
      if (!conn.socket.destroyed) return conn
    }
    return this.open()
  }

  /** A fresh connection, never pooled afterwards unless released clean (retries, upgrades). */
  open(): DynoConnection {
    // Reads land in one buffer shared by every dyno connection (each is consumed at once),
    // through `onread`: no readable stream, no 'data' event per read.
    let conn: DynoConnection | undefined = undefined
    const socket = connect({
      port: this.port,
      host: this.address,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array) => {
          conn!.onRead(n, buf as Buffer)
          return true
        },
      },
    })
    conn = new DynoConnection(this, socket, this.maxHeadBytes)
    return conn
  }

  putIdle(conn: DynoConnection): void {
    if (this.closed || this.idle.length >= this.maxIdle) conn.socket.destroy()
    else this.idle.push(conn)
  }

  forget(conn: DynoConnection): void {
    const i = this.idle.indexOf(conn)
    if (i >= 0) this.idle.splice(i, 1)
  }

  /** Closes the idle connections; those in use close when released. */
  close(): void {
    this.closed = true
    for (const conn of this.idle.splice(0)) conn.socket.destroy()
  }
}
