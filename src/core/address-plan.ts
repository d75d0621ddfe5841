/**
 * The address plan of docs/design.md §3, as pure functions of a space's two networks:
 *   C.0.1  gateway of the dyno bridge, DNS for the space   C.0.3  internal router
 *   C.128.0/20, C.144.0/20, C.160.0/20  dyno addresses
 *   D.0.1  gateway of the data bridge                      D.0.10…  data services
 */
import { formatIpv4, lastAddress, parseCidr, type Cidr } from './cidr.js'

export interface SpaceAddresses {
  cidr: Cidr
  dataCidr: Cidr
  gateway: string
  internalRouter: string
  dataGateway: string
  /** Ranges dynos are numbered from, in order. */
  dynoRanges: Cidr[]
  /** The range data services are numbered from. */
  dataRange: { first: number; last: number }
}

export function spaceAddresses(cidrText: string, dataCidrText: string): SpaceAddresses {
  const cidr = parseCidr(cidrText, { strict: true })
  const dataCidr = parseCidr(dataCidrText, { strict: true })
  if (!cidr || !dataCidr) throw new Error(`not a network: ${cidrText} / ${dataCidrText}`)
  const at = (c: Cidr, offset: number) => formatIpv4(c.base + offset)
  return {
    cidr,
    dataCidr,
    gateway: at(cidr, 1),
    internalRouter: at(cidr, 3),
    dataGateway: at(dataCidr, 1),
    dynoRanges: [128, 144, 160].map((third) => ({ base: cidr.base + third * 256, prefix: 20 })),
    // Broadcast excluded; data networks may be as small as a /20.
    dataRange: { first: dataCidr.base + 10, last: lastAddress(dataCidr) - 1 },
  }
}

/**
 * The lowest address of the candidates that is not in use. Dyno ranges skip each /20's
 * network address (x.y.128.0 is a valid host in a /16, but it confuses people).
 */
export function firstFreeAddress(
  plan: SpaceAddresses,
  kind: 'dyno' | 'data',
  inUse: ReadonlySet<string>,
): string | undefined {
  const ranges =
    kind === 'dyno'
      ? plan.dynoRanges.map((r) => ({ first: r.base + 1, last: lastAddress(r) }))
      : [plan.dataRange]
  for (const { first, last } of ranges) {
    for (let a = first; a <= last; a++) {
      const text = formatIpv4(a)
      if (!inUse.has(text)) return text
    }
  }
  return undefined
}
