/**
 * Converges the host's networking to the store's desired state (docs/design.md §2): observe →
 * plan → apply → verify, one run at a time, on every change and on a timer so drift (a rule
 * deleted by hand, a bridge removed) is repaired, not only reported (reconcile-loop.ts). Only after the host is
 * verified does a space become `allocated` or an attachment made through the API `ready`
 * (the runtime's own `attach` resolves only once its namespace is whole); only after its host
 * objects are gone is a deleted space or a detached attachment forgotten.
 */
import { planEgressTopUp, type EgressPool } from '../core/egress.js'
import { errors } from '../core/errors.js'
import type { EventBus } from '../core/events.js'
import type { HealthCheck } from '../core/runtime-view.js'
import { buildNetworkAddresses, firstFreeBuildAddress } from '../core/address-plan.js'
import { newId, nowIso, shortId } from '../core/ids.js'
import type { Attachment, AttachmentKind } from '../core/types.js'
import type { FirewallState } from '../network/nft/render.js'
import type { DesiredAttachment, DesiredHost } from '../network/types.js'
import { readSiteToSite } from '../store/site-to-site.js'
import type { Store } from '../store/store.js'
import {
  desiredAttachment,
  desiredBuildAttachment,
  desiredBuildNetwork,
  desiredNetwork,
  dataReplicationPaths,
  type BuildAttachment,
  type NetworkSettings,
} from './desired-network.js'
import { ReconcileLoop } from './reconcile-loop.js'

/** The host side the agent drives; Linux in the daemon, an in-memory fake in API tests. */
export interface SpaceHost {
  /** Makes the host match, then verifies it; throws when it cannot. */
  converge(host: DesiredHost, firewall: FirewallState): Promise<void>
  /** The fast path for one namespace: made whole, or not at all (rolled back). */
  attach(a: DesiredAttachment): Promise<void>
  /** Its undo; succeeds when it is already gone. */
  detach(a: DesiredAttachment): Promise<void>
  /** What differs from the desired state, one sentence each; [] when converged. Reads only. */
  drift(host: DesiredHost, firewall: FirewallState): Promise<string[]>
  /** The id an attachment should take to use a namespace prepared ahead of need, if any. */
  preparedId?(): string | undefined
  /** Releases what the host keeps ready (prepared namespaces, long-lived processes). */
  stop?(): Promise<void>
}

export interface NetworkAgentOptions {
  settings: NetworkSettings
  /** How often to check for drift; 0 = only on changes. */
  intervalMs: number
  /** Outbound addresses: spaces holding fewer than `perSpace` are topped up from the pools. */
  egress?: { pools: readonly EgressPool[]; perSpace: number }
  log?: (message: string) => void
}

export class NetworkAgent {
  /** Converges, one at a time, on changes and on the timer. */
  private readonly loop: ReconcileLoop
  /**
   * Host changes one at a time: a converge never sees a namespace half-made by attach. (The
   * loop keeps converges apart; this queue keeps them apart from attach, detach and doctor.)
   */
  private hostQueue: Promise<unknown> = Promise.resolve()
  /** The last failure, for `doctor` and logs; cleared by a successful run. */
  lastError: Error | undefined
  /** Spaces short of outbound addresses (their pool ran out), for `doctor` and logs. */
  private egressShort: string[] = []
  /**
   * Builds' namespaces on the common build network, by id. In memory only: a build lives no
   * longer than the daemon that runs it (the next one fails it), and the first reconcile of
   * the next daemon deletes the namespaces it left, as owned objects no one desires.
   */
  private readonly builds = new Map<string, BuildAttachment>()
  /** A converge has made the build network since this agent started. */
  private buildNetworkMade = false

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly host: SpaceHost,
    private readonly options: NetworkAgentOptions,
  ) {
    this.loop = new ReconcileLoop({
      run: () => this.exclusive(() => this.converge()),
      intervalMs: options.intervalMs,
    })
  }

  start(): Promise<void> {
    // Not `ruleset.changed`: the router enforces rulesets (and marks them applied), the host's
    // networking does not depend on them. Not `space.converged`: that is this agent's own
    // report of a converge that is done; following it would converge everything once more.
    // VPN connections and peerings add gateways, routes and firewall rows; `addons.changed`: a
    // follower's replication path across spaces (dataReplicationPaths).
    this.loop
      .follow(this.events, 'space.changed')
      .follow(this.events, 'network.changed')
      .follow(this.events, 'vpn.changed')
      .follow(this.events, 'peering.changed')
      .follow(this.events, 'addons.changed')
    return this.loop.start()
  }

  /** Runs a reconcile, or queues one more after the run in flight; resolves when idle. */
  reconcile(): Promise<void> {
    return this.loop.kick()
  }

  /** Resolves once no reconcile is running (tests wait on it instead of sleeping). */
  idle(): Promise<void> {
    return this.loop.idle()
  }

  async stop(): Promise<void> {
    await this.loop.stop()
    await this.exclusive(async () => this.host.stop?.())
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.hostQueue.then(fn, fn)
    this.hostQueue = next.catch(() => undefined)
    return next
  }

  /**
   * Gives a dyno or data service its network now (the runtime's path, docs/design.md §5): an
   * address, a namespace on the space bridge, the anti-spoofing entry. Resolves `ready`.
   *
   * One durable commit, and the host work does not wait for it: the attachment is recorded
   * `ready` with its address in a transaction that starts the host work before it commits,
   * so the commit's wait on the disk and the namespace's plumbing (other processes) overlap.
   * When the host work fails (it rolls itself back) the record is deleted; when the commit
   * fails, the host work is undone. Nothing else sees the record in between: reconciles run
   * one at a time with attaches (`exclusive`). A daemon that dies in between finds either a
   * namespace the store does not know (its first reconcile deletes it, before any attach) or
   * a `ready` attachment without its namespace (its first reconcile makes it).
   */
  attach(spaceId: string, kind: AttachmentKind, owner: string): Promise<Attachment> {
    return this.exclusive(async () => {
      const { store } = this
      let started: { desired: DesiredAttachment; done: Promise<void> } | undefined
      let attachment: Attachment
      try {
        attachment = store.transaction(() => {
          const space = store.spaces.find(spaceId)
          if (!space) throw errors.notFound('space')
          if (space.state !== 'allocated') {
            throw errors.invalidParams(`Space ${space.name} is not allocated yet.`)
          }
          const made = store.network.allocateAttachment(space, kind, owner, {
            preferredId: this.host.preparedId?.(),
            state: 'ready',
          })
          const desired = desiredAttachment(space, made)
          started = { desired, done: this.host.attach(desired) }
          return made
        })
      } catch (e) {
        // Nothing was recorded; take down what the host made meanwhile, if anything.
        const { desired, done } = started ?? {}
        if (desired && done)
          await done.then(
            () => this.host.detach(desired),
            () => undefined,
          )
        throw e
      }
      try {
        await started!.done
      } catch (e) {
        store.network.deleteAttachment(attachment.id) // the host rolled back: free the address
        throw e
      }
      return attachment
    })
  }

  /**
   * Gives a build of an app outside a space a namespace on the common build network
   * (internet only; see nft/render.ts). Resolves once the namespace is whole.
   */
  attachBuild(owner: string): Promise<{ id: string }> {
    return this.exclusive(async () => {
      const cidr = this.options.settings.buildNetworkCidr
      if (cidr === undefined) throw new Error('this host has no build network')
      if (!this.buildNetworkMade) await this.converge()
      if (!this.buildNetworkMade) {
        throw new Error(`the build network is not ready: ${this.lastError?.message ?? 'unknown'}`)
      }
      const inUse = new Set([...this.builds.values()].map((b) => b.address))
      const address = firstFreeBuildAddress(buildNetworkAddresses(cidr), inUse)
      if (!address) throw new Error('the build network has no free address left')
      const taken = new Set(
        [...this.store.network.attachments(), ...this.builds.values()].map((a) => shortId(a.id)),
      )
      let id = this.host.preparedId?.() ?? newId()
      while (taken.has(shortId(id))) id = newId()
      const build: BuildAttachment = { id, address, owner }
      this.builds.set(id, build)
      try {
        await this.host.attach(desiredBuildAttachment(desiredBuildNetwork(cidr), build))
      } catch (e) {
        this.builds.delete(id) // the host rolled back
        throw e
      }
      return { id }
    })
  }

  /** The attachments `owner` holds, in a space or on the build network. */
  ownedBy(owner: string): Array<{ id: string }> {
    return [...this.store.network.attachments(), ...this.builds.values()].filter(
      (a) => a.owner === owner,
    )
  }

  /** Takes the namespace down, then frees its address. */
  detach(attachmentId: string): Promise<void> {
    return this.exclusive(async () => {
      const { store } = this
      const build = this.builds.get(attachmentId)
      const cidr = this.options.settings.buildNetworkCidr
      if (build && cidr !== undefined) {
        await this.host.detach(desiredBuildAttachment(desiredBuildNetwork(cidr), build))
        this.builds.delete(build.id)
        return
      }
      const a = store.network.attachment(attachmentId)
      const space = a && store.spaces.find(a.spaceId)
      if (!a || !space) return
      store.network.setAttachmentState(a.id, 'detaching', nowIso())
      await this.host.detach(desiredAttachment(space, a))
      store.network.deleteAttachment(a.id)
    })
  }

  /** For `localspace doctor`: the last failure and what differs from desired state now. */
  async doctor(): Promise<HealthCheck[]> {
    const { store } = this
    const desired = this.desired()
    const drift = await this.exclusive(() => this.host.drift(desired.host, desired.firewall))
    const stuck = store.spaces.all().filter((s) => s.state !== 'allocated')
    return [
      {
        name: 'outbound addresses',
        ok: this.egressShort.length === 0,
        detail:
          this.egressShort.length === 0
            ? 'every space has its outbound addresses'
            : `${this.egressShort.join('; ')} — add a larger --egress-pool`,
      },
      {
        name: 'space networks',
        ok: drift.length === 0,
        detail:
          drift.length === 0
            ? `${desired.host.spaces.length} space(s) and ${desired.host.attachments.length} namespace(s) as they should be`
            : `${drift.join('; ')} — the daemon repairs this within ${this.options.intervalMs / 1000} s`,
      },
      {
        name: 'last reconcile',
        ok: this.lastError === undefined,
        detail: this.lastError?.message ?? 'succeeded',
      },
      {
        name: 'spaces',
        ok: stuck.length === 0 || this.lastError === undefined,
        detail:
          stuck.length === 0
            ? 'all allocated'
            : stuck.map((s) => `${s.name} is ${s.state}`).join(', '),
      },
    ]
  }

  /**
   * Desired host networking: the store's spaces and attachments, the builds' namespaces, and
   * the spaces' VPN gateways and peer routes.
   */
  private desired() {
    const { store } = this
    const spaces = store.spaces.all()
    return desiredNetwork(
      spaces,
      store.network.attachments(),
      (id) => store.network.egressOf(id),
      this.options.settings,
      [...this.builds.values()],
      spaces.flatMap((s) => readSiteToSite(store, s.id) ?? []),
      dataReplicationPaths(store.addons.all()),
    )
  }

  private async converge(): Promise<void> {
    this.topUpEgress()
    const desired = this.desired()
    try {
      await this.host.converge(desired.host, desired.firewall)
      this.lastError = undefined
      this.buildNetworkMade = desired.host.buildNetwork !== undefined
    } catch (e) {
      this.lastError = e instanceof Error ? e : new Error(String(e))
      this.options.log?.(`network: ${this.lastError.message}`)
      return
    }
    this.recordConverged(desired.spaceStates, desired.attachmentStates)
  }

  /**
   * Gives spaces with fewer outbound addresses than configured (made before the count was
   * raised, or before their pool existed) the rest, as far as the pool allows. Addresses a
   * space holds never change: customers put them in allow lists.
   */
  private topUpEgress(): void {
    const { store } = this
    const egress = this.options.egress
    if (!egress || egress.pools.length === 0) return
    const short = store.transaction(() => {
      // Oldest first: a space made earlier is topped up before a later one.
      const spaces = store.spaces
        .all()
        .filter((s) => s.state !== 'deleting')
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .map((s) => ({ ...s, addresses: store.network.egressOf(s.id) }))
      const plan = planEgressTopUp(
        spaces,
        egress.pools,
        new Set(store.network.allEgress()),
        egress.perSpace,
      )
      const now = nowIso()
      for (const [id, addresses] of plan.additions) store.network.insertEgress(id, addresses, now)
      return plan.short
    })
    // Said once when it changes, not on every run.
    if (short.join('\n') !== this.egressShort.join('\n')) {
      for (const line of short) this.options.log?.(`network: ${line}`)
    }
    this.egressShort = short
  }

  /** The host now matches what these records asked for: move them on. */
  private recordConverged(
    spaceStates: ReadonlyMap<string, string>,
    attachmentStates: ReadonlyMap<string, string>,
  ): void {
    const { store } = this
    const now = nowIso()
    const moved: string[] = []
    store.transaction(() => {
      for (const [id, was] of attachmentStates) {
        const a = store.network.attachment(id)
        if (a?.state !== was) continue // changed meanwhile: the next run handles it
        if (was === 'pending') store.network.setAttachmentState(id, 'ready', now)
        if (was === 'detaching') store.network.deleteAttachment(id)
      }
      for (const [id, was] of spaceStates) {
        const space = store.spaces.find(id)
        if (space?.state !== was) continue
        if (was === 'allocating') {
          store.spaces.setState(id, 'allocated', now)
          moved.push(id)
        }
        if (was === 'deleting') {
          for (const a of store.network.attachments(id)) store.network.deleteAttachment(a.id)
          store.spaces.delete(id)
          moved.push(id)
        }
      }
    })
    // Data planes (DNS, router, runtime) start serving a space once it is allocated. A
    // `space.changed` here would make this agent (which follows it) converge every space once
    // more, for a change it made itself: `space.converged` is for the others only.
    for (const id of moved) this.events.emit('space.converged', id)
  }
}
