/**
 * The Platform API shapes the CLI reads (heroku-platform-schema.json), only the fields it uses.
 * The CLI is an HTTP client: it never imports the API's own types.
 */
export interface Ref {
  id: string
  name: string
}

export interface Account {
  id: string
  email: string
  name: string | null
  default_team?: Ref | null
}

export interface Authorization {
  id: string
  access_token: { token: string } | null
  user: { email: string }
}

export interface CreatedAccount extends Account {
  password?: string
  api_key: string
}

export interface Team {
  id: string
  name: string
  role: string | null
}

export interface TeamMember {
  email: string
  role: string
}

export interface Region {
  id: string
  name: string
  description: string
  private_capable: boolean
}

export interface Space {
  id: string
  name: string
  state: 'allocating' | 'allocated' | 'deleting'
  shield: boolean
  cidr: string
  data_cidr: string
  region: Ref & { description?: string }
  team: Ref
  generation: Ref | string
  created_at: string
}

export interface Nat {
  state: string
  sources: string[]
}

export interface TrustedRule {
  action: 'allow' | 'deny'
  source: string
}

export interface InboundRuleset {
  rules: TrustedRule[]
  applied?: boolean
  [field: string]: unknown
}

export interface TopologyDyno {
  number: number
  private_ip: string
  hostname: string
}

export interface Topology {
  version: number
  apps: Array<{
    id: string
    domains: string[]
    formations?: Array<{ process_type: string; dynos: TopologyDyno[] }>
    formation?: Array<{ process_type: string; dynos: TopologyDyno[] }>
  }>
}

export interface App {
  id: string
  name: string
  web_url: string
  git_url: string
  region: Ref
  stack: Ref
  space: (Ref & { shield: boolean }) | null
  internal_routing: boolean | null
  team: Ref | null
  owner: { email: string }
  maintenance: boolean
  created_at: string
  released_at: string | null
}

export type ConfigVars = Record<string, string>

export interface Release {
  id: string
  version: number
  description: string
  status: string
  current: boolean
  user: { email: string }
  eligible_for_rollback?: boolean
  created_at: string
}

export interface Formation {
  type: string
  quantity: number
  size: string
  command: string
}

export interface Dyno {
  name: string
  type: string
  command: string
  size: string
  state: string
  updated_at: string
}

export interface Feature {
  name: string
  description: string
  enabled: boolean
  state: string
  doc_url: string
}

export interface Domain {
  id: string
  hostname: string
  kind: 'heroku' | 'custom'
  cname: string | null
  /** `pending` until verified, `succeeded`, `failed` (another app holds it), `none` (default). */
  status: string
  /** localspace's: the TXT record that proves ownership of a custom domain. */
  verification_txt_name?: string
  verification_txt_value?: string
  acm_status: string | null
  sni_endpoint: Ref | null
  app: Ref
  created_at: string
  updated_at: string
}

export interface SniEndpoint {
  id: string
  name: string
  domains: string[]
  ssl_cert: {
    cert_domains: string[]
    subject: string
    issuer: string
    starts_at: string
    expires_at: string
    'ca_signed?': boolean
    'self_signed?': boolean
  }
  created_at: string
}

export interface VpnTunnel {
  ip: string
  customer_ip: string
  pre_shared_key: string
  status: 'UP' | 'DOWN'
  status_message: string
  last_status_change: string
}

export interface VpnConnection {
  id: string
  name: string
  public_ip: string
  routable_cidrs: string[]
  space_cidr_block: string
  ike_version: number
  status: string
  status_message: string
  tunnels: VpnTunnel[]
}

export interface Peering {
  pcx_id: string
  type: string
  cidr_blocks: string[]
  status: string
  aws_vpc_id: string
  aws_region: string
  aws_account_id: string
  expires: string
}

export interface PeeringInfo {
  aws_account_id: string
  aws_region: string
  vpc_id: string
  vpc_cidr: string
  dyno_cidr_blocks: string[]
  space_cidr_blocks: string[]
  unavailable_cidr_blocks: string[]
}

export interface PeerNetwork {
  id: string
  name: string
  interface: string
  cidrs: string[]
  gateway: string | null
  vpc_id: string
  created_at: string
}
/** An add-on (schema `add-on`), with the `Accept-Expansion: addon_service,plan` the CLI asks. */
export interface Addon {
  id: string
  name: string
  app: Ref
  addon_service: Ref & { human_name?: string }
  plan: Ref & { description?: string }
  config_vars: string[]
  /** `provisioning`, `provisioned` or `deprovisioned`. */
  state: string
  created_at: string
}

export interface AddonAttachment {
  id: string
  name: string
  addon: Ref & { app: Ref }
  app: Ref
}
