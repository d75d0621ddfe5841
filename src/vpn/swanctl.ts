/**
 * swanctl.conf for both ends of a space's VPN connections, pure:
 *
 * - `renderSpaceSwanctl`: our side, every connection of one space, loaded into that space's
 *   charon (charon.ts) with `swanctl --load-all`;
 * - `renderCustomerSwanctl`: the customer's side of one connection, from exactly what
 *   `heroku spaces:vpn:config` shows (plus the customer's own routable CIDRs, which they
 *   chose), for a strongSwan gateway at the office.
 *
 * Each tunnel is an IKE_SA of its own (one per local address) carrying one CHILD_SA with the
 * same traffic selectors as the other tunnel: the space's dyno network ↔ the routable CIDRs.
 * Either tunnel alone carries all traffic; see src/vpn/README.md for how failover works.
 */
import { parseCidr, parseIpv4 } from '../core/cidr.js'
import { renderSettings, type SettingsTree } from './settings-text.js'
import {
  DEFAULT_DPD,
  type DesiredVpnSpace,
  type DpdTimers,
  type VpnConnectionSpec,
  type VpnTunnelSpec,
} from './types.js'

/** IKE proposals, most preferred first (the seed: IKEv1 PSK aes-128-cbc). */
export const IKE_PROPOSALS = 'aes128-sha1-modp2048,aes128-sha1-modp1024,aes256-sha256-modp2048'
/** ESP: the same suites with PFS, then without (gateways that do not do PFS). */
export const ESP_PROPOSALS = `${IKE_PROPOSALS},aes128-sha1,aes256-sha256`

const PSK = /^[A-Za-z0-9._]{32}$/
const ID = /^[A-Za-z0-9_-]{1,40}$/

export class VpnConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'VpnConfigError'
  }
}

/** The swanctl connection (and CHILD_SA) name of a connection's tunnel: `<id>-t1`, `<id>-t2`. */
export const tunnelName = (connectionId: string, tunnelIndex: number): string =>
  `${connectionId}-t${tunnelIndex + 1}`

/** The inverse of tunnelName; undefined for names that are not ours. */
export function parseTunnelName(
  name: string,
): { connectionId: string; tunnelIndex: number } | undefined {
  const m = /^([A-Za-z0-9_-]+)-t([1-9])$/.exec(name)
  return m ? { connectionId: m[1]!, tunnelIndex: Number(m[2]) - 1 } : undefined
}

/** Our side: every connection of the space, two IKE_SAs each. */
export function renderSpaceSwanctl(space: DesiredVpnSpace, dpd: DpdTimers = DEFAULT_DPD): string {
  const spaceCidr = cidr(space.spaceCidr, 'space CIDR')
  const connections: SettingsTree = {}
  const secrets: SettingsTree = {}
  for (const c of space.connections) {
    checkConnection(c)
    const remoteTs = c.routableCidrs.map((r) => cidr(r, 'routable CIDR')).join(',')
    c.tunnels.forEach((t, i) => {
      const name = tunnelName(c.id, i)
      connections[name] = tunnelSection({
        name,
        ikeVersion: c.ikeVersion,
        local: address(t.localIp, 'tunnel address'),
        remote: address(t.customerIp, 'customer gateway'),
        localTs: spaceCidr,
        remoteTs,
        dpd,
        // We initiate, and again whenever the peer closes or dies: a tunnel should be up
        // without the office having to send traffic first.
        startAction: 'start',
        closeAction: 'start',
        dpdAction: 'restart',
      })
      secrets[`ike-${name}`] = pskSecret(t)
    })
  }
  return renderSettings(
    { connections, secrets },
    `swanctl.conf of space ${safeComment(space.spaceId)}, rendered by localspace: edits are overwritten`,
  )
}

/**
 * What `heroku spaces:vpn:config` prints (the vpn-connection's `space_cidr_block`,
 * `ike_version` and, per tunnel, `ip`, `customer_ip` and `pre_shared_key`), with the field
 * names of the API; `routable_cidrs` are the customer's own networks.
 */
export interface CustomerVpnConfig {
  name: string
  space_cidr_block: string
  ike_version: number
  routable_cidrs: string[]
  tunnels: Array<{ ip: string; customer_ip: string; pre_shared_key: string }>
}

/**
 * The customer's strongSwan gateway: one IKE_SA per tunnel towards our two addresses. It
 * initiates too, and re-initiates after DPD declares a tunnel dead, so the office's side comes
 * back by itself after an outage on ours.
 */
export function renderCustomerSwanctl(
  vpn: CustomerVpnConfig,
  dpd: DpdTimers = DEFAULT_DPD,
): string {
  if (vpn.ike_version !== 1 && vpn.ike_version !== 2)
    throw new VpnConfigError(`IKE version ${vpn.ike_version} is neither 1 nor 2`)
  if (vpn.routable_cidrs.length === 0) throw new VpnConfigError('no routable CIDRs')
  const localTs = vpn.routable_cidrs.map((r) => cidr(r, 'routable CIDR')).join(',')
  const remoteTs = cidr(vpn.space_cidr_block, 'space CIDR')
  const prefix = safeName(vpn.name)
  const connections: SettingsTree = {}
  const secrets: SettingsTree = {}
  vpn.tunnels.forEach((t, i) => {
    const tunnel = { localIp: t.ip, customerIp: t.customer_ip, psk: t.pre_shared_key }
    const name = `${prefix}-tunnel${i + 1}`
    connections[name] = tunnelSection({
      name,
      ikeVersion: vpn.ike_version as 1 | 2,
      local: address(t.customer_ip, 'customer gateway'),
      remote: address(t.ip, 'VPN gateway'),
      localTs,
      remoteTs,
      dpd,
      startAction: 'trap',
      closeAction: 'trap',
      dpdAction: 'trap',
    })
    secrets[`ike-${name}`] = pskSecret(tunnel)
  })
  return renderSettings(
    { connections, secrets },
    [
      `swanctl.conf for the office side of VPN connection ${prefix} (rendered by localspace).`,
      'Install it as /etc/swanctl/conf.d/<name>.conf and run: swanctl --load-all',
    ].join('\n'),
  )
}

interface TunnelSettings {
  name: string
  ikeVersion: 1 | 2
  local: string
  remote: string
  localTs: string
  remoteTs: string
  dpd: DpdTimers
  startAction: 'start' | 'trap' | 'none'
  closeAction: 'start' | 'trap' | 'none'
  dpdAction: 'restart' | 'trap' | 'clear'
}

function tunnelSection(s: TunnelSettings): SettingsTree {
  const ike: SettingsTree = {
    version: String(s.ikeVersion),
    ...(s.ikeVersion === 1 ? { aggressive: 'no' } : {}),
    local_addrs: s.local,
    remote_addrs: s.remote,
    proposals: IKE_PROPOSALS,
    // Retry forever: a tunnel whose peer is away must come back when the peer does.
    keyingtries: '0',
    dpd_delay: `${s.dpd.delaySeconds}s`,
    ...(s.ikeVersion === 1 ? { dpd_timeout: `${s.dpd.timeoutSeconds}s` } : {}),
    // Pre-shared keys are looked up by the pair of identities; the addresses are the
    // identities (as AWS and Heroku gateways use them).
    local: { auth: 'psk', id: s.local },
    remote: { auth: 'psk', id: s.remote },
    children: {
      [s.name]: {
        local_ts: s.localTs,
        remote_ts: s.remoteTs,
        esp_proposals: ESP_PROPOSALS,
        dpd_action: s.dpdAction,
        start_action: s.startAction,
        close_action: s.closeAction,
      },
    },
  }
  return ike
}

function pskSecret(t: VpnTunnelSpec): SettingsTree {
  if (!PSK.test(t.psk)) throw new VpnConfigError('a pre-shared key is not 32 of [A-Za-z0-9._]')
  // Owners of the key: both ends' identities (the order does not matter to charon).
  return { 'id-gateway': t.localIp, 'id-customer': t.customerIp, secret: t.psk }
}

function checkConnection(c: VpnConnectionSpec): void {
  if (!ID.test(c.id)) throw new VpnConfigError(`connection id ${JSON.stringify(c.id)} is unsafe`)
  if (c.ikeVersion !== 1 && c.ikeVersion !== 2)
    throw new VpnConfigError(`connection ${c.name}: IKE version ${String(c.ikeVersion)}`)
  if (c.routableCidrs.length === 0) throw new VpnConfigError(`connection ${c.name}: no CIDRs`)
  if (c.tunnels.length === 0 || c.tunnels.length > 9)
    throw new VpnConfigError(`connection ${c.name}: ${c.tunnels.length} tunnels`)
}

function cidr(text: string, what: string): string {
  if (parseCidr(text, { strict: true }) === undefined)
    throw new VpnConfigError(`${what} ${JSON.stringify(text)} is not a network CIDR`)
  return text
}

function address(text: string, what: string): string {
  if (parseIpv4(text) === undefined)
    throw new VpnConfigError(`${what} ${JSON.stringify(text)} is not an IPv4 address`)
  return text
}

/** A connection name usable as a swanctl section name (the user's name may hold anything). */
function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)
  return cleaned === '' ? 'localspace' : cleaned
}

const safeComment = (text: string): string => text.replace(/[^A-Za-z0-9_.-]/g, '?')
