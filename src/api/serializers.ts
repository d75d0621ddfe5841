/**
 * Domain records → Heroku wire shapes (heroku-platform-schema.json). Wire names such as
 * `data_cidr` appear only here and in route body schemas.
 */
import type { FeatureDefinition } from '../core/features.js'
import { findRegion, type Region } from '../core/regions.js'
import { findDynoSize } from '../core/sizes.js'
import { stableId } from '../core/ids.js'
import { STACK } from '../core/stacks.js'
import type { KnownBuildpack } from '../core/buildpacks.js'
import type {
  Account,
  App,
  AppTransfer,
  Authorization,
  FeatureState,
  Formation,
  InboundRuleset,
  LogDrain,
  Release,
  Space,
  Team,
  TeamMember,
  TeamRole,
} from '../core/types.js'
import type { DynoView, HostView } from '../core/runtime-view.js'
import type { ApiContext } from './context.js'

export const CATALOGUE_DATE = '2024-01-01T00:00:00Z'
export const CEDAR = { id: stableId('generation', 'cedar'), name: 'cedar' }
export const FIR = { id: stableId('generation', 'fir'), name: 'fir' }

export const regionJson = (r: Region) => ({
  id: r.id,
  name: r.name,
  description: r.description,
  country: r.country,
  locale: r.locale,
  private_capable: r.privateCapable,
  provider: { name: 'amazon-web-services', region: r.providerRegion },
  created_at: CATALOGUE_DATE,
  updated_at: CATALOGUE_DATE,
})

const regionRef = (name: string) => {
  const r = findRegion(name)
  return { id: r?.id ?? stableId('region', name), name }
}

export const accountJson = (a: Account, defaultTeam: Team | undefined = undefined) => ({
  id: a.id,
  email: a.email,
  name: a.name,
  allow_tracking: false,
  beta: false,
  federated: false,
  verified: true,
  two_factor_authentication: false,
  identity_provider: null,
  sms_number: null,
  suspended_at: null,
  delinquent_at: null,
  last_login: null,
  country_of_residence: null,
  default_organization: defaultTeam ? { id: defaultTeam.id, name: defaultTeam.name } : null,
  default_team: defaultTeam ? { id: defaultTeam.id, name: defaultTeam.name } : null,
  created_at: a.createdAt,
  updated_at: a.updatedAt,
})

export const authorizationJson = (z: Authorization, account: Account, token?: string) => ({
  id: z.id,
  description: z.description,
  scope: ['global'],
  access_token: token
    ? {
        id: z.id,
        token,
        expires_in: z.expiresAt
          ? Math.max(0, Math.round((Date.parse(z.expiresAt) - Date.now()) / 1000))
          : null,
      }
    : null,
  client: null,
  grant: null,
  refresh_token: null,
  session: null,
  user: { id: account.id, email: account.email, full_name: account.name },
  created_at: z.createdAt,
  updated_at: z.updatedAt,
})

export const teamJson = (t: Team, role: TeamRole | null) => ({
  id: t.id,
  name: t.name,
  role,
  type: 'team',
  default: false,
  credit_card_collections: false,
  membership_limit: null,
  provisioned_licenses: false,
  enterprise_account: null,
  identity_provider: null,
  created_at: t.createdAt,
  updated_at: t.updatedAt,
})

export const teamMemberJson = (m: TeamMember) => ({
  id: m.account.id,
  email: m.account.email,
  role: m.role,
  federated: false,
  two_factor_authentication: false,
  identity_provider: null,
  user: { id: m.account.id, email: m.account.email, name: m.account.name },
  created_at: m.createdAt,
  updated_at: m.updatedAt,
})

export function spaceJson(s: Space, { expandRegion = false } = {}) {
  const region = findRegion(s.region)
  return {
    id: s.id,
    name: s.name,
    state: s.state,
    shield: s.shield,
    cidr: s.cidr,
    data_cidr: s.dataCidr,
    region: expandRegion && region ? regionJson(region) : regionRef(s.region),
    team: { id: s.teamId, name: s.teamName },
    organization: { name: s.teamName },
    generation: s.generation === 'cedar' ? CEDAR : FIR,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
  }
}

export const rulesetJson = (r: InboundRuleset, space: Space) => ({
  id: r.id,
  space: { id: space.id, name: space.name },
  rules: r.rules.map((x) => ({ action: x.action, source: x.source })),
  created_at: r.createdAt,
  created_by: r.createdBy,
  version: String(r.version),
  default_action: 'deny',
  applied: r.applied,
})

export const logDrainJson = (d: LogDrain) => ({
  id: d.id,
  url: d.url,
  token: d.token,
  addon: null,
  app: null,
  created_at: d.createdAt,
  updated_at: d.updatedAt,
})

export const hostJson = (h: HostView) => ({
  host_id: h.hostId,
  state: h.state,
  available_capacity_percentage: h.availableCapacityPercentage,
  allocated_at: h.allocatedAt,
  released_at: null,
})

export function appJson(a: App, ctx: ApiContext) {
  return {
    id: a.id,
    name: a.name,
    web_url: ctx.webUrl(a.name),
    git_url: `${ctx.apiUrl.replace(/\/$/, '')}/${a.name}.git`,
    region: regionRef(a.region),
    stack: STACK,
    build_stack: STACK,
    space: a.spaceId ? { id: a.spaceId, name: a.spaceName, shield: a.spaceShield } : null,
    internal_routing: a.spaceId ? a.internalRouting : null,
    team: a.teamId ? { id: a.teamId, name: a.teamName } : null,
    organization: a.teamId ? { id: a.teamId, name: a.teamName } : null,
    owner: { id: a.ownerId, email: a.ownerEmail },
    generation: CEDAR,
    maintenance: a.maintenance,
    locked: false,
    joined: false,
    acm: false,
    archived_at: null,
    buildpack_provided_description: null,
    repo_size: null,
    slug_size: null,
    released_at: a.releasedAt,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
  }
}

export function featureJson(def: FeatureDefinition, state: FeatureState | undefined, app: App) {
  return {
    id: def.id,
    name: def.name,
    description: def.description,
    doc_url: def.docUrl,
    display_name: def.displayName,
    feedback_email: '',
    state: def.state,
    enabled: state?.enabled ?? def.enabledByDefault,
    created_at: app.createdAt,
    updated_at: state?.updatedAt ?? app.createdAt,
  }
}

export const releaseJson = (r: Release, app: App, currentVersion: number) => ({
  id: r.id,
  version: r.version,
  description: r.description,
  status: r.status,
  current: r.version === currentVersion,
  app: { id: app.id, name: app.name },
  user: { id: r.userId, email: r.userEmail },
  slug: r.slugId ? { id: r.slugId } : null,
  addon_plan_names: [],
  artifacts: [],
  output_stream_url: null,
  eligible_for_rollback: true,
  created_at: r.createdAt,
  updated_at: r.updatedAt,
})

export const formationJson = (f: Formation, app: App) => {
  const size = findDynoSize(f.size)
  return {
    id: f.id,
    app: { id: app.id, name: app.name },
    type: f.type,
    command: f.command,
    quantity: f.quantity,
    size: f.size,
    dyno_size: { id: size?.id ?? stableId('dyno-size', f.size), name: f.size },
    created_at: f.createdAt,
    updated_at: f.updatedAt,
  }
}

export const dynoJson = (d: DynoView, app: App) => ({
  id: d.id,
  name: d.name,
  type: d.type,
  command: d.command,
  size: d.size,
  state: d.state,
  attach_url: null,
  app: { id: app.id, name: app.name },
  release: { id: d.releaseId, version: d.releaseVersion },
  created_at: d.createdAt,
  updated_at: d.updatedAt,
})

/** `heroku buildpacks`: the URL as the app chose it, the name of what it stands for. */
export const buildpackInstallationJson = (url: string, ordinal: number, known: KnownBuildpack) => ({
  ordinal,
  buildpack: { url, name: known.name },
})

export const stackJson = () => ({
  id: STACK.id,
  name: STACK.name,
  state: 'public',
  default: true,
  created_at: CATALOGUE_DATE,
  updated_at: CATALOGUE_DATE,
})

/** Team app permissions (`heroku access` on team apps); team roles imply them here. */
export const TEAM_APP_PERMISSIONS = [
  { name: 'deploy', description: 'Create releases, config vars and builds.' },
  { name: 'manage', description: 'Destroy the app, transfer it, and change its settings.' },
  { name: 'operate', description: 'Scale and restart dynos, run one-off dynos.' },
  { name: 'view', description: 'See the app, its config, releases and logs.' },
] as const

export const teamAppPermissionJson = (p: (typeof TEAM_APP_PERMISSIONS)[number]) => ({ ...p })

/**
 * One entry of `GET /apps/{app}/collaborators`. `role` is `owner` or `collaborator` on a
 * personal app, the team role on a team app; permissions follow the team role.
 */
export function collaboratorJson(
  app: App,
  account: Account,
  role: string,
  times: { id: string; createdAt: string; updatedAt: string },
) {
  const permissions = TEAM_APP_PERMISSIONS.filter(
    (p) => app.teamId !== null && (role === 'admin' || p.name !== 'manage'),
  ).map(teamAppPermissionJson)
  return {
    id: times.id,
    app: { id: app.id, name: app.name },
    user: { id: account.id, email: account.email, federated: false },
    role,
    permissions,
    created_at: times.createdAt,
    updated_at: times.updatedAt,
  }
}

export const appTransferJson = (t: AppTransfer) => ({
  id: t.id,
  app: { id: t.appId, name: t.appName },
  owner: { id: t.owner.id, email: t.owner.email },
  recipient: { id: t.recipient.id, email: t.recipient.email },
  state: t.state,
  created_at: t.createdAt,
  updated_at: t.updatedAt,
})
