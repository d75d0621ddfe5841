/**
 * The customer's side of a VPN connection, for a strongSwan gateway at the office
 * (`localspace vpn:config NAME --space S --format swanctl`), and the tunnel settings both
 * sides share (src/vpn/swanctl.ts renders ours with them). Pure, so the CLI can use it: the
 * file is made from nothing but what `heroku spaces:vpn:config` prints.
 *
 * Each tunnel is an IKE_SA of its own carrying one CHILD_SA with the same traffic selectors
 * as the other tunnel: the routable CIDRs ↔ the space's dyno network. Either tunnel alone
 * carries all traffic; see src/vpn/README.md for how failover works. The values are checked
 * before they reach the file (they come over the network: a brace or a newline could change
 * what the gateway is configured to do; settings-text.ts refuses unsafe values too).
 */
import { parseCidr, parseIpv4 } from './cidr.js'
import { renderSettings, type SettingsTree } from './settings-text.js'

/** Dead peer detection; shorter in tests, where a failover is waited for. */
export interface DpdTimers {
  /** Seconds between DPD checks of an idle tunnel. */
  delaySeconds: number
  /** IKEv1: seconds without an answer before the peer is declared dead. */
  timeoutSeconds: number
}

/** AWS's site-to-site defaults (what a Heroku VPN's remote side is used to). */
export const DEFAULT_DPD: DpdTimers = { delaySeconds: 10, timeoutSeconds: 30 }

/** IKE proposals, most preferred first (the seed: IKEv1 PSK aes-128-cbc). */
export const IKE_PROPOSALS = 'aes128-sha1-modp2048,aes128-sha1-modp1024,aes256-sha256-modp2048'
/** ESP: the same suites with PFS, then without (gateways that do not do PFS). */
export const ESP_PROPOSALS = `${IKE_PROPOSALS},aes128-sha1,aes256-sha256`

const PSK = /^[A-Za-z0-9._]{32}$/

export class VpnConfigError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'VpnConfigError'
  }
}

/** One tunnel's keying: our address, the customer gateway's, their pre-shared key. */
export interface TunnelKeys {
  localIp: string
  customerIp: string
  psk: string
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

export interface TunnelSettings {
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

export function tunnelSection(s: TunnelSettings): SettingsTree {
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

export function pskSecret(t: TunnelKeys): SettingsTree {
  if (!PSK.test(t.psk)) throw new VpnConfigError('a pre-shared key is not 32 of [A-Za-z0-9._]')
  // Owners of the key: both ends' identities (the order does not matter to charon).
  return { 'id-gateway': t.localIp, 'id-customer': t.customerIp, secret: t.psk }
}

export function cidr(text: string, what: string): string {
  if (parseCidr(text, { strict: true }) === undefined)
    throw new VpnConfigError(`${what} ${JSON.stringify(text)} is not a network CIDR`)
  return text
}

export function address(text: string, what: string): string {
  if (parseIpv4(text) === undefined)
    throw new VpnConfigError(`${what} ${JSON.stringify(text)} is not an IPv4 address`)
  return text
}

/** A connection name usable as a swanctl section name (the user's name may hold anything). */
function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 40)
  return cleaned === '' ? 'localspace' : cleaned
}
