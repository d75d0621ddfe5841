/**
 * The DNS server of every space: one UDP and one TCP socket on each space's gateway address
 * (C.0.1:53, the nameserver in every dyno's resolv.conf). The address a query arrives on names
 * the space; the query's source must be inside that space's CIDR or data CIDR, or it is
 * REFUSED — so a space never learns another space's names.
 */
import { createServer, type Server, type Socket as TcpSocket } from 'node:net'
import { parseIpv4 } from '../core/cidr.js'
import { decide, type AnswerOptions } from './answer.js'
import { Forwarder, type Upstream } from './forwarder.js'
import type { DnsRecords } from './records.js'
import { readResolvConf } from './resolv-conf.js'
import {
  bareResponse,
  encodeResponse,
  MAX_MESSAGE,
  parseQuery,
  RCODE,
  truncated,
  udpLimit,
} from './wire.js'
import { BatchUdpSocket } from './udp-batch.js'
import { isInside, isRemote, RecordIndex } from './zone.js'

export interface DnsServiceOptions {
  records: DnsRecords
  /** 53 in production; tests use a free high port. 0 picks one per address (see `portOf`). */
  port?: number
  /** Positive TTL and SOA minimum, seconds (default 5). */
  ttl?: number
  /** A records per process-type answer, picked at random (default 3; 0 = all). */
  pickCount?: number
  /** Upstream resolvers; default: the nameservers of `resolvConf`. */
  upstreams?: readonly Upstream[]
  resolvConf?: string
  /** A forwarded query that gets no answer in this long is SERVFAIL (default 1500 ms). */
  upstreamTimeoutMs?: number
  cacheEntries?: number
  /** A TCP connection idle this long is closed (default 10 s; RFC 7766 §6.2.3). */
  tcpIdleMs?: number
  /** Open TCP connections per address; beyond it new ones are refused (default 256). */
  maxTcpConnections?: number
  /** Socket errors after start; a DNS server keeps serving through them. */
  onError?: (error: Error) => void
}

interface Listener {
  udp: BatchUdpSocket
  tcp: Server
  port: number
  connections: Set<TcpSocket>
}

/** Room for a burst: the kernel caps this at net.core.rmem_max without complaint. */
const UDP_RECV_BUFFER = 4 << 20

/** Requests in flight on one TCP connection before it is dropped (pipelining, RFC 7766 §6.2.1.1). */
const MAX_TCP_PIPELINE = 64

export class DnsService {
  readonly index = new RecordIndex()
  readonly forwarder: Forwarder
  private readonly listeners = new Map<string, Listener>()
  private readonly answerOptions: AnswerOptions
  private readonly port: number
  private readonly tcpIdleMs: number
  private readonly maxTcpConnections: number
  private readonly onError: (error: Error) => void

  private constructor(o: DnsServiceOptions, upstreams: readonly Upstream[]) {
    this.answerOptions = { ttl: o.ttl ?? 5, pickCount: o.pickCount ?? 3 }
    this.port = o.port ?? 53
    this.tcpIdleMs = o.tcpIdleMs ?? 10_000
    this.maxTcpConnections = o.maxTcpConnections ?? 256
    this.onError = o.onError ?? (() => undefined)
    this.forwarder = new Forwarder({
      upstreams,
      ...(o.upstreamTimeoutMs === undefined ? {} : { timeoutMs: o.upstreamTimeoutMs }),
      ...(o.cacheEntries === undefined ? {} : { cacheEntries: o.cacheEntries }),
    })
    this.index.follow(o.records)
  }

  /** Follows the record source; listens nowhere until `addListenAddress`. */
  static async start(o: DnsServiceOptions): Promise<DnsService> {
    const upstreams = o.upstreams ?? (await readResolvConf(o.resolvConf))
    return new DnsService(o, upstreams)
  }

  get listenAddresses(): string[] {
    return [...this.listeners.keys()]
  }

  /** The port an address listens on (differs from the option only when it is 0). */
  portOf(address: string): number | undefined {
    return this.listeners.get(address)?.port
  }

  /**
   * Starts answering on `address` (a space gateway, UDP and TCP). The address must already be
   * on an interface (the space bridge): the kernel refuses to bind it otherwise, and this
   * rejects; the caller retries once the network agent has made the bridge.
   */
  async addListenAddress(address: string): Promise<void> {
    if (this.listeners.has(address)) return
    const local = parseIpv4(address)
    if (local === undefined) throw new Error(`not an IPv4 address: ${address}`)
    // Binding throws at once (e.g. EADDRNOTAVAIL before the bridge has the address).
    const udp = new BatchUdpSocket(
      address,
      this.port,
      (packet, from, port, socket) => this.onDatagram(socket, local, packet, from, port),
      { recvBufferBytes: UDP_RECV_BUFFER },
    )
    const tcp = createServer()
    const connections = new Set<TcpSocket>()
    try {
      await new Promise<void>((resolve, reject) => {
        tcp.once('error', reject)
        tcp.listen({ port: udp.port, host: address, backlog: 128 }, () => {
          tcp.off('error', reject)
          resolve()
        })
      })
      tcp.on('error', (e) => this.onError(e))
      tcp.maxConnections = this.maxTcpConnections
      tcp.on('connection', (socket) => this.onConnection(socket, local, connections))
      this.listeners.set(address, { udp, tcp, port: udp.port, connections })
    } catch (e) {
      udp.close()
      tcp.close()
      throw e
    }
  }

  /** Stops answering on `address` (its space was deleted); open TCP connections are closed. */
  async removeListenAddress(address: string): Promise<void> {
    const l = this.listeners.get(address)
    if (!l) return
    this.listeners.delete(address)
    for (const c of l.connections) c.destroy()
    l.udp.close()
    await new Promise<void>((resolve) => l.tcp.close(() => resolve()))
  }

  /** Listens on exactly these addresses; returns the ones that could not be bound. */
  async setListenAddresses(
    addresses: readonly string[],
  ): Promise<Array<{ address: string; error: unknown }>> {
    const wanted = new Set(addresses)
    await Promise.all(
      this.listenAddresses.filter((a) => !wanted.has(a)).map((a) => this.removeListenAddress(a)),
    )
    const failed: Array<{ address: string; error: unknown }> = []
    await Promise.all(
      [...wanted].map((a) =>
        this.addListenAddress(a).catch((error) => failed.push({ address: a, error })),
      ),
    )
    return failed
  }

  async close(): Promise<void> {
    this.index.stop()
    await Promise.all(this.listenAddresses.map((a) => this.removeListenAddress(a)))
  }

  /**
   * The answer to one message that arrived on `local` (the gateway, as a number) from
   * `source` (an IPv4 address as a number); undefined when it gets none. Synchronous for
   * everything but forwarding, so a flood of queries costs no promise each. `packet` may be
   * reused once this returns (UDP batches share one buffer): what waits copies it.
   */
  handle(
    packet: Buffer,
    local: number,
    source: number,
    overTcp: boolean,
  ): Buffer | undefined | Promise<Buffer | undefined> {
    const parsed = parseQuery(packet)
    if (!parsed) return undefined
    if (parsed.rcode !== RCODE.NOERROR) return bareResponse(parsed, parsed.rcode)
    const table = this.index.tableForGateway(local)
    const inside = table !== undefined && isInside(table, source)
    // The VPN side may ask too, for the internal-routing apps' names only (answer.ts).
    if (!table || (!inside && !isRemote(table, source))) return bareResponse(parsed, RCODE.REFUSED)
    const limit = overTcp ? MAX_MESSAGE : udpLimit(parsed)
    const decision = decide(parsed, table, this.index.synced, this.answerOptions, !inside)
    if (decision !== 'forward') return encodeResponse(parsed, decision, limit)
    const q = { ...parsed, packet: Buffer.from(packet) }
    return this.forwarder.forward(q, overTcp).then((r) => {
      if (!r) return bareResponse(q, RCODE.SERVFAIL)
      return r.length <= limit ? r : truncated(q, r.readUInt16BE(2) & 0xf, false)
    })
  }

  private onDatagram(
    udp: BatchUdpSocket,
    local: number,
    msg: Buffer,
    address: number,
    port: number,
  ): void {
    try {
      const r = this.handle(msg, local, address, false)
      if (r instanceof Promise)
        r.then(
          (late) => late && udp.send(late, address, port),
          (e: Error) => this.onError(e),
        )
      else if (r) udp.send(r, address, port)
    } catch (e) {
      // One bad packet must not stop the next: report and carry on.
      this.onError(e as Error)
    }
  }

  /** DNS over TCP: 2-byte length, message; pipelined, answered in any order (RFC 7766). */
  private onConnection(socket: TcpSocket, local: number, connections: Set<TcpSocket>): void {
    // An IPv4 listener's peers are IPv4; anything else could not be inside a space anyway.
    const source = parseIpv4(socket.remoteAddress ?? '')
    if (source === undefined) return void socket.destroy()
    connections.add(socket)
    let pending: Buffer = Buffer.alloc(0)
    let inFlight = 0
    socket.setNoDelay(true)
    socket.setTimeout(this.tcpIdleMs, () => socket.destroy())
    socket.on('error', () => socket.destroy())
    socket.on('close', () => connections.delete(socket))
    const reply = (r: Buffer | undefined) => {
      inFlight--
      if (!r || socket.destroyed) return
      const framed = Buffer.allocUnsafe(r.length + 2)
      framed.writeUInt16BE(r.length, 0)
      r.copy(framed, 2)
      socket.write(framed)
    }
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
      while (pending.length >= 2) {
        const length = pending.readUInt16BE(0)
        if (pending.length < 2 + length) break
        const msg = pending.subarray(2, 2 + length)
        pending = pending.subarray(2 + length)
        if (++inFlight > MAX_TCP_PIPELINE) return void socket.destroy()
        try {
          const r = this.handle(msg, local, source, true)
          if (r instanceof Promise)
            r.then(reply, (e: Error) => {
              inFlight--
              this.onError(e)
            })
          else reply(r)
        } catch (e) {
          inFlight--
          this.onError(e as Error)
        }
      }
    })
  }
}
