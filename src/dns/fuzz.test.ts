/**
 * Property tests over hostile input: random bytes and mutated valid queries never crash the
 * server, never hang it, never grow its memory without bound, and every answer it does give
 * is a well-formed DNS response to the query's id. A seeded generator makes failures
 * reproducible (the seed is in the assertion message).
 */
import assert from 'node:assert/strict'
import { createSocket } from 'node:dgram'
import { Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { after, before, describe, test } from 'node:test'
import * as dnsPacket from 'dns-packet'
import { addresses, ask, query } from '../../test/dns/client.js'
import { waitUntil } from '../../test/helpers/wait.js'
import { MemoryDnsRecords } from './records.js'
import { DnsService } from './service.js'
import { parseIpv4 } from '../core/cidr.js'

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SEEDS = [1, 2, 3]

const valid: Buffer[] = [
  query('1.web.shop.app.localspace', { server: '', port: 0 }),
  query('web.shop.app.localspace', { server: '', port: 0, edns: { udpSize: 4096 } }),
  query('_web._tcp.shop.app.localspace', { server: '', port: 0, type: 'SRV' }),
  query('shop.app.localspace', {
    server: '',
    port: 0,
    type: 'TXT',
    edns: { options: [{ code: 10, data: Buffer.alloc(8) }] },
  }),
  query('shop.internal.test', { server: '', port: 0 }),
  query('nope.app.localspace', { server: '', port: 0, type: 'AAAA' }),
]

function mutate(base: Buffer, r: () => number): Buffer {
  const b = Buffer.from(base)
  const int = (n: number) => Math.floor(r() * n)
  switch (int(6)) {
    case 0: // flip bits
      for (let i = 0, n = 1 + int(4); i < n; i++) b[int(b.length)]! ^= 1 << int(8)
      return b
    case 1: // random byte values
      for (let i = 0, n = 1 + int(4); i < n; i++) b[int(b.length)] = int(256)
      return b
    case 2: // truncate
      return b.subarray(0, int(b.length))
    case 3: // garbage appended
      return Buffer.concat([b, Buffer.from(Array.from({ length: int(40) }, () => int(256)))])
    case 4: // counts rewritten
      b.writeUInt16BE(int(65536), 4 + 2 * int(4))
      return b
    default: // a compression pointer somewhere (loops, forward pointers)
      b.writeUInt16BE(0xc000 | int(b.length + 4), Math.min(int(b.length), b.length - 2))
      return b
  }
}

const gc = (): void => {
  setFlagsFromString('--expose-gc')
  ;(runInNewContext('gc') as () => void)()
}

describe('DNS under hostile input', () => {
  const records = new MemoryDnsRecords()
  let dns: DnsService
  const gateway = '127.30.0.1'
  const local = parseIpv4(gateway)!
  let port = 0

  before(async () => {
    records.setSpace({
      id: 's',
      cidr: '127.30.0.0/16',
      gateway,
      internalRouter: '127.30.0.3',
      domain: 'internal.test',
    })
    records.setApp({
      id: 'shop',
      spaceId: 's',
      name: 'shop',
      internalRouting: true,
      dnsDiscovery: true,
    })
    for (let n = 1; n <= 5; n++)
      records.setDyno({
        id: `d${n}`,
        appId: 'shop',
        processType: 'web',
        number: n,
        privateIp: `127.30.128.${n}`,
        port: 5000,
      })
    records.setSynced(true)
    // No upstream: forwarded names fail at once, so the fuzz measures the server itself.
    dns = await DnsService.start({ records, port: 0, upstreams: [] })
    await dns.addListenAddress(gateway)
    port = dns.portOf(gateway)!
  })
  after(() => dns.close())

  /** Feeds one packet to the handler; checks any answer is a response to the packet's id. */
  async function check(packet: Buffer, seed: number): Promise<void> {
    let out: Buffer | undefined
    try {
      out = await dns.handle(packet, local, parseIpv4('127.30.128.99')!, false)
    } catch (e) {
      assert.fail(`seed ${seed}: threw on ${packet.toString('hex')}: ${String(e)}`)
    }
    if (!out) return
    assert.ok(out.length >= 12 && out.length <= 65535, `seed ${seed}: size ${out.length}`)
    assert.equal(out.readUInt16BE(0), packet.readUInt16BE(0), `seed ${seed}: id`)
    assert.ok(out.readUInt16BE(2) & 0x8000, `seed ${seed}: QR`)
    try {
      dnsPacket.decode(out)
    } catch (e) {
      assert.fail(
        `seed ${seed}: dns-packet cannot read our answer to ${packet.toString('hex')}: ${String(e)}`,
      )
    }
  }

  test('random bytes: no crash, answers well formed, bounded time', async () => {
    for (const seed of SEEDS) {
      const r = rng(seed)
      const start = Date.now()
      for (let i = 0; i < 5000; i++) {
        const packet = Buffer.from(
          Array.from({ length: Math.floor(r() * 300) }, () => Math.floor(r() * 256)),
        )
        // Make some look like queries, so parsing gets past the header.
        if (packet.length >= 4 && r() < 0.5) packet[2] = packet[2]! & 0x07
        await check(packet, seed)
      }
      assert.ok(
        Date.now() - start < 10_000,
        `seed ${seed}: 5000 packets took ${Date.now() - start} ms`,
      )
    }
  })

  test('mutated valid queries: no crash, answers well formed, memory bounded', async () => {
    gc()
    const heapBefore = process.memoryUsage().heapUsed
    for (const seed of SEEDS) {
      const r = rng(seed * 7919)
      for (let i = 0; i < 20_000; i++) await check(mutate(valid[i % valid.length]!, r), seed)
    }
    gc()
    const grown = process.memoryUsage().heapUsed - heapBefore
    assert.ok(grown < 20 * 1024 * 1024, `heap grew ${grown} bytes over 60,000 queries`)
    assert.equal(dns.forwarder.cache.size, 0)
  })

  test('a burst of malformed datagrams does not stop answers to good ones', async () => {
    const bad = createSocket('udp4')
    const good = createSocket('udp4')
    await new Promise<void>((resolve) => bad.bind(0, '127.30.128.50', resolve))
    await new Promise<void>((resolve) => good.bind(0, '127.30.128.51', resolve))
    const goodQuery = query('1.web.shop.app.localspace', { server: '', port: 0, id: 777 })
    let goodAnswers = 0
    good.on('message', (m) => {
      if (addresses(dnsPacket.decode(m)).includes('127.30.128.1')) goodAnswers++
    })
    const r = rng(99)
    // 20,000 mutated packets, one good query among every 100 of them.
    for (let i = 0; i < 20_000; i++) {
      bad.send(mutate(valid[i % valid.length]!, r), port, gateway)
      if (i % 100 === 0) good.send(goodQuery, port, gateway)
      if (i % 1000 === 0) await new Promise((resolve) => setImmediate(resolve))
    }
    // UDP drops what the socket buffer cannot hold; like any resolver, ask again until answered.
    await waitUntil(
      'a good query answered after the burst',
      () => {
        good.send(goodQuery, port, gateway)
        return goodAnswers >= 100
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    )
    await Promise.all(
      [bad, good].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    )
  })

  test('garbage over TCP closes that connection only', async () => {
    const r = rng(5)
    for (let c = 0; c < 20; c++) {
      const s = new Socket()
      await new Promise<void>((resolve) =>
        s.connect({ port, host: gateway, localAddress: '127.30.128.60' }, resolve),
      )
      s.on('error', () => undefined)
      // Many tiny frames (pipeline overflow), then a length that never completes.
      const frames = Array.from({ length: 100 }, () =>
        Buffer.from([0, 3, Math.floor(r() * 256), 0, 0]),
      )
      s.write(Buffer.concat([...frames, Buffer.from([0xff, 0xff, 1, 2, 3])]))
      s.destroy()
    }
    const good = await ask('web.shop.app.localspace', {
      server: gateway,
      port,
      from: '127.30.128.61',
      tcp: true,
    })
    assert.equal(addresses(good.msg).length, 3)
  })
})
