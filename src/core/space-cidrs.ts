/**
 * The address plan of docs/design.md §3: every space owns a dyno /16 (`cidr`) and a data network
 * (`data_cidr`, /16../20) that overlap nothing else in the installation.
 */
import {
  DOCKER_DEFAULT,
  PRIVATE_BLOCKS,
  contains,
  formatCidr,
  overlaps,
  parseCidr,
  type Cidr,
} from './cidr.js'
import { errors } from './errors.js'

export interface CidrPair {
  cidr: string
  dataCidr: string
}

const inPrivateBlock = (c: Cidr) => PRIVATE_BLOCKS.some((b) => contains(b, c))

function checkCidr(field: string, text: unknown, minPrefix: number, maxPrefix: number): Cidr {
  const c = parseCidr(text, { strict: true })
  const range =
    minPrefix === maxPrefix ? `a /${minPrefix}` : `between a /${minPrefix} and a /${maxPrefix}`
  if (!c || c.prefix < minPrefix || c.prefix > maxPrefix || !inPrivateBlock(c)) {
    throw errors.invalidParams(
      `${field} must be ${range} network within 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16 (got ${JSON.stringify(text)}).`,
    )
  }
  if (overlaps(c, DOCKER_DEFAULT)) {
    throw errors.invalidParams(`${field} must not overlap 172.17.0.0/16.`)
  }
  return c
}

/**
 * Validates an explicit cidr/data_cidr (either may be absent) and fills in the missing one
 * from the first free range. `taken` holds every network already in use (other spaces' pairs
 * and the host's own networks). Throws 422 invalid_params on any conflict.
 */
export function planSpaceCidrs(
  requested: { cidr?: unknown; dataCidr?: unknown },
  taken: readonly string[],
): CidrPair {
  const used = taken.map((t) => parseCidr(t)).filter((c): c is Cidr => c !== undefined)
  const free = (c: Cidr) => !overlaps(c, DOCKER_DEFAULT) && used.every((u) => !overlaps(c, u))
  const ensureFree = (field: string, c: Cidr) => {
    const clash = used.find((u) => overlaps(c, u))
    if (clash) {
      throw errors.invalidParams(
        `${field} ${formatCidr(c)} overlaps ${formatCidr(clash)}, which is already in use.`,
      )
    }
  }

  const cidr = requested.cidr === undefined ? undefined : checkCidr('cidr', requested.cidr, 16, 16)
  const data =
    requested.dataCidr === undefined
      ? undefined
      : checkCidr('data_cidr', requested.dataCidr, 16, 20)
  if (cidr) ensureFree('cidr', cidr)
  if (data) ensureFree('data_cidr', data)
  if (cidr && data && overlaps(cidr, data)) {
    throw errors.invalidParams('data_cidr must not overlap cidr.')
  }

  if (cidr && data) return { cidr: formatCidr(cidr), dataCidr: formatCidr(data) }
  if (cidr) {
    // A custom space CIDR gets its data network from 172.16.0.0/12 (docs/heroku-reference.md §2.1).
    const d = firstFree(parseCidr('172.16.0.0/12')!, 20, (c) => free(c) && !overlaps(c, cidr))
    if (!d) throw errors.invalidParams('No free data_cidr is left; pass data_cidr explicitly.')
    return { cidr: formatCidr(cidr), dataCidr: formatCidr(d) }
  }
  // The default pair: 10.0/16 + 10.1/16 for the first space, then 10.2 + 10.3, and so on.
  const tenSlash8 = parseCidr('10.0.0.0/8')!
  for (let k = 0; k < 128; k++) {
    const c = { base: tenSlash8.base + 2 * k * 65536, prefix: 16 }
    const d = data ?? { base: c.base + 65536, prefix: 16 }
    if (free(c) && !overlaps(c, d) && (data !== undefined || free(d))) {
      return { cidr: formatCidr(c), dataCidr: formatCidr(d) }
    }
  }
  throw errors.invalidParams('No free /16 is left in 10.0.0.0/8; pass cidr explicitly.')
}

function firstFree(within: Cidr, prefix: number, ok: (c: Cidr) => boolean): Cidr | undefined {
  const step = 2 ** (32 - prefix)
  const count = 2 ** (prefix - within.prefix)
  for (let i = 0; i < count; i++) {
    const c = { base: within.base + i * step, prefix }
    if (ok(c)) return c
  }
  return undefined
}
