/** The host's upstream resolvers, as glibc reads them: `nameserver` lines, at most three. */
import { readFile } from 'node:fs/promises'
import { isIP } from 'node:net'
import type { Upstream } from './forwarder.js'

export function parseResolvConf(text: string): Upstream[] {
  const out: Upstream[] = []
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line)
    // An IPv6 address may carry a zone (`fe80::1%eth0`); node:dgram takes it as it is.
    const address = m?.[1]
    if (address && isIP(address.split('%')[0]!) !== 0) out.push({ address, port: 53 })
  }
  return out.slice(0, 3)
}

/** Upstreams from a resolv.conf; none (so every forward is SERVFAIL) when it cannot be read. */
export async function readResolvConf(path = '/etc/resolv.conf'): Promise<Upstream[]> {
  try {
    return parseResolvConf(await readFile(path, 'utf8'))
  } catch {
    return []
  }
}
