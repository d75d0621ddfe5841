/**
 * The address plan of docs/design.md §3, as pure functions of a space's two networks:
 *   C.0.1  gateway of the dyno bridge, DNS for the space   C.0.3  internal router
 *   C.0.4  the space's VPN gateway (a namespace of its own on the dyno bridge)
 *   C.128.0/20, C.144.0/20, C.160.0/20  dyno addresses
 *   D.0.1  gateway of the data bridge                      D.0.10…  data services
 */
import { formatIpv4, lastAddress, parseCidr, type Cidr } from './cidr.js'

export interface SpaceAddresses {
  cidr: Cidr
  dataCidr: Cidr
  gateway: string
  internalRouter: string
  /** C.0.4: `eth0` of the space's VPN gateway, where its remote networks come in. */
  vpnGateway: string
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
    vpnGateway: at(cidr, 4),
    dataGateway: at(dataCidr, 1),
    dynoRanges: [128, 144, 160].map((third) => ({ base: cidr.base + third * 256, prefix: 20 })),
    // Broadcast excluded; data networks may be as small as a /20.
    dataRange: { first: dataCidr.base + 10, last: lastAddress(dataCidr) - 1 },
  }
}

/**
 * The common build network (issue 15, B1): the builds of apps outside a space join it, with
 * internet egress only. In 100.64.0.0/10 (shared address space, RFC 6598), which no space may
 * use (spaces live in 10/8, 172.16/12 and 192.168/16) and which the firewall counts as a
 * private range, so no dyno reaches it either. A /22: a thousand builds at once.
 */
export const BUILD_NETWORK_CIDR = '100.127.252.0/22'

export interface BuildNetworkAddresses {
  cidr: Cidr
  /** .1: the builds' route and DNS server. */
  gateway: string
  /** Builds are numbered from here (a few low addresses stay free for the host's own use). */
  range: { first: number; last: number }
}

export function buildNetworkAddresses(cidrText: string): BuildNetworkAddresses {
  const cidr = parseCidr(cidrText, { strict: true })
  if (!cidr || cidr.prefix > 28) throw new Error(`not a build network: ${cidrText}`)
  return {
    cidr,
    gateway: formatIpv4(cidr.base + 1),
    range: { first: cidr.base + 16, last: lastAddress(cidr) - 1 },
  }
}

/** The lowest address of the build network that is not in use. */
export const firstFreeBuildAddress = (
  plan: BuildNetworkAddresses,
  inUse: ReadonlySet<string>,
): string | undefined => firstFreeIn([plan.range], inUse)

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
  return firstFreeIn(ranges, inUse)
}

function firstFreeIn(
  ranges: ReadonlyArray<{ first: number; last: number }>,
  inUse: ReadonlySet<string>,
): string | undefined {
  for (const { first, last } of ranges) {
    for (let a = first; a <= last; a++) {
      const text = formatIpv4(a)
      if (!inUse.has(text)) return text
    }
  }
  return undefined
}
