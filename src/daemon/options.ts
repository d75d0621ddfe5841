/** Daemon flags, parsed and checked before anything starts. */
import { parseCidr, parseIpv4 } from '../core/cidr.js'
import type { EgressPool } from '../core/egress.js'

export interface ListenAddress {
  host: string
  port: number
}

export interface DaemonOptions {
  dataDir: string
  apiListen: ListenAddress
  routerListen: ListenAddress[]
  domain: string
  adminEmail: string
  /** Outbound address pools, per region or for all (`--egress-pool`). */
  egressPools: EgressPool[]
  /** Where dyno traffic to the internet leaves (`--egress-interface`); default: any. */
  egressInterface?: string
  /** Private ranges outside the installation dynos may reach (`--allow-private`). */
  allowPrivate: string[]
}

export const DAEMON_DEFAULTS = {
  dataDir: '/var/lib/localspace',
  apiListen: '127.0.0.1:5000',
  routerListen: '127.0.0.1:8080',
  domain: 'localhost',
  adminEmail: 'admin@localspace.localhost',
} as const

/** Parses `HOST:PORT` (`[::1]:PORT` for IPv6); throws a message a person can act on. */
export function parseListen(flag: string, text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(text)
  const host = m?.[1] ?? m?.[2]
  const port = Number(m?.[3])
  if (!m || !host || port < 0 || port > 65535) {
    throw new Error(
      `${flag} must be HOST:PORT, such as 127.0.0.1:5000 (got ${JSON.stringify(text)})`,
    )
  }
  return { host, port }
}

export function checkPrivateRange(text: string): string {
  if (!parseCidr(text, { strict: true })) {
    throw new Error(
      `--allow-private must be a network such as 192.168.50.0/24 (got ${JSON.stringify(text)})`,
    )
  }
  return text
}

export function checkInterfaceName(name: string): string {
  if (!/^[\w.:-]{1,15}$/.test(name)) {
    throw new Error(`--egress-interface must be an interface name (got ${JSON.stringify(name)})`)
  }
  return name
}

const DOMAIN =
  /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/

export function checkDomain(domain: string): string {
  if (!DOMAIN.test(domain))
    throw new Error(`--domain must be a DNS name (got ${JSON.stringify(domain)})`)
  return domain
}

/** The URL a client on this machine uses for an address we listen on. */
export function urlFor(addr: ListenAddress, host?: string): string {
  const h = host ?? (addr.host === '0.0.0.0' || addr.host === '::' ? '127.0.0.1' : addr.host)
  const shown = h.includes(':') && parseIpv4(h) === undefined ? `[${h}]` : h
  return `http://${shown}:${addr.port}`
}
