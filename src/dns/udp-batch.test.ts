/**
 * The batched UDP socket (native recvmmsg/sendmmsg) on loopback: every datagram of a burst
 * arrives once, whole, with its sender's address and port; answers queued during a batch and
 * answers sent later both go out; bind errors carry the errno's code; close frees the port.
 */
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import { after, describe, test } from 'node:test'
import { formatIpv4, parseIpv4 } from '../core/cidr.js'
import { BATCH, BatchUdpSocket } from './udp-batch.js'

const LOOPBACK = parseIpv4('127.0.0.1')!

/** A dgram client on loopback that collects what comes back. */
async function client(): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const socket = createSocket('udp4')
  const received: Buffer[] = []
  socket.on('message', (m) => received.push(m))
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  return { socket, port: socket.address().port, received }
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

describe('BatchUdpSocket', () => {
  const open: BatchUdpSocket[] = []
  const clients: Socket[] = []
  after(() => {
    for (const s of open) s.close()
    for (const c of clients) c.close()
  })

  test('a burst bigger than a batch: each datagram once, whole, with its sender; echoes all go back', async () => {
    const seen: Array<{ text: string; address: number; port: number }> = []
    const server = new BatchUdpSocket('127.0.0.1', 0, (packet, address, port, socket) => {
      seen.push({ text: packet.toString(), address, port })
      // Answer in reverse byte order, so a reply is not the request sent back by mistake.
      socket.send(Buffer.from(packet).reverse(), address, port)
    })
    open.push(server)
    assert.ok(server.port > 0)
    const c = await client()
    clients.push(c.socket)
    // Sent in one go, so they queue up before the server reads: more than two full batches,
    // and few enough that both sides' default receive buffers (~208 KiB) hold them all.
    const count = BATCH * 2 + 22
    const sent = Array.from({ length: count }, (_, i) => `query ${i} ${'x'.repeat(i % 50)}`)
    for (const text of sent) c.socket.send(text, server.port, '127.0.0.1')
    await until(() => c.received.length === count, `${count} echoes`)
    assert.deepEqual(seen.map((s) => s.text).sort(), [...sent].sort())
    for (const s of seen) assert.deepEqual([s.address, s.port], [LOOPBACK, c.port])
    const echoes = c.received.map((m) => Buffer.from(m).reverse().toString()).sort()
    assert.deepEqual(echoes, [...sent].sort())
  })

  test('the largest IPv4 datagram arrives whole; a reply sent after the batch goes out at once', async () => {
    let first: Buffer | undefined
    let from: { address: number; port: number } | undefined
    const server = new BatchUdpSocket('127.0.0.1', 0, (packet, address, port) => {
      first = Buffer.from(packet) // the view is reused after the callback: copy to keep
      from = { address, port }
    })
    open.push(server)
    const c = await client()
    clients.push(c.socket)
    const big = Buffer.alloc(65507, 7)
    big.write('head')
    c.socket.send(big, server.port, '127.0.0.1')
    await until(() => first !== undefined, 'the big datagram')
    assert.equal(first!.length, 65507)
    assert.ok(first!.equals(big))
    // Outside any batch (here, a timer later): sent by the call itself.
    server.send(Buffer.from('late'), from!.address, from!.port)
    await until(() => c.received.length === 1, 'the late reply')
    assert.equal(c.received[0]!.toString(), 'late')
    assert.throws(() => server.send(Buffer.alloc(65537), from!.address, from!.port), RangeError)
  })

  test('bind errors carry the code; close frees the port and is idempotent', async () => {
    // 192.0.2.1 (TEST-NET-1) is on no interface here.
    assert.throws(
      () => new BatchUdpSocket('192.0.2.1', 0, () => undefined),
      (e: NodeJS.ErrnoException) => e.code === 'EADDRNOTAVAIL',
    )
    assert.throws(() => new BatchUdpSocket('not an address', 0, () => undefined), TypeError)
    const server = new BatchUdpSocket('127.0.0.1', 0, () => undefined)
    assert.throws(
      () => new BatchUdpSocket('127.0.0.1', server.port, () => undefined),
      (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE',
    )
    server.close()
    server.close()
    server.send(Buffer.from('ignored'), LOOPBACK, 9) // a closed socket sends nothing, quietly
    // The fd is closed once libuv lets go of the poll handle (the loop's next close phase).
    let again: BatchUdpSocket | undefined
    await until(() => {
      try {
        again = new BatchUdpSocket('127.0.0.1', server.port, () => undefined)
        return true
      } catch {
        return false
      }
    }, 'the port to be free again')
    open.push(again!)
    assert.equal(again!.port, server.port)
    assert.equal(formatIpv4(LOOPBACK), '127.0.0.1')
  })
})
