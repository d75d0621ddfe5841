/**
 * Asks a DNS server for one name over and over, as a dyno's resolver would, and prints when
 * the answer changes: `<CLOCK_MONOTONIC ns> <state>` (state: `A <addresses>`, an rcode such as
 * `NXDOMAIN`, or `timeout`). One query in flight; the next goes 1 ms after an answer, so a
 * change is seen within about a millisecond of the server making it. bench.ts starts this
 * inside the client namespace (`ip netns exec`) on the CPU it does not use.
 *
 *   node --import tsx bench/runtime/dns-poller.ts SERVER NAME
 */
import { createSocket } from 'node:dgram'
import * as dnsPacket from 'dns-packet'

const [server, name] = process.argv.slice(2)
if (!server || !name) throw new Error('usage: dns-poller.ts SERVER NAME')
const RCODES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED']
const TIMEOUT_MS = 50
const PAUSE_MS = 1

const socket = createSocket('udp4')
let id = 0
let state = ''
let timer: NodeJS.Timeout | undefined

function report(next: string): void {
  if (next === state) return
  state = next
  process.stdout.write(`${process.hrtime.bigint()} ${next}\n`)
}

function ask(): void {
  id = (id + 1) & 0xffff
  socket.send(
    dnsPacket.encode({ type: 'query', id, questions: [{ type: 'A', name: name! }] }),
    53,
    server,
  )
  timer = setTimeout(() => {
    report('timeout')
    ask()
  }, TIMEOUT_MS)
}

socket.on('message', (msg) => {
  let answer: dnsPacket.Packet
  try {
    answer = dnsPacket.decode(msg)
  } catch {
    return
  }
  if (answer.id !== id) return // late, to a query that already timed out
  clearTimeout(timer)
  const a = (answer.answers ?? []).flatMap((r) => (r.type === 'A' ? [r.data] : []))
  const rcode = (answer.flags ?? 0) & 0xf
  report(a.length > 0 ? `A ${a.sort().join(',')}` : (RCODES[rcode] ?? `rcode ${rcode}`))
  timer = setTimeout(ask, PAUSE_MS)
})
socket.bind(0, ask)
process.on('SIGTERM', () => process.exit(0))
