/**
 * Custom domains and SNI endpoints (schema `domain`, `sni-endpoint`; `heroku domains:add`,
 * `heroku certs:add`). An app is served at `<app>.<domain>` (its `heroku` domain) and at every
 * custom domain it has; an SNI endpoint is a certificate and key the router serves for the
 * app's hostnames it was chosen for. The API validates and stores them; the router is told.
 */
import { randomBytes } from 'node:crypto'
import { parseIpv4 } from './cidr.js'
import { certificateCovers } from './certificates.js'

/** Heroku lets an app have up to 1,000 custom domains. */
export const MAX_DOMAINS_PER_APP = 1000
/** Every certificate is a TLS context in every router worker: keep it bounded. */
export const MAX_SNI_ENDPOINTS_PER_APP = 50

/** A custom domain, as stored (hostnames are lowercase, without a trailing dot). */
export interface AppDomain {
  id: string
  appId: string
  hostname: string
  /** The SNI endpoint chosen for it (`domains:add --cert`, `domains:update --cert`). */
  sniEndpointId: string | null
  /** What its TXT record at `challengeName(hostname)` must say to prove the team controls it. */
  verificationToken: string
  /** When that record was found (the router serves it from then on); null: pending. */
  verifiedAt: string | null
  createdAt: string
  updatedAt: string
}

/** An app's certificate and key, as stored; the facts are read from the chain when shown. */
export interface SniEndpoint {
  id: string
  appId: string
  /** `^[a-z][a-z0-9-]{2,29}$`, unique in the installation, as `certs:info --name` takes it. */
  name: string
  certificateChain: string
  privateKey: string
  createdAt: string
  updatedAt: string
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/

/**
 * A custom domain's hostname in canonical form (lowercase, no trailing dot), or why it is not
 * one: DNS labels of letters, digits and inner hyphens, at least two of them, at most 253
 * characters, not an IP address. A leading `*.` makes a wildcard domain (`*.example.com`),
 * which serves every name one label deeper that no other app has as its own.
 */
export function parseHostname(raw: string): { hostname: string } | { error: string } {
  const invalid = {
    error: `${JSON.stringify(raw.slice(0, 300))} is not a valid hostname (such as www.example.com).`,
  }
  const host = raw.trim().toLowerCase().replace(/\.$/, '')
  if (host.length === 0 || host.length > 253) return invalid
  if (parseIpv4(host) !== undefined) {
    return { error: `${host} is an IP address; a domain is a DNS name (such as www.example.com).` }
  }
  const labels = host.split('.')
  const named = labels[0] === '*' ? labels.slice(1) : labels
  if (named.length < 2 || !named.every((l) => LABEL.test(l))) return invalid
  if (/^\d+$/.test(named[named.length - 1]!)) return invalid // a top-level label is never numeric
  return { hostname: host }
}

/**
 * Ownership of a custom domain is proved by a TXT record (docs in README, "Custom domains"):
 * `_localspace-challenge.<hostname>` holding the domain's token. A wildcard `*.x.example` is
 * proved at `_localspace-challenge.x.example`, by whoever controls the zone it covers.
 */
export const CHALLENGE_LABEL = '_localspace-challenge'

export const challengeName = (hostname: string): string =>
  `${CHALLENGE_LABEL}.${hostname.startsWith('*.') ? hostname.slice(2) : hostname}`

/** 128 random bits, hex: unguessable, and plain enough for any DNS provider's TXT form. */
export const newVerificationToken = (): string => randomBytes(16).toString('hex')

/**
 * The wildcard domain that would serve `hostname` (one label deeper, as the router matches),
 * or undefined when none could: `foo.x.example` → `*.x.example`; wildcards and two-label
 * names have none.
 */
export function coveringWildcard(hostname: string): string | undefined {
  if (hostname.startsWith('*.')) return undefined
  const parent = hostname.slice(hostname.indexOf('.') + 1)
  return parent.includes('.') ? `*.${parent}` : undefined
}

/** Is `hostname` the installation's own (`<domain>` or under it)? Those are apps' default names. */
export const underDomain = (hostname: string, domain: string): boolean =>
  hostname === domain || hostname.endsWith(`.${domain}`)

/**
 * The certificate the router serves for each of an app's hostnames (its default one and its
 * custom domains): the SNI endpoint chosen for the domain, else the newest of the app's SNI
 * endpoints whose certificate covers the hostname. Hostnames not in the result get the
 * router's own certificate (`--tls-cert`). `domainsOf(endpoint)` gives a certificate's names.
 */
export function certificatePlan(
  hostnames: ReadonlyArray<{ hostname: string; sniEndpointId: string | null }>,
  endpoints: readonly SniEndpoint[],
  domainsOf: (endpoint: SniEndpoint) => readonly string[],
): Map<string, SniEndpoint> {
  const byId = new Map(endpoints.map((e) => [e.id, e]))
  const newestFirst = [...endpoints].sort((a, b) =>
    a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1,
  )
  const plan = new Map<string, SniEndpoint>()
  for (const { hostname, sniEndpointId } of hostnames) {
    const chosen =
      (sniEndpointId !== null ? byId.get(sniEndpointId) : undefined) ??
      newestFirst.find((e) => certificateCovers(domainsOf(e), hostname))
    if (chosen) plan.set(hostname, chosen)
  }
  return plan
}
