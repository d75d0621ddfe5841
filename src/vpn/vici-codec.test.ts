import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  decodeMessage,
  decodePacket,
  encodeMessage,
  encodePacket,
  MAX_DEPTH,
  MAX_PACKET_BYTES,
  PacketType,
  ViciFrameReader,
  ViciProtocolError,
  type ViciMessage,
} from './vici-codec.js'

/** The encoding example of strongSwan's vici README, byte for byte. */
const README_EXAMPLE = Buffer.from([
  3, 4, ...b('key1'), 0, 6, ...b('value1'),
  1, 8, ...b('section1'),
  1, 11, ...b('sub-section'),
  3, 4, ...b('key2'), 0, 6, ...b('value2'),
  2,
  4, 5, ...b('list1'),
  5, 0, 5, ...b('item1'),
  5, 0, 5, ...b('item2'),
  6,
  2,
]) // prettier-ignore
const README_TREE: ViciMessage = {
  key1: 'value1',
  section1: { 'sub-section': { key2: 'value2' }, list1: ['item1', 'item2'] },
}

function b(s: string): number[] {
  return [...Buffer.from(s)]
}

describe('vici message encoding', () => {
  test('encodes the README example byte for byte', () => {
    assert.deepEqual(encodeMessage(README_TREE), README_EXAMPLE)
  })

  test('decodes the README example', () => {
    assert.deepEqual(decodeMessage(README_EXAMPLE), README_TREE)
  })

  test('round-trips empty lists, empty sections, empty and non-ASCII values', () => {
    const tree: ViciMessage = {
      empty: [],
      nothing: {},
      blank: '',
      utf8: 'café',
      deep: { a: { b: { c: ['x', ''] } } },
    }
    assert.deepEqual(decodeMessage(encodeMessage(tree)), tree)
  })

  test('a key named __proto__ is an ordinary key, never a prototype', () => {
    const bytes = Buffer.from([1, 9, ...b('__proto__'), 3, 1, ...b('x'), 0, 1, ...b('1'), 2])
    const tree = decodeMessage(bytes)
    assert.equal(Object.getPrototypeOf(tree), Object.prototype)
    assert.deepEqual(Object.keys(tree), ['__proto__'])
    assert.equal(({} as Record<string, unknown>).x, undefined)
  })

  const malformed: Array<[string, number[]]> = [
    ['a truncated value', [3, 1, ...b('k'), 0, 5, ...b('ab')]],
    ['a truncated value length', [3, 1, ...b('k'), 0]],
    ['a truncated name', [3, 9, ...b('k')]],
    ['an unterminated section', [1, 1, ...b('s')]],
    ['a section end without a start', [2]],
    ['an unterminated list', [4, 1, ...b('l'), 5, 0, 1, ...b('x')]],
    ['a list item outside a list', [5, 0, 1, ...b('x')]],
    ['a list end without a start', [6]],
    ['a key/value inside a list', [4, 1, ...b('l'), 3, 1, ...b('k'), 0, 0, 6]],
    ['a section inside a list', [4, 1, ...b('l'), 1, 1, ...b('s'), 2, 6]],
    ['an unknown element', [9]],
    ['a duplicate key', [3, 1, ...b('k'), 0, 0, 3, 1, ...b('k'), 0, 0]],
  ]
  for (const [what, bytes] of malformed) {
    test(`rejects ${what}`, () => {
      assert.throws(() => decodeMessage(Buffer.from(bytes)), ViciProtocolError)
    })
  }

  test(`rejects nesting deeper than ${MAX_DEPTH}, accepts exactly ${MAX_DEPTH}`, () => {
    const nested = (depth: number) =>
      Buffer.from([
        ...Array.from({ length: depth }, () => [1, 1, ...b('s')]).flat(),
        ...Array.from({ length: depth }, () => 2),
      ])
    assert.doesNotThrow(() => decodeMessage(nested(MAX_DEPTH)))
    assert.throws(() => decodeMessage(nested(MAX_DEPTH + 1)), /nested too deep/)
  })

  test('decoding is linear: 100k elements take well under a second', () => {
    // 100k list items in one message (the quadratic trap would be re-scanning or re-copying).
    const items = Array.from({ length: 100_000 }, (_, i) => String(i % 10))
    const bytes = encodeMessage({ l: items })
    const started = performance.now()
    const tree = decodeMessage(bytes)
    assert.equal((tree.l as string[]).length, 100_000)
    assert.ok(performance.now() - started < 1000)
  })

  test('refuses to encode what the wire cannot carry', () => {
    assert.throws(() => encodeMessage({ ['k'.repeat(256)]: 'v' }), /longer than 255/)
    assert.throws(() => encodeMessage({ k: 'v'.repeat(65_536) }), /longer than 65535/)
  })
})

describe('vici packets and framing', () => {
  test('a request round-trips with its name and message', () => {
    const bytes = encodePacket({
      type: PacketType.CMD_REQUEST,
      name: 'load-conn',
      message: { a: 'b' },
    })
    assert.equal(bytes.readUInt32BE(0), bytes.length - 4)
    const [frame] = new ViciFrameReader().push(bytes)
    assert.deepEqual(decodePacket(frame!), {
      type: PacketType.CMD_REQUEST,
      name: 'load-conn',
      message: { a: 'b' },
    })
  })

  test('unnamed, message-less packets are a single byte', () => {
    const bytes = encodePacket({ type: PacketType.EVENT_CONFIRM })
    assert.deepEqual([...bytes], [0, 0, 0, 1, PacketType.EVENT_CONFIRM])
    assert.deepEqual(decodePacket(bytes.subarray(4)), { type: PacketType.EVENT_CONFIRM })
  })

  test('packets split anywhere, or several in one chunk, come out whole and in order', () => {
    const packets = [
      encodePacket({ type: PacketType.EVENT, name: 'ike-updown', message: { up: 'yes' } }),
      encodePacket({ type: PacketType.CMD_RESPONSE, message: { success: 'yes' } }),
      encodePacket({ type: PacketType.CMD_UNKNOWN }),
    ]
    const all = Buffer.concat(packets)
    for (const size of [1, 2, 3, 5, 7, all.length]) {
      const reader = new ViciFrameReader()
      const frames: Buffer[] = []
      for (let i = 0; i < all.length; i += size)
        frames.push(...reader.push(all.subarray(i, i + size)))
      assert.deepEqual(
        frames.map((f) => decodePacket(f)),
        packets.map((p) => decodePacket(p.subarray(4))),
        `chunks of ${size}`,
      )
    }
  })

  test('a length above the bound is refused before its bytes are buffered', () => {
    const head = Buffer.alloc(4)
    head.writeUInt32BE(MAX_PACKET_BYTES + 1, 0)
    assert.throws(() => new ViciFrameReader().push(head), /exceeds/)
  })

  test('a packet exactly at the bound is accepted, byte by byte in linear time', () => {
    const payload = Buffer.alloc(MAX_PACKET_BYTES)
    payload[0] = PacketType.CMD_RESPONSE
    const head = Buffer.alloc(4)
    head.writeUInt32BE(MAX_PACKET_BYTES, 0)
    const reader = new ViciFrameReader()
    const frames = [...reader.push(head)]
    const started = performance.now()
    for (let i = 0; i < payload.length; i += 64)
      frames.push(...reader.push(payload.subarray(i, i + 64)))
    assert.ok(performance.now() - started < 1000)
    assert.equal(frames.length, 1)
    // All zero bytes after the type are not a valid message (element 0 does not exist).
    assert.throws(() => decodePacket(frames[0]!), /unknown message element 0/)
  })

  test('rejects unknown packet types, empty packets and trailing bytes', () => {
    assert.throws(() => decodePacket(Buffer.from([8])), /unknown packet type/)
    assert.throws(() => decodePacket(Buffer.alloc(0)), /empty packet/)
    assert.throws(() => decodePacket(Buffer.from([PacketType.EVENT_CONFIRM, 1])), /unexpected/)
    assert.throws(() => decodePacket(Buffer.from([PacketType.EVENT, 5, ...b('ab')])), /truncated/)
  })
})
