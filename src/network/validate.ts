/**
 * Checks on desired state before any of it reaches an `ip -batch` or `nft -f` script: a name
 * that is not ours is never acted on, and nothing can smuggle a second command into a script.
 */
import { containsAddress, parseCidr, parseIpv4, type Cidr } from '../core/cidr.js'
import { InvalidNetworkStateError } from './errors.js'
import { GATEWAY_NETNS, OWNED_LINK, OWNED_NETNS } from './names.js'
import type {
  DesiredAttachment,
  DesiredBuildNetwork,
  DesiredEgress,
  DesiredPeerNetwork,
  DesiredSpaceNetwork,
  DesiredVpnGateway,
} from './types.js'

const DYNO_BRIDGE = /^lsb-[0-9a-f]{8}$/
const DATA_BRIDGE = /^lsd-[0-9a-f]{8}$/
const BUILD_BRIDGE = /^lsc-[0-9a-f]{8}$/
export const VETH = /^lsv-[0-9a-f]{8}$/
const GATEWAY_PORT = /^lsg-[0-9a-f]{8}$/
const GATEWAY_EXT = /^lsx-[0-9a-f]{8}$/
/** A Linux interface name that is safe in a script and a /proc path (not `.`/`..`, ≤ 15 chars). */
const IFNAME = /^(?!\.\.?$)[A-Za-z0-9_.:-]{1,15}$/

function fail(message: string): never {
  throw new InvalidNetworkStateError(message)
}

export function checkName(name: string, pattern: RegExp, what: string): void {
  if (!pattern.test(name)) fail(`${what} ${JSON.stringify(name)} is not a name localspace owns`)
}

export function checkIfname(name: string): void {
  if (!IFNAME.test(name)) fail(`${JSON.stringify(name)} is not an interface name`)
}

export function checkIpv4(address: string, what: string): number {
  const n = parseIpv4(address)
  if (n === undefined) fail(`${what} ${JSON.stringify(address)} is not an IPv4 address`)
  return n
}

export function checkCidr(text: string, what: string): Cidr {
  const cidr = parseCidr(text, { strict: true })
  if (!cidr) fail(`${what} ${JSON.stringify(text)} is not an IPv4 network`)
  return cidr
}

export function checkSpace(space: DesiredSpaceNetwork): { cidr: Cidr; dataCidr: Cidr } {
  checkName(space.dynoBridge, DYNO_BRIDGE, 'dyno bridge')
  checkName(space.dataBridge, DATA_BRIDGE, 'data bridge')
  const cidr = checkCidr(space.cidr, 'space cidr')
  const dataCidr = checkCidr(space.dataCidr, 'data cidr')
  for (const [address, net, what] of [
    [space.gateway, cidr, 'gateway'],
    [space.internalRouter, cidr, 'internal router'],
    [space.dataGateway, dataCidr, 'data gateway'],
  ] as const) {
    if (!containsAddress(net, checkIpv4(address, what))) fail(`${what} ${address} is outside it`)
  }
  return { cidr, dataCidr }
}

export function checkBuildNetwork(net: DesiredBuildNetwork): Cidr {
  checkName(net.bridge, BUILD_BRIDGE, 'build bridge')
  const cidr = checkCidr(net.cidr, 'build network')
  if (!containsAddress(cidr, checkIpv4(net.gateway, 'build gateway'))) {
    fail(`build gateway ${net.gateway} is outside ${net.cidr}`)
  }
  return cidr
}

export function checkAttachment(a: DesiredAttachment): void {
  checkName(a.netns, OWNED_NETNS, 'network namespace')
  checkName(a.veth, VETH, 'veth')
  if (![DYNO_BRIDGE, DATA_BRIDGE, BUILD_BRIDGE].some((bridge) => bridge.test(a.bridge))) {
    fail(`bridge ${JSON.stringify(a.bridge)} is not a name localspace owns`)
  }
  checkIpv4(a.address, 'address')
  checkIpv4(a.gateway, 'gateway')
  checkIpv4(a.dns, 'dns')
  if (!Number.isInteger(a.prefix) || a.prefix < 1 || a.prefix > 30) {
    fail(`prefix ${a.prefix} of ${a.id} is not a usable network prefix`)
  }
}

export function checkEgress(e: DesiredEgress): Cidr[] {
  checkIfname(e.iface)
  for (const address of e.addresses) checkIpv4(address, 'egress address')
  return e.poolCidrs.map((p) => checkCidr(p, 'egress pool'))
}

export function checkVpnGateway(g: DesiredVpnGateway): Cidr {
  checkName(g.netns, GATEWAY_NETNS, 'gateway namespace')
  checkName(g.port, GATEWAY_PORT, 'gateway port')
  checkName(g.ext, GATEWAY_EXT, 'gateway veth')
  checkName(g.dynoBridge, DYNO_BRIDGE, 'dyno bridge')
  const cidr = checkCidr(g.cidr, 'space cidr')
  for (const [address, what] of [
    [g.address, 'gateway address'],
    [g.dns, 'dns'],
    [g.internalRouter, 'internal router'],
  ] as const) {
    if (!containsAddress(cidr, checkIpv4(address, what))) fail(`${what} ${address} is outside it`)
  }
  if (g.dynoRanges.length === 0) fail(`gateway ${g.netns} has no dyno ranges`)
  for (const range of g.dynoRanges) checkCidr(range, 'dyno range')
  for (const address of g.tunnelAddresses) checkIpv4(address, 'tunnel address')
  for (const remote of g.remoteCidrs) checkCidr(remote, 'remote cidr')
  return cidr
}

export function checkPeerNetwork(p: DesiredPeerNetwork): void {
  checkName(p.dynoBridge, DYNO_BRIDGE, 'dyno bridge')
  checkIfname(p.iface)
  if (OWNED_LINK.test(p.iface)) fail(`peer interface ${p.iface} is one of localspace's`)
  checkCidr(p.cidr, 'space cidr')
  checkIpv4(p.internalRouter, 'internal router')
  if (p.gateway !== undefined) checkIpv4(p.gateway, 'peer gateway')
  if (p.cidrs.length === 0) fail(`the peer network on ${p.iface} has no CIDRs`)
  for (const c of p.cidrs) checkCidr(c, 'peer cidr')
}
