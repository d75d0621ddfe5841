/**
 * An HTTP/1.1 response parser for what dynos send back, incremental and copy-free for bodies:
 * status line and headers, then a body framed by Content-Length, chunked encoding or the end
 * of the connection. It decodes the framing (the client side re-frames the body), refuses
 * anything ambiguous (conflicting lengths, obs-fold, bare LF in the head) and says whether the
 * connection may be reused afterwards.
 *
 * Node's own client (http.request) parses the same with llhttp, but its per-request objects
 * cost more than the rest of the proxy together; this parser keeps the router near nginx.
 */

export interface ResponseHead {
  status: number
  reason: string
  /** `[name, value, name, value, …]` as received. */
  rawHeaders: string[]
  /** Content-Length if the dyno sent one (and no chunked encoding). */
  contentLength: number | undefined
}

export interface ResponseEvents {
  onHead(head: ResponseHead): void
  onBody(chunk: Buffer): void
  /** The response is complete; `reusable` is true when the connection may carry another. */
  onEnd(reusable: boolean): void
  onError(reason: 'malformed' | 'too-large'): void
}

const enum State {
  Head,
  Length,
  ChunkSize,
  ChunkData,
  ChunkDataEnd,
  Trailers,
  UntilClose,
  Done,
}

const CRLFCRLF = Buffer.from('\r\n\r\n')
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\r\n]*))?$/
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
const MAX_CHUNK_LINE = 4096

export class ResponseParser {
  private state = State.Head
  private pending: Buffer | undefined
  private remaining = 0
  private keepAlive = true
  private events: ResponseEvents | undefined
  private noBody = false

  constructor(private readonly maxHeadBytes: number) {}

  /** Starts a response. `noBody` for HEAD requests. */
  begin(events: ResponseEvents, noBody: boolean): void {
    this.events = events
    this.noBody = noBody
    this.state = State.Head
    this.pending = undefined
    this.keepAlive = true
  }

  get done(): boolean {
    return this.state === State.Done
  }

  get headReceived(): boolean {
    return this.state !== State.Head
  }

  /** Feeds bytes; returns false after an error (the connection must be dropped). */
  feed(data: Buffer): boolean {
    const buf = this.pending ? Buffer.concat([this.pending, data]) : data
    this.pending = undefined
    let at = 0
    const ev = this.events
    if (!ev) return false
    while (at < buf.length) {
      switch (this.state) {
        case State.Head: {
          const end = buf.indexOf(CRLFCRLF, at)
          if (end < 0) {
            if (buf.length - at > this.maxHeadBytes) return this.fail('too-large')
            this.pending = buf.subarray(at)
            return true
          }
          if (end - at > this.maxHeadBytes) return this.fail('too-large')
          const head = this.parseHead(buf.toString('latin1', at, end))
          at = end + 4
          if (!head) return this.fail('malformed')
          if (head.status >= 100 && head.status < 200) continue // 100 Continue, 103: skip
          ev.onHead(head)
          // Bytes after a complete response to one request: the dyno is confused.
          if ((this.state as State) === State.Done) return this.finish(at < buf.length)
          break
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length - at)
          ev.onBody(buf.subarray(at, at + n))
          at += n
          this.remaining -= n
          if (this.remaining === 0) return this.finish(at < buf.length)
          break
        }
        case State.ChunkSize: {
          const lf = buf.indexOf(10, at)
          if (lf < 0) {
            if (buf.length - at > MAX_CHUNK_LINE) return this.fail('malformed')
            this.pending = buf.subarray(at)
            return true
          }
          if (lf === at || buf[lf - 1] !== 13) return this.fail('malformed')
          const line = buf.toString('latin1', at, lf - 1)
          const semi = line.indexOf(';')
          const hex = (semi < 0 ? line : line.slice(0, semi)).trim()
          if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) return this.fail('malformed')
          this.remaining = parseInt(hex, 16)
          at = lf + 1
          this.state = this.remaining === 0 ? State.Trailers : State.ChunkData
          break
        }
        case State.ChunkData: {
          const n = Math.min(this.remaining, buf.length - at)
          ev.onBody(buf.subarray(at, at + n))
          at += n
          this.remaining -= n
          if (this.remaining === 0) this.state = State.ChunkDataEnd
          break
        }
        case State.ChunkDataEnd: {
          if (buf.length - at < 2) {
            this.pending = buf.subarray(at)
            return true
          }
          if (buf[at] !== 13 || buf[at + 1] !== 10) return this.fail('malformed')
          at += 2
          this.state = State.ChunkSize
          break
        }
        case State.Trailers: {
          // Trailer fields are dropped; the section ends at an empty line.
          const lf = buf.indexOf(10, at)
          if (lf < 0) {
            if (buf.length - at > this.maxHeadBytes) return this.fail('too-large')
            this.pending = buf.subarray(at)
            return true
          }
          if (lf === at || buf[lf - 1] !== 13) return this.fail('malformed')
          const empty = lf === at + 1
          at = lf + 1
          if (empty) return this.finish(at < buf.length)
          break
        }
        case State.UntilClose:
          ev.onBody(at === 0 ? buf : buf.subarray(at))
          return true
        case State.Done:
          // Unsolicited bytes: the connection cannot be trusted with another request.
          this.keepAlive = false
          return false
      }
    }
    return true
  }

  /** The dyno closed the connection. True if that completed the response. */
  closed(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done
      this.events?.onEnd(false)
      return true
    }
    return this.state === State.Done
  }

  private finish(extra: boolean): boolean {
    this.state = State.Done
    if (extra) this.keepAlive = false
    this.events?.onEnd(this.keepAlive)
    return true
  }

  private fail(reason: 'malformed' | 'too-large'): boolean {
    this.state = State.Done
    this.keepAlive = false
    this.events?.onError(reason)
    return false
  }

  private parseHead(text: string): ResponseHead | undefined {
    const lines = text.split('\r\n')
    const m = STATUS_LINE.exec(lines[0]!)
    if (!m) return undefined
    const http10 = m[1] === '0'
    const status = +m[2]!
    const rawHeaders: string[] = []
    let contentLength: number | undefined
    let chunked = false
    let connection = ''
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!
      const colon = line.indexOf(':')
      // No obs-fold, no bare LF or CR inside the head, names are tokens.
      if (colon <= 0 || line.includes('\n') || line.includes('\r')) return undefined
      const name = line.slice(0, colon)
      if (!TOKEN.test(name)) return undefined
      const value = line.slice(colon + 1).trim()
      const lower = name.toLowerCase()
      if (lower === 'content-length') {
        if (!/^\d{1,15}$/.test(value)) return undefined
        if (contentLength !== undefined && contentLength !== +value) return undefined
        contentLength = +value
      } else if (lower === 'transfer-encoding') {
        const codings = value.toLowerCase().split(',')
        chunked = codings[codings.length - 1]!.trim() === 'chunked'
        if (!chunked) return undefined // a length we cannot know: refuse rather than guess
      } else if (lower === 'connection') {
        connection += `${value.toLowerCase()},`
      }
      rawHeaders.push(name, value)
    }
    if (chunked && contentLength !== undefined) return undefined
    this.keepAlive = http10
      ? connection.includes('keep-alive')
      : !/(^|[\s,])close([\s,]|$)/.test(connection)
    if (status < 200) return { status, reason: m[3] ?? '', rawHeaders, contentLength }
    if (this.noBody || status === 204 || status === 304) this.state = State.Done
    else if (chunked) this.state = State.ChunkSize
    else if (contentLength !== undefined) {
      this.remaining = contentLength
      this.state = contentLength === 0 ? State.Done : State.Length
    } else {
      this.state = State.UntilClose
      this.keepAlive = false
    }
    return { status, reason: m[3] ?? '', rawHeaders, contentLength }
  }
}
