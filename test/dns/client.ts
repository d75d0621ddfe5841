/**
 * A DNS test client on top of dns-packet (the reference wire format, independent of
 * src/dns/wire.ts): one query over UDP or TCP from a chosen loopback source address.
 */
import { createSocket } from 'node:dgram'
import { Socket } from 'node:net'
import * as dnsPacket from 'dns-packet'

export type Decoded = dnsPacket.DecodedPacket

export interface AskOptions {
  server: string
  port: number
  /** Source address to bind (127.x.y.z on loopback stands for a dyno). */
  from?: string
  type?: dnsPacket.RecordType
  tcp?: boolean
  /** EDNS: adds an OPT record with this UDP size. */
  edns?: { udpSize?: number; version?: number; options?: Array<{ code: number; data: Buffer }> }
  id?: number
  timeoutMs?: number
}

export function query(name: string, o: AskOptions): Buffer {
  return dnsPacket.encode({
    type: 'query',
    id: o.id ?? Math.floor(Math.random() * 65536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type: o.type ?? 'A', class: 'IN' }],
    additionals: o.edns
      ? [
          {
            type: 'OPT',
            name: '.',
            udpPayloadSize: o.edns.udpSize ?? 1232,
            extendedRcode: 0,
            ednsVersion: o.edns.version ?? 0,
            flags: 0,
            options: o.edns.options ?? [],
          } as any,
        ]
      : [],
  })
}

/** Sends raw bytes; resolves to the raw response, or undefined when none came in time. */
export function sendRaw(packet: Buffer, o: AskOptions): Promise<Buffer | undefined> {
  return o.tcp ? sendTcp(packet, o) : sendUdp(packet, o)
}

function sendUdp(packet: Buffer, o: AskOptions): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4')
    const done = (r: Buffer | undefined) => {
      clearTimeout(timer)
      s.close()
      resolve(r)
    }
    const timer = setTimeout(() => done(undefined), o.timeoutMs ?? 3000)
    s.on('error', () => done(undefined))
    s.on('message', (m) => done(m))
    s.bind(0, o.from ?? '127.0.0.1', () => s.send(packet, o.port, o.server))
  })
}

function sendTcp(packet: Buffer, o: AskOptions): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = new Socket()
    let got = Buffer.alloc(0)
    const done = (r: Buffer | undefined) => {
      clearTimeout(timer)
      s.destroy()
      resolve(r)
    }
    const timer = setTimeout(() => done(undefined), o.timeoutMs ?? 3000)
    s.on('error', () => done(undefined))
    s.on('close', () => done(undefined))
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0))
        done(got.subarray(2, 2 + got.readUInt16BE(0)))
    })
    s.connect({ port: o.port, host: o.server, localAddress: o.from ?? '127.0.0.1' }, () => {
      const len = Buffer.alloc(2)
      len.writeUInt16BE(packet.length)
      s.write(Buffer.concat([len, packet]))
    })
  })
}

/** Asks `name` and decodes the answer with dns-packet; rejects when no answer came. */
export async function ask(name: string, o: AskOptions): Promise<{ raw: Buffer; msg: Decoded }> {
  const raw = await sendRaw(query(name, o), o)
  if (!raw) throw new Error(`no answer to ${name} ${o.type ?? 'A'}`)
  return { raw, msg: dnsPacket.decode(raw) }
}

/** The addresses of an answer's A records. */
export const addresses = (msg: Decoded): string[] =>
  (msg.answers ?? []).filter((a) => a.type === 'A').map((a) => (a as { data: string }).data)

/** The response code as dns-packet names it ('NOERROR', 'NXDOMAIN', …). */
export const rcodeOf = (msg: Decoded): string | undefined => (msg as { rcode?: string }).rcode
