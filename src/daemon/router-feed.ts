/**
 * Feeds the router (src/router) from the store and the runtime, on events: apps in allocated
 * spaces, their web dynos that are up, and each space's trusted IP ranges. The router answers
 * from its own table; nothing here is on the request path. A ruleset is marked `applied` as
 * soon as the router holds it: from then on every request is checked against it.
 */
import { spaceAddresses } from '../core/address-plan.js'
import type { EventBus } from '../core/events.js'
import type { DynoView } from '../core/runtime-view.js'
import type { Router } from '../router/index.js'
import type { Store } from '../store/store.js'

export interface RouterFeedOptions {
  store: Store
  events: EventBus
  router: Router
  dynos: () => Array<{ appId: string; view: DynoView }>
  /** $PORT of dynos. */
  port: number
}

export class RouterFeed {
  private readonly unsubscribe: Array<() => void> = []
  private known = { spaces: new Set<string>(), apps: new Set<string>() }

  constructor(private readonly options: RouterFeedOptions) {}

  start(): void {
    const { events } = this.options
    const full = () => this.sync()
    for (const event of ['space.changed', 'ruleset.changed'] as const) {
      this.unsubscribe.push(events.on(event, full))
    }
    // One app changed (config, a release): only its route, not a pass over every app.
    this.unsubscribe.push(events.on('app.changed', (appId) => this.syncApp(appId)))
    this.unsubscribe.push(events.on('dynos.changed', (appId) => this.syncDynos(appId)))
    this.sync()
  }

  stop(): void {
    for (const off of this.unsubscribe.splice(0)) off()
  }

  private sync(): void {
    const { store, router } = this.options
    const table = router.table
    const spaces = store.spaces.all().filter((s) => s.state === 'allocated')
    const spaceIds = new Set(spaces.map((s) => s.id))
    for (const s of spaces) {
      const ruleset = store.spaces.currentRuleset(s.id)
      table.setSpace({
        id: s.id,
        cidr: s.cidr,
        internalAddress: spaceAddresses(s.cidr, s.dataCidr).internalRouter,
        rules: ruleset?.rules ?? [],
      })
      if (ruleset && !ruleset.applied) store.spaces.markRulesetApplied(ruleset.id)
    }
    for (const id of this.known.spaces) if (!spaceIds.has(id)) table.removeSpace(id)
    this.known.spaces = spaceIds

    const apps = store.apps.all().filter((a) => a.spaceId !== null && spaceIds.has(a.spaceId))
    const appIds = new Set(apps.map((a) => a.id))
    for (const a of apps) {
      table.setApp({
        id: a.id,
        name: a.name,
        spaceId: a.spaceId!,
        internalRouting: a.internalRouting,
      })
      this.syncDynos(a.id)
    }
    for (const id of this.known.apps) if (!appIds.has(id)) table.removeApp(id)
    this.known.apps = appIds
  }

  private syncApp(appId: string): void {
    const { store, router } = this.options
    const a = store.apps.find(appId)
    if (a?.spaceId && this.known.spaces.has(a.spaceId)) {
      router.table.setApp({
        id: a.id,
        name: a.name,
        spaceId: a.spaceId,
        internalRouting: a.internalRouting,
      })
      this.known.apps.add(a.id)
      this.syncDynos(a.id)
    } else if (this.known.apps.delete(appId)) {
      router.table.removeApp(appId)
    }
  }

  /** The app's web dynos that are up take traffic; a crashed one makes errors H10, not H14. */
  private syncDynos(appId: string): void {
    const web = this.options
      .dynos()
      .filter((d) => d.appId === appId && d.view.type === 'web')
      .map((d) => d.view)
    const up = web.filter((v) => v.state === 'up' && v.privateIp !== null)
    this.options.router.table.setDynos(
      appId,
      up.map((v) => ({ name: v.name, address: v.privateIp!, port: this.options.port })),
      up.length === 0 && web.some((v) => v.state === 'crashed'),
    )
  }
}
