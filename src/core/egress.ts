/**
 * Stable outbound addresses (docs/heroku-reference.md §4): the operator gives pools with
 * `--egress-pool [REGION=]CIDR`; each new space takes its addresses from its region's pool,
 * or from the pool without a region.
 */
import { cidrSize, formatIpv4, parseCidr, type Cidr } from './cidr.js'
import { errors } from './errors.js'

export const EGRESS_ADDRESSES_PER_SPACE = 2

export interface EgressPool {
  /** undefined: the pool for every region without one of its own. */
  region?: string
  cidr: Cidr
  text: string
}

/** Parses `203.0.113.0/24` or `tokyo=203.0.113.0/24`; throws a message for the flag. */
export function parseEgressPool(spec: string): EgressPool {
  const eq = spec.indexOf('=')
  const region = eq >= 0 ? spec.slice(0, eq) : undefined
  const text = eq >= 0 ? spec.slice(eq + 1) : spec
  const cidr = parseCidr(text, { strict: true })
  if (!cidr || (region !== undefined && !/^[a-z]+$/.test(region))) {
    throw new Error(
      `--egress-pool must be [REGION=]CIDR, such as tokyo=203.0.113.0/28 (got ${JSON.stringify(spec)})`,
    )
  }
  return region === undefined ? { cidr, text } : { region, cidr, text }
}

export const poolFor = (pools: readonly EgressPool[], region: string): EgressPool | undefined =>
  pools.find((p) => p.region === region) ?? pools.find((p) => p.region === undefined)

/**
 * The lowest free addresses of the pool; the network and broadcast addresses of pools
 * larger than a /31 are never handed out. Throws 422 when the pool has too few left.
 */
export function pickEgressAddresses(
  pool: EgressPool,
  taken: ReadonlySet<string>,
  count = EGRESS_ADDRESSES_PER_SPACE,
): string[] {
  const size = cidrSize(pool.cidr)
  const [first, last] = size > 2 ? [1, size - 2] : [0, size - 1]
  const picked: string[] = []
  for (let i = first; i <= last && picked.length < count; i++) {
    const address = formatIpv4(pool.cidr.base + i)
    if (!taken.has(address)) picked.push(address)
  }
  if (picked.length < count) {
    throw errors.invalidParams(
      `The outbound address pool ${pool.text} has no ${count} free addresses left for a new space. Ask the operator to add a larger --egress-pool.`,
    )
  }
  return picked
}
