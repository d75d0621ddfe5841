/** IPv4 CIDR arithmetic, pure and allocation-free enough for request validation. */
export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  readonly base: number
  readonly prefix: number
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)'
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`)

export function parseIpv4(text: string): number | undefined {
  const m = IPV4.exec(text)
  if (!m) return undefined
  return ((+m[1]! << 24) | (+m[2]! << 16) | (+m[3]! << 8) | +m[4]!) >>> 0
}

export const formatIpv4 = (n: number): string =>
  `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`

const mask = (prefix: number): number => (prefix === 0 ? 0 : (~0 << (32 - prefix)) >>> 0)

/**
 * Parses `a.b.c.d/n`. With `strict`, host bits must be zero (`10.0.0.1/16` is refused), which
 * is what a network definition needs; trusted-IP sources accept host bits and normalise them.
 */
export function parseCidr(text: unknown, { strict = false } = {}): Cidr | undefined {
  if (typeof text !== 'string') return undefined
  const slash = text.indexOf('/')
  if (slash < 0) return undefined
  const addr = parseIpv4(text.slice(0, slash))
  const prefixText = text.slice(slash + 1)
  if (addr === undefined || !/^(3[0-2]|[12]?\d)$/.test(prefixText)) return undefined
  const prefix = +prefixText
  const base = (addr & mask(prefix)) >>> 0
  if (strict && base !== addr) return undefined
  return { base, prefix }
}

export const formatCidr = (c: Cidr): string => `${formatIpv4(c.base)}/${c.prefix}`

export const cidrSize = (c: Cidr): number => 2 ** (32 - c.prefix)

export const lastAddress = (c: Cidr): number => c.base + cidrSize(c) - 1

export const overlaps = (a: Cidr, b: Cidr): boolean =>
  a.base <= lastAddress(b) && b.base <= lastAddress(a)

export const contains = (outer: Cidr, inner: Cidr): boolean =>
  inner.base >= outer.base && lastAddress(inner) <= lastAddress(outer)

/** Same network bits (on every DNS query: no floating point, no allocation). */
export const containsAddress = (c: Cidr, addr: number): boolean =>
  (addr & mask(c.prefix)) >>> 0 === c.base

/** RFC 1918 blocks: Heroku requires a space CIDR inside one of these. */
export const PRIVATE_BLOCKS: readonly Cidr[] = [
  '10.0.0.0/8',
  '172.16.0.0/12',
  '192.168.0.0/16',
].map((t) => parseCidr(t)!)

/** Docker's default bridge network; Heroku refuses it and so do we. */
export const DOCKER_DEFAULT = parseCidr('172.17.0.0/16')!
