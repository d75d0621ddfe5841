/**
 * The plain data the data-server module takes and gives: what one server should be
 * (`DataServerSpec`, fed by the store), how it stands (`DataServerStatus`) and how a client
 * reaches it (`ConnectionFacts`). Nothing here knows the store or the API.
 */

export type DataKind = 'postgres' | 'redis'

/** One add-on's server, as desired. */
export interface DataServerSpec {
  /** The add-on's UUID; names the namespace, veth, cgroup and roles (its first 8 hex digits). */
  addonId: string
  kind: DataKind
  spaceId: string
  /** The server's address on the space's data network (`D.0.10` upward, docs/design.md §3). */
  address: string
  /** The data network's prefix length. */
  prefix: number
  /** The data bridge's address (`D.0.1`): the namespace's default route. */
  gateway: string
  /** The space's data bridge (`lsd-…`). */
  dataBridge: string
  /** Who may connect: the space's dyno network (`C.0.0/16`); Postgres's hba allows only it. */
  dynoCidr: string
  /** The plan's memory: the cgroup limit, and Postgres's shared_buffers / Redis's maxmemory. */
  memoryMb: number
  /** The plan's connection limit (Postgres max_connections, Redis maxclients). */
  maxConnections: number
  /** The add-on's credential (generated per add-on by the caller, e.g. core/passwords). */
  password: string
  /**
   * Postgres: the add-on's role and database as the platform named them in DATABASE_URL
   * (a follower's are its leader's); default `appNames` of the add-on id (of its leader's).
   */
  user?: string
  database?: string
  /**
   * The network attachment whose namespace and veth the server lives in, when someone else
   * (the daemon's network agent) made them; default the add-on id.
   */
  attachmentId?: string
  /** Root-owned directory of this server alone; everything it has lives under it. */
  dataDir: string
  /** Postgres: addresses of followers allowed to stream from this server (replication hba). */
  followers?: readonly string[]
  /** Postgres: make this server a streaming replica of another (see followers.ts). */
  follow?: LeaderFacts
}

/** What a follower needs of its leader (from `leaderFacts`). */
export interface LeaderFacts {
  addonId: string
  address: string
  port: number
  /** The leader's administrative role and password (replication and slots). */
  adminUser: string
  adminPassword: string
  /** The leader's certificate (PEM): the follower verifies it (`verify-full`). */
  certificate: string
}

/** `destroyed`: the server and everything it had are gone (the store may forget the add-on). */
export type DataServerState = 'starting' | 'available' | 'failed' | 'stopped' | 'destroyed'

/** One entry of the converger's desired list (agent.ts). */
export interface DesiredDataServer {
  spec: DataServerSpec
  /** `destroyed` stays in the list until the status callback has said `destroyed`. */
  state: 'running' | 'stopped' | 'destroyed'
}

export interface DataServerStatus {
  addonId: string
  state: DataServerState
  /** Why, in a sentence (for pg:info / addons:info and logs). */
  message: string
}

/** How an app reaches the server: the parts of DATABASE_URL / REDIS_URL. */
export interface ConnectionFacts {
  host: string
  port: number
  /** Redis has no user name (`rediss://:password@host:port`): empty. */
  user: string
  /** Postgres database name; Redis: empty. */
  database: string
  password: string
  /** Always TLS: `sslmode=require` (Postgres), `rediss://` (Redis). */
  tls: true
  /** The server's self-signed certificate (PEM), for clients that verify. */
  certificate: string
  /** `postgres://…?sslmode=require` or `rediss://:…@host:port`. */
  url: string
}
