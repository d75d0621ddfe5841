/**
 * Decides the answer to one well-formed query from inside a space: our own zone
 * (`*.app.localspace`), the hostnames of internal-routing apps, or "forward it upstream".
 * Pure apart from Math.random (the process-type subset).
 */
import { RCODE, TYPE, CLASS_ANY, CLASS_IN, type Answer, type Query, type Record } from './wire.js'
import { ZONE, type NameNode, type SpaceTable } from './zone.js'

export interface AnswerOptions {
  /** TTL of every positive answer, and the SOA minimum (negative caching), in seconds. */
  ttl: number
  /** How many A records a process-type name returns (random subset); 0 = all of them. */
  pickCount: number
}

export type Decision = Answer | 'forward'

const ZONE_SUFFIX = '.' + ZONE
/** The question name itself, as a compression pointer (it always starts at offset 12). */
const QNAME = 12

const answer = (rcode: number, answers: Record[] = [], authority: Record[] = []): Answer => ({
  rcode,
  authoritative: true,
  answers,
  authority,
})

/**
 * `fromRemote`: the query comes from behind one of the space's VPN connections, which may
 * resolve the space's internal-routing apps and nothing else (REFUSED).
 */
export function decide(
  q: Query,
  t: SpaceTable,
  synced: boolean,
  o: AnswerOptions,
  fromRemote = false,
): Decision {
  if (q.klass !== CLASS_IN && q.klass !== CLASS_ANY) return answer(RCODE.REFUSED)
  // Zone transfers are not offered; over UDP they are not even well formed.
  if (q.type === TYPE.AXFR || q.type === TYPE.IXFR) return answer(RCODE.NOTIMP)
  const name = q.name
  if (!fromRemote && (name === ZONE || name.endsWith(ZONE_SUFFIX)))
    return zoneAnswer(q, t, synced, o)
  if (t.internalNames.has(name)) {
    if (q.type !== TYPE.A && q.type !== TYPE.ANY) return answer(RCODE.NOERROR)
    return answer(RCODE.NOERROR, [
      { owner: QNAME, type: TYPE.A, ttl: o.ttl, data: { a: t.internalRouter } },
    ])
  }
  // An internal-routing app not re-learned yet must not get the upstream's NXDOMAIN.
  if (!synced && t.domain !== '' && (name === t.domain || name.endsWith('.' + t.domain)))
    return { ...answer(RCODE.SERVFAIL), authoritative: false }
  return fromRemote ? answer(RCODE.REFUSED) : 'forward'
}

/** The zone's SOA: the authority of every negative answer (RFC 2308), and `SOA app.localspace`. */
const zoneSoa = (t: SpaceTable, o: AnswerOptions): Record => ({
  owner: ZONE,
  type: TYPE.SOA,
  ttl: o.ttl,
  data: {
    soa: {
      mname: `ns.${ZONE}`,
      rname: `hostmaster.${ZONE}`,
      serial: t.serial,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: o.ttl,
    },
  },
})

function zoneAnswer(q: Query, t: SpaceTable, synced: boolean, o: AnswerOptions): Answer {
  const node = t.names.get(q.name)
  if (!node) {
    // After a restart, a name we have not heard of yet may well exist: say "try again".
    if (!synced) return { ...answer(RCODE.SERVFAIL), authoritative: false }
    return answer(RCODE.NXDOMAIN, [], [zoneSoa(t, o)])
  }
  const records: Record[] = []
  const any = q.type === TYPE.ANY
  if (any || q.type === TYPE.A) addressRecords(node, o, records)
  if (any || q.type === TYPE.SRV)
    for (const s of node.srv)
      records.push({
        owner: QNAME,
        type: TYPE.SRV,
        ttl: o.ttl,
        data: { srv: { priority: 0, weight: 1, port: s.port, target: s.target } },
      })
  if ((any || q.type === TYPE.TXT) && node.txt.length > 0)
    records.push({ owner: QNAME, type: TYPE.TXT, ttl: o.ttl, data: { txt: node.txt } })
  if ((any || q.type === TYPE.SOA) && q.name === ZONE)
    records.push({ ...zoneSoa(t, o), owner: QNAME })
  // NODATA: the name exists, not with this type; the SOA tells how long to remember that.
  return records.length > 0
    ? answer(RCODE.NOERROR, records)
    : answer(RCODE.NOERROR, [], [zoneSoa(t, o)])
}

function addressRecords(node: NameNode, o: AnswerOptions, out: Record[]): void {
  const ips = node.pick ? pick(node.a, o.pickCount) : node.a
  for (const ip of ips) out.push({ owner: QNAME, type: TYPE.A, ttl: o.ttl, data: { a: ip } })
}

/** Up to `count` (0 = all) distinct elements in random order: a partial Fisher–Yates shuffle. */
export function pick<T>(items: readonly T[], count: number): T[] {
  const a = items.slice()
  const n = count <= 0 ? a.length : Math.min(count, a.length)
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(Math.random() * (a.length - i))
    const tmp = a[i]!
    a[i] = a[j]!
    a[j] = tmp
  }
  a.length = n
  return a
}
