/**
 * Reads the host's links, IPv4 addresses and named network namespaces from `ip -j`. Only
 * parses: every decision is the planner's.
 */
import { readdir } from 'node:fs/promises'
import type { Exec } from '../exec/run.js'
import { OWNED_LINK } from './names.js'
import type { ObservedAddress, ObservedHost, ObservedLink } from './types.js'

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

/** `ip -j` prints a JSON array, or nothing at all for some empty lists (`ip netns list`). */
function parseJsonArray(text: string, what: string): Record<string, unknown>[] {
  if (text.trim() === '') return []
  const value: unknown = JSON.parse(text)
  if (!Array.isArray(value)) throw new Error(`${what}: expected a JSON array from ip -j`)
  return value.filter(isRecord)
}

/** Parses `ip -j addr show`: IPv4 addresses by link name. */
export function parseAddresses(text: string): Map<string, ObservedAddress[]> {
  const byLink = new Map<string, ObservedAddress[]>()
  for (const entry of parseJsonArray(text, 'ip addr show')) {
    if (typeof entry.ifname !== 'string') continue
    const addresses: ObservedAddress[] = []
    for (const info of Array.isArray(entry.addr_info) ? entry.addr_info : []) {
      if (!isRecord(info) || info.family !== 'inet') continue
      if (typeof info.local !== 'string' || typeof info.prefixlen !== 'number') continue
      addresses.push({ address: info.local, prefix: info.prefixlen })
    }
    byLink.set(entry.ifname, addresses)
  }
  return byLink
}

/** Parses `ip -j -d link show`; addresses come from `parseAddresses`. */
export function parseLinks(
  text: string,
  addresses: ReadonlyMap<string, readonly ObservedAddress[]> = new Map(),
): ObservedLink[] {
  const links: ObservedLink[] = []
  for (const entry of parseJsonArray(text, 'ip link show')) {
    const name = entry.ifname
    if (typeof name !== 'string') continue
    const flags = Array.isArray(entry.flags) ? entry.flags : []
    const kind = isRecord(entry.linkinfo) ? entry.linkinfo.info_kind : undefined
    const link: ObservedLink = {
      name,
      up: flags.includes('UP'),
      owned: OWNED_LINK.test(name),
      addresses: addresses.get(name) ?? [],
    }
    if (typeof kind === 'string') link.kind = kind
    if (typeof entry.master === 'string') link.master = entry.master
    if (typeof entry.address === 'string') link.mac = entry.address
    links.push(link)
  }
  return links
}

/** Parses `ip -j netns list` (which prints nothing, or `[]`, when there are none). */
export function parseNetns(text: string): string[] {
  return parseJsonArray(text, 'ip netns list')
    .map((entry) => entry.name)
    .filter((name): name is string => typeof name === 'string')
}

/** Where `ip netns add` puts its namespaces: their names are the file names here. */
export const NETNS_DIR = '/run/netns'

/**
 * One `ip` process: `ip -j -d addr show` carries each link's kind and master (from `-d`) as
 * well as its addresses. The named namespaces are the files of /run/netns, read directly
 * (what `ip netns list` prints, without a process).
 */
export async function observeHost(exec: Exec, netnsDir = NETNS_DIR): Promise<ObservedHost> {
  const [links, netns] = await Promise.all([
    exec('ip', ['-j', '-d', 'addr', 'show']),
    readdir(netnsDir).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return []
      throw e
    }),
  ])
  return {
    links: parseLinks(links.stdout, parseAddresses(links.stdout)),
    netns: netns.sort(),
  }
}
