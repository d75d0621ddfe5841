/**
 * Log drains (docs/heroku-reference.md §8.6; schema `log-drain`): where an app's log lines are
 * copied to. An app has drains of its own (`heroku drains:add URL`); every app in a space
 * with a space log drain (`PUT /spaces/{s}/log-drain`) also drains there.
 *
 * The API validates and stores drains; the drain dispatcher (src/logs/drains.ts) delivers to
 * them. They meet here: the URL rules, and DrainSource, how the dispatcher learns which app
 * drains where (read again on the `drains.changed` event, never per line).
 */
import { randomUUID } from 'node:crypto'
import type { AddressPolicy } from './address-policy.js'

/** What a drain URL may start with: logplex HTTP(S) drains, or syslog over TCP (and TLS). */
export type DrainProtocol = 'https' | 'http' | 'syslog' | 'syslog+tls'

export const DRAIN_PROTOCOLS: readonly DrainProtocol[] = ['https', 'http', 'syslog', 'syslog+tls']

/** Longer URLs are refused: they are stored, listed and sent on every request. */
export const MAX_DRAIN_URL_LENGTH = 2048

/** A drain URL taken apart; `url` is the parsed URL (credentials included, for HTTP). */
export interface DrainEndpoint {
  protocol: DrainProtocol
  url: URL
  host: string
  port: number
}

const DEFAULT_PORTS: Record<DrainProtocol, number | undefined> = {
  https: 443,
  http: 80,
  syslog: undefined,
  'syslog+tls': undefined,
}

/**
 * Parses a drain URL, or says why it is not one: `https://` / `http://` (any path, query and
 * basic-auth credentials), `syslog://host:port` / `syslog+tls://host:port` (a port is required,
 * as Heroku does; nothing after it).
 */
export function parseDrainUrl(raw: string): DrainEndpoint | { error: string } {
  const error = (why: string) => ({
    error: `Invalid drain URL ${JSON.stringify(raw.slice(0, 200))}: ${why}`,
  })
  if (raw.length > MAX_DRAIN_URL_LENGTH) {
    return error(`longer than ${MAX_DRAIN_URL_LENGTH} characters.`)
  }
  if (/\s/.test(raw)) return error('it contains whitespace.')
  let url: URL
  try {
    url = new URL(raw)
  } catch {
    return error('use https://, http://, syslog:// or syslog+tls://.')
  }
  const protocol = url.protocol.replace(/:$/, '') as DrainProtocol
  if (!DRAIN_PROTOCOLS.includes(protocol)) {
    return error('use https://, http://, syslog:// or syslog+tls://.')
  }
  // For the special schemes (http, https) URL parses the host; for syslog ones it only does
  // when the URL has an authority (`syslog://`), so `syslog:foo` has an empty hostname.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1')
  if (host === '') return error('a host is required.')
  const port = url.port === '' ? DEFAULT_PORTS[protocol] : Number(url.port)
  if (port === undefined || port < 1 || port > 65535) {
    return error('a port is required, such as syslog+tls://logs.example.com:6514.')
  }
  if (protocol === 'syslog' || protocol === 'syslog+tls') {
    if (url.username !== '' || url.password !== '')
      return error('syslog drains take no credentials.')
    if ((url.pathname !== '' && url.pathname !== '/') || url.search !== '' || url.hash !== '') {
      return error('syslog drains take no path or query.')
    }
  }
  return { protocol, url, host, port }
}

/** Heroku's drain tokens: `d.<uuid>`; receivers see it in Logplex-Drain-Token. */
/**
 * Why a drain may not be added for `host`: a literal address the address policy refuses
 * (loopback, private, the host's own…), told at once with a 422. A name is judged on what it
 * resolves to, each time the drain connects.
 */
export function drainHostError(host: string, policy: AddressPolicy): string | undefined {
  if (policy.refusalOfHost(host) === undefined) return undefined
  return `Log drain url must point to a public address: ${host.slice(0, 100)} is not one.`
}

export const newDrainToken = (): string => `d.${randomUUID()}`

/** An app's own drain, as stored. */
export interface AppLogDrain {
  id: string
  appId: string
  url: string
  token: string
  createdAt: string
  updatedAt: string
}

/** One place an app's lines go. The same space drain appears under every app of the space. */
export interface DrainTarget {
  id: string
  url: string
  token: string
  /** `app`: added to the app; `space`: its space's log drain (lines name their app). */
  scope: 'app' | 'space'
}

export interface AppDrains {
  appId: string
  appName: string
  drains: DrainTarget[]
}

/** What the dispatcher needs to know: every app that has a drain, with its drains. */
export interface DrainSource {
  appDrains(): AppDrains[]
}
