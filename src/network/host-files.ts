/**
 * The few host files the network module writes directly (no process needed): per-interface
 * IPv4 forwarding under /proc/sys, and the resolv.conf that `ip netns exec` bind-mounts over
 * /etc/resolv.conf inside a namespace (from /etc/netns/<ns>/).
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { OWNED_NETNS } from './names.js'
import type { HostPaths } from './types.js'
import { checkIfname, checkIpv4, checkName } from './validate.js'

export const DEFAULT_ETC_NETNS = '/etc/netns'
export const DEFAULT_IPV4_CONF = '/proc/sys/net/ipv4/conf'
export const DEFAULT_IPV4_NEIGH = '/proc/sys/net/ipv4/neigh'

/** Idempotent: reads first and writes only when the value differs. */
async function ensureSetting(file: string, value: string): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => '')
  if (current.trim() !== value) await writeFile(file, `${value}\n`)
}

/** Turns on IPv4 forwarding for one interface (a space bridge, the egress interface). */
export async function ensureForwarding(iface: string, paths: HostPaths = {}): Promise<void> {
  checkIfname(iface)
  await ensureSetting(join(paths.ipv4Conf ?? DEFAULT_IPV4_CONF, iface, 'forwarding'), '1')
}

/**
 * Makes `iface` answer ARP for its proxy entries (the VPN tunnel addresses) at once: the
 * kernel otherwise delays each proxied answer by up to `proxy_delay` (0.8 s), which a
 * customer gateway's first IKE packet would wait for.
 */
export async function ensureProxyArpAtOnce(iface: string, paths: HostPaths = {}): Promise<void> {
  checkIfname(iface)
  await ensureSetting(join(paths.ipv4Neigh ?? DEFAULT_IPV4_NEIGH, iface, 'proxy_delay'), '0')
}

/** Writes /etc/netns/<ns>/resolv.conf with the space's DNS server. */
export async function writeResolvConf(
  netns: string,
  dns: string,
  paths: HostPaths = {},
): Promise<void> {
  checkName(netns, OWNED_NETNS, 'network namespace')
  checkIpv4(dns, 'dns')
  const dir = join(paths.etcNetns ?? DEFAULT_ETC_NETNS, netns)
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'resolv.conf'), `# written by localspace\nnameserver ${dns}\n`)
}

/** Removes /etc/netns/<ns>; fine when it is not there. */
export async function removeNetnsFiles(netns: string, paths: HostPaths = {}): Promise<void> {
  checkName(netns, OWNED_NETNS, 'network namespace')
  await rm(join(paths.etcNetns ?? DEFAULT_ETC_NETNS, netns), { recursive: true, force: true })
}
