/**
 * A stand-in upstream resolver on loopback, UDP and TCP, built on dns-packet: it answers from
 * a table, counts what it was asked, and stays silent for names it is told to ignore.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server } from 'node:net'
import * as dnsPacket from 'dns-packet'

export interface FakeUpstream {
  address: string
  port: number
  asked: string[]
  close(): Promise<void>
}

/**
 * `answers`: lowercase name → A address, a number of TXT records (a big answer), or TXT
 * records given (`{ txt: [...] }`, one string each). It is read at every query: a test may
 * change it while the server runs (publish a record).
 */
export async function startFakeUpstream(
  address: string,
  answers: Record<string, string | number | { txt: string[] }>,
): Promise<FakeUpstream> {
  const asked: string[] = []
  const respond = (raw: Buffer, tcp: boolean): Buffer | undefined => {
    const q = dnsPacket.decode(raw)
    const question = q.questions?.[0]
    if (!question) return undefined
    asked.push(`${question.name}/${question.type}/${tcp ? 'tcp' : 'udp'}`)
    const found = answers[question.name.toLowerCase()]
    if (found === 'silent') return undefined
    const records: dnsPacket.Answer[] =
      typeof found === 'string'
        ? [{ name: question.name, type: 'A', ttl: 60, data: found }]
        : typeof found === 'object'
          ? found.txt.map((data) => ({ name: question.name, type: 'TXT' as const, ttl: 0, data }))
          : Array.from({ length: found ?? 0 }, (_, i) => ({
              name: question.name,
              type: 'TXT' as const,
              ttl: 60,
              data: `record ${i} ${'x'.repeat(40)}`,
            }))
    const full = dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags:
        dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (found === undefined ? 3 : 0),
      questions: [question],
      answers: records,
      authorities:
        found === undefined
          ? [
              {
                name: 'test',
                type: 'SOA',
                ttl: 30,
                data: {
                  mname: 'ns.test',
                  rname: 'h.test',
                  serial: 1,
                  refresh: 1,
                  retry: 1,
                  expire: 1,
                  minimum: 20,
                },
              },
            ]
          : [],
    })
    if (tcp || full.length <= 512) return full
    // Too big for UDP without EDNS: header and question, TC set.
    return dnsPacket.encode({
      type: 'response',
      id: q.id,
      flags: dnsPacket.TRUNCATED_RESPONSE | dnsPacket.RECURSION_DESIRED,
      questions: [question],
    })
  }
  const udp: UdpSocket = createSocket('udp4')
  udp.on('message', (m, r) => {
    const out = respond(m, false)
    if (out) udp.send(out, r.port, r.address)
  })
  await new Promise<void>((resolve) => udp.bind(0, address, resolve))
  const port = udp.address().port
  const tcp: Server = createServer((s) => {
    let got = Buffer.alloc(0)
    s.on('error', () => s.destroy())
    s.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d])
      if (got.length < 2 || got.length < 2 + got.readUInt16BE(0)) return
      const out = respond(got.subarray(2, 2 + got.readUInt16BE(0)), true)
      if (!out) return
      const len = Buffer.alloc(2)
      len.writeUInt16BE(out.length)
      s.end(Buffer.concat([len, out]))
    })
  })
  await new Promise<void>((resolve) => tcp.listen(port, address, resolve))
  return {
    address,
    port,
    asked,
    close: async () => {
      await Promise.all([
        new Promise<void>((r) => udp.close(() => r())),
        new Promise<void>((r) => tcp.close(() => r())),
      ])
    },
  }
}
