/**
 * The vici wire format (strongSwan's src/libcharon/plugins/vici/README.md), pure: framing,
 * packets and messages, both ways. charon is a root process like us, but its socket is a file
 * others could bind in a misconfigured data dir, so every byte read is treated as untrusted:
 * decoding is one linear pass with bounds on the packet size (charon's own 512 KiB limit) and
 * the section nesting depth, and any violation is an error, never a partial result.
 */

/** A message tree: key/values (strings), lists (of strings) and sub-sections. */
export type ViciValue = string | string[] | ViciMessage
export interface ViciMessage {
  [key: string]: ViciValue
}

/** charon refuses longer segments (vici_socket.c: VICI_MESSAGE_SIZE_MAX). */
export const MAX_PACKET_BYTES = 512 * 1024
/** Real messages nest 4–5 deep (list-sa: ike → child-sas → child → ts lists). */
export const MAX_DEPTH = 32

export const PacketType = {
  CMD_REQUEST: 0,
  CMD_RESPONSE: 1,
  CMD_UNKNOWN: 2,
  EVENT_REGISTER: 3,
  EVENT_UNREGISTER: 4,
  EVENT_CONFIRM: 5,
  EVENT_UNKNOWN: 6,
  EVENT: 7,
} as const
export type PacketType = (typeof PacketType)[keyof typeof PacketType]

const NAMED: ReadonlySet<number> = new Set([
  PacketType.CMD_REQUEST,
  PacketType.EVENT_REGISTER,
  PacketType.EVENT_UNREGISTER,
  PacketType.EVENT,
])
const WITH_MESSAGE: ReadonlySet<number> = new Set([
  PacketType.CMD_REQUEST,
  PacketType.CMD_RESPONSE,
  PacketType.EVENT,
])

const Element = {
  SECTION_START: 1,
  SECTION_END: 2,
  KEY_VALUE: 3,
  LIST_START: 4,
  LIST_ITEM: 5,
  LIST_END: 6,
} as const

export interface ViciPacket {
  type: PacketType
  /** For CMD_REQUEST, EVENT_REGISTER, EVENT_UNREGISTER and EVENT. */
  name?: string
  /** For CMD_REQUEST, CMD_RESPONSE and EVENT. */
  message?: ViciMessage
}

export class ViciProtocolError extends Error {
  constructor(message: string) {
    super(`vici: ${message}`)
    this.name = 'ViciProtocolError'
  }
}

// ---------------------------------------------------------------- encoding

/** One packet with its 4-byte length prefix, ready for the socket. */
export function encodePacket(packet: ViciPacket): Buffer {
  const parts: Buffer[] = [Buffer.alloc(4), Buffer.from([packet.type])]
  if (NAMED.has(packet.type)) parts.push(name8(packet.name ?? '', 'packet name'))
  if (WITH_MESSAGE.has(packet.type)) parts.push(encodeMessage(packet.message ?? {}))
  const out = Buffer.concat(parts)
  const length = out.length - 4
  if (length > MAX_PACKET_BYTES) throw new ViciProtocolError(`packet of ${length} bytes too long`)
  out.writeUInt32BE(length, 0)
  return out
}

export function encodeMessage(message: ViciMessage): Buffer {
  const parts: Buffer[] = []
  encodeSection(message, parts, 0)
  return Buffer.concat(parts)
}

function encodeSection(section: ViciMessage, parts: Buffer[], depth: number): void {
  if (depth > MAX_DEPTH) throw new ViciProtocolError('message nested too deep')
  for (const [key, value] of Object.entries(section)) {
    if (typeof value === 'string') {
      parts.push(Buffer.from([Element.KEY_VALUE]), name8(key, 'key'), value16(value))
    } else if (Array.isArray(value)) {
      parts.push(Buffer.from([Element.LIST_START]), name8(key, 'list name'))
      for (const item of value) parts.push(Buffer.from([Element.LIST_ITEM]), value16(item))
      parts.push(Buffer.from([Element.LIST_END]))
    } else {
      parts.push(Buffer.from([Element.SECTION_START]), name8(key, 'section name'))
      encodeSection(value, parts, depth + 1)
      parts.push(Buffer.from([Element.SECTION_END]))
    }
  }
}

/** A name: 8-bit length, then the bytes (the protocol says ASCII). */
function name8(name: string, what: string): Buffer {
  const bytes = Buffer.from(name, 'utf8')
  if (bytes.length > 255) throw new ViciProtocolError(`${what} longer than 255 bytes`)
  return Buffer.concat([Buffer.from([bytes.length]), bytes])
}

/** A value: 16-bit length, then the bytes. */
function value16(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length > 0xffff) throw new ViciProtocolError('value longer than 65535 bytes')
  const head = Buffer.alloc(2)
  head.writeUInt16BE(bytes.length, 0)
  return Buffer.concat([head, bytes])
}

// ---------------------------------------------------------------- decoding

/**
 * Splits a byte stream into packets. Chunks are kept as they arrive and joined once per
 * complete packet, so the work is linear in the bytes received however they are split; a
 * length prefix above MAX_PACKET_BYTES is refused before anything of it is buffered.
 */
export class ViciFrameReader {
  private chunks: Buffer[] = []
  private buffered = 0

  /** Feeds bytes; returns the complete packets' payloads (without the length prefix). */
  push(chunk: Buffer): Buffer[] {
    this.chunks.push(chunk)
    this.buffered += chunk.length
    const frames: Buffer[] = []
    for (;;) {
      if (this.buffered < 4) break
      const head = this.peek(4)
      const length = head.readUInt32BE(0)
      if (length > MAX_PACKET_BYTES)
        throw new ViciProtocolError(`packet of ${length} bytes exceeds ${MAX_PACKET_BYTES}`)
      if (this.buffered < 4 + length) break
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks)
      frames.push(all.subarray(4, 4 + length))
      const rest = all.subarray(4 + length)
      this.chunks = rest.length > 0 ? [rest] : []
      this.buffered = rest.length
    }
    return frames
  }

  /** The first n bytes (n ≤ 4 here), copying only from the chunks that hold them. */
  private peek(n: number): Buffer {
    if (this.chunks[0]!.length >= n) return this.chunks[0]!
    const out = Buffer.alloc(n)
    let at = 0
    for (const c of this.chunks) {
      at += c.copy(out, at, 0, Math.min(c.length, n - at))
      if (at === n) break
    }
    return out
  }
}

/** One packet's payload (as ViciFrameReader returns it) → type, name and message. */
export function decodePacket(payload: Buffer): ViciPacket {
  if (payload.length > MAX_PACKET_BYTES) throw new ViciProtocolError('packet too long')
  if (payload.length < 1) throw new ViciProtocolError('empty packet')
  const type = payload[0]!
  if (type > PacketType.EVENT) throw new ViciProtocolError(`unknown packet type ${type}`)
  const reader = new Cursor(payload, 1)
  const packet: ViciPacket = { type: type as PacketType }
  if (NAMED.has(type)) packet.name = reader.name()
  if (WITH_MESSAGE.has(type)) packet.message = decodeMessage(payload.subarray(reader.at))
  else if (reader.at !== payload.length)
    throw new ViciProtocolError(`unexpected bytes after packet type ${type}`)
  return packet
}

/**
 * A message → its tree. Each byte is looked at once; sections may nest MAX_DEPTH deep, lists
 * only hold items, keys are unique per section (the protocol's rules), and a key such as
 * `__proto__` becomes an ordinary own property, never an object's prototype.
 */
export function decodeMessage(bytes: Buffer): ViciMessage {
  const cursor = new Cursor(bytes, 0)
  const root: ViciMessage = {}
  const stack: ViciMessage[] = [root]
  let list: string[] | undefined
  while (cursor.at < bytes.length) {
    const element = cursor.byte()
    const current = stack[stack.length - 1]!
    if (list !== undefined && element !== Element.LIST_ITEM && element !== Element.LIST_END)
      throw new ViciProtocolError(`element ${element} inside a list`)
    switch (element) {
      case Element.SECTION_START: {
        if (stack.length > MAX_DEPTH) throw new ViciProtocolError('message nested too deep')
        const section: ViciMessage = {}
        define(current, cursor.name(), section)
        stack.push(section)
        break
      }
      case Element.SECTION_END:
        if (stack.length === 1) throw new ViciProtocolError('section end without a start')
        stack.pop()
        break
      case Element.KEY_VALUE: {
        const key = cursor.name()
        define(current, key, cursor.value())
        break
      }
      case Element.LIST_START:
        list = []
        define(current, cursor.name(), list)
        break
      case Element.LIST_ITEM:
        if (list === undefined) throw new ViciProtocolError('list item outside a list')
        list.push(cursor.value())
        break
      case Element.LIST_END:
        if (list === undefined) throw new ViciProtocolError('list end without a start')
        list = undefined
        break
      default:
        throw new ViciProtocolError(`unknown message element ${element}`)
    }
  }
  if (list !== undefined) throw new ViciProtocolError('unterminated list')
  if (stack.length !== 1) throw new ViciProtocolError('unterminated section')
  return root
}

function define(section: ViciMessage, key: string, value: ViciValue): void {
  if (Object.prototype.hasOwnProperty.call(section, key))
    throw new ViciProtocolError(`duplicate key ${JSON.stringify(key)}`)
  Object.defineProperty(section, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  })
}

/** Reads names and values with bounds checks; `at` only moves forward. */
class Cursor {
  constructor(
    private readonly bytes: Buffer,
    public at: number,
  ) {}

  byte(): number {
    if (this.at >= this.bytes.length) throw new ViciProtocolError('truncated message')
    return this.bytes[this.at++]!
  }

  name(): string {
    const length = this.byte()
    return this.take(length).toString('utf8')
  }

  value(): string {
    if (this.at + 2 > this.bytes.length) throw new ViciProtocolError('truncated value length')
    const length = this.bytes.readUInt16BE(this.at)
    this.at += 2
    return this.take(length).toString('utf8')
  }

  private take(length: number): Buffer {
    if (this.at + length > this.bytes.length) throw new ViciProtocolError('truncated message')
    const out = this.bytes.subarray(this.at, this.at + length)
    this.at += length
    return out
  }
}
