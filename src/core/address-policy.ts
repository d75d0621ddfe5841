/**
 * Which addresses the daemon itself may connect to on a user's behalf (issue 15, B3): a
 * build's `source_blob.url` and log drains. The daemon is root on the host and sits next to
 * the API, the router, every space's host addresses and whatever the host's networks hold, so
 * a URL a user gives it must not become a way in (server-side request forgery).
 *
 * Public addresses only: no loopback, private (RFC 1918), shared (100.64/10), link-local
 * (169.254/16, the cloud metadata address among them), multicast, reserved, nor their IPv6
 * equivalents (IPv4-mapped addresses are judged as the IPv4 address they carry; anything
 * outside global unicast 2000::/3 is refused), nor the installation's own addresses. The
 * operator's `--allow-private` ranges are let through (the escape hatch for a drain or a
 * source server on a private network), but never the host's own addresses within them.
 *
 * The check is on the address actually connected to: `lookup` resolves a name, keeps only the
 * allowed addresses and hands those to the socket, so a name that resolves to a public
 * address when checked and a private one when connected (DNS rebinding) cannot slip through.
 * Node does not call `lookup` for a literal address: `refusalOfHost` judges those first.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import { containsAddress, parseCidr, parseIpv4, type Cidr } from './cidr.js'

/** What a refused address is told: nothing about what the name resolved to. */
export const ADDRESS_NOT_ALLOWED = 'address not allowed'

/** A connection refused by the policy (the `error` of the socket or request). */
export class AddressNotAllowedError extends Error {
  readonly code = 'EADDRNOTALLOWED'
  constructor(readonly host: string) {
    super(`${host}: ${ADDRESS_NOT_ALLOWED}`)
  }
}

/**
 * IPv4 ranges that are never the internet (RFC 6890 and friends). The documentation ranges
 * (192.0.2/24, 198.51.100/24, 203.0.113/24) and 198.18/15 are not here: nobody's private
 * network, never routed on the internet, and what the tests and the firewall treat as "the
 * internet" (nft/render.ts RESERVED_RANGES agrees).
 */
const NOT_PUBLIC_V4: readonly Cidr[] = [
  '0.0.0.0/8', // "this network"
  '10.0.0.0/8',
  '100.64.0.0/10', // shared address space (carrier NAT; localspace's build network)
  '127.0.0.0/8',
  '169.254.0.0/16', // link-local, cloud metadata
  '172.16.0.0/12',
  '192.0.0.0/24', // IETF protocol assignments
  '192.88.99.0/24', // 6to4 relay anycast
  '192.168.0.0/16',
  '224.0.0.0/4', // multicast
  '240.0.0.0/4', // reserved, and the broadcast address
].map((c) => parseCidr(c, { strict: true })!)

/** The eight 16-bit groups of an IPv6 address, or undefined when it is not one. */
export function parseIpv6(text: string): number[] | undefined {
  const bare = text.replace(/%.*$/, '') // a zone (fe80::1%eth0) says nothing of the address
  if (isIP(bare) !== 6) return undefined
  let body = bare
  const tail: number[] = []
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(bare) // ::ffff:192.0.2.1
  if (dotted) {
    const n = parseIpv4(dotted[1]!)!
    tail.push(n >>> 16, n & 0xffff)
    body = bare.slice(0, dotted.index)
    if (!body.endsWith('::')) body = body.slice(0, -1) // the ':' before the dotted part
  }
  const halves = body.split('::')
  const groups = (s: string) => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)))
  const left = groups(halves[0]!)
  const right = halves.length === 2 ? groups(halves[1]!) : []
  const zeros = halves.length === 2 ? 8 - tail.length - left.length - right.length : 0
  return [...left, ...Array<number>(zeros).fill(0), ...right, ...tail]
}

/** The IPv4 address an IPv4-mapped IPv6 address (::ffff:a.b.c.d) carries. */
function mappedIpv4(g: readonly number[]): number | undefined {
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff
  return mapped ? ((g[6]! << 16) | g[7]!) >>> 0 : undefined
}

/** Global unicast (2000::/3) that is not documentation, 6to4, Teredo or IETF-reserved. */
function publicIpv6(g: readonly number[]): boolean {
  const [a, b] = g as [number, number]
  if ((a & 0xe000) !== 0x2000) return false // loopback, ULA fc00::/7, fe80::/10, ff00::/8, …
  if (a === 0x2001 && b < 0x200) return false // 2001::/23: Teredo, benchmarking, ORCHID
  if (a === 0x2001 && b === 0x0db8) return false // documentation
  return a !== 0x2002 // 6to4: carries an IPv4 address that would have to be judged
}

const isPublicV4 = (n: number) => !NOT_PUBLIC_V4.some((c) => containsAddress(c, n))

/** True for an address of the public internet (an IP literal; names are never public). */
export function isPublicAddress(address: string): boolean {
  const v4 = parseIpv4(address)
  if (v4 !== undefined) return isPublicV4(v4)
  const v6 = parseIpv6(address)
  if (!v6) return false
  const mapped = mappedIpv4(v6)
  return mapped !== undefined ? isPublicV4(mapped) : publicIpv6(v6)
}

/** The same address written the same way (IPv6 groups expanded, IPv4-mapped as IPv4). */
function canonical(address: string): string | undefined {
  const v4 = parseIpv4(address)
  if (v4 !== undefined) return `${v4}`
  const v6 = parseIpv6(address)
  if (!v6) return undefined
  const mapped = mappedIpv4(v6)
  return mapped !== undefined ? `${mapped}` : v6.join(':')
}

export interface AddressPolicyOptions {
  /**
   * Ranges let through although not public (`--allow-private`, IPv4 CIDRs); tests that serve
   * sources or drains on loopback give `127.0.0.0/8` here.
   */
  allowed?: readonly string[]
  /** The installation's own addresses, asked at every check (they come and go). */
  ownAddresses?: () => Iterable<string>
  /** The resolver; default `dns.lookup` (the host's resolver, as every program uses). */
  resolve?: typeof dnsLookup
}

export class AddressPolicy {
  private readonly allowed: readonly Cidr[]
  private readonly resolve: typeof dnsLookup

  constructor(private readonly options: AddressPolicyOptions = {}) {
    this.allowed = (options.allowed ?? []).flatMap((c) => parseCidr(c, { strict: true }) ?? [])
    this.resolve = options.resolve ?? dnsLookup
  }

  /**
   * Why the daemon must not connect to `address` (an IP literal), or undefined when it may.
   * The host's own addresses come first: an allowed range never opens the host itself.
   */
  refusal(address: string): string | undefined {
    const key = canonical(address)
    if (key === undefined) return 'not an IP address'
    for (const own of this.options.ownAddresses?.() ?? []) {
      if (canonical(own) === key) return ADDRESS_NOT_ALLOWED
    }
    const v4 = /^\d+$/.test(key) ? Number(key) : undefined
    if (v4 !== undefined && this.allowed.some((c) => containsAddress(c, v4))) return undefined
    return isPublicAddress(address) ? undefined : ADDRESS_NOT_ALLOWED
  }

  /**
   * For a URL's or endpoint's host, before connecting: a literal address is judged now (Node
   * connects to it without calling `lookup`); a name is judged by `lookup` when connecting.
   */
  refusalOfHost(host: string): string | undefined {
    const bare = host.replace(/^\[(.*)\]$/, '$1')
    return isIP(bare.replace(/%.*$/, '')) === 0 ? undefined : this.refusal(bare)
  }

  /**
   * The `lookup` option of a socket, an agent or a request: resolves the name, keeps only
   * the addresses the policy allows, and fails with AddressNotAllowedError when none is left,
   * so the connection is made to a vetted address and no other.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.resolve(hostname, { ...options, all: true }, (error, addresses) => {
      const done = callback as (
        e: NodeJS.ErrnoException | null,
        a?: string | LookupAddress[],
        f?: number,
      ) => void
      if (error) return done(error)
      const allowed = addresses.filter((a) => this.refusal(a.address) === undefined)
      const first = allowed[0]
      if (!first) return done(new AddressNotAllowedError(hostname))
      if (options.all) done(null, allowed)
      else done(null, first.address, first.family)
    })
  }
}
