/**
 * The VPN state of one host as plain data: what the agent converges towards (DesiredVpnSpace)
 * and what it reports back (TunnelStatus). Nothing here knows the store or the API; the
 * daemon maps its rows onto these.
 */

export interface VpnTunnelSpec {
  /** Our public tunnel address (from the region's --vpn-pool), on the gateway namespace. */
  localIp: string
  /** The customer gateway's public address. */
  customerIp: string
  /** 32 characters of [A-Za-z0-9._]; one per tunnel. */
  psk: string
}

export interface VpnConnectionSpec {
  /** Stable id (the vpn-connection's id); names the swanctl connections, so [A-Za-z0-9_-]. */
  id: string
  /** The user's name for it (for messages only). */
  name: string
  ikeVersion: 1 | 2
  /** The customer's networks, reached through the tunnels. */
  routableCidrs: string[]
  /** Two on Heroku; each its own IKE_SA with the same traffic selectors. */
  tunnels: VpnTunnelSpec[]
}

export interface DesiredVpnSpace {
  spaceId: string
  /** The network namespace charon runs in (the space's VPN gateway namespace). */
  netns: string
  /** The space's dyno network C: the only local traffic selector (never the data network). */
  spaceCidr: string
  connections: VpnConnectionSpec[]
}

export type TunnelState = 'UP' | 'DOWN'

/** One tunnel as Heroku's vpn-connection shows it. */
export interface TunnelStatus {
  spaceId: string
  connectionId: string
  /** 0 or 1: the tunnel's position in VpnConnectionSpec.tunnels. */
  tunnelIndex: number
  localIp: string
  customerIp: string
  /** UP: the IKE_SA is established AND a CHILD_SA is installed. */
  status: TunnelState
  /** The last thing charon said about it ("IKE_SA established, CHILD_SA installed", …). */
  statusMessage: string
  /** ISO 8601: when `status` last changed. */
  lastStatusChange: string
}

export { DEFAULT_DPD, type DpdTimers } from '../core/vpn-config.js'
