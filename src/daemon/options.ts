/** Daemon flags, parsed and checked before anything starts. */
import { statSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { parseCidr, parseIpv4 } from '../core/cidr.js'
import type { AddressPool, EgressPool } from '../core/egress.js'
import { overlaps } from '../core/cidr.js'

export interface ListenAddress {
  host: string
  port: number
  /** HTTPS (router listeners given as `https://HOST:PORT`). */
  tls?: boolean
}

export interface DaemonOptions {
  dataDir: string
  apiListen: ListenAddress
  routerListen: ListenAddress[]
  domain: string
  adminEmail: string
  /** Outbound address pools, per region or for all (`--egress-pool`). */
  egressPools: EgressPool[]
  /** Outbound addresses per space (`--egress-per-space`). */
  egressPerSpace: number
  /** Where dyno traffic to the internet leaves (`--egress-interface`); default: any. */
  egressInterface?: string
  /** Private ranges outside the installation dynos may reach (`--allow-private`). */
  allowPrivate: string[]
  /** The router's certificate and key (PEM files), for HTTPS listeners. */
  tlsCert?: string
  tlsKey?: string
  /** Router worker processes (`--router-workers`); 0: the router runs in the daemon process. */
  routerWorkers: number
  /**
   * Custom domains are served once a TXT record proves the team controls them
   * (`--domain-verification on`, the default); off: as soon as they are added.
   */
  domainVerification: boolean
  /** Public addresses for VPN tunnels, per region or for all (`--vpn-pool`). */
  vpnPools: AddressPool[]
  /** VPN connections a space may have (`--vpn-max-per-space`). */
  vpnMaxPerSpace: number
}

export const DAEMON_DEFAULTS = {
  dataDir: '/var/lib/localspace',
  apiListen: '127.0.0.1:5000',
  routerListen: '127.0.0.1:8080',
  domain: 'localhost',
  adminEmail: 'admin@localspace.localhost',
  routerWorkers: 0,
  domainVerification: 'on',
} as const

/** More router workers than this is a typo, not a machine. */
const MAX_ROUTER_WORKERS = 256

export function parseRouterWorkers(text: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n > MAX_ROUTER_WORKERS) {
    throw new Error(
      `--router-workers must be a number from 0 to ${MAX_ROUTER_WORKERS} (got ${JSON.stringify(text)})`,
    )
  }
  return n
}

/**
 * `--domain-verification on|off`. Off is for a closed network whose DNS the operator runs:
 * every team's `domains:add` is trusted, as before verification existed.
 */
export function parseDomainVerification(text: string): boolean {
  if (text === 'on' || text === 'off') return text === 'on'
  throw new Error(`--domain-verification must be on or off (got ${JSON.stringify(text)})`)
}

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

/** A router listener: `HOST:PORT` for HTTP, `https://HOST:PORT` for HTTPS. */
export function parseRouterListen(text: string): ListenAddress {
  const https = text.startsWith('https://')
  const address = parseListen('--router-listen', text.replace(/^https?:\/\//, ''))
  return https ? { ...address, tls: true } : address
}

/** HTTPS listeners need both `--tls-cert` and `--tls-key`; either alone is a mistake. */
export function checkTls(
  routerListen: readonly ListenAddress[],
  cert?: string,
  key?: string,
): void {
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error('--tls-cert and --tls-key go together: give both, or neither')
  }
  if (cert === undefined && routerListen.some((l) => l.tls)) {
    throw new Error(
      'an https:// --router-listen needs --tls-cert and --tls-key (a wildcard certificate for the domain)',
    )
  }
}

/**
 * Builds and dynos run as unprivileged per-app uids, and bubblewrap binds their files from
 * below the data dir: every directory above it must let others pass (o+x), or every build
 * fails deep inside with `bwrap: Can't find source path … Permission denied`. The data dir
 * itself (and any part not made yet) the daemon makes or sets to 0711; what lies above it is
 * the operator's, so it is named, not changed.
 */
export function checkDataDir(dataDir: string): string {
  const dir = resolve(dataDir)
  for (let above = dirname(dir); ; above = dirname(above)) {
    const mode = statSync(above, { throwIfNoEntry: false })?.mode
    if (mode !== undefined && (mode & 0o001) === 0) {
      const octal = (mode & 0o777).toString(8).padStart(4, '0')
      throw new Error(
        `--data-dir ${dir} is below ${above} (mode ${octal}), which the apps' unprivileged ` +
          `users cannot pass through to reach their builds and dynos. Choose a data dir ` +
          `elsewhere (the default is ${DAEMON_DEFAULTS.dataDir}), or let them pass: chmod o+x ${above}`,
      )
    }
    if (above === dirname(above)) return dir
  }
}

/**
 * An address is either a space's outbound address or a VPN tunnel's, never both: the two are
 * handed out independently, so pools that overlap could give one address twice.
 */
export function checkPoolsApart(egress: readonly AddressPool[], vpn: readonly AddressPool[]): void {
  for (const v of vpn) {
    const clash = egress.find((e) => overlaps(e.cidr, v.cidr))
    if (clash) {
      throw new Error(
        `--vpn-pool ${v.text} overlaps --egress-pool ${clash.text}: give them separate ranges`,
      )
    }
  }
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
  return `${addr.tls ? 'https' : 'http'}://${shown}:${addr.port}`
}
