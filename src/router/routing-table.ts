/**
 * What the router knows, and the only way it learns it (docs/design.md §2: a data plane fed by
 * events, never querying the store on the hot path). The daemon pushes apps, dynos and spaces
 * in as they change; request handling only reads the indexes kept here.
 */
import { createSecureContext, type SecureContext } from 'node:tls'
import { parseCidr, type Cidr } from '../core/cidr.js'
import { TrustedRanges, type InboundRule } from './trusted-ranges.js'

export interface RouterApp {
  id: string
  name: string
  spaceId: string
  /** Served only on the space's internal listener, never on public ones (§8.2). */
  internalRouting: boolean
  /**
   * Custom domains (`/apps/{app}/domains`), served besides `<name>.<domain>`; lowercase. A
   * wildcard (`*.example.com`) serves names one label deeper that no app has as its own.
   */
  domains?: readonly string[]
  /** The app's certificates (SNI endpoints) and the hostnames each is served for. */
  certificates?: readonly RouterCertificate[]
}

/** A certificate chain and key (PEM), served by SNI for `hostnames` (the app's own names). */
export interface RouterCertificate {
  id: string
  cert: string
  key: string
  hostnames: readonly string[]
}

/** A web dyno that is `up`. Only these receive traffic. */
export interface RouterDyno {
  /** `web.1`: shown in router log lines. */
  name: string
  address: string
  port: number
}

export interface RouterSpace {
  id: string
  /** The space's dyno network (`10.0.0.0/16`): the only sources its internal listener accepts. */
  cidr: string
  /** Where the internal listener binds (`C.0.3`, core/address-plan.ts `internalRouter`). */
  internalAddress: string
  /** The current inbound ruleset. An empty list blocks all public web traffic. */
  rules: readonly InboundRule[]
  /** More sources the internal listener accepts: VPN routable CIDRs and peer networks. */
  internalSources?: readonly string[]
}

/** Why an app has no dyno to take a request (H10 if crashed, else H14). */
export type AppHealth = 'ok' | 'crashed'

/** Everything the router needs about one app, resolved once per request. */
export interface AppRoute {
  app: RouterApp
  /** TLS contexts of the app's certificates, by certificate id. */
  contexts: ReadonlyMap<string, CompiledCertificate>
  space: CompiledSpace | undefined
  dynos: readonly RouterDyno[]
  health: AppHealth
}

export interface CompiledSpace {
  space: RouterSpace
  trusted: TrustedRanges
  inside: Cidr[]
}

/**
 * How the router learns what it routes: the daemon's feed calls these as things change.
 * The routing table takes them itself; router workers (workers.ts) pass them on to theirs.
 */
export interface RouteUpdates {
  /** Apps are reached at `<app>.<domain>`. */
  readonly domain: string
  setApp(app: RouterApp): void
  removeApp(appId: string): void
  setDynos(appId: string, dynos: readonly RouterDyno[], crashed?: boolean): void
  setSpace(space: RouterSpace): void
  removeSpace(spaceId: string): void
}

interface CompiledCertificate {
  cert: string
  key: string
  context: SecureContext
}

export class RoutingTable implements RouteUpdates {
  private readonly routes = new Map<string, AppRoute>()
  /** Lower-cased host name (or `*.suffix`) → app id. */
  private readonly hosts = new Map<string, string>()
  /** Host name (or `*.suffix`) → the TLS context served for it by SNI. */
  private readonly certificates = new Map<string, SecureContext>()
  private readonly spaces = new Map<string, CompiledSpace>()
  private readonly listeners = new Set<() => void>()

  /** `domain` is the suffix apps are reached at: `<app>.<domain>`. */
  constructor(readonly domain: string) {}

  /**
   * Adds or replaces an app (name, domains, certificates, internal routing). Its dynos are
   * kept, and so are the TLS contexts of certificates that did not change (making one costs
   * about a millisecond).
   */
  setApp(app: RouterApp): void {
    const old = this.routes.get(app.id)
    if (old) this.unindex(old)
    const contexts = new Map<string, CompiledCertificate>()
    for (const c of app.certificates ?? []) {
      const kept = old?.contexts.get(c.id)
      if (kept && kept.cert === c.cert && kept.key === c.key) {
        contexts.set(c.id, kept)
        continue
      }
      try {
        contexts.set(c.id, { cert: c.cert, key: c.key, context: createSecureContext(c) })
      } catch {
        // The API checked it; should OpenSSL refuse it now, its names get the default one.
      }
    }
    const route: AppRoute = {
      app,
      contexts,
      space: this.spaces.get(app.spaceId),
      dynos: old?.dynos ?? [],
      health: old?.health ?? 'ok',
    }
    this.routes.set(app.id, route)
    for (const host of this.hostNames(app)) {
      this.hosts.set(host, app.id)
      this.certificates.delete(host) // a name that moved here never keeps its old app's certificate
    }
    for (const c of app.certificates ?? []) {
      const context = contexts.get(c.id)?.context
      if (!context) continue
      for (const host of c.hostnames) {
        if (this.hosts.get(host.toLowerCase()) === app.id)
          this.certificates.set(host.toLowerCase(), context)
      }
    }
    this.changed() // internal routing may have changed: open tunnels are checked again
  }

  removeApp(appId: string): void {
    const old = this.routes.get(appId)
    if (!old) return
    this.unindex(old)
    this.routes.delete(appId)
    this.changed() // its dynos left: their pools and tunnels close
  }

  /**
   * The app's web dynos that are `up`, all at once (what 'dynos.changed' gives). `crashed` says
   * whether the app has crashed web dynos: with no dyno up, that makes H10 instead of H14.
   */
  setDynos(appId: string, dynos: readonly RouterDyno[], crashed = false): void {
    const route = this.routes.get(appId)
    if (!route) return
    this.routes.set(appId, { ...route, dynos: [...dynos], health: crashed ? 'crashed' : 'ok' })
    this.changed()
  }

  /**
   * Adds or replaces a space: its ruleset takes effect for the next request on every
   * connection, old ones included. Synchronous, so once this returns the ruleset is applied.
   */
  setSpace(space: RouterSpace): void {
    const inside = [space.cidr, ...(space.internalSources ?? [])]
      .map((c) => parseCidr(c))
      .filter((c): c is Cidr => c !== undefined)
    const compiled: CompiledSpace = { space, trusted: new TrustedRanges(space.rules), inside }
    this.spaces.set(space.id, compiled)
    for (const [id, route] of this.routes) {
      if (route.app.spaceId === space.id) this.routes.set(id, { ...route, space: compiled })
    }
    this.changed()
  }

  removeSpace(spaceId: string): void {
    this.spaces.delete(spaceId)
    for (const [id, route] of this.routes) {
      if (route.app.spaceId === spaceId) this.routes.set(id, { ...route, space: undefined })
    }
    this.changed()
  }

  /** The app a `Host` header names (port and trailing dot ignored, case-insensitive). */
  routeForHost(host: string | undefined): AppRoute | undefined {
    if (!host) return undefined
    let name = host
    const colon = name.lastIndexOf(':')
    if (colon >= 0 && !name.endsWith(']')) name = name.slice(0, colon)
    const key = this.hostKey(name)
    return key === undefined ? undefined : this.routes.get(this.hosts.get(key)!)
  }

  /**
   * The TLS context for an SNI server name: the app's certificate chosen for that hostname,
   * or undefined (the listener's own certificate, `--tls-cert`).
   */
  certificateFor(serverName: string): SecureContext | undefined {
    const key = this.hostKey(serverName)
    return key === undefined ? undefined : this.certificates.get(key)
  }

  /**
   * The entry of `hosts` a name falls under: the name itself, else the wildcard one label up
   * (`a.example.com` → `*.example.com`). Lower-cased, without a trailing dot.
   */
  private hostKey(name: string): string | undefined {
    let lower = lowerCase(name)
    if (lower.endsWith('.')) lower = lower.slice(0, -1)
    if (this.hosts.has(lower)) return lower
    const dot = lower.indexOf('.')
    if (dot <= 0) return undefined
    const wildcard = `*${lower.slice(dot)}`
    return this.hosts.has(wildcard) ? wildcard : undefined
  }

  route(appId: string): AppRoute | undefined {
    return this.routes.get(appId)
  }

  allRoutes(): IterableIterator<AppRoute> {
    return this.routes.values()
  }

  allSpaces(): IterableIterator<CompiledSpace> {
    return this.spaces.values()
  }

  space(spaceId: string): CompiledSpace | undefined {
    return this.spaces.get(spaceId)
  }

  /**
   * Called after apps, spaces or dynos change (the router binds internal listeners, drains
   * queues, closes tunnels no longer admitted and pools of dynos gone).
   */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  private changed(): void {
    for (const l of this.listeners) l()
  }

  private hostNames(app: RouterApp): string[] {
    return [`${app.name}.${this.domain}`, ...(app.domains ?? [])].map((h) => h.toLowerCase())
  }

  private unindex(route: AppRoute): void {
    const app = route.app
    for (const host of this.hostNames(app)) {
      if (this.hosts.get(host) === app.id) {
        this.hosts.delete(host)
        this.certificates.delete(host)
      }
    }
  }
}

/** Is `address` (unsigned 32-bit) inside the space or one of its VPN / peer networks? */
export function insideSpace(space: CompiledSpace, address: number): boolean {
  for (const c of space.inside) {
    if (address >= c.base && address < c.base + 2 ** (32 - c.prefix)) return true
  }
  return false
}

/** `s` in lower case: `s` itself when nothing in it needs lowering (most Host headers). */
function lowerCase(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if ((c >= 65 && c <= 90) || c > 127) return s.toLowerCase()
  }
  return s
}
