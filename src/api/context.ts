import type { BuildOutputView, SourceStore } from '../core/builds.js'
import type { EgressPool } from '../core/egress.js'
import type { EventBus } from '../core/events.js'
import type { GitBackend } from '../core/git.js'
import type { LogView } from '../core/log-view.js'
import type { RuntimeView } from '../core/runtime-view.js'
import type { Account } from '../core/types.js'
import type { Store } from '../store/store.js'
import type { AddressPolicy } from '../core/address-policy.js'
import type { DataServerProbe } from '../core/addons.js'
import type { BackupFiles } from '../core/backups.js'
import type { DashboardSession, DashboardSessions } from './dashboard/sessions.js'

/** Everything a route handler may use; handed to buildServer, never a global. */
export interface ApiContext {
  store: Store
  events: EventBus
  runtime: RuntimeView
  /** Per-app logs: `heroku logs` reads them, the API writes `heroku[api]` lines. */
  logs: LogView
  /** Apps are served at `<app>.<domain>` by the router. */
  domain: string
  /** Public URL of this API, for git URLs (`<apiUrl>/<app>.git`). */
  apiUrl: string
  /** An app's web URL (`http://<app>.<domain>:<port>/`), on the router's first listener. */
  webUrl: (appName: string) => string
  /** Outbound address pools (`--egress-pool`); empty: spaces leave from the host's address. */
  egressPools: readonly EgressPool[]
  egressPerSpace: number
  /** Uploaded source tarballs (`POST /sources`); undefined: uploads are not enabled. */
  sources: SourceStore | undefined
  /** Build output, written by the builder (src/builds), streamed by output_stream_url. */
  buildOutput: BuildOutputView
  /** `git push` to `<apiUrl>/<app>.git` (src/builds/git-push.ts); undefined: not enabled. */
  git: GitBackend | undefined
  /** Where log drains may point (core/address-policy.ts): literal hosts are checked at add. */
  addressPolicy: AddressPolicy
  /**
   * Custom domains wait for their TXT record before the router serves them (the daemon's
   * verifier looks); false (`--domain-verification off`): verified as soon as added.
   */
  domainVerification: boolean
  /** VPN tunnel address pools (`--vpn-pool`); empty: no VPN connections can be made. */
  vpnPools: readonly EgressPool[]
  vpnMaxPerSpace: number
  /** Live figures of data servers (the data agent); undefined: the data API answers from the store. */
  dataProbe: DataServerProbe | undefined
  /** Download URLs of finished backups (the blob store); undefined: `pg:backups:url` is 501. */
  backupFiles: BackupFiles | undefined
  /** Dashboard sign-ins (cookie sessions), checked by the auth plugin. */
  sessions: DashboardSessions
}

declare module 'fastify' {
  interface FastifyInstance {
    ctx: ApiContext
  }
  interface FastifyRequest {
    /** The authenticated caller; set by the auth hook on every non-public route. */
    account: Account
    /** The dashboard session the request came with (cookie), or null (API key). */
    dashboardSession: DashboardSession | null
  }
  interface FastifyContextConfig {
    /** Routes that need no API key (OAuth login with a password, health). */
    public?: boolean
  }
}
