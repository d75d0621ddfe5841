/**
 * Heroku's data API, which `pg:*` and `redis:*` call instead of the Platform API: the CLI sends
 * them to HEROKU_DATA_HOST with HEROKU_HOST's scheme and port, so they arrive on this listener
 * with the same API key (Bearer, or Basic with an empty user for `pg:credentials*`).
 *
 * What the store records (plan, state, connection, leader, region) is answered from it; live
 * figures (data size, tables, connections, version, follower lag) come from the data agent's
 * probe (ApiContext.dataProbe) when the daemon has one, and are left out otherwise: the CLI
 * skips info rows without values. Backups (`/client/v11/apps/{app}/transfers…`) are not here
 * and stay 501 (not-built.routes.ts).
 */
import type { FastifyInstance } from 'fastify'
import { findPlan } from '../../core/addon-catalogue.js'
import type { Addon, PgLiveInfo, RedisLiveInfo } from '../../core/addons.js'
import { errors } from '../../core/errors.js'
import { addonUrl, serviceOf } from '../../platform/addon-attachments.js'
import { unfollowAddon } from '../../platform/addons.js'
import type { Store } from '../../store/store.js'
import { addonNotFound, findAddon } from '../addon-access.js'

/** A follower further behind than one WAL segment is still catching up (`pg:wait`). */
export const CAUGHT_UP_BYTES = 16 * 1024 * 1024

interface InfoRow {
  name: string
  values: Array<string | number>
  resolve_db_name?: boolean
}

export function formatBytes(n: number): string {
  const units = ['bytes', 'kB', 'MB', 'GB', 'TB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  return unit === 0 ? `${n} bytes` : `${value.toFixed(1)} ${units[unit]}`
}

const statusText = (a: Addon) =>
  a.state === 'provisioned'
    ? 'Available'
    : a.state === 'provisioning'
      ? 'Creating'
      : `Failed: ${a.stateMessage ?? 'provisioning failed'}`

const tier = (a: Addon) => a.planName.split(':')[1]!

export function dataApiRoutes(app: FastifyInstance): void {
  const { store } = app.ctx
  const probe = () => app.ctx.dataProbe

  const findOf = (
    kind: 'postgres' | 'redis',
    account: Parameters<typeof findAddon>[1],
    ident: string,
  ) => {
    const addon = findAddon(store, account, ident)
    if (serviceOf(addon).kind !== kind) throw addonNotFound()
    return addon
  }

  /** Asks the probe only of a server that should be up; a failing probe is "no figures". */
  const pgLive = async (a: Addon): Promise<PgLiveInfo | undefined> =>
    a.state === 'provisioned'
      ? probe()
          ?.pgInfo(a.id)
          .catch(() => undefined)
      : undefined
  const redisLive = async (a: Addon): Promise<RedisLiveInfo | undefined> =>
    a.state === 'provisioned'
      ? probe()
          ?.redisInfo(a.id)
          .catch(() => undefined)
      : undefined

  // --- Postgres ----------------------------------------------------------------------------

  app.get<{ Params: { id: string } }>('/client/v11/databases/:id', async (request) => {
    const addon = findOf('postgres', request.account, request.params.id)
    return pgInfoJson(store, addon, await pgLive(addon))
  })

  app.get<{ Params: { id: string } }>('/client/v11/databases/:id/wait_status', async (request) => {
    const addon = findOf('postgres', request.account, request.params.id)
    if (addon.state === 'failed') {
      return { 'waiting?': false, 'error?': true, message: statusText(addon) }
    }
    if (addon.state === 'provisioning') {
      return { 'waiting?': true, 'error?': false, message: 'provisioning' }
    }
    if (addon.leaderId !== null && probe()) {
      const live = await pgLive(addon)
      if (live?.lagBytes === undefined) {
        return { 'waiting?': true, 'error?': false, message: 'following: starting replication' }
      }
      if (live.lagBytes > CAUGHT_UP_BYTES) {
        return {
          'waiting?': true,
          'error?': false,
          message: `following: ${formatBytes(live.lagBytes)} behind`,
        }
      }
    }
    return { 'waiting?': false, 'error?': false, message: 'available' }
  })

  app.put<{ Params: { id: string } }>('/client/v11/databases/:id/unfollow', async (request) => {
    const addon = findOf('postgres', request.account, request.params.id)
    unfollowAddon(app.ctx, addon)
    return { message: `${addon.name} is no longer following; it takes writes once promoted.` }
  })

  // `pg:psql` asks for a bastion for private plans: there is none, dynos and operators reach
  // the server directly, so an empty object (a 404 would stop the command).
  app.get<{ Params: { id: string } }>('/client/v11/databases/:id/bastion', async (request) => {
    findOf('postgres', request.account, request.params.id)
    return {}
  })

  const credential = (addon: Addon) => ({
    uuid: addon.id,
    name: 'default',
    state: 'active',
    database: addon.database,
    host: addon.host,
    port: addon.port,
    credentials: [{ user: addon.user, password: addon.password, state: 'active' }],
  })

  app.get<{ Params: { name: string } }>(
    '/postgres/v0/databases/:name/credentials',
    async (request) => [credential(findOf('postgres', request.account, request.params.name))],
  )

  app.get<{ Params: { name: string; cred: string } }>(
    '/postgres/v0/databases/:name/credentials/:cred',
    async (request) => {
      const addon = findOf('postgres', request.account, request.params.name)
      if (request.params.cred !== 'default') {
        throw errors.notFound(
          'add_on',
          `Couldn't find credential ${request.params.cred}: ${addon.name} has only its default credential.`,
        )
      }
      return credential(addon)
    },
  )

  // --- Redis -------------------------------------------------------------------------------

  app.get<{ Params: { name: string } }>('/redis/v0/databases/:name', async (request) => {
    const addon = findOf('redis', request.account, request.params.name)
    const live = await redisLive(addon)
    const plan = findPlan(addon.planName)!
    const info: InfoRow[] = [
      { name: 'Plan', values: [plan.humanName] },
      { name: 'Status', values: [statusText(addon)] },
      { name: 'Created', values: [addon.createdAt] },
      { name: 'Version', values: live ? [live.version] : [] },
      { name: 'Maxmemory', values: [formatBytes(plan.memoryMb * 1024 * 1024)] },
      { name: 'Used Memory', values: live ? [formatBytes(live.usedMemoryBytes)] : [] },
      { name: 'Clients', values: live ? [`${live.clients}/${plan.maxConnections}`] : [] },
      { name: 'Persistence', values: ['AOF'] },
      { name: 'Region', values: [regionOf(store, addon)] },
    ]
    return {
      name: addon.name,
      addon_id: addon.id,
      plan: tier(addon),
      created_at: addon.createdAt,
      resource_url: addonUrl(addon),
      prefer_native_tls: addon.tls,
      'waiting?': addon.state === 'provisioning',
      info,
    }
  })

  app.get<{ Params: { name: string } }>('/redis/v0/databases/:name/wait', async (request) => {
    const addon = findOf('redis', request.account, request.params.name)
    return {
      'waiting?': addon.state === 'provisioning',
      'error?': addon.state === 'failed',
      message: statusText(addon),
    }
  })
}

const regionOf = (store: Store, a: Addon) => store.spaces.find(a.spaceId)?.region ?? ''

/** `pg:info`'s rows, as Heroku's data API sends them. */
function pgInfoJson(store: Store, addon: Addon, live: PgLiveInfo | undefined) {
  const plan = findPlan(addon.planName)!
  const leader = addon.leaderId === null ? undefined : store.addons.byId(addon.leaderId)
  const followers = store.addons.followersOf(addon.id)
  const info: InfoRow[] = [
    { name: 'Plan', values: [plan.humanName] },
    { name: 'Status', values: [statusText(addon)] },
    { name: 'Data Size', values: live ? [formatBytes(live.dataSizeBytes)] : [] },
    { name: 'Tables', values: live ? [live.tables] : [] },
    { name: 'PG Version', values: live ? [live.version] : [] },
    { name: 'Connections', values: live ? [`${live.connections}/${plan.maxConnections}`] : [] },
    { name: 'Credentials', values: [1] },
    { name: 'Fork/Follow', values: [leader ? 'Unsupported' : 'Available'] },
    { name: 'Created', values: [addon.createdAt] },
    { name: 'Region', values: [regionOf(store, addon)] },
    { name: 'Data Encryption', values: ['In Use (TLS)'] },
    { name: 'Followers', values: followers.map((f) => addonUrl(f)), resolve_db_name: true },
    { name: 'Following', values: leader ? [addonUrl(leader)] : [], resolve_db_name: true },
    {
      name: 'Behind By',
      values: leader && live?.lagBytes !== undefined ? [formatBytes(live.lagBytes)] : [],
    },
  ]
  return {
    addon_id: addon.id,
    name: addon.name,
    plan: tier(addon),
    created_at: addon.createdAt,
    resource_url: addonUrl(addon),
    ...(leader && { following: addonUrl(leader) }),
    leader: leader?.name ?? null,
    'waiting?': addon.state === 'provisioning',
    info,
  }
}
