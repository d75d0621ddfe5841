/**
 * The hand-written wire code against dns-packet, the reference: queries dns-packet writes
 * parse to the same question and EDNS, and every answer shape we write decodes in dns-packet
 * to the records we meant. Plus the malformed queries the RFCs say to refuse.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import * as dnsPacket from 'dns-packet'
import {
  encodeResponse,
  parseQuery,
  RCODE,
  TYPE,
  udpLimit,
  type Answer,
  type Query,
} from './wire.js'

const encodeQuery = (
  name: string,
  type: dnsPacket.RecordType = 'A',
  additionals: dnsPacket.Answer[] = [],
): Buffer =>
  dnsPacket.encode({
    type: 'query',
    id: 4242,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals,
  })

const opt = (udpPayloadSize: number, extra: Record<string, unknown> = {}): dnsPacket.Answer =>
  ({
    type: 'OPT',
    name: '.',
    udpPayloadSize,
    flags: 0,
    options: [],
    ...extra,
  }) as unknown as dnsPacket.Answer

const mustParse = (buf: Buffer): Query => {
  const q = parseQuery(buf)
  assert.ok(q, 'parsed')
  return q
}

describe('parseQuery', () => {
  test('reads what dns-packet writes: id, lowercase name, type, class, question end', () => {
    const buf = encodeQuery('1.WEB.MyApp.App.LocalSpace', 'SRV')
    const q = mustParse(buf)
    assert.equal(q.id, 4242)
    assert.equal(q.name, '1.web.myapp.app.localspace')
    assert.equal(q.type, TYPE.SRV)
    assert.equal(q.klass, 1)
    assert.equal(q.questionEnd, buf.length)
    assert.equal(q.rcode, RCODE.NOERROR)
    assert.deepEqual(
      q.labelOffsets.map((o) => buf.toString('latin1', o + 1, o + 1 + buf[o]!)),
      ['1', 'WEB', 'MyApp', 'App', 'LocalSpace'],
    )
    assert.equal(udpLimit(q), 512)
  })

  test('reads EDNS: size, version, DO; unknown options are fine', () => {
    const q = mustParse(
      encodeQuery('a.test', 'A', [
        opt(4096, {
          flags: dnsPacket.DNSSEC_OK,
          options: [{ code: 65001, data: Buffer.from('x') }],
        }),
      ]),
    )
    assert.deepEqual(q.edns, { udpSize: 4096, version: 0, dnssecOk: true })
    assert.equal(udpLimit(q), 4096)
    // A buffer below 512 counts as 512.
    assert.equal(udpLimit(mustParse(encodeQuery('a.test', 'A', [opt(100)]))), 512)
    assert.equal(
      mustParse(encodeQuery('a.test', 'A', [opt(1232, { ednsVersion: 1 })])).rcode,
      RCODE.BADVERS,
    )
  })

  test('escapes a dot inside a label so it cannot pass for two labels', () => {
    // One label "x.app" then "localspace": must not look like x.app.localspace.
    const buf = Buffer.from([
      0,
      1,
      0,
      0,
      0,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      5,
      ...Buffer.from('x.app'),
      10,
      ...Buffer.from('localspace'),
      0,
      0,
      1,
      0,
      1,
    ])
    assert.equal(mustParse(buf).name, 'x\\.app.localspace')
  })

  test('lowercases ASCII only; bytes outside it become \\DDD (RFC 4343)', () => {
    const header = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0]
    const name = [4, 0x41, 0xc0, 0x20, 0x62, 3, ...Buffer.from('WEB'), 0]
    const buf = Buffer.from([...header, ...name, 0, 1, 0, 1])
    assert.equal(mustParse(buf).name, 'a\\192\\032b.web')
    // The fast path (every label plain) gives the same key as dns-packet's name, lowercased.
    const plain = mustParse(encodeQuery('1.WEB.MyApp.App.LocalSpace', 'A'))
    assert.equal(plain.name, '1.web.myapp.app.localspace')
  })

  test('drops what gets no answer: short packets and responses', () => {
    assert.equal(parseQuery(Buffer.alloc(11)), undefined)
    const response = encodeQuery('a.test')
    response.writeUInt16BE(0x8000, 2)
    assert.equal(parseQuery(response), undefined)
  })

  test('FORMERR for malformed queries, NOTIMP for other opcodes', () => {
    const good = encodeQuery('abc.test', 'A', [opt(1232)])
    const cases: Array<[string, Buffer, number]> = [
      ['truncated question', good.subarray(0, 20), RCODE.FORMERR],
      ['no question', Buffer.from([0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), RCODE.FORMERR],
      [
        'pointer in the question',
        Buffer.from([0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1]),
        RCODE.FORMERR,
      ],
      ['two OPT records', encodeQuery('a.test', 'A', [opt(1232), opt(1232)]), RCODE.FORMERR],
      [
        'OPT not owned by the root',
        (() => {
          const b = encodeQuery('a.test')
          b.writeUInt16BE(1, 10)
          return Buffer.concat([b, Buffer.from([1, 0x78, 0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0])])
        })(),
        RCODE.FORMERR,
      ],
      [
        'additional count beyond the packet',
        (() => {
          const b = Buffer.from(good)
          b.writeUInt16BE(2, 10)
          return b
        })(),
        RCODE.FORMERR,
      ],
      ['name longer than 255', encodeQuery(Array(5).fill('a'.repeat(60)).join('.')), RCODE.FORMERR],
      [
        'opcode 2 (STATUS)',
        (() => {
          const b = Buffer.from(good)
          b.writeUInt16BE((2 << 11) | 0x100, 2)
          return b
        })(),
        RCODE.NOTIMP,
      ],
    ]
    for (const [what, buf, rcode] of cases) assert.equal(parseQuery(buf)?.rcode, rcode, what)
  })
})

describe('encodeResponse', () => {
  const buf = encodeQuery('_Web._tcp.Shop.app.localspace', 'SRV', [
    opt(1232, { flags: dnsPacket.DNSSEC_OK }),
  ])
  const q = mustParse(buf)
  const soa = {
    mname: 'ns.app.localspace',
    rname: 'hostmaster.app.localspace',
    serial: 7,
    refresh: 3600,
    retry: 600,
    expire: 86400,
    minimum: 5,
  }
  const full: Answer = {
    rcode: RCODE.NOERROR,
    authoritative: true,
    answers: [
      {
        owner: 12,
        type: TYPE.SRV,
        ttl: 5,
        data: { srv: { priority: 0, weight: 1, port: 5001, target: '1.web.shop.app.localspace' } },
      },
      { owner: 12, type: TYPE.A, ttl: 5, data: { a: 0x0a000001 } },
      { owner: 12, type: TYPE.TXT, ttl: 5, data: { txt: ['web', 'worker'] } },
    ],
    authority: [{ owner: 'app.localspace', type: TYPE.SOA, ttl: 5, data: { soa } }],
  }

  test('every record shape decodes in dns-packet as meant; names compress into the question', () => {
    const out = encodeResponse(q, full)
    const m = dnsPacket.decode(out) as any
    assert.equal(m.id, 4242)
    assert.equal(m.flag_qr && m.flag_aa && m.flag_rd && m.flag_ra, true)
    assert.equal(m.rcode, 'NOERROR')
    assert.equal(m.questions[0].name, '_Web._tcp.Shop.app.localspace')
    assert.deepEqual(m.answers[0].data, {
      priority: 0,
      weight: 1,
      port: 5001,
      target: '1.web.Shop.app.localspace',
    })
    assert.equal(m.answers[0].name, '_Web._tcp.Shop.app.localspace')
    assert.equal(m.answers[1].data, '10.0.0.1')
    assert.deepEqual((m.answers[2].data as Buffer[]).map(String), ['web', 'worker'])
    assert.equal(m.authorities[0].name, 'app.localspace')
    assert.deepEqual(m.authorities[0].data, {
      ...soa,
      mname: 'ns.app.localspace',
      rname: 'hostmaster.app.localspace',
    })
    const optRr = (m.additionals as any[]).find((a) => a.type === 'OPT')
    assert.equal(optRr.udpPayloadSize, 1232)
    assert.equal(optRr.flag_do, true)
    // The target reuses "shop.app.localspace" from the question: 2 labels + a pointer.
    const uncompressed = dnsPacket.encode({ ...m, type: 'response' }).length
    assert.ok(out.length < uncompressed, `${out.length} < ${uncompressed}`)
  })

  test('over the limit: no records, TC set, the question and OPT kept', () => {
    const many: Answer = {
      ...full,
      answers: Array.from({ length: 100 }, (_, i) => ({
        owner: 12,
        type: TYPE.A,
        ttl: 5,
        data: { a: i },
      })),
    }
    const out = encodeResponse(q, many, 512)
    assert.ok(out.length <= 512)
    const m = dnsPacket.decode(out) as any
    assert.equal(m.flag_tc, true)
    assert.equal(m.answers.length, 0)
    assert.equal(m.questions.length, 1)
    assert.equal(m.additionals[0].type, 'OPT')
    assert.equal(dnsPacket.decode(encodeResponse(q, many)).answers?.length, 100)
  })

  test('BADVERS: header rcode 0, OPT extended rcode 1; FORMERR echoes no OPT', () => {
    const bad = mustParse(encodeQuery('a.test', 'A', [opt(1232, { ednsVersion: 3 })]))
    const m = dnsPacket.decode(
      encodeResponse(bad, { rcode: bad.rcode, authoritative: false, answers: [], authority: [] }),
    ) as any
    assert.equal(m.rcode, 'NOERROR')
    assert.equal(m.additionals[0].extendedRcode, 1)
    const two = mustParse(encodeQuery('a.test', 'A', [opt(1232), opt(1232)]))
    const f = dnsPacket.decode(
      encodeResponse(two, { rcode: two.rcode, authoritative: false, answers: [], authority: [] }),
    ) as any
    assert.equal(f.rcode, 'FORMERR')
    assert.equal(f.additionals.length, 0)
    assert.equal(f.questions.length, 0)
  })
})
