/**
 * Feeds the data servers (src/data's DataAgent) from the store's add-ons, and reports back:
 * every add-on `provisioning` or `provisioned` becomes a server spec in its space's data
 * network; a server `available` marks its add-on available (platform/data-servers.ts), one
 * that cannot start marks it failed, one destroyed lets its record and network attachment go.
 * It also answers the data API's live rows (DataServerProbe: pg:info, redis:info).
 *
 * The add-on's namespace has ONE owner: the network agent. The add-on's address is a network
 * attachment (`addon:<id>`) made with the add-on; the agent makes its namespace like a dyno's
 * (with the firewall's anti-spoofing element) and takes it down once the add-on is
 * deprovisioned. The servers are given that attachment's id and an attacher that only waits
 * for the agent, so nothing else creates or deletes the namespace.
 *
 * Followers (`--follow`): the follower's spec carries `leaderFacts` of its leader's server
 * (on this host), the leader's spec the followers' addresses (its replication hba). When the
 * store says a follower follows no more (`pg:unfollow`, or its leader destroyed) while its
 * server still replays, it is promoted and its slot dropped on the old leader.
 *
 * Servers outlive the daemon: `stop()` only stops watching them; the next daemon adopts them.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { spaceAddresses } from '../core/address-plan.js'
import type {
  DataServerProbe,
  DesiredDataServer as AddonServer,
  PgLiveInfo,
  RedisLiveInfo,
} from '../core/addons.js'
import type { EventBus } from '../core/events.js'
import { DataAgent } from '../data/agent.js'
import type { EngineContext } from '../data/engine.js'
import { dropSlot, lag, leaderFacts, promote } from '../data/followers.js'
import { dataLayout } from '../data/layout.js'
import { appRole } from '../data/postgres-config.js'
import { isInRecovery, runSql } from '../data/postgres.js'
import { redisCommand } from '../data/redis.js'
import type { NetworkAttacher } from '../data/server.js'
import type {
  DataServerSpec,
  DataServerStatus,
  DesiredDataServer,
  LeaderFacts,
} from '../data/types.js'
import type { Exec } from '../exec/run.js'
import { dataBridgeName } from '../network/names.js'
import { addonNetworkOwner } from '../platform/addons.js'
import type { PlatformContext } from '../platform/context.js'
import {
  addonsToRemove,
  desiredDataServers,
  markAddonAvailable,
  markAddonDeprovisioned,
  markAddonFailed,
} from '../platform/data-servers.js'
import type { Store } from '../store/store.js'

export interface DataFeedOptions {
  store: Store
  events: EventBus
  exec: Exec
  /** The network agent: a pass makes the namespaces of new add-ons. */
  network: { reconcile(): Promise<void> }
  /** Where servers keep their files: `<dir>/<add-on id>` (the daemon's `<dataDir>/data`). */
  dir: string
  /** Passed to every server (tests shorten the restart back-off). */
  restartDelayMs?: (attempt: number) => number
  log?: (message: string) => void
}

export class DataFeed implements DataServerProbe {
  readonly agent: DataAgent
  private readonly ctx: PlatformContext
  /** Status reports and promotions, one at a time, in order. */
  private queue: Promise<void> = Promise.resolve()
  /** Leaders' facts, read once from their servers (their certificate and password stay). */
  private readonly leaders = new Map<string, LeaderFacts>()
  /** Add-ons known to be leaders (not in recovery): no promotion to look for. */
  private readonly notFollowing = new Set<string>()
  private unsubscribe: Array<() => void> = []

  constructor(private readonly options: DataFeedOptions) {
    this.ctx = { store: options.store, events: options.events }
    this.agent = new DataAgent({
      exec: options.exec,
      network: this.attacher(),
      desired: () => this.desired(),
      onStatus: (status) => this.enqueue(() => this.report(status)),
      ...(options.restartDelayMs && { restartDelayMs: options.restartDelayMs }),
      onError: (e) => options.log?.(`data: ${e.message}`),
    })
  }

  async start(): Promise<void> {
    const { events } = this.options
    const kick = () => void this.agent.kick()
    this.unsubscribe = [
      events.on('addons.changed', kick),
      events.on('network.changed', kick),
      events.on('space.converged', kick),
    ]
    await this.agent.start()
  }

  /** Servers keep running; the next daemon adopts them. */
  async stop(): Promise<void> {
    for (const off of this.unsubscribe) off()
    await this.agent.stop()
    await this.queue
  }

  /** Resolves when no pass, server operation or report is under way (tests). */
  async settled(): Promise<void> {
    await this.agent.settled()
    await this.queue
  }

  private enqueue(task: () => Promise<void>): void {
    this.queue = this.queue
      .then(task)
      .catch((e: unknown) =>
        this.options.log?.(`data: ${e instanceof Error ? e.message : String(e)}`),
      )
  }

  /** The namespace is the network agent's: a server waits for it, and never removes it. */
  private attacher(): NetworkAttacher {
    return {
      attach: async (a) => {
        await this.options.network.reconcile()
        if (!existsSync(`/run/netns/${a.netns}`))
          throw new Error(`the network of ${a.address} is not made yet`)
      },
      // The network agent takes it down once markAddonDeprovisioned let the attachment go.
      detach: async () => undefined,
    }
  }

  private serverDir(addonId: string): string {
    return join(this.options.dir, addonId)
  }

  /** The store's add-ons as server specs, and those to remove as `destroyed`. */
  private async desired(): Promise<DesiredDataServer[]> {
    const { store } = this.options
    const rows = desiredDataServers(store)
    const out: DesiredDataServer[] = []
    for (const row of rows) {
      const base = this.baseSpec(row.addonId, row.kind, row.spaceId, row.host)
      if (!base) continue
      const spec: DataServerSpec = {
        ...base,
        memoryMb: row.memoryMb,
        maxConnections: row.maxConnections,
        password: row.password,
        ...(row.kind === 'postgres' && { user: row.user, database: row.database }),
      }
      const followers = rows.filter((r) => r.leader?.addonId === row.addonId).map((r) => r.host)
      if (followers.length > 0) spec.followers = followers
      if (row.leader) {
        const leader = await this.leaderFactsOf(row.leader.addonId)
        if (leader) spec.follow = leader
        // Not made yet and its leader not up: wait for the leader (its status kicks a pass).
        else if (!existsSync(join(dataLayout(spec.dataDir).pgdata, 'PG_VERSION'))) continue
      } else if (row.kind === 'postgres' && !this.notFollowing.has(row.addonId)) {
        this.enqueue(() => this.promoteIfUnfollowed(row))
      }
      out.push({ spec, state: 'running' })
    }
    for (const id of addonsToRemove(store)) {
      const removal = this.removalSpec(id)
      if (removal) out.push({ spec: removal, state: 'destroyed' })
      // Nothing was ever made on this host (or its removal finished before a crash).
      else this.enqueue(async () => void markAddonDeprovisioned(this.ctx, id))
    }
    return out
  }

  /** Where a server lives: its network attachment's namespace on its space's data bridge. */
  private baseSpec(
    addonId: string,
    kind: DataServerSpec['kind'],
    spaceId: string,
    host: string,
  ): Omit<DataServerSpec, 'memoryMb' | 'maxConnections' | 'password'> | undefined {
    const { store } = this.options
    const space = store.spaces.find(spaceId)
    const attachment = store.network
      .attachments(spaceId)
      .find((n) => n.owner === addonNetworkOwner(addonId))
    if (!space || !attachment) return undefined
    const plan = spaceAddresses(space.cidr, space.dataCidr)
    return {
      addonId,
      kind,
      spaceId,
      attachmentId: attachment.id,
      address: host,
      prefix: plan.dataCidr.prefix,
      gateway: plan.dataGateway,
      dataBridge: dataBridgeName(space.id),
      dynoCidr: space.cidr,
      dataDir: this.serverDir(addonId),
    }
  }

  /**
   * A server to remove: from its add-on's record (`deprovisioning`) or, when its app took the
   * record with it, from its attachment and its files. Undefined: no files, nothing to remove.
   */
  private removalSpec(addonId: string): DataServerSpec | undefined {
    const { store } = this.options
    const dir = this.serverDir(addonId)
    if (!existsSync(dir)) return undefined
    const addon = store.addons.byId(addonId)
    const attachment = store.network
      .attachments()
      .find((n) => n.owner === addonNetworkOwner(addonId))
    const spaceId = addon?.spaceId ?? attachment?.spaceId
    const host = addon?.host ?? attachment?.address
    if (spaceId === undefined || host === undefined) return undefined
    const kind = existsSync(dataLayout(dir).pgdata) ? 'postgres' : 'redis'
    const base = this.baseSpec(addonId, kind, spaceId, host)
    if (!base) return undefined
    // Only what a destroy reads: the process record, the cgroup, the files.
    return { ...base, memoryMb: 64, maxConnections: 2, password: 'x'.repeat(16) }
  }

  private async leaderFactsOf(leaderId: string): Promise<LeaderFacts | undefined> {
    const known = this.leaders.get(leaderId)
    if (known) return known
    const server = this.agent.server(leaderId)
    if (server?.state !== 'available') return undefined
    const facts = await leaderFacts(await server.context())
    this.leaders.set(leaderId, facts)
    return facts
  }

  private async report(status: DataServerStatus): Promise<void> {
    const { addonId, state, message } = status
    if (state === 'available') {
      const server = this.agent.server(addonId)
      if (!server) return
      const { host, port, user, password, database, tls } = await server.facts()
      markAddonAvailable(this.ctx, addonId, { host, port, user, password, database, tls })
      // A follower waiting for this leader can start now.
      void this.agent.kick()
      const row = desiredDataServers(this.options.store).find((r) => r.addonId === addonId)
      if (row && row.kind === 'postgres' && !row.leader) await this.promoteIfUnfollowed(row)
    } else if (state === 'failed') {
      if (markAddonFailed(this.ctx, addonId, message))
        this.options.log?.(`data: ${addonId} failed: ${message}`)
    } else if (state === 'destroyed') {
      this.leaders.delete(addonId)
      this.notFollowing.delete(addonId)
      markAddonDeprovisioned(this.ctx, addonId)
    }
  }

  /**
   * `pg:unfollow` (or a destroyed leader): the store says this server follows nobody, but it
   * may still replay its old leader's WAL. Promote it, and drop its slot wherever it is.
   */
  private async promoteIfUnfollowed(row: AddonServer): Promise<void> {
    if (this.notFollowing.has(row.addonId)) return
    const server = this.agent.server(row.addonId)
    if (server?.state !== 'available') return
    const ctx = await server.context()
    if (await isInRecovery(ctx)) {
      await promote(ctx)
      this.options.log?.(`data: ${row.addonName} promoted: it follows no leader now`)
      await this.dropSlotEverywhere(row.addonId)
    }
    this.notFollowing.add(row.addonId)
  }

  /** The old leader may be gone from the store already: ask every leader this host runs. */
  private async dropSlotEverywhere(followerId: string): Promise<void> {
    for (const row of desiredDataServers(this.options.store)) {
      if (row.kind !== 'postgres' || row.leader || row.addonId === followerId) continue
      const server = this.agent.server(row.addonId)
      if (server?.state !== 'available') continue
      await dropSlot(await server.context(), followerId).catch((e: unknown) =>
        this.options.log?.(`data: dropping a slot on ${row.addonName}: ${String(e)}`),
      )
    }
  }

  /** A running server's context, or undefined (not on this host, or not up). */
  private async running(addonId: string): Promise<EngineContext | undefined> {
    const server = this.agent.server(addonId)
    return server?.state === 'available' ? server.context() : undefined
  }

  async pgInfo(addonId: string): Promise<PgLiveInfo | undefined> {
    const ctx = await this.running(addonId)
    if (!ctx) return undefined
    const { database } = appRole(ctx.spec)
    const row = await runSql(
      ctx,
      `SELECT current_setting('server_version'), pg_database_size(current_database()),
              (SELECT count(*) FROM pg_stat_user_tables),
              (SELECT count(*) FROM pg_stat_activity WHERE datname = current_database())`,
      database,
    )
    const [version = '', size, tables, connections] = row.trim().split('|')
    const info: PgLiveInfo = {
      version,
      dataSizeBytes: Number(size),
      tables: Number(tables),
      connections: Number(connections),
    }
    const leaderId = this.options.store.addons.byId(addonId)?.leaderId
    const leader = leaderId ? await this.running(leaderId) : undefined
    if (leader) info.lagBytes = (await lag(leader, ctx)).bytes
    return info
  }

  async redisInfo(addonId: string): Promise<RedisLiveInfo | undefined> {
    const ctx = await this.running(addonId)
    if (!ctx) return undefined
    const text = await redisCommand(ctx, ['INFO'])
    const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(text)?.[1]?.trim()
    return {
      version: field('redis_version') ?? '',
      usedMemoryBytes: Number(field('used_memory') ?? 0),
      clients: Number(field('connected_clients') ?? 0),
    }
  }
}
