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
import { FieldNames, isField } from './field-names.js'
import { MORE, SectionBuffer } from './section-buffer.js'

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
  /**
   * The request target in origin-form (`/path?query`): as sent, or the path and query of an
   * absolute-form target (`http://host/path`), whose authority is then `host`.
   */
  url: string
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minor: number
  /** `[name, value, name, value, …]` as received. */
  rawHeaders: string[]
  /**
   * Where the request goes: the Host header (required for HTTP/1.1; exactly one), or the
   * authority of an absolute-form target, which replaces it (RFC 9112 §3.2.2).
   */
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

/** What can be read of a request head refused as too large: for the router's log line. */
export interface RefusedRequest {
  method: string
  url: string
  host: string
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

/**
 * How a body is delimited, as a head declares it; `switch`: a 101 to an upgrade, after which
 * the connection speaks another protocol.
 */
type Framing = { length: number } | 'chunked' | 'close' | 'none' | 'switch'

const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) ([\x21-\x7e]+) HTTP\/1\.([01])$/
/** An absolute-form target (RFC 9112 §3.2.2): scheme, authority, and the rest. */
const ABSOLUTE_TARGET = /^https?:\/\/([^/?#]*)(.*)$/i
/** A Host field line in a head's text (for a refused head: found without parsing it all). */
const HOST_LINE = /\r\nhost:[\t ]*([^\r\n]*)\r\n/i
const MAX_CHUNK_LINE = 4096
/** Hex digits of a chunk size at most (2^48 bytes: more than any body). */
const MAX_CHUNK_SIZE_DIGITS = 12
/** More header fields than this in one head is a 431, as a flood of tiny ones costs too. */
const MAX_HEADER_FIELDS = 2000
/** Empty lines tolerated before a request line (RFC 9112 §2.2). */
const MAX_LEADING_EMPTY_LINES = 4

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

/** 1 for the characters of a quoted-string's text (RFC 9110 §5.6.4: qdtext, obs-text). */
const QDTEXT = new Uint8Array(256)
for (let c = 0; c < 256; c++) {
  QDTEXT[c] =
    c === 9 || c === 32 || c === 0x21 || (c >= 0x23 && c <= 0x7e && c !== 0x5c) || c >= 0x80 ? 1 : 0
}

const isToken = (c: number) => c < 128 && TOKEN_CHARS[c] === 1
const isBws = (c: number) => c === 32 || c === 9

/** Where `s` has no more optional whitespace (BWS) from `p`. */
function skipBws(s: string, p: number): number {
  while (isBws(s.charCodeAt(p))) p++
  return p
}

/** Where a quoted-string that opens at `p` ends (just past its closing quote), or -1. */
function quotedStringEnd(s: string, p: number): number {
  const n = s.length
  for (p++; p < n; p++) {
    const c = s.charCodeAt(p)
    if (c === 34) return p + 1
    if (c === 92) {
      // quoted-pair: a backslash and HTAB, SP, a visible character or obs-text
      const next = s.charCodeAt(++p)
      if (!(next === 9 || (next >= 32 && next !== 127 && next <= 255))) return -1
    } else if (QDTEXT[c] !== 1) {
      return -1
    }
  }
  return -1
}

/**
 * The size a chunk line (without its CRLF) declares, or -1 when the line is not
 * `chunk-size [ chunk-ext ]` (RFC 9112 §7.1.1): hex digits, then any number of
 * `BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ]`. Extensions are checked and
 * dropped (the router re-frames bodies). Whitespace is allowed only where the grammar's BWS
 * is, which recipients must accept (RFC 9110 §5.6.3): `3 ;x` is a chunk of 3, `3 ` and `3;"`
 * are refused. One pass over the line.
 */
export function chunkSize(line: string): number {
  const n = line.length
  let size = 0
  let p = 0
  for (; p < n; p++) {
    const c = line.charCodeAt(p)
    const digit =
      c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1
    if (digit < 0) break
    size = size * 16 + digit
  }
  if (p === 0 || p > MAX_CHUNK_SIZE_DIGITS) return -1
  while (p < n) {
    p = skipBws(line, p)
    if (line.charCodeAt(p) !== 59) return -1 // ";"
    p = skipBws(line, p + 1)
    const name = p
    while (isToken(line.charCodeAt(p))) p++
    if (p === name) return -1
    const eq = skipBws(line, p)
    if (line.charCodeAt(eq) !== 61) continue // no "=": the next extension, or the end
    p = skipBws(line, eq + 1)
    if (line.charCodeAt(p) === 34) {
      p = quotedStringEnd(line, p)
      if (p < 0) return -1
    } else {
      const value = p
      while (isToken(line.charCodeAt(p))) p++
      if (p === value) return -1
    }
  }
  return size
}

/**
 * Fields that frame or route a message, refused in a trailer section (RFC 9110 §6.5.1 forbids
 * them there): a recipient that merged them into the head would read the message another way.
 * The router drops every other trailer field after checking it — nothing of a trailer section
 * goes on, so no one after it can merge one.
 */
const FORBIDDEN_TRAILERS = new FieldNames(['content-length', 'transfer-encoding', 'host'])

/**
 * Checks a trailer section, `text` being its field lines each ended by CRLF (empty when there
 * are none), with the head's field rules (headerFields), and refuses the fields above.
 */
function checkTrailers(text: string): ParseError | undefined {
  if (text === '') return undefined
  const lines = `\r\n${text.slice(0, -2)}`
  const fields = headerFields(lines, 0, lines.length)
  if (typeof fields === 'string') return fields
  for (let i = 0; i < fields.length; i += 2) {
    if (FORBIDDEN_TRAILERS.match(fields[i]!) !== undefined) return 'malformed'
  }
  return undefined
}

/** The part both parsers share: finding the head, then decoding the body's framing. */
abstract class MessageParser<H> {
  protected events: MessageEvents<H> | undefined
  protected state = State.Head
  /** Bytes left of a chunk's CRLF, when a read ended inside it (at most one). */
  protected pending: Buffer | undefined
  private remaining = 0
  /** A head, trailer section or chunk line that came in more than one read (see `partial`). */
  private readonly section = new SectionBuffer()
  /** `section` holds the beginning of the part the state parses. */
  private partial = false
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

  /** The beginning of a head refused as too large (at most `maxHeadBytes` of it). */
  protected refusedHead(_text: string): void {}

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
          let text = ''
          let end = -1 // where the head's fields end in `text`
          if (!this.partial) {
            // Empty lines before the start line are skipped, a few at most (RFC 9112 §2.2).
            while (buf[at] === 13 && buf[at + 1] === 10) {
              if (++this.leadingEmpty > MAX_LEADING_EMPTY_LINES) return this.fail('malformed')
              at += 2
            }
            if (at === buf.length) return true
            // Most heads come whole at the start of a read: the read's first bytes become one
            // string, searched and parsed as it is; a longer one is searched in the buffer.
            text = buf.toString('latin1', at, Math.min(buf.length, at + HEAD_WINDOW))
            end = text.indexOf('\r\n\r\n')
            if (end < 0 && buf.length - at > HEAD_WINDOW) {
              const found = buf.indexOf(CRLFCRLF, at)
              if (found >= 0) {
                text = buf.toString('latin1', at, found)
                end = text.length
              }
            }
            if (end < 0) {
              this.section.begin('head', this.leadingEmpty)
              this.partial = true
            } else if (end + 4 > this.maxHeadBytes) {
              this.refusedHead(text.slice(0, this.maxHeadBytes))
              return this.fail('too-large')
            } else {
              at += end + 4
            }
          }
          if (this.partial) {
            // A head in pieces: the bytes of this read are scanned, and kept if it goes on.
            const stop = this.section.scan(buf, at, MAX_LEADING_EMPTY_LINES)
            const size = this.section.size(at, stop === MORE ? buf.length : stop)
            if (size > this.maxHeadBytes) {
              this.refusedHead(this.section.preview(buf, at, buf.length, this.maxHeadBytes))
              return this.fail('too-large')
            }
            if (stop === MORE) return this.keep(buf, at)
            if (stop < 0) return this.fail('malformed')
            text = this.section.text(buf, at, stop, 4)
            end = text.length
            this.partial = false
            at = stop
          }
          this.leadingEmpty = 0
          let startLineEnd = text.indexOf('\r\n')
          if (startLineEnd < 0 || startLineEnd > end) startLineEnd = end
          const fields = headerFields(text, startLineEnd, end)
          if (fields === 'too-large') this.refusedHead(text.slice(0, end))
          const parsed =
            typeof fields === 'string'
              ? fields
              : this.parseHead(text.slice(0, startLineEnd), fields)
          if (parsed === 'malformed' || parsed === 'too-large') return this.fail(parsed)
          if (parsed === 'interim') continue // 100 Continue, 103 Early Hints: skipped
          const { framing } = parsed
          if (framing === 'switch') {
            // The bytes after a 101 are the new protocol's: kept for whoever takes them.
            this.state = State.Done
            this.keepAlive = false
            this.pending = at < buf.length ? buf.subarray(at) : undefined
            ev.onHead(parsed.head)
            return true
          }
          // The head is reported while the parser still says "no message yet" (`done` is
          // false): whoever hears it may answer at once, and starts the next one only on onEnd.
          ev.onHead(parsed.head)
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
          let line: string
          if (!this.partial) {
            const lf = buf.indexOf(10, at)
            if (lf >= 0) {
              if (lf === at || buf[lf - 1] !== 13 || lf - at > MAX_CHUNK_LINE) {
                return this.fail('malformed')
              }
              line = buf.toString('latin1', at, lf - 1)
              at = lf + 1
            } else {
              this.section.begin('line')
              this.partial = true
            }
          }
          if (this.partial) {
            const stop = this.section.scan(buf, at, 0)
            if (this.section.size(at, stop === MORE ? buf.length : stop) > MAX_CHUNK_LINE) {
              return this.fail('malformed')
            }
            if (stop === MORE) return this.keep(buf, at)
            if (stop < 0) return this.fail('malformed')
            line = this.section.text(buf, at, stop, 2)
            this.partial = false
            at = stop
          }
          this.remaining = chunkSize(line!)
          if (this.remaining < 0) return this.fail('malformed')
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
          // Most chunked messages have no trailer fields: the section is its empty line.
          if (!this.partial) {
            if (buf[at] === 13 && buf[at + 1] === 10) return this.finish(buf, at + 2)
            this.section.begin('trailers')
            this.partial = true
          }
          const stop = this.section.scan(buf, at, 0)
          if (this.section.size(at, stop === MORE ? buf.length : stop) > this.maxHeadBytes) {
            return this.fail('too-large')
          }
          if (stop === MORE) return this.keep(buf, at)
          if (stop < 0) return this.fail('malformed')
          const error = checkTrailers(this.section.text(buf, at, stop, 2))
          this.partial = false
          if (error) return this.fail(error)
          return this.finish(buf, stop)
        }
        case State.UntilClose:
          ev.onBody(at === 0 ? buf : buf.subarray(at))
          return true
      }
    }
    return true
  }

  /** A part not complete yet: its bytes of this read kept (`section` checked them). */
  private keep(buf: Buffer, at: number): boolean {
    this.section.keep(buf, at)
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

  /** Starts the next message. */
  protected restart(): void {
    this.state = State.Head
    this.keepAlive = true
    this.partial = false
    this.section.clear()
  }

  protected fail(reason: ParseError): boolean {
    this.state = State.Done
    this.keepAlive = false
    this.pending = undefined
    this.partial = false
    this.section.clear()
    this.events?.onError(reason)
    return false
  }
}

/** Responses from dynos, one per request written to the connection. */
export class ResponseParser extends MessageParser<ResponseHead> {
  private noBody = false
  private upgrade = false

  /**
   * Starts a response. `noBody` for HEAD requests; `upgrade` for a request that asked to
   * switch protocols: a 101 is then its response (else an interim one, skipped), and the bytes
   * after it are for `takeRest`.
   */
  begin(events: MessageEvents<ResponseHead>, noBody: boolean, upgrade = false): void {
    this.events = events
    this.noBody = noBody
    this.upgrade = upgrade
    this.restart()
    this.pending = undefined
  }

  /** The bytes that came with a 101 after its head (the new protocol's first ones). */
  takeRest(): Buffer | undefined {
    const rest = this.pending
    this.pending = undefined
    return rest
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
    if (status === 101 && this.upgrade) {
      return { head: { status, reason: m[3] ?? '', rawHeaders, contentLength }, framing: 'switch' }
    }
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
  /** Bytes after the current request (pipelined), kept as they came until `begin`. */
  private readonly kept: Buffer[] = []
  private keptBytes = 0
  /** What could be read of the last head refused as too large (for the router's log line). */
  refused: RefusedRequest | undefined

  /** Starts the next request: parses what was kept from the last read at once. */
  begin(events: MessageEvents<RequestHead>): boolean {
    this.events = events
    this.restart()
    this.refused = undefined
    if (this.keptBytes === 0) return true
    return this.feed(this.takeBuffered())
  }

  /** Bytes kept for the next request (the connection stops reading when there are many). */
  get buffered(): number {
    return this.keptBytes
  }

  /** Takes the bytes kept after the last request (an upgraded connection's first bytes). */
  takeBuffered(): Buffer {
    const kept = this.kept.length === 1 ? this.kept[0]! : Buffer.concat(this.kept)
    this.kept.length = 0
    this.keptBytes = 0
    return kept
  }

  protected afterMessage(rest: Buffer | undefined): void {
    // The array is reused: no allocation per request.
    this.kept.length = 0
    this.keptBytes = 0
    if (rest) this.whileDone(rest)
  }

  protected whileDone(data: Buffer): boolean {
    if (data.length > 0) {
      this.kept.push(data)
      this.keptBytes += data.length
    }
    return true
  }

  protected override refusedHead(text: string): void {
    this.refused = refusedRequest(text)
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
    let url = m[2]!
    if (url.charCodeAt(0) !== 47) {
      // Not origin-form: absolute-form (its authority replaces Host), or `OPTIONS *`.
      const target = absoluteTarget(url)
      if (target === undefined) {
        if (url !== '*' || m[1] !== 'OPTIONS') return 'malformed'
      } else {
        url = target.path
        host = target.authority
      }
    }
    const tokens = connection === '' ? '' : connection.replace(/[ \t]/g, '')
    this.keepAlive = minor === 1 ? !tokens.includes(',close,') : tokens.includes(',keep-alive,')
    const body = transferEncoding ? 'chunked' : contentLength !== undefined ? 'length' : 'none'
    const head: RequestHead = {
      method: m[1]!,
      url,
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

/**
 * An absolute-form target (`http://app.example/path?q`) as its authority and its origin-form
 * path; undefined for another form. An empty authority, or one with userinfo (`user@host`),
 * is no target to route by (RFC 9110 §4.2.1, §4.2.4): the request is then refused.
 */
function absoluteTarget(url: string): { authority: string; path: string } | undefined {
  const m = ABSOLUTE_TARGET.exec(url)
  if (!m) return undefined
  const authority = m[1]!
  if (authority === '' || authority.includes('@')) return undefined
  const rest = m[2]!
  return { authority, path: rest.charCodeAt(0) === 47 ? rest : `/${rest}` }
}

/** The method, target and host of a head refused as too large, as far as they arrived. */
function refusedRequest(text: string): RefusedRequest {
  const lineEnd = text.indexOf('\r\n')
  const line = lineEnd < 0 ? null : REQUEST_LINE.exec(text.slice(0, lineEnd))
  const target = line ? absoluteTarget(line[2]!) : undefined
  const host = target?.authority ?? HOST_LINE.exec(text)?.[1] ?? ''
  let end = host.length
  while (end > 0 && (host.charCodeAt(end - 1) === 32 || host.charCodeAt(end - 1) === 9)) end--
  return { method: line?.[1] ?? '', url: target?.path ?? line?.[2] ?? '', host: host.slice(0, end) }
}
