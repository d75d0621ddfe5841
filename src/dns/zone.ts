/**
 * The in-memory record index: the record source's events in, per-space name tables out. A
 * space's table is rebuilt on the first query after a change to it (one Map of every name), so
 * an event costs a Map update and a query costs one Map lookup.
 */
import { containsAddress, parseCidr, parseIpv4, type Cidr } from '../core/cidr.js'
import type { DnsApp, DnsDyno, DnsRecordEvent, DnsRecords, DnsSpace } from './records.js'

/** The zone every discovery name lives under (heroku-reference §5.1, `.app.localspace`). */
export const ZONE = 'app.localspace'

export interface SrvTarget {
  target: string
  port: number
}

/** What one name holds. A name with nothing in it exists all the same (NODATA, not NXDOMAIN). */
export interface NameNode {
  /** Dyno addresses. */
  a: number[]
  /** A process-type name: answer a random subset of `a`, not all of it. */
  pick: boolean
  srv: SrvTarget[]
  /** One TXT record's strings (the app name's process types). */
  txt: string[]
}

/** One space's view of the world: everything a query from inside it may see. */
export interface SpaceTable {
  readonly space: DnsSpace
  readonly cidr: Cidr
  readonly dataCidr: Cidr | undefined
  /** DnsSpace.remoteCidrs: sources that may ask for internal-routing names only. */
  readonly remote: readonly Cidr[]
  readonly internalRouter: number
  /** The internal-routing domain, lowercase. */
  readonly domain: string
  /** Names under ZONE, lowercase, ZONE itself included. */
  readonly names: ReadonlyMap<string, NameNode>
  /** `<app>.<domain>` of the space's internal-routing apps, lowercase. */
  readonly internalNames: ReadonlySet<string>
  /** SOA serial: seconds at the last change, so it grows as the zone changes. */
  readonly serial: number
}

const emptyNode = (): NameNode => ({ a: [], pick: false, srv: [], txt: [] })

export class RecordIndex {
  private readonly spaces = new Map<string, DnsSpace>()
  private readonly apps = new Map<string, DnsApp>()
  private readonly dynos = new Map<string, DnsDyno>()
  /** Gateway address (as a number) → space id: the socket a query came in on names its space. */
  private readonly byGateway = new Map<number, string>()
  private readonly tables = new Map<string, SpaceTable>()
  private lastSerial = 0
  /** False until the source has replayed everything it knew (after a daemon restart). */
  synced = false
  private unsubscribe: (() => void) | undefined

  /** Follows a record source; returns the index itself for chaining. */
  follow(source: DnsRecords): this {
    this.unsubscribe?.()
    this.unsubscribe = source.subscribe((e) => this.apply(e))
    return this
  }

  stop(): void {
    this.unsubscribe?.()
    this.unsubscribe = undefined
  }

  apply(e: DnsRecordEvent): void {
    switch (e.kind) {
      case 'space': {
        const old = this.spaces.get(e.space.id)
        if (old) this.byGateway.delete(parseIpv4(old.gateway) ?? -1)
        this.spaces.set(e.space.id, e.space)
        const gw = parseIpv4(e.space.gateway)
        if (gw !== undefined) this.byGateway.set(gw, e.space.id)
        return this.invalidate(e.space.id)
      }
      case 'space-removed': {
        const old = this.spaces.get(e.spaceId)
        if (old && this.byGateway.get(parseIpv4(old.gateway) ?? -1) === e.spaceId)
          this.byGateway.delete(parseIpv4(old.gateway) ?? -1)
        this.spaces.delete(e.spaceId)
        return this.invalidate(e.spaceId)
      }
      case 'app': {
        const old = this.apps.get(e.app.id)
        this.apps.set(e.app.id, e.app)
        if (old) this.invalidate(old.spaceId)
        return this.invalidate(e.app.spaceId)
      }
      case 'app-removed': {
        const old = this.apps.get(e.appId)
        this.apps.delete(e.appId)
        return old && this.invalidate(old.spaceId)
      }
      case 'dyno': {
        const old = this.dynos.get(e.dyno.id)
        this.dynos.set(e.dyno.id, e.dyno)
        if (old) this.invalidateApp(old.appId)
        return this.invalidateApp(e.dyno.appId)
      }
      case 'dyno-removed': {
        const old = this.dynos.get(e.dynoId)
        this.dynos.delete(e.dynoId)
        return old && this.invalidateApp(old.appId)
      }
      case 'synced':
        this.synced = e.synced
        return
    }
  }

  /** The table of the space whose gateway is `gateway` (a number), built if stale. */
  tableForGateway(gateway: number): SpaceTable | undefined {
    const id = this.byGateway.get(gateway)
    return id === undefined ? undefined : this.table(id)
  }

  table(spaceId: string): SpaceTable | undefined {
    const cached = this.tables.get(spaceId)
    if (cached) return cached
    const space = this.spaces.get(spaceId)
    if (!space) return undefined
    const built = this.build(space)
    if (built) this.tables.set(spaceId, built)
    return built
  }

  private invalidate(spaceId: string): void {
    this.tables.delete(spaceId)
  }

  private invalidateApp(appId: string): void {
    const app = this.apps.get(appId)
    if (app) this.invalidate(app.spaceId)
  }

  private build(space: DnsSpace): SpaceTable | undefined {
    const cidr = parseCidr(space.cidr)
    const internalRouter = parseIpv4(space.internalRouter)
    if (!cidr || internalRouter === undefined) return undefined
    const dataCidr = space.dataCidr === undefined ? undefined : parseCidr(space.dataCidr)
    const domain = space.domain.toLowerCase().replace(/\.$/, '')
    const names = new Map<string, NameNode>([[ZONE, emptyNode()]])
    const internalNames = new Set<string>()
    const node = (name: string): NameNode => {
      let n = names.get(name)
      if (!n) names.set(name, (n = emptyNode()))
      return n
    }
    // Dynos by app, in number order (SRV lists them so, and tests read them so).
    const dynosOf = new Map<string, DnsDyno[]>()
    for (const d of this.dynos.values()) {
      const list = dynosOf.get(d.appId)
      if (list) list.push(d)
      else dynosOf.set(d.appId, [d])
    }
    for (const app of this.apps.values()) {
      if (app.spaceId !== space.id) continue
      const appName = app.name.toLowerCase()
      // The internal-routing hostname is routing, not discovery: it does not need the feature.
      if (app.internalRouting && domain !== '') internalNames.add(`${appName}.${domain}`)
      if (!app.dnsDiscovery) continue
      const appFqdn = `${appName}.${ZONE}`
      const types = new Set<string>()
      node(appFqdn)
      node(`_tcp.${appFqdn}`)
      const dynos = (dynosOf.get(app.id) ?? []).sort((x, y) => x.number - y.number)
      for (const d of dynos) {
        const ip = parseIpv4(d.privateIp)
        if (ip === undefined) continue
        const type = d.processType.toLowerCase()
        types.add(type)
        const typeName = `${type}.${appFqdn}`
        const dynoName = `${d.number}.${typeName}`
        node(dynoName).a.push(ip)
        const pool = node(typeName)
        pool.a.push(ip)
        pool.pick = true
        node(`_${type}._tcp.${appFqdn}`).srv.push({ target: dynoName, port: d.port })
      }
      node(appFqdn).txt = [...types].sort()
    }
    // Serials must grow even when two changes fall in the same second.
    this.lastSerial = Math.max(this.lastSerial + 1, Math.floor(Date.now() / 1000)) >>> 0
    return {
      space,
      cidr,
      dataCidr: dataCidr ?? undefined,
      remote: (space.remoteCidrs ?? [])
        .map((c) => parseCidr(c))
        .filter((c): c is Cidr => c !== undefined),
      internalRouter,
      domain,
      names,
      internalNames,
      serial: this.lastSerial,
    }
  }
}

/** Whether a query from `source` may ask this space's server (its dyno or data CIDR). */
export const isInside = (t: SpaceTable, source: number): boolean =>
  containsAddress(t.cidr, source) ||
  (t.dataCidr !== undefined && containsAddress(t.dataCidr, source))

/** Whether `source` is behind one of the space's VPN connections (DnsSpace.remoteCidrs). */
export const isRemote = (t: SpaceTable, source: number): boolean =>
  t.remote.some((c) => containsAddress(c, source))
