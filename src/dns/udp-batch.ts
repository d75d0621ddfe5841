/**
 * A UDP socket that reads and writes datagrams in batches (recvmmsg/sendmmsg, in the small
 * native addon udp-batch.c, built by `npm install` through node-gyp). Node's dgram costs a
 * Buffer, an rinfo object, a callback and a system call per datagram each way; on one core
 * that alone held the DNS server under dnsmasq's rate (bench/dns: the Node dgram floor).
 *
 * Datagrams arrive in batches of up to BATCH; `onDatagram` is called for each, and what it
 * sends back with `send` during the call goes out in one sendmmsg when the batch is done. A
 * `send` outside a batch (an answer that had to wait, e.g. for an upstream) goes out at once.
 * Addresses are IPv4 numbers (host byte order), as the DNS code compares them.
 */
import { createRequire } from 'node:module'

interface Native {
  open(
    address: string,
    port: number,
    recvBufferBytes: number,
    slotSize: number,
    inBytes: Buffer,
    inMeta: Uint32Array,
    outBytes: Buffer,
    outMeta: Uint32Array,
    onBatch: (count: number) => void,
  ): NativeHandle
  localPort(handle: NativeHandle): number
  send(handle: NativeHandle, count: number): number
  close(handle: NativeHandle): void
}
declare const nativeHandle: unique symbol
type NativeHandle = { [nativeHandle]: true }

/** Datagrams per recvmmsg/sendmmsg. */
export const BATCH = 64
/** An IPv4 UDP payload is at most 65,507 bytes: a slot holds any datagram whole. */
const SLOT = 65536
/** Room for the answers of one batch; one of the largest always fits after a flush. */
const OUT_BYTES = 2 * SLOT

function loadNative(): Native {
  const path = '../../build/Release/udp_batch.node' // from src/dns and from dist/dns alike
  try {
    return createRequire(import.meta.url)(path) as Native
  } catch (e) {
    throw new Error(
      `the native UDP module (${path}) is not built: run \`npm install\` (node-gyp): ${String(e)}`,
    )
  }
}

let native: Native | undefined
/**
 * The input side is shared by every socket: a batch is read and handled synchronously, one at
 * a time, on the main thread, so no two batches are ever in it at once. allocUnsafeSlow: its
 * pages are only made resident where datagrams land (4 MiB of address space, little memory).
 */
let input: { bytes: Buffer; meta: Uint32Array } | undefined

export type OnDatagram = (
  packet: Buffer,
  address: number,
  port: number,
  socket: BatchUdpSocket,
) => void

export class BatchUdpSocket {
  readonly port: number
  private readonly handle: NativeHandle
  private readonly out = Buffer.allocUnsafeSlow(OUT_BYTES)
  private readonly outMeta = new Uint32Array(BATCH * 4)
  private queued = 0
  private outEnd = 0
  private inBatch = false
  private closed = false

  /**
   * Binds `address:port` (port 0: any free one) and starts reading. Throws with the errno's
   * code (e.g. EADDRNOTAVAIL when the address is on no interface yet).
   * `packet` is a view of the shared input buffer, valid only until `onDatagram` returns:
   * copy it to keep it.
   */
  constructor(
    address: string,
    port: number,
    onDatagram: OnDatagram,
    o: { recvBufferBytes?: number } = {},
  ) {
    native ??= loadNative()
    const inp = (input ??= {
      bytes: Buffer.allocUnsafeSlow(BATCH * SLOT),
      meta: new Uint32Array(BATCH * 3),
    })
    const onBatch = (count: number): void => {
      this.inBatch = true
      try {
        for (let i = 0; i < count; i++) {
          const length = inp.meta[3 * i]!
          // 0: longer than a slot (cannot happen for IPv4) or empty: nothing to answer.
          if (length === 0) continue
          const packet = inp.bytes.subarray(i * SLOT, i * SLOT + length)
          onDatagram(packet, inp.meta[3 * i + 1]!, inp.meta[3 * i + 2]!, this)
        }
      } finally {
        this.inBatch = false
        this.flush()
      }
    }
    this.handle = native.open(
      address,
      port,
      o.recvBufferBytes ?? 0,
      SLOT,
      inp.bytes,
      inp.meta,
      this.out,
      this.outMeta,
      onBatch,
    )
    this.port = native.localPort(this.handle)
  }

  /** Sends `packet` to `address:port`: at the end of the current batch, or now outside one. */
  send(packet: Buffer, address: number, port: number): void {
    if (this.closed) return
    if (packet.length > SLOT) throw new RangeError(`datagram too long: ${packet.length} bytes`)
    if (this.queued === BATCH || this.outEnd + packet.length > OUT_BYTES) this.flush()
    const m = this.queued * 4
    this.outMeta[m] = this.outEnd
    this.outMeta[m + 1] = packet.length
    this.outMeta[m + 2] = address
    this.outMeta[m + 3] = port
    packet.copy(this.out, this.outEnd)
    this.outEnd += packet.length
    this.queued++
    if (!this.inBatch) this.flush()
  }

  /** Stops reading and closes the socket; queued datagrams are dropped. Idempotent. */
  close(): void {
    if (this.closed) return
    this.closed = true
    native!.close(this.handle)
  }

  private flush(): void {
    if (this.queued > 0 && !this.closed) native!.send(this.handle, this.queued)
    this.queued = 0
    this.outEnd = 0
  }
}
