/**
 * Feeds the router (src/router) from the store and the runtime, on events: apps in allocated
 * spaces with their verified custom domains (`served`: a pending one is nobody's yet) and
 * certificates, their web dynos that are up, and each
 * space's trusted IP ranges. The router answers from its own table; nothing here is on the
 * request path. A ruleset is marked `applied` by nothing but the router's acknowledgement
 * (`afterApplied`): from then on every request is checked against it. A router that is down
 * acknowledges nothing, and the ruleset stays `applied: false`.
 */
import { spaceAddresses } from '../core/address-plan.js'
import { describeChain } from '../core/certificates.js'
import { certificatePlan, type AppDomain, type SniEndpoint } from '../core/domains.js'
import type { EventBus } from '../core/events.js'
import { ReconcileLoop, type ReconcileScope } from '../agent/reconcile-loop.js'
import type { DynoView } from '../core/runtime-view.js'
import type { App } from '../core/types.js'
import type { RouterApp, RouterCertificate, RouterService } from '../router/index.js'
import { internalRouterSources, readSiteToSite } from '../store/site-to-site.js'
import type { Store } from '../store/store.js'

export interface RouterFeedOptions {
  store: Store
  events: EventBus
  router: RouterService
  dynos: () => Array<{ appId: string; view: DynoView }>
  /** $PORT of dynos. */
  port: number
}

export class RouterFeed {
  /** Syncs one at a time: of everything, or of the apps (ids) that changed meanwhile. */
  private readonly loop: ReconcileLoop<string>
  private offDynos: (() => void) | undefined
  private known = { spaces: new Set<string>(), apps: new Set<string>() }
  private stopped = false

  constructor(private readonly options: RouterFeedOptions) {
    this.loop = new ReconcileLoop<string>({ run: (scope) => this.syncScope(scope) })
  }

  /** Tells the router everything known now (done when this returns), then follows changes. */
  start(): void {
    const { events } = this.options
    const byApp = (appId: string) => appId
    this.loop
      .follow(events, 'space.changed')
      .follow(events, 'space.converged')
      .follow(events, 'ruleset.changed')
      // VPN remotes and accepted peers reach the internal listener too.
      .follow(events, 'vpn.changed')
      .follow(events, 'peering.changed')
      // One app changed (config, a release, its domains): only its route, not every app's.
      .follow(events, 'app.changed', byApp)
      .follow(events, 'domains.changed', byApp)
    // Not a reconcile: a copy of the runtime's view of one app's dynos, made at once (the
    // pass above never waits, so this never lands in the middle of one).
    this.offDynos = events.on('dynos.changed', (appId) => this.syncDynos(appId))
    void this.loop.start()
  }

  async stop(): Promise<void> {
    this.stopped = true
    this.offDynos?.()
    await this.loop.stop()
  }

  private syncScope(scope: ReconcileScope<string>): void {
    if (scope === 'all') this.sync()
    else for (const appId of scope) this.syncApp(appId)
  }

  private sync(): void {
    const { store, router } = this.options
    const table = router.routes
    const applied: string[] = []
    const spaces = store.spaces.all().filter((s) => s.state === 'allocated')
    const spaceIds = new Set(spaces.map((s) => s.id))
    for (const s of spaces) {
      const ruleset = store.spaces.currentRuleset(s.id)
      const s2s = readSiteToSite(store, s.id)
      table.setSpace({
        id: s.id,
        cidr: s.cidr,
        internalAddress: spaceAddresses(s.cidr, s.dataCidr).internalRouter,
        rules: ruleset?.rules ?? [],
        internalSources: s2s ? internalRouterSources(s2s) : [],
      })
      if (ruleset && !ruleset.applied) applied.push(ruleset.id)
    }
    if (applied.length > 0) {
      // Applied once the router (every worker of it) checks requests against it; never
      // called back when no router process took it (all down, or closed).
      router.afterApplied(() => {
        if (this.stopped) return
        for (const id of applied) store.spaces.markRulesetApplied(id)
      })
    }
    for (const id of this.known.spaces) if (!spaceIds.has(id)) table.removeSpace(id)
    this.known.spaces = spaceIds

    const apps = store.apps.all().filter((a) => a.spaceId !== null && spaceIds.has(a.spaceId))
    const appIds = new Set(apps.map((a) => a.id))
    const domains = groupByApp(store.domains.served())
    const endpoints = groupByApp(store.domains.allEndpoints())
    for (const a of apps) {
      table.setApp(this.routerApp(a, domains.get(a.id) ?? [], endpoints.get(a.id) ?? []))
      this.syncDynos(a.id)
    }
    for (const id of this.known.apps) if (!appIds.has(id)) table.removeApp(id)
    this.known.apps = appIds
  }

  private syncApp(appId: string): void {
    const { store, router } = this.options
    const a = store.apps.find(appId)
    if (a?.spaceId && this.known.spaces.has(a.spaceId)) {
      router.routes.setApp(
        this.routerApp(a, store.domains.servedForApp(a.id), store.domains.endpoints(a.id)),
      )
      this.known.apps.add(a.id)
      this.syncDynos(a.id)
    } else if (this.known.apps.delete(appId)) {
      router.routes.removeApp(appId)
    }
  }

  /**
   * What the router needs of an app: its names, and which certificate each of them is served
   * with (core/domains.ts `certificatePlan`; names left out get the router's own).
   */
  private routerApp(a: App, domains: AppDomain[], endpoints: SniEndpoint[]): RouterApp {
    const hostnames = [
      { hostname: `${a.name}.${this.options.router.routes.domain}`, sniEndpointId: null },
      ...domains,
    ]
    const plan = certificatePlan(
      hostnames,
      endpoints,
      (e) => describeChain(e.certificateChain).domains,
    )
    const certificates = new Map<string, RouterCertificate & { hostnames: string[] }>()
    for (const [hostname, e] of plan) {
      let c = certificates.get(e.id)
      if (!c) {
        c = { id: e.id, cert: e.certificateChain, key: e.privateKey, hostnames: [] }
        certificates.set(e.id, c)
      }
      c.hostnames.push(hostname)
    }
    return {
      id: a.id,
      name: a.name,
      spaceId: a.spaceId!,
      internalRouting: a.internalRouting,
      domains: domains.map((d) => d.hostname),
      certificates: [...certificates.values()],
    }
  }

  /** The app's web dynos that are up take traffic; a crashed one makes errors H10, not H14. */
  private syncDynos(appId: string): void {
    const web = this.options
      .dynos()
      .filter((d) => d.appId === appId && d.view.type === 'web')
      .map((d) => d.view)
    const up = web.filter((v) => v.state === 'up' && v.privateIp !== null)
    this.options.router.routes.setDynos(
      appId,
      up.map((v) => ({ name: v.name, address: v.privateIp!, port: this.options.port })),
      up.length === 0 && web.some((v) => v.state === 'crashed'),
    )
  }
}

function groupByApp<T extends { appId: string }>(items: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>()
  for (const item of items) {
    const list = out.get(item.appId)
    if (list) list.push(item)
    else out.set(item.appId, [item])
  }
  return out
}
