import { shortId } from '../core/ids.js'

/**
 * Names of the host objects localspace owns. Every one starts with `ls` and carries a short id,
 * so ownership is provable from the name alone, and fits Linux's 15-character interface limit.
 */
export const OWNED_LINK = /^ls[bcdvgx]-[0-9a-f]{8}$/
/** Namespaces of dynos, data services and builds (attachments). */
export const OWNED_NETNS = /^ls-[0-9a-f]{8}$/
/**
 * VPN gateways' namespaces (`g`ateway), one per space with a VPN; apart from OWNED_NETNS so
 * that no attachment can ever be given one (and /etc/netns files are never written for them).
 */
export const GATEWAY_NETNS = /^lsg-[0-9a-f]{8}$/
export const NFT_TABLE = 'localspace'

/**
 * The bridge of the common build network (issue 15, B1): builds of apps outside a space join
 * it. `lsc-` ("common") so that no space's bridge (`lsb-<short id>`) can ever take its name,
 * and the firewall can tell it from a space's by name alone.
 */
export const BUILD_BRIDGE = 'lsc-00000000'
export const dynoBridgeName = (spaceId: string): string => `lsb-${shortId(spaceId)}`
export const dataBridgeName = (spaceId: string): string => `lsd-${shortId(spaceId)}`
export const vethName = (attachmentId: string): string => `lsv-${shortId(attachmentId)}`
export const netnsName = (attachmentId: string): string => `ls-${shortId(attachmentId)}`

/**
 * The namespace of a space's VPN gateway, where charon runs (src/vpn starts it there by this
 * name). Its `eth0` sits on the dyno bridge; the bridge port's host end has the same name
 * (links and namespaces are named apart), its `ext0`'s host end is `vpnGatewayExtName`.
 */
export const vpnGatewayNetnsName = (spaceId: string): string => `lsg-${shortId(spaceId)}`
export const vpnGatewayPortName = (spaceId: string): string => `lsg-${shortId(spaceId)}`
export const vpnGatewayExtName = (spaceId: string): string => `lsx-${shortId(spaceId)}`

/**
 * Routes and policy rules localspace adds carry this protocol number ("l"), so that they are
 * ours by their mark, whatever table they are in; nothing else on a host uses it.
 */
export const ROUTE_PROTO = 108
/** Where a space's routing rule sits: before `main` (32766), after `local` (0). */
export const SPACE_RULE_PRIORITY = 1000

/**
 * A space's routing table (its VPN and peer routes): the 32 bits of its bridge's short id,
 * moved off the kernel's own tables (0, 253–255) and the low numbers operators use.
 */
export function spaceRouteTable(dynoBridge: string): number {
  return 0x10000 + (Number.parseInt(dynoBridge.slice(4), 16) % 0xfffe0000)
}

/**
 * The MAC of an interface that carries `address`: locally administered, `02:6c:` + the four
 * address bytes. Addresses are reused (a dyno's after a detach) and bridges lose and gain ports;
 * with random MACs, neighbours keep sending to a MAC that is gone for as long as their ARP
 * entries stay valid, and traffic silently stops. A bridge left to the kernel even changes its
 * own MAC as ports come and go (it takes the lowest port's), so a dyno that cached the gateway's
 * MAC loses its DNS server. The same address always has the same MAC, so a cached entry stays
 * right. Addresses are unique in an installation, and so are these MACs.
 */
export function macFor(address: string): string {
  const hex = address.split('.').map((b) => Number(b).toString(16).padStart(2, '0'))
  return ['02', '6c', ...hex].join(':')
}
