/**
 * The DNS service end to end over real UDP and TCP sockets on loopback: 127.10/16 and 127.20/16
 * stand for two spaces (their gateways 127.10.0.1 and 127.20.0.1), a client binds a source
 * address inside one to stand for a dyno, and dns-packet (not our wire code) reads the answers.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import * as dnsPacket from 'dns-packet'
import {
  addresses,
  ask,
  query,
  rcodeOf,
  sendRaw,
  type AskOptions,
  type Decoded,
} from '../../test/dns/client.js'
import { startFakeUpstream, type FakeUpstream } from '../../test/dns/fake-upstream.js'
import { MemoryDnsRecords, type DnsDyno } from './records.js'
import { DnsService } from './service.js'

const S = {
  id: 'space-s',
  cidr: '127.10.0.0/16',
  dataCidr: '127.11.0.0/16',
  gateway: '127.10.0.1',
  internalRouter: '127.10.0.3',
  domain: 'internal.test',
  // Behind S's VPN connection (127.30/16 stands for the office's network).
  remoteCidrs: ['127.30.0.0/16'],
}
const T = {
  ...S,
  remoteCidrs: [],
  id: 'space-t',
  cidr: '127.20.0.0/16',
  gateway: '127.20.0.1',
  internalRouter: '127.20.0.3',
}
delete (T as { dataCidr?: string }).dataCidr

const web = (n: number): DnsDyno => ({
  id: `shop-web-${n}`,
  appId: 'shop',
  processType: 'web',
  number: n,
  privateIp: `127.10.128.${n}`,
  port: 5000 + n,
})

function fill(records: MemoryDnsRecords): void {
  records.setSpace(S)
  records.setSpace(T)
  records.setApp({
    id: 'shop',
    spaceId: S.id,
    name: 'shop',
    internalRouting: true,
    dnsDiscovery: true,
  })
  records.setApp({
    id: 'legacy',
    spaceId: S.id,
    name: 'legacy',
    internalRouting: false,
    dnsDiscovery: false,
  })
  records.setApp({
    id: 'secret',
    spaceId: T.id,
    name: 'secret',
    internalRouting: true,
    dnsDiscovery: true,
  })
  for (let n = 1; n <= 5; n++) records.setDyno(web(n))
  records.setDyno({
    id: 'w1',
    appId: 'shop',
    processType: 'worker',
    number: 1,
    privateIp: '127.10.144.1',
    port: 6001,
  })
  records.setDyno({
    id: 'l1',
    appId: 'legacy',
    processType: 'web',
    number: 1,
    privateIp: '127.10.128.50',
    port: 5000,
  })
  records.setDyno({
    id: 's1',
    appId: 'secret',
    processType: 'web',
    number: 1,
    privateIp: '127.20.128.1',
    port: 5000,
  })
}

const types = (m: Decoded) => (m.answers ?? []).map((a) => a.type)
const soaOf = (m: Decoded) =>
  (m.authorities ?? []).find((a): a is dnsPacket.SoaAnswer => a.type === 'SOA')

describe('DnsService over loopback', () => {
  const records = new MemoryDnsRecords()
  let dns: DnsService
  let upstream: FakeUpstream
  let inS: AskOptions
  let inT: AskOptions

  before(async () => {
    upstream = await startFakeUpstream('127.0.0.53', {
      'example.test': '192.0.2.1',
      'slow.test': 'silent',
      'big.test': 30,
    })
    fill(records)
    records.setSynced(true)
    dns = await DnsService.start({
      records,
      port: 0,
      upstreams: [{ address: upstream.address, port: upstream.port }],
      upstreamTimeoutMs: 800,
    })
    await dns.setListenAddresses([S.gateway, T.gateway])
    inS = { server: S.gateway, port: dns.portOf(S.gateway)!, from: '127.10.128.200' }
    inT = { server: T.gateway, port: dns.portOf(T.gateway)!, from: '127.20.128.200' }
  })
  after(async () => {
    await dns.close()
    await upstream.close()
  })

  test("a dyno name answers its A record, authoritative, TTL 5, in the asker's case", async () => {
    const { msg } = await ask('1.WeB.Shop.APP.localspace', inS)
    assert.equal(rcodeOf(msg), 'NOERROR')
    assert.equal(msg.flag_aa, true)
    assert.deepEqual(addresses(msg), ['127.10.128.1'])
    assert.equal(msg.questions?.[0]?.name, '1.WeB.Shop.APP.localspace')
    assert.equal(msg.answers?.[0]?.name, '1.WeB.Shop.APP.localspace')
    assert.equal((msg.answers?.[0] as { ttl: number }).ttl, 5)
  })

  test('a process-type name answers up to 3 random distinct dynos; over 100 queries all appear', async () => {
    const seen = new Set<string>()
    for (let i = 0; i < 100; i++) {
      const got = addresses((await ask('web.shop.app.localspace', inS)).msg)
      assert.equal(got.length, 3)
      assert.equal(new Set(got).size, 3, `duplicates in ${got.join(',')}`)
      for (const ip of got) assert.match(ip, /^127\.10\.128\.[1-5]$/)
      got.forEach((ip) => seen.add(ip))
    }
    assert.equal(seen.size, 5)
    assert.deepEqual(addresses((await ask('worker.shop.app.localspace', inS)).msg), [
      '127.10.144.1',
    ])
  })

  test('SRV lists every dyno of the type with its $PORT; TXT lists the process types', async () => {
    const srv = (await ask('_web._tcp.shop.app.localspace', { ...inS, type: 'SRV' })).msg
    const got = (srv.answers ?? []).map((a) => (a as dnsPacket.SrvAnswer).data)
    assert.deepEqual(
      got.map((d) => `${d.target}:${d.port}`),
      [1, 2, 3, 4, 5].map((n) => `${n}.web.shop.app.localspace:${5000 + n}`),
    )
    const txt = (await ask('shop.app.localspace', { ...inS, type: 'TXT' })).msg
    const data = (txt.answers?.[0] as dnsPacket.TxtAnswer).data as Buffer[]
    assert.deepEqual(data.map(String), ['web', 'worker'])
  })

  test('a missing name under app.localspace is NXDOMAIN with the zone SOA', async () => {
    const { msg } = await ask('9.web.shop.app.localspace', inS)
    assert.equal(rcodeOf(msg), 'NXDOMAIN')
    const soa = soaOf(msg)
    assert.equal(soa?.name, 'app.localspace')
    assert.equal(soa?.data.minimum, 5)
    assert.equal(msg.flag_aa, true)
  })

  test('other types of an existing name are NODATA (NOERROR, no answer, SOA)', async () => {
    for (const [name, type] of [
      ['1.web.shop.app.localspace', 'AAAA'],
      ['shop.app.localspace', 'A'],
      ['_tcp.shop.app.localspace', 'SRV'],
      ['web.shop.app.localspace', 'MX'],
    ] as const) {
      const { msg } = await ask(name, { ...inS, type })
      assert.equal(rcodeOf(msg), 'NOERROR', `${name} ${type}`)
      assert.deepEqual(types(msg), [])
      assert.ok(soaOf(msg), `${name} ${type} has a SOA`)
    }
    const apex = (await ask('app.localspace', { ...inS, type: 'SOA' })).msg
    assert.deepEqual(types(apex), ['SOA'])
  })

  test('ANY on a process-type SRV name answers its SRV records', async () => {
    const { msg } = await ask('_worker._tcp.shop.app.localspace', {
      ...inS,
      type: 'ANY' as dnsPacket.RecordType,
    })
    assert.deepEqual(types(msg), ['SRV'])
  })

  test('an internal-routing app resolves to the space internal router, inside its space only', async () => {
    assert.deepEqual(addresses((await ask('shop.internal.test', inS)).msg), ['127.10.0.3'])
    assert.deepEqual(addresses((await ask('secret.internal.test', inT)).msg), ['127.20.0.3'])
    // From S, T's internal app is not ours: it goes upstream, which does not know it.
    const fromS = (await ask('secret.internal.test', inS)).msg
    assert.deepEqual(addresses(fromS), [])
    assert.equal(rcodeOf(fromS), 'NXDOMAIN')
  })

  test('an app without spaces-dns-discovery has no names', async () => {
    assert.equal(rcodeOf((await ask('1.web.legacy.app.localspace', inS)).msg), 'NXDOMAIN')
    assert.equal(
      rcodeOf((await ask('legacy.app.localspace', { ...inS, type: 'TXT' })).msg),
      'NXDOMAIN',
    )
  })

  test('a space sees only its own names; outsiders and the wrong gateway are REFUSED', async () => {
    const fromS = (await ask('1.web.secret.app.localspace', inS)).msg
    assert.equal(rcodeOf(fromS), 'NXDOMAIN')
    assert.doesNotMatch(JSON.stringify(fromS), /127\.20\./)
    assert.deepEqual(addresses((await ask('1.web.secret.app.localspace', inT)).msg), [
      '127.20.128.1',
    ])
    // S's dyno asking on T's gateway, and an address in no space at all.
    const wrongGateway = (
      await ask('1.web.secret.app.localspace', { ...inT, from: '127.10.128.200' })
    ).msg
    assert.equal(rcodeOf(wrongGateway), 'REFUSED')
    assert.deepEqual(addresses(wrongGateway), [])
    assert.equal(
      rcodeOf((await ask('1.web.shop.app.localspace', { ...inS, from: '127.99.0.5' })).msg),
      'REFUSED',
    )
    // The data CIDR belongs to the space.
    assert.deepEqual(
      addresses((await ask('1.web.shop.app.localspace', { ...inS, from: '127.11.0.10' })).msg),
      ['127.10.128.1'],
    )
  })

  test("the VPN side resolves the space's internal-routing apps, and nothing else", async () => {
    const fromOffice = { ...inS, from: '127.30.0.10' }
    assert.deepEqual(addresses((await ask('shop.internal.test', fromOffice)).msg), ['127.10.0.3'])
    // No dyno names, no other space's apps, no forwarding upstream.
    for (const name of ['1.web.shop.app.localspace', 'secret.internal.test', 'example.test']) {
      const msg = (await ask(name, fromOffice)).msg
      assert.equal(rcodeOf(msg), 'REFUSED', name)
      assert.deepEqual(addresses(msg), [], name)
    }
    // The same office on T's gateway: T has no VPN.
    assert.equal(
      rcodeOf((await ask('secret.internal.test', { ...inT, from: '127.30.0.10' })).msg),
      'REFUSED',
    )
  })

  test('names follow dynos starting and stopping within 100 ms', async () => {
    const start = Date.now()
    records.setDyno(web(7))
    assert.deepEqual(addresses((await ask('7.web.shop.app.localspace', inS)).msg), ['127.10.128.7'])
    records.removeDyno(web(7).id)
    assert.equal(rcodeOf((await ask('7.web.shop.app.localspace', inS)).msg), 'NXDOMAIN')
    assert.ok(Date.now() - start < 100, `took ${Date.now() - start} ms`)
  })

  test('EDNS: OPT echoed, unknown options ignored, version 1 gets BADVERS', async () => {
    const opts = {
      ...inS,
      edns: { udpSize: 4096, options: [{ code: 65001, data: Buffer.from('hi') }] },
    }
    const { msg } = await ask('1.web.shop.app.localspace', opts)
    const opt = (msg.additionals ?? []).find((a) => a.type === 'OPT') as any
    assert.equal(opt?.udpPayloadSize, 1232)
    assert.deepEqual(addresses(msg), ['127.10.128.1'])
    const bad = (await ask('1.web.shop.app.localspace', { ...inS, edns: { version: 1 } })).msg
    const badOpt = (bad.additionals ?? []).find((a) => a.type === 'OPT') as any
    assert.equal(badOpt?.extendedRcode, 1) // 16 = BADVERS: upper bits 1, header bits 0
    assert.equal(rcodeOf(bad), 'NOERROR')
    assert.deepEqual(addresses(bad), [])
  })

  test('a UDP answer bigger than the client buffer is truncated (TC); TCP gives all of it', async () => {
    for (let n = 10; n < 50; n++) records.setDyno(web(n))
    try {
      const name = '_web._tcp.shop.app.localspace'
      const udp = (await ask(name, { ...inS, type: 'SRV' })).msg
      assert.equal(udp.flag_tc, true)
      assert.deepEqual(udp.answers, [])
      const bigBuffer = await ask(name, { ...inS, type: 'SRV', edns: { udpSize: 4096 } })
      assert.equal(bigBuffer.msg.flag_tc, false)
      assert.ok(bigBuffer.raw.length > 512 && bigBuffer.raw.length <= 4096)
      const tcp = (await ask(name, { ...inS, type: 'SRV', tcp: true })).msg
      assert.equal(tcp.flag_tc, false)
      assert.equal(tcp.answers?.length, 45)
    } finally {
      for (let n = 10; n < 50; n++) records.removeDyno(web(n).id)
    }
  })

  test('FORMERR for two questions, NOTIMP for other opcodes, silence for responses', async () => {
    const two = dnsPacket.encode({
      type: 'query',
      id: 7,
      questions: [
        { name: 'a.test', type: 'A' },
        { name: 'b.test', type: 'A' },
      ],
    })
    assert.equal(rcodeOf(dnsPacket.decode((await sendRaw(two, inS))!)), 'FORMERR')
    const notify = query('shop.app.localspace', { ...inS, id: 9 })
    notify.writeUInt16BE((4 << 11) | 0x0100, 2) // opcode NOTIFY
    const r = dnsPacket.decode((await sendRaw(notify, inS))!)
    assert.equal(rcodeOf(r), 'NOTIMP')
    assert.equal(r.id, 9)
    const response = query('shop.app.localspace', inS)
    response.writeUInt16BE(0x8000, 2)
    assert.equal(await sendRaw(response, { ...inS, timeoutMs: 300 }), undefined)
  })

  test("other names are forwarded upstream and cached, in the asker's case", async () => {
    const first = (await ask('Example.TEST', inS)).msg
    assert.deepEqual(addresses(first), ['192.0.2.1'])
    const second = (await ask('EXAMPLE.test', inS)).msg
    assert.deepEqual(addresses(second), ['192.0.2.1'])
    assert.equal(second.questions?.[0]?.name, 'EXAMPLE.test')
    assert.equal(upstream.asked.filter((a) => a.startsWith('Example.TEST/A')).length, 1)
    assert.equal(upstream.asked.filter((a) => /^example\.test/i.test(a)).length, 1)
    assert.equal(rcodeOf((await ask('nowhere.test', inS)).msg), 'NXDOMAIN')
  })

  test('an upstream timeout is SERVFAIL within 2 s', async () => {
    const start = Date.now()
    const { msg } = await ask('slow.test', inS)
    assert.equal(rcodeOf(msg), 'SERVFAIL')
    assert.ok(Date.now() - start < 2000)
  })

  test('a truncated upstream answer asked over TCP is fetched again over TCP', async () => {
    const udp = (await ask('big.test', { ...inS, type: 'TXT' })).msg
    assert.equal(udp.flag_tc, true)
    const tcp = (await ask('big.test', { ...inS, type: 'TXT', tcp: true })).msg
    assert.equal(tcp.answers?.length, 30)
    assert.ok(upstream.asked.includes('big.test/TXT/tcp'))
  })

  test('listen addresses come and go at runtime', async () => {
    await dns.removeListenAddress(T.gateway)
    assert.deepEqual(dns.listenAddresses, [S.gateway])
    assert.equal(
      await sendRaw(query('secret.internal.test', inT), { ...inT, timeoutMs: 300 }),
      undefined,
    )
    await dns.addListenAddress(T.gateway)
    inT.port = dns.portOf(T.gateway)!
    assert.deepEqual(addresses((await ask('secret.internal.test', inT)).msg), ['127.20.0.3'])
  })
})

describe('DnsService before the record source is synced', () => {
  test('unknown names are SERVFAIL, never NXDOMAIN, until synced; known ones answer', async () => {
    const records = new MemoryDnsRecords()
    records.setSpace(S)
    records.setApp({
      id: 'shop',
      spaceId: S.id,
      name: 'shop',
      internalRouting: false,
      dnsDiscovery: true,
    })
    records.setDyno(web(1))
    const dns = await DnsService.start({ records, port: 0, upstreams: [], pickCount: 0 })
    try {
      await dns.addListenAddress(S.gateway)
      const o = { server: S.gateway, port: dns.portOf(S.gateway)!, from: '127.10.128.9' }
      assert.deepEqual(addresses((await ask('1.web.shop.app.localspace', o)).msg), ['127.10.128.1'])
      assert.equal(rcodeOf((await ask('2.web.shop.app.localspace', o)).msg), 'SERVFAIL')
      assert.equal(rcodeOf((await ask('other.internal.test', o)).msg), 'SERVFAIL')
      records.setDyno(web(2))
      assert.deepEqual(addresses((await ask('2.web.shop.app.localspace', o)).msg), ['127.10.128.2'])
      records.setSynced(true)
      assert.equal(rcodeOf((await ask('3.web.shop.app.localspace', o)).msg), 'NXDOMAIN')
      // pickCount 0: a process-type name answers every dyno.
      assert.deepEqual(addresses((await ask('web.shop.app.localspace', o)).msg).sort(), [
        '127.10.128.1',
        '127.10.128.2',
      ])
      // No upstream at all: forwarded names are SERVFAIL at once.
      const start = Date.now()
      assert.equal(rcodeOf((await ask('example.test', o)).msg), 'SERVFAIL')
      assert.ok(Date.now() - start < 500)
    } finally {
      await dns.close()
    }
  })
})
