/**
 * Site-to-site VPN connections (docs/design.md §7, issue 16): their shape, and the pure rules
 * for what a user may ask for. A connection joins a space to one customer gateway through two
 * IPsec tunnels, each from its own address of the region's `--vpn-pool`.
 */
import { randomInt } from 'node:crypto'
import { isPublicAddress } from './address-policy.js'
import { PRIVATE_BLOCKS, contains, formatCidr, overlaps, parseCidr, type Cidr } from './cidr.js'
import { freePoolAddresses, parseAddressPool, parseCountFlag, type AddressPool } from './egress.js'
import { errors } from './errors.js'

/** Heroku's connection states (schema `vpn-connection.status`). */
export type VpnStatus = 'pending' | 'provisioning' | 'active' | 'deprovisioning' | 'failed'
export type TunnelStatus = 'UP' | 'DOWN'
/** IKE version 1 is Heroku's; 2 is an extension a connection may ask for. */
export type IkeVersion = 1 | 2

export interface VpnTunnel {
  /** 0 or 1: Heroku's "Tunnel 1" and "Tunnel 2". */
  index: 0 | 1
  /** Our side: an address of the region's `--vpn-pool`. */
  ip: string
  /** The customer gateway's public address (the connection's `public_ip`). */
  customerIp: string
  preSharedKey: string
  status: TunnelStatus
  /** The last thing charon said about this tunnel ('' before it said anything). */
  statusMessage: string
  lastStatusChange: string
}

export interface VpnConnection {
  id: string
  spaceId: string
  name: string
  publicIp: string
  routableCidrs: string[]
  ikeVersion: IkeVersion
  status: VpnStatus
  statusMessage: string
  /** Always two, index 0 then 1. */
  tunnels: VpnTunnel[]
  createdAt: string
  updatedAt: string
}

/** The schema's own example: what a connection whose CIDRs clash says. */
export const CIDR_IN_USE = 'supplied CIDR block already in use'

/** One connection per space, as on Heroku (`--vpn-max-per-space`). */
export const DEFAULT_VPN_MAX_PER_SPACE = 1
const MAX_VPN_PER_SPACE = 64

export const parseVpnPool = (spec: string): AddressPool => parseAddressPool('--vpn-pool', spec)

export const parseVpnMaxPerSpace = (text: string): number =>
  parseCountFlag('--vpn-max-per-space', text, 1, MAX_VPN_PER_SPACE)

/** A connection name: what `spaces:vpn:connect NAME` gives, unique in its space. */
const VPN_NAME = /^[a-z0-9][a-z0-9-]{0,29}$/i

export function checkVpnName(name: unknown): string {
  if (typeof name !== 'string' || !VPN_NAME.test(name)) {
    throw errors.invalidParams(
      `name must be 1 to 30 letters, digits and dashes, starting with a letter or digit (got ${JSON.stringify(name)}).`,
    )
  }
  return name
}

/** The customer gateway: a public IPv4 address (documentation ranges count: tests use them). */
export function checkCustomerIp(ip: unknown): string {
  if (typeof ip !== 'string' || parseCidr(`${ip}/32`) === undefined || !isPublicAddress(ip)) {
    throw errors.invalidParams(
      `public_ip must be the public IPv4 address of your VPN gateway (got ${JSON.stringify(ip)}).`,
    )
  }
  return ip
}

/**
 * `routable_cidrs` (and a peer network's `cidrs`): a non-empty list of networks within
 * RFC 1918, host bits zero, none overlapping another. Returned normalised (`formatCidr`).
 */
export function checkPrivateCidrs(list: unknown, field: string): string[] {
  if (!Array.isArray(list) || list.length === 0) {
    throw errors.invalidParams(`${field} must be a non-empty list of CIDR blocks.`)
  }
  const parsed: Cidr[] = []
  for (const text of list) {
    const c = parseCidr(text, { strict: true })
    if (!c || !PRIVATE_BLOCKS.some((b) => contains(b, c))) {
      throw errors.invalidParams(
        `${field}: ${JSON.stringify(text)} must be a network within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16, such as 172.16.0.0/16.`,
      )
    }
    const clash = parsed.find((p) => overlaps(p, c))
    if (clash) {
      throw errors.invalidParams(`${field}: ${text} overlaps ${formatCidr(clash)}.`)
    }
    parsed.push(c)
  }
  return parsed.map(formatCidr)
}

export function checkIkeVersion(v: unknown): IkeVersion {
  if (v === 1 || v === 2) return v
  throw errors.invalidParams(`ike_version must be 1 or 2 (got ${JSON.stringify(v)}).`)
}

/** The first of `wanted` that overlaps one of `inUse` (both CIDR texts), if any. */
export function firstOverlap(
  wanted: readonly string[],
  inUse: readonly string[],
): string | undefined {
  const used = inUse.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== undefined)
  return wanted.find((t) => {
    const c = parseCidr(t)
    return c !== undefined && used.some((u) => overlaps(c, u))
  })
}

const PSK_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._'
const PSK_LENGTH = 32

/**
 * A tunnel's pre-shared key: 32 characters of [A-Za-z0-9._], not starting with `0` (as AWS
 * makes them; some gateways read a leading 0 as "hex follows"). randomInt is uniform, so
 * every key has ~191 bits.
 */
export function newPreSharedKey(): string {
  let key = PSK_ALPHABET.replace('0', '')[randomInt(PSK_ALPHABET.length - 1)]!
  while (key.length < PSK_LENGTH) key += PSK_ALPHABET[randomInt(PSK_ALPHABET.length)]!
  return key
}

export const PSK_PATTERN = /^[A-Za-z0-9._]{32}$/

/**
 * Two tunnel addresses from the pool, the lowest free ones. `pool` undefined: the operator
 * gave none for the region, which the 422 names.
 */
export function pickTunnelAddresses(
  pool: AddressPool | undefined,
  region: string,
  taken: ReadonlySet<string>,
): [string, string] {
  if (!pool) {
    throw errors.invalidParams(
      `VPN connections need tunnel addresses, and there is no pool for region ${region}: the operator starts the daemon with --vpn-pool ${region}=CIDR (or --vpn-pool CIDR for every region).`,
    )
  }
  const [a, b] = freePoolAddresses(pool, taken, 2)
  if (a === undefined || b === undefined) {
    throw errors.invalidParams(
      `The VPN address pool ${pool.text} has no two free addresses left for a new connection. Ask the operator to add a larger --vpn-pool.`,
    )
  }
  return [a, b]
}
