/**
 * HTTP/1.1 parsing for both sides of the router, incremental and copy-free for bodies: the
 * requests clients send (RequestParser) and the responses dynos send back (ResponseParser).
 * Each takes the head apart, then decodes the body's framing (Content-Length, chunked, or for
 * responses the end of the connection: the other side re-frames it) and says whether the
 * connection may carry another message.
 *
 * Strict where a proxy must be (RFC 9112 §11.2, request smuggling): a message whose framing
 * could be read two ways is refused, never guessed — both Content-Length and
 * Transfer-Encoding, several Content-Lengths, a Transfer-Encoding other than `chunked`,
 * obs-fold, a bare LF or CR, control characters, names that are not tokens, several Hosts.
 *
 * Node's own http server and client parse the same with llhttp, but the objects they make for
 * every request (IncomingMessage, ServerResponse, their streams) cost more than all of the
 * proxying together; this keeps the router near nginx.
 */
import { isField } from './field-names.js'

export type ParseError = 'malformed' | 'too-large'

/** What a parser reports; one message at a time, after `begin`. */
export interface MessageEvents<H> {
  onHead(head: H): void
  onBody(chunk: Buffer): void
  /** The message is complete; `reusable` is true when the connection may carry another. */
  onEnd(reusable: boolean): void
  onError(reason: ParseError): void
}

export interface ResponseHead {
  status: number
  reason: string
  /** `[name, value, name, value, …]` as received. */
  rawHeaders: string[]
  /** Content-Length if the dyno sent one (and no chunked encoding). */
  contentLength: number | undefined
}

export interface RequestHead {
  method: string
  /** The request target as sent (`/path?query`). */
  url: string
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number
  /** `[name, value, name, value, …]` as received. */
  rawHeaders: string[]
  /** The Host header (required for HTTP/1.1; exactly one). */
  host: string
  /** How the body is framed: none, Content-Length or chunked. */
  body: 'none' | 'length' | 'chunked'
  contentLength: number | undefined
  /** The client may send another request on this connection (as it asked, by its version). */
  keepAlive: boolean
  /** `Upgrade` (with `Connection: upgrade`): the protocol the client wants to switch to. */
  upgrade: string | undefined
  /** `Expect: 100-continue`: the client waits for an interim answer before its body. */
  expectContinue: boolean
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

/** How a body is delimited, as a head declares it. */
type Framing = { length: number } | 'chunked' | 'close' | 'none'

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/
const CHUNK_SIZE = /^[0-9a-fA-F]{1,12}$/
const MAX_CHUNK_LINE = 4096
/** More header fields than this in one head is a 431, as a flood of tiny ones costs too. */
const MAX_HEADER_FIELDS = 2000
/** Empty lines tolerated before a request line (RFC 9112 §2.2). */
const MAX_LEADING_EMPTY_LINES = 4

/** Optional whitespace (SP, HTAB) trimmed from both ends; never other characters. */
function trimOws(s: string): string {
  let a = 0
  let b = s.length
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--
  return a === 0 && b === s.length ? s : s.slice(a, b)
}

/** Control characters other than HTAB, CR and LF (those are checked line by line). */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/
const CRLFCRLF = Buffer.from('\r\n\r\n')
/** The first bytes of a read searched as text for a head's end (most heads are far shorter). */
const HEAD_WINDOW = 4096

/** A Content-Length value: 1–15 digits and nothing else (not `+3`, not `3, 3`), else -1. */
function lengthValue(value: string): number {
  const n = value.length
  if (n === 0 || n > 15) return -1
  let length = 0
  for (let i = 0; i < n; i++) {
    const digit = value.charCodeAt(i) - 48
    if (digit < 0 || digit > 9) return -1
    length = length * 10 + digit
  }
  return length
}

/** 1 for the characters of a token (RFC 9110 §5.6.2: a field name, a method). */
const TOKEN_CHARS = new Uint8Array(128)
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") {
  TOKEN_CHARS[c.charCodeAt(0)] = 1
}

/**
 * The fields of a head as `[name, value, …]`, from `text` after the start line (which ends at
 * `at`) up to `end` (where the head's final CRLFs begin). Names are tokens (so no whitespace
 * before the colon and no obs-fold); values lose their optional whitespace and must not hold
 * control characters other than HTAB; every CR is part of a CRLF that ends a line and there is
 * no other LF — a byte that could let two parsers disagree is refused, never skipped.
 * One pass over the characters: this runs for every request and every response.
 */
function headerFields(text: string, at: number, end: number): string[] | ParseError {
  const fields: string[] = []
  let p = at
  while (p < end) {
    p += 2 // the CRLF that ended the line before
    const nameStart = p
    let c = text.charCodeAt(p)
    while (c < 128 && TOKEN_CHARS[c] === 1) c = text.charCodeAt(++p)
    if (p === nameStart || c !== 58) return 'malformed' // 58 is the colon
    const nameEnd = p
    c = text.charCodeAt(++p)
    while (c === 32 || c === 9) c = text.charCodeAt(++p)
    const valueStart = p
    for (; p < end; p++) {
      c = text.charCodeAt(p)
      if ((c < 32 && c !== 9) || c === 127) break
    }
    // The value ends at the line's CRLF (or the head's end); any other control is refused.
    if (p < end && (c !== 13 || text.charCodeAt(p + 1) !== 10)) return 'malformed'
    let valueEnd = p
    c = text.charCodeAt(valueEnd - 1)
    while (valueEnd > valueStart && (c === 32 || c === 9)) c = text.charCodeAt(--valueEnd - 1)
    if (fields.length >= 2 * MAX_HEADER_FIELDS) return 'too-large'
    fields.push(text.slice(nameStart, nameEnd), text.slice(valueStart, valueEnd))
  }
  return fields
}

/** The part both parsers share: finding the head, then decoding the body's framing. */
abstract class MessageParser<H> {
  protected events: MessageEvents<H> | undefined
  protected state = State.Head
  protected pending: Buffer | undefined
  private remaining = 0
  /** Bytes of the pending head already checked line by line (they end at a line start). */
  private scanned = 0
  private leadingEmpty = 0
  protected keepAlive = true

  constructor(protected readonly maxHeadBytes: number) {}

  get done(): boolean {
    return this.state === State.Done
  }

  /** The start line and fields (see headerFields) → the head and its framing, or why not. */
  protected abstract parseHead(
    startLine: string,
    rawHeaders: string[],
  ): { head: H; framing: Framing } | 'interim' | ParseError

  /** Bytes that follow a complete message in the same read (or none). */
  protected abstract afterMessage(rest: Buffer | undefined): void

  /** Feeds bytes; returns false after an error (the connection must be dropped). */
  feed(data: Buffer): boolean {
    if (this.state === State.Done) return this.whileDone(data)
    const buf = this.pending
      ? data.length > 0
        ? Buffer.concat([this.pending, data])
        : this.pending
      : data
    this.pending = undefined
    const ev = this.events
    if (!ev) return false
    let at = 0
    while (at < buf.length) {
      switch (this.state) {
        case State.Head: {
          // Empty lines before the start line are skipped, a few at most (RFC 9112 §2.2).
          while (buf[at] === 13 && buf[at + 1] === 10) {
            if (++this.leadingEmpty > MAX_LEADING_EMPTY_LINES) return this.fail('malformed')
            at += 2
          }
          // Most heads come whole at the start of a read: the read's first bytes become one
          // string, searched and parsed as it is. A head sent slowly is searched in the buffer,
          // from where the last read's lines were checked (not all over again).
          let text = ''
          let end = -1 // where the head ends in `text`
          if (this.scanned === 0) {
            text = buf.toString('latin1', at, Math.min(buf.length, at + HEAD_WINDOW))
            end = text.indexOf('\r\n\r\n')
            if (end < 0 && at + HEAD_WINDOW >= buf.length) return this.waitForHead(buf, at)
          }
          if (end < 0) {
            const found = buf.indexOf(CRLFCRLF, at + Math.max(0, this.scanned - 2))
            if (found < 0) return this.waitForHead(buf, at)
            text = buf.toString('latin1', at, found)
            end = text.length
          }
          if (end + 4 > this.maxHeadBytes) return this.fail('too-large')
          at += end + 4
          this.scanned = 0
          this.leadingEmpty = 0
          let startLineEnd = text.indexOf('\r\n')
          if (startLineEnd < 0 || startLineEnd > end) startLineEnd = end
          const fields = headerFields(text, startLineEnd, end)
          const parsed =
            typeof fields === 'string'
              ? fields
              : this.parseHead(text.slice(0, startLineEnd), fields)
          if (parsed === 'malformed' || parsed === 'too-large') return this.fail(parsed)
          if (parsed === 'interim') continue // 100 Continue, 103 Early Hints: skipped
          // The head is reported while the parser still says "no message yet" (`done` is
          // false): whoever hears it may answer at once, and starts the next one only on onEnd.
          ev.onHead(parsed.head)
          const { framing } = parsed
          if (framing === 'none') return this.finish(buf, at)
          if (framing === 'chunked') this.state = State.ChunkSize
          else if (framing === 'close') {
            this.state = State.UntilClose
            this.keepAlive = false
          } else {
            if (framing.length === 0) return this.finish(buf, at)
            this.remaining = framing.length
            this.state = State.Length
          }
          break
        }
        case State.Length: {
          const n = Math.min(this.remaining, buf.length - at)
          ev.onBody(at === 0 && n === buf.length ? buf : buf.subarray(at, at + n))
          at += n
          this.remaining -= n
          if (this.remaining === 0) return this.finish(buf, at)
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
          // Chunk extensions (after `;`) are dropped; whitespace before them is tolerated.
          const hex = semi < 0 ? line : trimOws(line.slice(0, semi))
          if (!CHUNK_SIZE.test(hex) || CONTROL.test(line) || line.includes('\r')) {
            return this.fail('malformed')
          }
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
          if (empty) return this.finish(buf, at)
          break
        }
        case State.UntilClose:
          ev.onBody(at === 0 ? buf : buf.subarray(at))
          return true
      }
    }
    return true
  }

  /**
   * A head not complete yet: kept, after checking what came so far — a bare LF or CR is
   * refused now (a client must not hold the connection with a head that never ends), and so
   * is a head already over the limit.
   */
  private waitForHead(buf: Buffer, at: number): boolean {
    if (buf.length - at > this.maxHeadBytes) return this.fail('too-large')
    let lineStart = at + this.scanned
    for (;;) {
      const lf = buf.indexOf(10, lineStart)
      if (lf < 0) break
      if (lf === lineStart || buf.indexOf(13, lineStart) !== lf - 1) return this.fail('malformed')
      lineStart = lf + 1
    }
    if (buf.indexOf(13, lineStart) >= 0 && buf[buf.length - 1] !== 13) return this.fail('malformed')
    this.scanned = lineStart - at
    this.pending = buf.subarray(at)
    return true
  }

  /** The connection was closed by the other side. True if that completed the message. */
  closed(): boolean {
    if (this.state === State.UntilClose) {
      this.state = State.Done
      this.events?.onEnd(false)
      return true
    }
    return this.state === State.Done
  }

  /** Bytes while no message is being parsed. */
  protected abstract whileDone(data: Buffer): boolean

  private finish(buf: Buffer, at: number): boolean {
    this.state = State.Done
    this.afterMessage(at < buf.length ? buf.subarray(at) : undefined)
    this.events?.onEnd(this.keepAlive)
    return true
  }

  protected fail(reason: ParseError): boolean {
    this.state = State.Done
    this.keepAlive = false
    this.pending = undefined
    this.events?.onError(reason)
    return false
  }
}

/** Responses from dynos, one per request written to the connection. */
export class ResponseParser extends MessageParser<ResponseHead> {
  private noBody = false

  /** Starts a response. `noBody` for HEAD requests. */
  begin(events: MessageEvents<ResponseHead>, noBody: boolean): void {
    this.events = events
    this.noBody = noBody
    this.state = State.Head
    this.pending = undefined
    this.keepAlive = true
  }

  protected afterMessage(rest: Buffer | undefined): void {
    // Bytes after a complete response to one request: the dyno is confused.
    if (rest) this.keepAlive = false
  }

  protected whileDone(): boolean {
    // Unsolicited bytes: the connection cannot be trusted with another request.
    this.keepAlive = false
    return false
  }

  protected parseHead(
    startLine: string,
    rawHeaders: string[],
  ): { head: ResponseHead; framing: Framing } | 'interim' | ParseError {
    const m = STATUS_LINE.exec(startLine)
    if (!m) return 'malformed'
    const http10 = m[1] === '0'
    const status = +m[2]!
    let contentLength: number | undefined
    let chunked = false
    let connection = ''
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!
      const value = rawHeaders[i + 1]!
      if (isField(name, 'content-length')) {
        const length = lengthValue(value)
        if (length < 0) return 'malformed'
        if (contentLength !== undefined && contentLength !== length) return 'malformed'
        contentLength = length
      } else if (isField(name, 'transfer-encoding')) {
        const codings = value.toLowerCase().split(',')
        chunked = codings[codings.length - 1]!.trim() === 'chunked'
        if (!chunked) return 'malformed' // a length we cannot know: refuse rather than guess
      } else if (isField(name, 'connection')) {
        connection += `${value.toLowerCase()},`
      }
    }
    if (chunked && contentLength !== undefined) return 'malformed'
    if (status < 200) return 'interim'
    this.keepAlive = http10
      ? connection.includes('keep-alive')
      : connection === '' || !/(^|[\s,])close([\s,]|$)/.test(connection)
    const head = { status, reason: m[3] ?? '', rawHeaders, contentLength }
    let framing: Framing
    if (this.noBody || status === 204 || status === 304) framing = 'none'
    else if (chunked) framing = 'chunked'
    else if (contentLength !== undefined) framing = { length: contentLength }
    else framing = 'close'
    return { head, framing }
  }
}

/**
 * Requests from clients, one after another on a connection. Bytes of the next request that
 * arrive with the current one (pipelining) are kept until `begin` starts it.
 */
export class RequestParser extends MessageParser<RequestHead> {
  /** Starts the next request: parses what was kept from the last read at once. */
  begin(events: MessageEvents<RequestHead>): boolean {
    this.events = events
    this.state = State.Head
    this.keepAlive = true
    const kept = this.pending
    this.pending = undefined
    return kept ? this.feed(kept) : true
  }

  /** Bytes kept for the next request (the connection stops reading when there are many). */
  get buffered(): number {
    return this.pending?.length ?? 0
  }

  /** Takes the bytes kept after the last request (an upgraded connection's first bytes). */
  takeBuffered(): Buffer {
    const kept = this.pending ?? Buffer.alloc(0)
    this.pending = undefined
    return kept
  }

  protected afterMessage(rest: Buffer | undefined): void {
    this.pending = rest
  }

  protected whileDone(data: Buffer): boolean {
    if (data.length > 0) this.pending = this.pending ? Buffer.concat([this.pending, data]) : data
    return true
  }

  protected parseHead(
    startLine: string,
    rawHeaders: string[],
  ): { head: RequestHead; framing: Framing } | ParseError {
    const m = REQUEST_LINE.exec(startLine)
    if (!m) return 'malformed'
    const minor = +m[3]!
    let host: string | undefined
    let hosts = 0
    let contentLength: number | undefined
    let lengths = 0
    let transferEncoding: string | undefined
    let encodings = 0
    let connection = ''
    let upgrade: string | undefined
    let expectContinue = false
    for (let i = 0; i < rawHeaders.length; i += 2) {
      const name = rawHeaders[i]!
      const value = rawHeaders[i + 1]!
      // By length first: most fields are compared with one name at most.
      switch (name.length) {
        case 4:
          if (isField(name, 'host')) {
            host = value
            hosts++
          }
          break
        case 14:
          if (isField(name, 'content-length')) {
            contentLength = lengthValue(value)
            if (contentLength < 0) return 'malformed'
            lengths++
          }
          break
        case 17:
          if (isField(name, 'transfer-encoding')) {
            transferEncoding = value.toLowerCase()
            encodings++
          }
          break
        case 10:
          if (isField(name, 'connection')) connection += `,${value.toLowerCase()},`
          break
        case 7:
          if (isField(name, 'upgrade')) upgrade = value
          break
        case 6:
          if (isField(name, 'expect') && isField(value, '100-continue')) {
            expectContinue = minor === 1
          }
          break
      }
    }
    // One Host, required by HTTP/1.1; one Content-Length; `chunked` alone, never with a length.
    if (hosts > 1 || (hosts === 0 && minor === 1) || lengths > 1 || encodings > 1)
      return 'malformed'
    if (transferEncoding !== undefined && (transferEncoding !== 'chunked' || lengths > 0)) {
      return 'malformed'
    }
    const tokens = connection === '' ? '' : connection.replace(/[ \t]/g, '')
    this.keepAlive = minor === 1 ? !tokens.includes(',close,') : tokens.includes(',keep-alive,')
    const body = transferEncoding ? 'chunked' : contentLength !== undefined ? 'length' : 'none'
    const head: RequestHead = {
      method: m[1]!,
      url: m[2]!,
      minor,
      rawHeaders,
      host: host ?? '',
      body,
      contentLength,
      keepAlive: this.keepAlive,
      upgrade: upgrade !== undefined && tokens.includes(',upgrade,') ? upgrade : undefined,
      expectContinue,
    }
    const framing: Framing =
      body === 'chunked' ? 'chunked' : body === 'length' ? { length: contentLength! } : 'none'
    return { head, framing }
  }
}
