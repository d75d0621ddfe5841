/**
 * What vpn-gateway.ts plans from: the host's routes and rules of protocol 108, its proxy ARP
 * entries, and inside each desired gateway its links, default route and firewall. Only
 * parses: every decision is the planner's.
 */
import type { Exec } from '../exec/run.js'
import { ExecError } from '../exec/run.js'
import { splitListing } from './firewall.js'
import { NFT_TABLE, ROUTE_PROTO } from './names.js'
import { parseAddresses, parseLinks } from './observe.js'
import type { DesiredHost, ObservedHost, ObservedLink } from './types.js'

/** A route of ours (protocol 108), in `main` or a space's table. */
export interface OwnedRoute {
  table: number | 'main'
  /** Always with its prefix (`203.0.113.50/32`). */
  dst: string
  dev: string
  via?: string
}

/** A policy rule of ours: `from <space cidr> lookup <its table>`. */
export interface OwnedRule {
  from: string
  table: number
}

/** A proxy ARP entry: the host answers for `address` on `dev`. */
export interface ProxyEntry {
  dev: string
  address: string
}

/** Inside one gateway namespace. */
export interface ObservedGateway {
  links: readonly ObservedLink[]
  defaultRoute?: { via?: string; dev?: string }
  /** Its nft table as splitListing canonicalises it; undefined when there is none. */
  firewall?: string
}

export interface ObservedVpn {
  routes: readonly OwnedRoute[]
  rules: readonly OwnedRule[]
  proxies: readonly ProxyEntry[]
  /** By namespace, for desired gateways whose namespace exists. */
  gateways: ReadonlyMap<string, ObservedGateway>
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)
const records = (v: unknown) => (Array.isArray(v) ? v.filter(isRecord) : [])
const withPrefix = (dst: string) =>
  dst === 'default' ? '0.0.0.0/0' : dst.includes('/') ? dst : `${dst}/32`

/** `ip -j route show table all proto 108`. */
export function parseOwnedRoutes(value: unknown): OwnedRoute[] {
  return records(value).flatMap((r) => {
    if (typeof r.dst !== 'string' || typeof r.dev !== 'string') return []
    const table = r.table === undefined || r.table === 'main' ? 'main' : Number(r.table)
    if (table !== 'main' && !Number.isInteger(table)) return []
    const route: OwnedRoute = { table, dst: withPrefix(r.dst), dev: r.dev }
    if (typeof r.gateway === 'string') route.via = r.gateway
    return [route]
  })
}

/** `ip -j rule show`: ours only (protocol 108). */
export function parseOwnedRules(value: unknown): OwnedRule[] {
  return records(value).flatMap((r) => {
    if (r.protocol !== String(ROUTE_PROTO) || typeof r.src !== 'string') return []
    const srclen = typeof r.srclen === 'number' ? r.srclen : 32
    return [{ from: `${r.src}/${srclen}`, table: Number(r.table) }]
  })
}

/** `ip -j neigh show proxy`. */
export function parseProxies(value: unknown): ProxyEntry[] {
  return records(value).flatMap((n) =>
    typeof n.dst === 'string' && typeof n.dev === 'string' ? [{ dev: n.dev, address: n.dst }] : [],
  )
}

/** The JSON arrays `ip -j -batch -` prints, one a line, one per command. */
const jsonLines = (text: string): unknown[] =>
  text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as unknown)

async function ipJsonBatch(exec: Exec, commands: string[], netns?: string): Promise<unknown[]> {
  const args = [...(netns === undefined ? [] : ['-n', netns]), '-j', '-d', '-batch', '-']
  const { stdout } = await exec('ip', args, { input: commands.map((c) => `${c}\n`).join('') })
  return jsonLines(stdout)
}

/** A gateway's firewall, canonical; undefined when the table is not there. */
export async function readGatewayFirewall(exec: Exec, netns: string): Promise<string | undefined> {
  try {
    const { stdout } = await exec('ip', [
      ...['netns', 'exec', netns],
      ...['nft', '-j', '-s', 'list', 'table', 'inet', NFT_TABLE],
    ])
    return splitListing(stdout).structure.inet
  } catch (e) {
    if (e instanceof ExecError && /No such file or directory/.test(e.stderr)) return undefined
    throw e
  }
}

/**
 * One `ip` process on the host (routes, rules, proxy entries), and two per desired gateway
 * whose namespace exists (its links and default route; its firewall).
 */
export async function observeVpn(
  exec: Exec,
  desired: DesiredHost,
  host: ObservedHost,
): Promise<ObservedVpn> {
  const [routes, rules, proxies] = await ipJsonBatch(exec, [
    `route show table all proto ${ROUTE_PROTO}`,
    'rule show',
    'neigh show proxy',
  ])
  const present = new Set(host.netns)
  const gateways = new Map<string, ObservedGateway>()
  for (const g of desired.vpnGateways ?? []) {
    if (!present.has(g.netns)) continue
    const [addr, route] = await ipJsonBatch(exec, ['addr show', 'route show default'], g.netns)
    const text = JSON.stringify(addr ?? [])
    const seen: ObservedGateway = { links: parseLinks(text, parseAddresses(text)) }
    const byDefault = records(route)[0]
    if (byDefault) {
      seen.defaultRoute = {}
      if (typeof byDefault.gateway === 'string') seen.defaultRoute.via = byDefault.gateway
      if (typeof byDefault.dev === 'string') seen.defaultRoute.dev = byDefault.dev
    }
    const firewall = await readGatewayFirewall(exec, g.netns)
    if (firewall !== undefined) seen.firewall = firewall
    gateways.set(g.netns, seen)
  }
  return {
    routes: parseOwnedRoutes(routes),
    rules: parseOwnedRules(rules),
    proxies: parseProxies(proxies),
    gateways,
  }
}
