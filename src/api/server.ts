/**
 * The Heroku Platform API v3 server. `buildServer` never listens, so tests drive it with
 * `inject()` and the daemon decides where it listens.
 */
import Fastify, { type FastifyInstance } from 'fastify'
import { noBuildOutput, type BuildOutputView, type SourceStore } from '../core/builds.js'
import { DEFAULT_EGRESS_PER_SPACE, type EgressPool } from '../core/egress.js'
import { EventBus } from '../core/events.js'
import type { GitBackend } from '../core/git.js'
import { noLogView, type LogView } from '../core/log-view.js'
import { emptyRuntimeView, type RuntimeView } from '../core/runtime-view.js'
import type { Store } from '../store/store.js'
import type { ApiContext } from './context.js'
import { registerAuth } from './plugins/auth.js'
import { registerConventions, requestIdFrom } from './plugins/conventions.js'
import { SignInLimiter, type SignInLimits } from './plugins/sign-in-limit.js'
import { accountRoutes } from './routes/account.routes.js'
import { attachmentRoutes } from './routes/attachments.routes.js'
import { buildRoutes } from './routes/builds.routes.js'
import { appRoutes } from './routes/apps.routes.js'
import { doctorRoutes } from './routes/doctor.routes.js'
import { domainRoutes } from './routes/domains.routes.js'
import { formationRoutes } from './routes/formation.routes.js'
import { dynosRunRoutes } from './routes/dynos-run.routes.js'
import { gitRoutes } from './routes/git.routes.js'
import { logDrainRoutes } from './routes/log-drains.routes.js'
import { logSessionRoutes } from './routes/log-sessions.routes.js'
import { regionRoutes } from './routes/regions.routes.js'
import { releaseRoutes } from './routes/releases.routes.js'
import { sniEndpointRoutes } from './routes/sni-endpoints.routes.js'
import { sourceRoutes } from './routes/sources.routes.js'
import { spaceResourceRoutes } from './routes/space-resources.routes.js'
import { spaceRoutes } from './routes/spaces.routes.js'
import { teamRoutes } from './routes/teams.routes.js'
import { appTransferRoutes } from './routes/app-transfers.routes.js'
import { buildpackRoutes } from './routes/buildpacks.routes.js'
import { collaboratorRoutes } from './routes/collaborators.routes.js'
import { notBuiltRoutes } from './routes/not-built.routes.js'
import { peeringRoutes } from './routes/peerings.routes.js'
import { vpnRoutes } from './routes/vpn.routes.js'
import { DEFAULT_VPN_MAX_PER_SPACE } from '../core/vpn.js'
import { stackRoutes } from './routes/stacks.routes.js'
import { AddressPolicy } from '../core/address-policy.js'
import type { DataServerProbe } from '../core/addons.js'
import type { BackupFiles } from '../core/backups.js'
import { backupRoutes } from './routes/backups.routes.js'
import { addonRoutes } from './routes/addons.routes.js'
import { dataApiRoutes } from './routes/data-api.routes.js'
import { DashboardSessions, type SessionLimits } from './dashboard/sessions.js'
import { dashboardRoutes } from './routes/dashboard.routes.js'
import { eventRoutes } from './routes/events.routes.js'

/** 1 MiB: larger than any Platform API body; bigger ones get 413. */
export const DEFAULT_BODY_LIMIT = 1024 * 1024

export interface ApiServerOptions {
  store: Store
  events?: EventBus
  runtime?: RuntimeView
  /** The daemon passes its log store; without one, logs are neither kept nor streamed. */
  logs?: LogView
  domain?: string
  apiUrl?: string
  routerUrl?: string
  bodyLimit?: number
  logger?: boolean
  egressPools?: readonly EgressPool[]
  /** Outbound addresses a new space takes from its pool (`--egress-per-space`). */
  egressPerSpace?: number
  /** Source uploads (the daemon's lives in <dataDir>/blobs); without it POST /sources is 503. */
  sources?: SourceStore
  /** The builder's output (src/builds); without it build output streams stay empty. */
  buildOutput?: BuildOutputView
  /** `git push` deploys (src/builds/git-push.ts); without it the git URLs answer 503. */
  git?: GitBackend
  /** Password sign-in rate limits (src/api/plugins/sign-in-limit.ts has the defaults). */
  signInLimits?: SignInLimits
  /** Where log drains may point; default: public addresses only. */
  addressPolicy?: AddressPolicy
  /** Custom domains must prove ownership by a TXT record (default); false: trusted at once. */
  domainVerification?: boolean
  /** VPN tunnel address pools (`--vpn-pool`); none: creating a VPN is a 422 naming the flag. */
  vpnPools?: readonly EgressPool[]
  /** VPN connections a space may have (`--vpn-max-per-space`, default 1). */
  vpnMaxPerSpace?: number
  /** The data agent's live figures for `pg:info` / `redis:info`; without it, the store's. */
  dataProbe?: DataServerProbe
  /** Download URLs of finished Postgres backups (the blob store). */
  backupFiles?: BackupFiles
  /** The built dashboard (dist/web); without it `GET /` says how to build it. */
  dashboardDir?: string
  /** Dashboard session lifetimes (src/api/dashboard/sessions.ts has the defaults). */
  sessionLimits?: SessionLimits
  /** The clock of dashboard sessions (tests move it). */
  now?: () => number
}

/** Parses the router URL once: app JSON is on hot paths and needs only string concatenation. */
function webUrlFor(routerUrl: string, domain: string): (appName: string) => string {
  const router = new URL(routerUrl)
  const suffix = `.${domain}${router.port ? `:${router.port}` : ''}/`
  return (appName) => `${router.protocol}//${appName}${suffix}`
}

export function buildServer(options: ApiServerOptions): FastifyInstance {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    genReqId: (req) => requestIdFrom(req.headers['request-id']),
    requestIdHeader: false,
    // Wrong types are errors, not something to coerce; unknown fields are ignored (the CLI
    // sends back whole objects it got, docs/heroku-reference.md §3.3).
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        allErrors: false,
        allowUnionTypes: true,
      },
    },
    routerOptions: { ignoreTrailingSlash: true },
  })
  const ctx: ApiContext = {
    store: options.store,
    events: options.events ?? new EventBus(),
    runtime: options.runtime ?? emptyRuntimeView(),
    logs: options.logs ?? noLogView(),
    domain: options.domain ?? 'localhost',
    apiUrl: options.apiUrl ?? 'http://127.0.0.1:5000',
    webUrl: webUrlFor(options.routerUrl ?? 'http://localhost:8080/', options.domain ?? 'localhost'),
    egressPools: options.egressPools ?? [],
    egressPerSpace: options.egressPerSpace ?? DEFAULT_EGRESS_PER_SPACE,
    sources: options.sources,
    buildOutput: options.buildOutput ?? noBuildOutput(),
    git: options.git,
    addressPolicy: options.addressPolicy ?? new AddressPolicy(),
    domainVerification: options.domainVerification ?? true,
    vpnPools: options.vpnPools ?? [],
    vpnMaxPerSpace: options.vpnMaxPerSpace ?? DEFAULT_VPN_MAX_PER_SPACE,
    dataProbe: options.dataProbe,
    backupFiles: options.backupFiles,
    sessions: new DashboardSessions(options.sessionLimits, options.now),
  }
  app.decorate('ctx', ctx)
  registerConventions(app)
  registerAuth(app)
  app.get('/healthz', { config: { public: true } }, async () => ({ status: 'ok' }))
  // One budget of password attempts for `heroku login -i` and the dashboard's sign-in.
  const signInLimiter = new SignInLimiter(options.signInLimits)
  accountRoutes(app, signInLimiter)
  teamRoutes(app)
  regionRoutes(app)
  spaceRoutes(app)
  spaceResourceRoutes(app)
  appRoutes(app)
  releaseRoutes(app)
  formationRoutes(app)
  dynosRunRoutes(app)
  sourceRoutes(app)
  buildRoutes(app)
  gitRoutes(app)
  logSessionRoutes(app)
  logDrainRoutes(app)
  domainRoutes(app)
  sniEndpointRoutes(app)
  attachmentRoutes(app)
  doctorRoutes(app)
  collaboratorRoutes(app)
  appTransferRoutes(app)
  buildpackRoutes(app)
  stackRoutes(app)
  vpnRoutes(app)
  peeringRoutes(app)
  addonRoutes(app)
  dataApiRoutes(app)
  backupRoutes(app)
  notBuiltRoutes(app)
  dashboardRoutes(app, options.dashboardDir, signInLimiter)
  eventRoutes(app)
  return app
}
