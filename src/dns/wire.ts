/**
 * The DNS wire format on the hot path, hand-written: parsing a query (RFC 1035 §4, EDNS(0) of
 * RFC 6891) and writing the few answer shapes this server gives (A, SRV, TXT, SOA, OPT).
 * dns-packet would allocate objects per record and per name; this writes straight into one
 * buffer, and wire.test.ts cross-checks every shape against dns-packet.
 */

export const TYPE = {
  A: 1,
  NS: 2,
  SOA: 6,
  TXT: 16,
  AAAA: 28,
  SRV: 33,
  OPT: 41,
  IXFR: 251,
  AXFR: 252,
  ANY: 255,
} as const

export const CLASS_IN = 1
export const CLASS_ANY = 255

export const RCODE = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
  /** Extended (12 bits): 16 goes 0 in the header and 1 in the OPT record's upper bits. */
  BADVERS: 16,
} as const

/** The UDP payload size we advertise (the DNS flag day 2020 value, safe from fragmentation). */
export const OUR_UDP_SIZE = 1232
/** Without EDNS a UDP answer must fit 512 bytes (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_SIZE = 512
/** A DNS message over TCP is at most this long (its 2-byte length prefix). */
export const MAX_MESSAGE = 65535

export interface Edns {
  udpSize: number
  version: number
  /** The DO bit, echoed back (RFC 3225). */
  dnssecOk: boolean
}

/** A parsed query. When `rcode` is not NOERROR, the query is refused with it as it stands. */
export interface Query {
  id: number
  /** The header's flags word, as sent. */
  flags: number
  opcode: number
  /** Lowercase, dot-separated, no trailing dot ('' for the root); '.' and '\' in labels escaped. */
  name: string
  /** Offset in the packet of each label of the question name (targets of compression pointers). */
  labelOffsets: number[]
  type: number
  klass: number
  /** End of the question; 12 when there is no usable question to echo. */
  questionEnd: number
  edns: Edns | undefined
  /** What the query itself earns: FORMERR, NOTIMP or BADVERS; NOERROR when it is well formed. */
  rcode: number
  /** The packet it was read from (the question is echoed from it). */
  packet: Buffer
}

const FLAG_QR = 0x8000
const FLAG_AA = 0x0400
const FLAG_TC = 0x0200
const FLAG_RD = 0x0100
const FLAG_RA = 0x0080
const FLAG_CD = 0x0010
const OPCODE_MASK = 0x7800

/**
 * Per byte value: its lowercase (ASCII only, RFC 4343), or 0 when a label holding it cannot be
 * written as it is in a name key (space, controls, '.', '\\', non-ASCII: see labelKey).
 */
const PLAIN_LOWER = new Uint8Array(256)
for (let c = 0x21; c <= 0x7e; c++)
  if (c !== 0x2e && c !== 0x5c) PLAIN_LOWER[c] = c >= 0x41 && c <= 0x5a ? c + 32 : c
/** Where the question name's key is put together: a name is at most 255 bytes on the wire. */
const nameScratch = Buffer.alloc(256)

/** A label as a lookup key: ASCII lowercased only (RFC 4343), '.' and '\' escaped, others \DDD. */
function labelKey(buf: Buffer, start: number, length: number): string {
  let key = ''
  for (let i = start; i < start + length; i++) {
    const c = buf[i]!
    if (c === 0x2e || c === 0x5c) key += '\\' + String.fromCharCode(c)
    else if (c <= 0x20 || c >= 0x7f) key += '\\' + String(c).padStart(3, '0')
    else key += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c)
  }
  return key
}

/** Skips a (possibly compressed) name; returns the offset after it, or -1 when malformed. */
export function skipName(buf: Buffer, offset: number): number {
  let off = offset
  for (;;) {
    if (off >= buf.length) return -1
    const len = buf[off]!
    if (len === 0) return off + 1
    if ((len & 0xc0) === 0xc0) return off + 2 <= buf.length ? off + 2 : -1
    if (len & 0xc0) return -1
    off += len + 1
  }
}

/**
 * Parses a query. Returns undefined for what must get no answer at all: fewer than 12 bytes
 * (no id to answer to) or a response (QR set; answering would let two servers loop).
 */
export function parseQuery(buf: Buffer): Query | undefined {
  if (buf.length < 12) return undefined
  const flags = buf.readUInt16BE(2)
  if (flags & FLAG_QR) return undefined
  const q: Query = {
    id: buf.readUInt16BE(0),
    flags,
    opcode: (flags & OPCODE_MASK) >> 11,
    name: '',
    labelOffsets: [],
    type: 0,
    klass: 0,
    questionEnd: 12,
    edns: undefined,
    rcode: RCODE.NOERROR,
    packet: buf,
  }
  if (q.opcode !== 0) return { ...q, rcode: RCODE.NOTIMP }
  if (buf.readUInt16BE(4) !== 1) return { ...q, rcode: RCODE.FORMERR }

  // The question name: plain labels only (nothing precedes it that a pointer could name). Its
  // key is written lowercase into nameScratch, '.' between labels, and read out in one go.
  let off = 12
  let wireLength = 1
  let keyLength = 0
  let plain = true
  for (;;) {
    if (off >= buf.length) return formerr(q)
    const len = buf[off]!
    if (len === 0) break
    if (len & 0xc0 || off + 1 + len > buf.length) return formerr(q)
    wireLength += len + 1
    if (wireLength > 255) return formerr(q)
    q.labelOffsets.push(off)
    if (keyLength > 0) nameScratch[keyLength++] = 0x2e
    for (let i = off + 1; i <= off + len; i++) {
      const lower = PLAIN_LOWER[buf[i]!]!
      if (lower === 0) plain = false
      nameScratch[keyLength++] = lower
    }
    off += len + 1
  }
  off += 1
  if (off + 4 > buf.length) return formerr(q)
  q.name = plain
    ? nameScratch.toString('latin1', 0, keyLength)
    : q.labelOffsets.map((o) => labelKey(buf, o + 1, buf[o]!)).join('.')
  q.type = buf.readUInt16BE(off)
  q.klass = buf.readUInt16BE(off + 2)
  q.questionEnd = off + 4
  off += 4

  // Answer and authority sections are not expected in a query; skip them, well formed.
  const others = buf.readUInt16BE(6) + buf.readUInt16BE(8)
  for (let i = 0; i < others; i++) {
    off = skipName(buf, off)
    if (off < 0 || off + 10 > buf.length) return formerr(q)
    off += 10 + buf.readUInt16BE(off + 8)
    if (off > buf.length) return formerr(q)
  }
  // The additional section: find the OPT record; others (e.g. a cookie-less TSIG) are skipped.
  const additional = buf.readUInt16BE(10)
  for (let i = 0; i < additional; i++) {
    const start = off
    off = skipName(buf, off)
    if (off < 0 || off + 10 > buf.length) return formerr(q)
    const type = buf.readUInt16BE(off)
    const rdLength = buf.readUInt16BE(off + 8)
    const rdStart = off + 10
    off = rdStart + rdLength
    if (off > buf.length) return formerr(q)
    if (type !== TYPE.OPT) continue
    // One OPT at most, owned by the root (RFC 6891 §6.1.1); its options must tile its data.
    if (q.edns || buf[start] !== 0) return formerr(q)
    for (let o = rdStart; o < off;) {
      if (o + 4 > off) return formerr(q)
      o += 4 + buf.readUInt16BE(o + 2)
      if (o > off) return formerr(q)
    }
    q.edns = {
      udpSize: buf.readUInt16BE(start + 3),
      version: buf[start + 6]!,
      dnssecOk: (buf.readUInt16BE(start + 7) & 0x8000) !== 0,
    }
  }
  if (q.edns && q.edns.version > 0) q.rcode = RCODE.BADVERS
  return q
}

/** A malformed query: FORMERR, with no question echoed (it may be what is broken). */
const formerr = (q: Query): Query => ({
  ...q,
  questionEnd: 12,
  edns: undefined,
  rcode: RCODE.FORMERR,
})

/** The largest UDP answer this client takes (RFC 6891 §6.2.5: below 512 counts as 512). */
export const udpLimit = (q: Query): number =>
  Math.min(Math.max(q.edns?.udpSize ?? 0, CLASSIC_UDP_SIZE), MAX_MESSAGE)

export interface Soa {
  mname: string
  rname: string
  serial: number
  refresh: number
  retry: number
  expire: number
  minimum: number
}

export type RData =
  | { a: number }
  | { srv: { priority: number; weight: number; port: number; target: string } }
  | { txt: readonly string[] }
  | { soa: Soa }

export interface Record {
  /** The owner: a name, or the offset of one inside the question (a compression pointer). */
  owner: string | number
  type: number
  ttl: number
  data: RData
}

export interface Answer {
  rcode: number
  authoritative: boolean
  answers: readonly Record[]
  authority: readonly Record[]
}

/**
 * A growable output buffer for the response to `q`. Starts at 512 bytes, which every common
 * answer fits. Names are compressed against the question's (computed on the first name).
 */
class Writer {
  buf: Buffer
  pos = 0
  private suffixes: Map<string, number> | undefined
  constructor(
    size: number,
    private readonly q: Query,
  ) {
    this.buf = Buffer.allocUnsafe(size)
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(bigger, 0, 0, this.pos)
    this.buf = bigger
  }
  u8(v: number): void {
    this.ensure(1)
    this.buf[this.pos++] = v
  }
  u16(v: number): void {
    this.ensure(2)
    this.buf.writeUInt16BE(v, this.pos)
    this.pos += 2
  }
  u32(v: number): void {
    this.ensure(4)
    this.buf.writeUInt32BE(v >>> 0, this.pos)
    this.pos += 4
  }
  copy(src: Buffer, start: number, end: number): void {
    this.ensure(end - start)
    src.copy(this.buf, this.pos, start, end)
    this.pos += end - start
  }
  /** A name's labels, ending in a pointer to the longest suffix the question already holds. */
  name(name: string): void {
    const suffixes = (this.suffixes ??= questionSuffixes(this.q))
    let rest = name
    for (;;) {
      if (rest === '') return this.u8(0)
      const at = suffixes.get(rest)
      if (at !== undefined) return this.u16(0xc000 | at)
      const dot = rest.indexOf('.')
      const label = dot < 0 ? rest : rest.slice(0, dot)
      this.u8(label.length)
      this.ensure(label.length)
      this.pos += this.buf.write(label, this.pos, 'latin1')
      rest = dot < 0 ? '' : rest.slice(dot + 1)
    }
  }
}

/** Each suffix of the question name (lowercase) → its offset in the packet. */
function questionSuffixes(q: Query): Map<string, number> {
  const map = new Map<string, number>()
  const labels = q.name === '' ? [] : q.name.split('.')
  // Escaped names (a '.' inside a label) would split wrongly; they never get records written.
  if (labels.length !== q.labelOffsets.length) return map
  for (let i = 0; i < labels.length; i++) map.set(labels.slice(i).join('.'), q.labelOffsets[i]!)
  return map
}

/** The header; the counts are of the question, answer, authority and additional sections. */
function writeHeader(
  w: Writer,
  q: Query,
  a: Answer,
  tc: boolean,
  qd: number,
  an: number,
  ns: number,
  ar: number,
): void {
  const flags =
    FLAG_QR |
    (q.flags & (OPCODE_MASK | FLAG_RD | FLAG_CD)) |
    (a.authoritative ? FLAG_AA : 0) |
    (tc ? FLAG_TC : 0) |
    FLAG_RA |
    (a.rcode & 0xf)
  w.u16(q.id)
  w.u16(flags)
  w.u16(qd)
  w.u16(an)
  w.u16(ns)
  w.u16(ar)
}

function writeRecord(w: Writer, r: Record): void {
  if (typeof r.owner === 'number') w.u16(0xc000 | r.owner)
  else w.name(r.owner)
  w.u16(r.type)
  w.u16(CLASS_IN)
  w.u32(r.ttl)
  w.u16(0) // rdlength, patched below
  const start = w.pos
  const d = r.data
  if ('a' in d) w.u32(d.a)
  else if ('srv' in d) {
    w.u16(d.srv.priority)
    w.u16(d.srv.weight)
    w.u16(d.srv.port)
    w.name(d.srv.target)
  } else if ('txt' in d) {
    for (const s of d.txt) {
      const bytes = Buffer.from(s, 'utf8').subarray(0, 255)
      w.u8(bytes.length)
      w.copy(bytes, 0, bytes.length)
    }
  } else {
    w.name(d.soa.mname)
    w.name(d.soa.rname)
    for (const v of [d.soa.serial, d.soa.refresh, d.soa.retry, d.soa.expire, d.soa.minimum])
      w.u32(v)
  }
  w.buf.writeUInt16BE(w.pos - start, start - 2)
}

function writeOpt(w: Writer, q: Query, rcode: number): void {
  w.u8(0)
  w.u16(TYPE.OPT)
  w.u16(OUR_UDP_SIZE)
  w.u8(rcode >> 4) // extended rcode, upper 8 bits
  w.u8(0) // version
  w.u16(q.edns?.dnssecOk ? 0x8000 : 0)
  w.u16(0)
}

/**
 * Writes the response to `q`. When it would exceed `limit` bytes (a UDP client's buffer), the
 * records are left out and TC is set, so the client asks again over TCP (RFC 7766 §5).
 */
export function encodeResponse(q: Query, a: Answer, limit: number = MAX_MESSAGE): Buffer {
  const questions = q.questionEnd > 12 ? 1 : 0
  // FORMERR may come from a broken OPT record itself; echo none then (RFC 6891 §7).
  const withOpt = q.edns !== undefined && a.rcode !== RCODE.FORMERR
  const w = new Writer(512, q)
  writeHeader(w, q, a, false, questions, a.answers.length, a.authority.length, withOpt ? 1 : 0)
  // The question is echoed byte for byte: the client's case comes back as sent.
  w.copy(q.packet, 12, q.questionEnd)
  for (const r of a.answers) writeRecord(w, r)
  for (const r of a.authority) writeRecord(w, r)
  if (withOpt) writeOpt(w, q, a.rcode)
  if (w.pos <= limit) return w.buf.subarray(0, w.pos)
  return truncated(q, a.rcode, a.authoritative)
}

/** Header, question and OPT only, with TC set: "ask me again over TCP". */
export function truncated(q: Query, rcode: number, authoritative: boolean): Buffer {
  const withOpt = q.edns !== undefined
  const w = new Writer(512, q)
  const a: Answer = { rcode, authoritative, answers: [], authority: [] }
  writeHeader(w, q, a, true, q.questionEnd > 12 ? 1 : 0, 0, 0, withOpt ? 1 : 0)
  w.copy(q.packet, 12, q.questionEnd)
  if (withOpt) writeOpt(w, q, rcode)
  return w.buf.subarray(0, w.pos)
}

/** A response with no records (errors, REFUSED, SERVFAIL). */
export const bareResponse = (q: Query, rcode: number): Buffer =>
  encodeResponse(q, { rcode, authoritative: false, answers: [], authority: [] })
