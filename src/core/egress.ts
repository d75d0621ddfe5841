/**
 * Stable outbound addresses (docs/heroku-reference.md §4): the operator gives pools with
 * `--egress-pool [REGION=]CIDR`; each new space takes its addresses from its region's pool,
 * or from the pool without a region.
 */
import { cidrSize, formatIpv4, parseCidr, type Cidr } from './cidr.js'
import { errors } from './errors.js'

/** Heroku gives every Private Space four stable outbound addresses (`--egress-per-space`). */
export const DEFAULT_EGRESS_PER_SPACE = 4
/** More than this per space is a typo, not a plan: a /26 for one space. */
const MAX_EGRESS_PER_SPACE = 64

/** Parses a count flag such as `--egress-per-space`; throws a message naming the flag. */
export function parseCountFlag(flag: string, text: string, min: number, max: number): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new Error(`${flag} must be a number from ${min} to ${max} (got ${JSON.stringify(text)})`)
  }
  return n
}

/** Parses `--egress-per-space`; throws a message for the flag. */
export const parseEgressPerSpace = (text: string): number =>
  parseCountFlag('--egress-per-space', text, 1, MAX_EGRESS_PER_SPACE)

/**
 * Public addresses the operator gives, for one region or for all: outbound addresses
 * (`--egress-pool`) and VPN tunnel addresses (`--vpn-pool`, core/vpn.ts).
 */
export interface AddressPool {
  /** undefined: the pool for every region without one of its own. */
  region?: string
  cidr: Cidr
  text: string
}
export type EgressPool = AddressPool

/** Parses `203.0.113.0/24` or `tokyo=203.0.113.0/24`; throws a message naming `flag`. */
export function parseAddressPool(flag: string, spec: string): AddressPool {
  const eq = spec.indexOf('=')
  const region = eq >= 0 ? spec.slice(0, eq) : undefined
  const text = eq >= 0 ? spec.slice(eq + 1) : spec
  const cidr = parseCidr(text, { strict: true })
  if (!cidr || (region !== undefined && !/^[a-z]+$/.test(region))) {
    throw new Error(
      `${flag} must be [REGION=]CIDR, such as tokyo=203.0.113.0/28 (got ${JSON.stringify(spec)})`,
    )
  }
  return region === undefined ? { cidr, text } : { region, cidr, text }
}

export const parseEgressPool = (spec: string): EgressPool => parseAddressPool('--egress-pool', spec)

export const poolFor = (pools: readonly AddressPool[], region: string): AddressPool | undefined =>
  pools.find((p) => p.region === region) ?? pools.find((p) => p.region === undefined)

/**
 * The lowest free addresses of the pool; the network and broadcast addresses of pools
 * larger than a /31 are never handed out. Throws 422 when the pool has too few left.
 */
export function pickEgressAddresses(
  pool: EgressPool,
  taken: ReadonlySet<string>,
  count: number,
): string[] {
  const picked = freePoolAddresses(pool, taken, count)
  if (picked.length < count) {
    throw errors.invalidParams(
      `The outbound address pool ${pool.text} has no ${count} free addresses left for a new space. Ask the operator to add a larger --egress-pool.`,
    )
  }
  return picked
}

/** Up to `count` of the lowest free addresses of the pool (fewer when it runs out). */
export function freePoolAddresses(
  pool: AddressPool,
  taken: ReadonlySet<string>,
  count: number,
): string[] {
  const size = cidrSize(pool.cidr)
  const [first, last] = size > 2 ? [1, size - 2] : [0, size - 1]
  const picked: string[] = []
  for (let i = first; i <= last && picked.length < count; i++) {
    const address = formatIpv4(pool.cidr.base + i)
    if (!taken.has(address)) picked.push(address)
  }
  return picked
}

export interface EgressHolder {
  id: string
  name: string
  region: string
  /** The addresses it holds now, in the order they were handed out. */
  addresses: readonly string[]
}

export interface EgressTopUp {
  /** Space id → the addresses to add to it (its existing ones stay: they are stable). */
  additions: Map<string, string[]>
  /** Spaces left with fewer than `perSpace`: their pool ran out. One sentence each. */
  short: string[]
}

/**
 * Spaces made when fewer addresses per space were given (or before a pool existed) are
 * brought up to `perSpace` from their region's pool, oldest space first, as far as the pool
 * allows; what they already hold never changes. Pure: the network agent applies the result.
 */
export function planEgressTopUp(
  spaces: readonly EgressHolder[],
  pools: readonly EgressPool[],
  taken: ReadonlySet<string>,
  perSpace: number,
): EgressTopUp {
  const used = new Set(taken)
  const additions = new Map<string, string[]>()
  const short: string[] = []
  for (const space of spaces) {
    const missing = perSpace - space.addresses.length
    const pool = poolFor(pools, space.region)
    if (missing <= 0 || !pool) continue
    const picked = freePoolAddresses(pool, used, missing)
    for (const a of picked) used.add(a)
    if (picked.length > 0) additions.set(space.id, picked)
    if (picked.length < missing) {
      short.push(
        `space ${space.name} has ${space.addresses.length + picked.length} of ${perSpace} outbound addresses: the pool ${pool.text} is exhausted`,
      )
    }
  }
  return { additions, short }
}
