/** The parts of the Platform API's JSON the dashboard reads (Heroku's field names). */
export interface Account {
  id: string
  email: string
  name: string | null
}
export interface Team {
  id: string
  name: string
  role: string | null
}
export interface Member {
  id: string
  email: string
  role: string
  user: { id: string; email: string }
}
export interface Space {
  id: string
  name: string
  state: string
  team: { id: string; name: string }
  region: { id: string; name: string }
  cidr: string
  data_cidr: string
  shield: boolean
  created_at: string
}
export interface AppInfo {
  id: string
  name: string
  team: { id: string; name: string } | null
  space: { id: string; name: string } | null
  region: { name: string }
  internal_routing: boolean | null
  web_url: string
  released_at: string | null
}
export interface Formation {
  id: string
  type: string
  quantity: number
  size: string
  command: string
}
export interface Dyno {
  id: string
  name: string
  type: string
  state: string
  size: string
  updated_at: string
  release: { version: number }
}
export interface Release {
  id: string
  version: number
  description: string
  status: string
  current: boolean
  user: { email: string }
  created_at: string
}
export interface Build {
  id: string
  status: string
  created_at: string
  output_stream_url: string | null
  release: { version?: number; id: string } | null
  user: { email: string }
}
export interface Domain {
  id: string
  hostname: string
  kind: string
  cname: string | null
  status: string
}
export interface Addon {
  id: string
  name: string
  plan: { name: string }
  state?: string
  addon_service?: { name: string }
}
export interface Ruleset {
  rules: Array<{ action: string; source: string }>
}
export interface Nat {
  state: string
  sources: string[]
}
export interface Topology {
  apps: Array<{
    id: string
    domains: string[]
    formation: Array<{
      process_type: string
      dynos: Array<{ id: string; number: number; private_ip: string; hostname: string }>
    }>
  }>
}
/** GET /spaces/{s}/vpn-connections (Heroku's shape; localspace answers it once VPN exists). */
export interface VpnConnection {
  id: string
  name: string
  status: string
  routable_cidrs?: string[]
  tunnels?: Array<{ ip?: string; customer_ip?: string; status: string }>
}
/** GET /spaces/{s}/peerings (Heroku's shape). */
export interface Peering {
  pcx_id: string
  type: string
  status: string
  cidr_blocks?: string[]
  cidr_block?: string
}
