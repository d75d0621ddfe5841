/**
 * The forwarder's answer cache: upstream responses kept as bytes for their TTL (positive: the
 * smallest TTL in them; negative: the SOA's, RFC 2308), served with the asker's id and case
 * and with TTLs counted down. Bounded: the oldest entry goes when it is full.
 */
import { skipName, TYPE, type Query } from './wire.js'

/** Never trust an upstream TTL for longer than a day (RFC 8767 suggests as much). */
const MAX_TTL = 86_400
const FLAG_TC = 0x0200
const FLAG_CD = 0x0010

/** Everything that can change an answer: the name, type, class, EDNS and DO, CD. */
export const cacheKey = (q: Query): string =>
  `${q.name}|${q.type}|${q.klass}|${q.edns ? (q.edns.dnssecOk ? 'do' : 'e') : '-'}|${q.flags & FLAG_CD ? 'cd' : ''}`

interface Entry {
  response: Buffer
  storedAt: number
  expiresAt: number
  /** Where each record's TTL sits, to count them down on the way out. */
  ttlOffsets: number[]
}

export class ResponseCache {
  private readonly entries = new Map<string, Entry>()

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size
  }

  get(key: string, q: Query): Buffer | undefined {
    const e = this.entries.get(key)
    if (!e) return undefined
    const now = this.now()
    if (now >= e.expiresAt) {
      this.entries.delete(key)
      return undefined
    }
    return ResponseCache.personalise(
      e.response,
      q,
      Math.floor((now - e.storedAt) / 1000),
      e.ttlOffsets,
    )
  }

  /** Stores a response when it may be cached (NOERROR or NXDOMAIN, not truncated, TTL > 0). */
  put(key: string, response: Buffer): void {
    const facts = cacheable(response)
    if (!facts || this.maxEntries <= 0) return
    this.entries.delete(key)
    if (this.entries.size >= this.maxEntries) {
      const oldest = this.entries.keys().next().value
      if (oldest !== undefined) this.entries.delete(oldest)
    }
    const now = this.now()
    this.entries.set(key, {
      response: Buffer.from(response),
      storedAt: now,
      expiresAt: now + facts.ttl * 1000,
      ttlOffsets: facts.ttlOffsets,
    })
  }

  /** A copy of `response` with the asker's id, question bytes (its case) and aged TTLs. */
  static personalise(
    response: Buffer,
    q: Query,
    ageSeconds: number,
    ttlOffsets: number[] = [],
  ): Buffer {
    const out = Buffer.from(response)
    out.writeUInt16BE(q.id, 0)
    // Same name (case aside) and type, so the question has the same length in both.
    if (q.questionEnd <= out.length) q.packet.copy(out, 12, 12, q.questionEnd)
    if (ageSeconds > 0)
      for (const off of ttlOffsets)
        out.writeUInt32BE(Math.max(0, out.readUInt32BE(off) - ageSeconds), off)
    return out
  }
}

/** How long a response may be cached, and where its TTLs are; undefined when it may not be. */
export function cacheable(r: Buffer): { ttl: number; ttlOffsets: number[] } | undefined {
  if (r.length < 12) return undefined
  const flags = r.readUInt16BE(2)
  const rcode = flags & 0xf
  if (flags & FLAG_TC || (rcode !== 0 && rcode !== 3)) return undefined
  const [qd, an, ns, ar] = [4, 6, 8, 10].map((o) => r.readUInt16BE(o)) as [
    number,
    number,
    number,
    number,
  ]
  let off = 12
  for (let i = 0; i < qd; i++) {
    off = skipName(r, off)
    if (off < 0) return undefined
    off += 4
  }
  let positive = Infinity
  let negative: number | undefined
  const ttlOffsets: number[] = []
  for (let i = 0; i < an + ns + ar; i++) {
    off = skipName(r, off)
    if (off < 0 || off + 10 > r.length) return undefined
    const type = r.readUInt16BE(off)
    const raw = r.readUInt32BE(off + 4)
    const ttl = raw > 0x7fffffff ? 0 : raw // RFC 2181 §8: a set top bit means zero
    const rdEnd = off + 10 + r.readUInt16BE(off + 8)
    if (rdEnd > r.length) return undefined
    if (type !== TYPE.OPT) {
      ttlOffsets.push(off + 4)
      positive = Math.min(positive, ttl)
      if (type === TYPE.SOA && i >= an && i < an + ns && rdEnd - 4 >= off + 10)
        negative = Math.min(ttl, r.readUInt32BE(rdEnd - 4))
    }
    off = rdEnd
  }
  const ttl = rcode === 3 || an === 0 ? negative : positive
  if (ttl === undefined || ttl === Infinity || ttl <= 0) return undefined
  return { ttl: Math.min(ttl, MAX_TTL), ttlOffsets }
}
