/**
 * Feeds the DNS data plane (src/dns) from the store and the runtime, on events: spaces that are
 * allocated (and so have their gateway address on a bridge to listen on), the apps in them,
 * and the dynos that are up. The DNS server answers from its own index; nothing here is on
 * the query path.
 */
import { buildNetworkAddresses, spaceAddresses } from '../core/address-plan.js'
import type { EventBus } from '../core/events.js'
import { ReconcileLoop, type ReconcileScope } from '../agent/reconcile-loop.js'
import type { DynoView } from '../core/runtime-view.js'
import type { App } from '../core/types.js'
import { readSiteToSite, vpnRemoteCidrs } from '../store/site-to-site.js'
import type { Store } from '../store/store.js'
import type { DnsService, MemoryDnsRecords } from '../dns/index.js'

const DISCOVERY = 'spaces-dns-discovery'
/**
 * The common build network answers DNS as a space without apps: names of the internet are
 * forwarded upstream, no space's names are known there.
 */
const BUILD_NETWORK = 'build-network'
const RETRY_LISTEN_MS = 1000

export interface DnsFeedOptions {
  store: Store
  events: EventBus
  records: MemoryDnsRecords
  dns: DnsService
  /** Running dynos, as the runtime knows them. */
  dynos: () => Array<{ appId: string; view: DynoView }>
  /** $PORT of dynos (published in SRV records). */
  port: number
  /** Internal-routing apps answer at `<app>.<domain>` inside their space. */
  domain: string
  /** The common build network's CIDR: its builds' resolver is its gateway. */
  buildNetworkCidr?: string
  log?: (message: string) => void
}

export class DnsFeed {
  /** Syncs one at a time: of everything, or of the apps (ids) that changed meanwhile. */
  private readonly loop: ReconcileLoop<string>
  private retry: NodeJS.Timeout | undefined
  private known = { spaces: new Set<string>(), apps: new Set<string>(), dynos: new Set<string>() }

  constructor(private readonly options: DnsFeedOptions) {
    this.loop = new ReconcileLoop<string>({
      run: (scope) => this.syncScope(scope),
      onError: (e) => options.log?.(`dns: ${e.message}`),
    })
  }

  /** Tells the server everything known now, then follows changes. */
  async start(): Promise<void> {
    const { events } = this.options
    const byApp = (appId: string) => appId
    this.loop
      .follow(events, 'space.changed')
      .follow(events, 'space.converged')
      // The VPN side asks for the names of internal-routing apps.
      .follow(events, 'vpn.changed')
      // One app changed (config, features, a release): only its records, not a pass over all.
      // Dyno changes take the same short way (names within 100 ms).
      .follow(events, 'app.changed', byApp)
      .follow(events, 'dynos.changed', byApp)
    await this.loop.start()
    this.options.records.setSynced(true)
  }

  async stop(): Promise<void> {
    clearTimeout(this.retry)
    await this.loop.stop()
  }

  private async syncScope(scope: ReconcileScope<string>): Promise<void> {
    if (scope === 'all') return this.sync()
    for (const appId of scope) this.syncApp(appId)
    this.syncDynos()
  }

  private async sync(): Promise<void> {
    const { store, records, domain, buildNetworkCidr } = this.options
    const spaces = store.spaces.all().filter((s) => s.state === 'allocated')
    const spaceIds = new Set(spaces.map((s) => s.id))
    const gateways = spaces.map((s) => spaceAddresses(s.cidr, s.dataCidr).gateway)
    if (buildNetworkCidr !== undefined) {
      const { gateway } = buildNetworkAddresses(buildNetworkCidr)
      // No app is ever in it, so its internal router is never an answer.
      records.setSpace({
        id: BUILD_NETWORK,
        cidr: buildNetworkCidr,
        gateway,
        internalRouter: gateway,
        domain,
      })
      gateways.push(gateway)
    }
    for (const s of spaces) {
      const plan = spaceAddresses(s.cidr, s.dataCidr)
      const s2s = readSiteToSite(store, s.id)
      records.setSpace({
        id: s.id,
        cidr: s.cidr,
        dataCidr: s.dataCidr,
        gateway: plan.gateway,
        internalRouter: plan.internalRouter,
        domain,
        remoteCidrs: s2s ? vpnRemoteCidrs(s2s) : [],
      })
    }
    for (const id of this.known.spaces) if (!spaceIds.has(id)) records.removeSpace(id)
    this.known.spaces = spaceIds

    const apps = store.apps.all().filter((a) => a.spaceId !== null && spaceIds.has(a.spaceId))
    const appIds = new Set(apps.map((a) => a.id))
    for (const a of apps) this.setApp(a)
    for (const id of this.known.apps) if (!appIds.has(id)) records.removeApp(id)
    this.known.apps = appIds
    this.syncDynos()
    await this.listen(gateways)
  }

  private setApp(a: App): void {
    const feature = this.options.store.apps.features(a.id).find((f) => f.name === DISCOVERY)
    this.options.records.setApp({
      id: a.id,
      spaceId: a.spaceId!,
      name: a.name,
      internalRouting: a.internalRouting,
      dnsDiscovery: feature?.enabled ?? true,
    })
  }

  /** One app: its records as they are now, or none when it is gone or outside a space. */
  private syncApp(appId: string): void {
    const app = this.options.store.apps.find(appId)
    if (app?.spaceId && this.known.spaces.has(app.spaceId)) {
      this.setApp(app)
      this.known.apps.add(app.id)
    } else if (this.known.apps.delete(appId)) {
      this.options.records.removeApp(appId)
    }
  }

  /** Every dyno that is up has its names; every other has none. */
  private syncDynos(): void {
    const { records, dynos, port } = this.options
    const up = new Set<string>()
    for (const { appId, view } of dynos()) {
      if (view.state !== 'up' || view.privateIp === null) continue
      up.add(view.id)
      records.setDyno({
        id: view.id,
        appId,
        processType: view.type,
        number: Number(view.name.slice(view.name.lastIndexOf('.') + 1)),
        privateIp: view.privateIp,
        port,
      })
    }
    for (const id of this.known.dynos) if (!up.has(id)) records.removeDyno(id)
    this.known.dynos = up
  }

  /**
   * Listens on every allocated space's gateway. A bridge may not carry its address yet (the
   * network agent is still converging): those are tried again shortly.
   */
  private async listen(gateways: string[]): Promise<void> {
    clearTimeout(this.retry)
    const failed = await this.options.dns.setListenAddresses(gateways)
    if (failed.length > 0) {
      this.retry = setTimeout(() => void this.loop.kick(), RETRY_LISTEN_MS)
      this.retry.unref()
    }
  }
}
