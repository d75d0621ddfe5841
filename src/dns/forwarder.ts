/**
 * Everything that is not ours goes to the host's resolvers: the dyno's query is relayed as
 * sent (new id), the answer relayed back and cached for its TTL. Each exchange uses a fresh
 * UDP socket — a random source port per query, on top of the random id, against spoofed
 * answers (RFC 5452) — and falls back to TCP when the answer is truncated and the client
 * itself asked over TCP.
 */
import { createSocket } from 'node:dgram'
import { isIPv6, Socket as TcpSocket } from 'node:net'
import { randomInt } from 'node:crypto'
import { ResponseCache, cacheKey } from './cache.js'
import type { Query } from './wire.js'

export interface Upstream {
  address: string
  port: number
}

export interface ForwarderOptions {
  upstreams: readonly Upstream[]
  /** Give up (the client gets SERVFAIL) after this long: under the 2 s a client waits. */
  timeoutMs?: number
  /** How long one upstream gets before the next one is asked. */
  attemptMs?: number
  cacheEntries?: number
  /** Exchanges at once; beyond it queries fail fast instead of piling up sockets. */
  maxInFlight?: number
  now?: () => number
}

const FLAG_TC = 0x0200

export class Forwarder {
  readonly cache: ResponseCache
  private readonly upstreams: readonly Upstream[]
  private readonly timeoutMs: number
  private readonly attemptMs: number
  private readonly maxInFlight: number
  private readonly now: () => number
  private inFlight = 0
  /** Identical questions asked while one is out share its answer. */
  private readonly pending = new Map<string, Promise<Buffer | undefined>>()

  constructor(o: ForwarderOptions) {
    this.upstreams = o.upstreams
    this.timeoutMs = o.timeoutMs ?? 1500
    this.attemptMs = o.attemptMs ?? 700
    this.maxInFlight = o.maxInFlight ?? 1024
    this.now = o.now ?? Date.now
    this.cache = new ResponseCache(o.cacheEntries ?? 10_000, this.now)
  }

  /** The upstream's answer for `q`, ready to send (its id and case); undefined = SERVFAIL. */
  async forward(q: Query, overTcp: boolean): Promise<Buffer | undefined> {
    const key = cacheKey(q)
    const hit = this.cache.get(key, q)
    if (hit) return hit
    const pendingKey = `${key}|${overTcp ? 't' : 'u'}`
    let answer = this.pending.get(pendingKey)
    if (!answer) {
      answer = this.exchange(q.packet, overTcp)
      this.pending.set(pendingKey, answer)
      void answer.finally(() => this.pending.delete(pendingKey))
    }
    const response = await answer
    if (!response) return undefined
    this.cache.put(key, response)
    return ResponseCache.personalise(response, q, 0)
  }

  private async exchange(query: Buffer, overTcp: boolean): Promise<Buffer | undefined> {
    if (this.upstreams.length === 0 || this.inFlight >= this.maxInFlight) return undefined
    this.inFlight++
    try {
      const deadline = this.now() + this.timeoutMs
      for (let attempt = 0; this.now() < deadline; attempt++) {
        const upstream = this.upstreams[attempt % this.upstreams.length]!
        const wait = Math.min(this.attemptMs, deadline - this.now())
        let response = await udpExchange(upstream, query, wait)
        if (response && overTcp && response.readUInt16BE(2) & FLAG_TC)
          response = await tcpExchange(upstream, query, Math.max(deadline - this.now(), 1))
        if (response) return response
      }
      return undefined
    } finally {
      this.inFlight--
    }
  }
}

/** A copy of `query` with a fresh random id. */
function withNewId(query: Buffer): { packet: Buffer; id: number } {
  const packet = Buffer.from(query)
  const id = randomInt(0, 65536)
  packet.writeUInt16BE(id, 0)
  return { packet, id }
}

/** Whether `response` answers `packet`: a response, same id, same question (any case). */
function answers(response: Buffer, packet: Buffer): boolean {
  if (response.length < 12 || !(response.readUInt16BE(2) & 0x8000)) return false
  if (response.readUInt16BE(0) !== packet.readUInt16BE(0)) return false
  const end = questionEnd(packet)
  if (response.length < end) return false
  // Some resolvers echo the question in another case; ASCII letters may differ in case only.
  for (let i = 12; i < end; i++) {
    const a = packet[i]!
    const b = response[i]!
    if (a !== b && !(isLetter(a) && (a | 0x20) === (b | 0x20))) return false
  }
  return true
}

const isLetter = (c: number): boolean => (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a

/** End of the question of a query parseQuery accepted (plain labels, then type and class). */
function questionEnd(packet: Buffer): number {
  let off = 12
  while (off < packet.length && packet[off] !== 0) off += packet[off]! + 1
  return off + 5
}

function udpExchange(u: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  const { packet } = withNewId(query)
  return new Promise((resolve) => {
    const socket = createSocket(isIPv6(u.address) ? 'udp6' : 'udp4')
    const done = (r: Buffer | undefined) => {
      clearTimeout(timer)
      socket.close()
      resolve(r)
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    socket.on('error', () => done(undefined))
    socket.on('message', (msg) => {
      if (answers(msg, packet)) done(msg)
    })
    // connect() makes the kernel drop datagrams from anyone but the upstream.
    socket.connect(u.port, u.address, () => socket.send(packet))
  })
}

function tcpExchange(u: Upstream, query: Buffer, timeoutMs: number): Promise<Buffer | undefined> {
  const { packet } = withNewId(query)
  return new Promise((resolve) => {
    const socket = new TcpSocket()
    let got = Buffer.alloc(0)
    const done = (r: Buffer | undefined) => {
      clearTimeout(timer)
      socket.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    socket.on('error', () => done(undefined))
    socket.on('close', () => done(undefined))
    socket.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) {
        const msg = got.subarray(2, 2 + got.readUInt16BE(0))
        done(answers(msg, packet) ? msg : undefined)
      }
    })
    socket.connect(u.port, u.address, () => {
      const len = Buffer.alloc(2)
      len.writeUInt16BE(packet.length)
      socket.write(Buffer.concat([len, packet]))
    })
  })
}
