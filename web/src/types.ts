/** The parts of the Platform API's JSON the dashboard reads (Heroku's field names). */
// Shapes the CLI reads too come from its module: one description of the API's JSON per shape.
export type {
  Account,
  Nat,
  Peering,
  Release,
  Space,
  Team,
  VpnConnection,
} from '../../src/cli/wire.js'

export interface Member {
  id: string
  email: string
  role: string
  user: { id: string; email: string }
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
/** GET /spaces/{s}/peerings (Heroku's shape). */
