/** Domain records as the store returns them (camelCase); wire shapes live in api/serializers. */
export type TeamRole = 'admin' | 'member'
export type SpaceState = 'allocating' | 'allocated' | 'deleting'

export interface Account {
  id: string
  email: string
  name: string | null
  isAdmin: boolean
  createdAt: string
  updatedAt: string
}

export interface Authorization {
  id: string
  accountId: string
  description: string
  expiresAt: string | null
  createdAt: string
  updatedAt: string
}

export interface Team {
  id: string
  name: string
  createdAt: string
  updatedAt: string
}

export interface TeamMember {
  teamId: string
  account: Account
  role: TeamRole
  createdAt: string
  updatedAt: string
}

export interface Space {
  id: string
  name: string
  teamId: string
  teamName: string
  region: string
  state: SpaceState
  shield: boolean
  cidr: string
  dataCidr: string
  generation: 'cedar' | 'fir'
  createdAt: string
  updatedAt: string
}

export interface TrustedRule {
  action: 'allow' | 'deny'
  source: string
}

export interface InboundRuleset {
  id: string
  spaceId: string
  version: number
  rules: TrustedRule[]
  createdBy: string
  applied: boolean
  createdAt: string
}

export interface LogDrain {
  id: string
  spaceId: string
  url: string
  token: string
  createdAt: string
  updatedAt: string
}

export interface App {
  id: string
  name: string
  ownerId: string
  ownerEmail: string
  teamId: string | null
  teamName: string | null
  spaceId: string | null
  spaceName: string | null
  spaceShield: boolean
  region: string
  internalRouting: boolean
  maintenance: boolean
  stack: string
  buildStack: string
  createdAt: string
  updatedAt: string
  releasedAt: string | null
}

export type ConfigVars = Record<string, string>

export interface Release {
  id: string
  appId: string
  version: number
  description: string
  config: ConfigVars
  slugId: string | null
  userId: string
  userEmail: string
  status: 'pending' | 'succeeded' | 'failed'
  createdAt: string
  updatedAt: string
}

export interface Formation {
  id: string
  appId: string
  type: string
  command: string
  quantity: number
  size: string
  createdAt: string
  updatedAt: string
}

export interface FeatureState {
  name: string
  enabled: boolean
  updatedAt: string | null
}

export type AttachmentKind = 'dyno' | 'data'
export type AttachmentState = 'pending' | 'ready' | 'detaching'

/** A network namespace given a place in a space: a dyno's, or a data service's. */
export interface Attachment {
  id: string
  spaceId: string
  kind: AttachmentKind
  address: string
  /** Who uses it: a dyno id, a data service id, or a label for ones made by hand. */
  owner: string
  state: AttachmentState
  createdAt: string
  updatedAt: string
}

/** Heroku's build states: a build is `pending` until it made a release or gave up. */
export type BuildStatus = 'pending' | 'succeeded' | 'failed'

/** One build: a source tarball on its way to a slug and a release (docs/design.md §5). */
export interface Build {
  id: string
  appId: string
  status: BuildStatus
  /** Where the gzipped tarball is fetched from (a source blob URL or any http(s) URL). */
  sourceUrl: string
  sourceVersion: string | null
  /** `SHA256:<hex>` when the client gave one; the tarball must match it. */
  sourceChecksum: string | null
  sourceVersionDescription: string | null
  userId: string
  userEmail: string
  /** Unguessable: the build's output stream URL carries it instead of an API key. */
  outputToken: string
  slugId: string | null
  releaseId: string | null
  createdAt: string
  updatedAt: string
}

/** Process type → command, as a Procfile declares them (`web: node server.js`). */
export type ProcessTypes = Record<string, string>

/** A built app, ready to run: its directory is `slugDir(<dataDir>/slugs, id)` (core/slugs.ts). */
export interface Slug {
  id: string
  appId: string
  processTypes: ProcessTypes
  /** Bytes on disk. */
  size: number | null
  checksum: string | null
  commit: string | null
  commitDescription: string | null
  /** What detection found: `Node.js`, `Python`, `Procfile`. */
  buildpackProvidedDescription: string | null
  stack: string
  createdAt: string
  updatedAt: string
}

/** An account the owner of a personal app lets use it (`heroku access:add`). */
export interface Collaborator {
  id: string
  appId: string
  account: Account
  createdAt: string
  updatedAt: string
}

/** `heroku apps:transfer EMAIL` of a personal app: the recipient accepts or declines it. */
export interface AppTransfer {
  id: string
  appId: string
  appName: string
  owner: Account
  recipient: Account
  state: 'pending' | 'accepted' | 'declined'
  createdAt: string
  updatedAt: string
}
