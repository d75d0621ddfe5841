/**
 * Add-ons (Heroku Postgres and Redis servers in a space's data network) and their attachments
 * to apps, as the store keeps them; what the data agent is asked to run (DesiredDataServer);
 * and what it can tell the data API about a running server (DataServerProbe).
 */
import type { AddonKind } from './addon-catalogue.js'

/**
 * `provisioning` until the data agent has the server up (then `provisioned`) or gives up
 * (`failed`); `deprovisioning` from `addons:destroy` until the agent has removed the server,
 * when the row goes. The API shows Heroku's three states: failed and deprovisioning are
 * `deprovisioned` there.
 */
export type AddonState = 'provisioning' | 'provisioned' | 'failed' | 'deprovisioning'

/** How an app connects: decided by the platform at creation, confirmed by the agent. */
export interface ConnectionFacts {
  /** An address in the space's data network (D.0.10 upward). */
  host: string
  port: number
  /** Postgres role; empty for Redis (the default user with `requirepass`). */
  user: string
  password: string
  /** Postgres database name; empty for Redis. */
  database: string
  tls: boolean
}

export interface Addon extends ConnectionFacts {
  id: string
  name: string
  /** The owning (billing) app. */
  appId: string
  appName: string
  spaceId: string
  /** `heroku-postgresql` */
  serviceName: string
  /** `heroku-postgresql:private-0` */
  planName: string
  state: AddonState
  /** Why provisioning failed (markAddonFailed). */
  stateMessage: string | null
  /** The leader a Postgres follower replicates (`--follow`); null once unfollowed. */
  leaderId: string | null
  createdAt: string
  updatedAt: string
}

export interface AddonAttachment {
  id: string
  addonId: string
  appId: string
  appName: string
  /** `DATABASE`: the app's config var is `<name>_URL`. */
  name: string
  namespace: string | null
  createdAt: string
  updatedAt: string
}

/** The URL an attachment sets: `postgres://u:p@D.0.10:5432/d`, `rediss://:p@D.0.11:6379`. */
export function connectionUrl(kind: AddonKind, f: ConnectionFacts): string {
  const password = encodeURIComponent(f.password)
  if (kind === 'redis') return `${f.tls ? 'rediss' : 'redis'}://:${password}@${f.host}:${f.port}`
  return `postgres://${encodeURIComponent(f.user)}:${password}@${f.host}:${f.port}/${f.database}`
}

export const attachmentConfigVar = (attachmentName: string): string => `${attachmentName}_URL`

/**
 * One server the data agent should run (platform/addons.ts `desiredDataServers`): every
 * add-on that is provisioning or provisioned. A server running for an add-on not in this list
 * is to be removed, after which the agent calls `markAddonDeprovisioned`.
 */
export interface DesiredDataServer extends ConnectionFacts {
  addonId: string
  addonName: string
  kind: 'postgres' | 'redis'
  spaceId: string
  state: 'provisioning' | 'provisioned'
  planName: string
  /** The plan's memory limit (cgroup) and connection limit (max_connections / maxclients). */
  memoryMb: number
  maxConnections: number
  /** A follower's leader, possibly in another space (and region). */
  leader: { addonId: string; spaceId: string; host: string; port: number } | null
}

/** What a running Postgres server reports (the data agent's probe). */
export interface PgLiveInfo {
  version: string
  dataSizeBytes: number
  tables: number
  connections: number
  /** A follower's replay lag in bytes of WAL; undefined on a leader. */
  lagBytes?: number
}

export interface RedisLiveInfo {
  version: string
  usedMemoryBytes: number
  clients: number
}

/**
 * Live figures of a data server, implemented by the daemon's data agent. The data API answers
 * from it when present and from the store's record otherwise; `undefined` from a call means
 * the server is not there (yet).
 */
export interface DataServerProbe {
  pgInfo(addonId: string): Promise<PgLiveInfo | undefined>
  redisInfo(addonId: string): Promise<RedisLiveInfo | undefined>
}
