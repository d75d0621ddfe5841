/**
 * The Node floor of bench/dns: a plain `dgram` socket on `ADDRESS`:53 that answers every
 * query with one precomputed response (the answer to `1.web.shop.app.localspace A`, the
 * same size as every answer in the bench), only the id patched. No parsing, no lookup: what
 * Node's own receive and send path costs per datagram, the most any JavaScript server on
 * dgram could do. Prints "ready" once bound.
 */
import { createSocket } from 'node:dgram'
import * as dnsPacket from 'dns-packet'

const address = process.env.ADDRESS ?? '127.10.0.4'
const name = '1.web.shop.app.localspace'
const response = dnsPacket.encode({
  type: 'response',
  id: 0,
  flags: dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_DESIRED,
  questions: [{ type: 'A', name }],
  answers: [{ type: 'A', name, ttl: 5, data: '127.10.128.1' }],
})
// Replies go to the literal address a query came from: no dns.lookup.
const lookup = (a: string, _o: unknown, cb: (e: null, a: string, f: number) => void) =>
  cb(null, a, 4)
const udp = createSocket({ type: 'udp4', lookup })
udp.on('message', (msg, from) => {
  response[0] = msg[0]!
  response[1] = msg[1]!
  udp.send(response, from.port, from.address)
})
udp.bind(53, address, () => {
  udp.setRecvBufferSize(4 << 20)
  console.log('ready')
})
process.on('SIGTERM', () => udp.close(() => process.exit(0)))
