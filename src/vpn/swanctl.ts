/**
 * swanctl.conf of our side, pure: `renderSpaceSwanctl`, every connection of one space, loaded
 * into that space's charon (charon.ts) with `swanctl --load-all`. The customer's side, and the
 * tunnel settings both share, are core/vpn-config.ts's (the CLI prints it).
 *
 * Each tunnel is an IKE_SA of its own (one per local address) carrying one CHILD_SA with the
 * same traffic selectors as the other tunnel: the space's dyno network ↔ the routable CIDRs.
 * Either tunnel alone carries all traffic; see src/vpn/README.md for how failover works.
 */
import { renderSettings, type SettingsTree } from '../core/settings-text.js'
import {
  address,
  cidr,
  DEFAULT_DPD,
  pskSecret,
  tunnelSection,
  VpnConfigError,
  type DpdTimers,
} from '../core/vpn-config.js'
import type { DesiredVpnSpace, VpnConnectionSpec } from './types.js'

const ID = /^[A-Za-z0-9_-]{1,40}$/

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

function checkConnection(c: VpnConnectionSpec): void {
  if (!ID.test(c.id)) throw new VpnConfigError(`connection id ${JSON.stringify(c.id)} is unsafe`)
  if (c.ikeVersion !== 1 && c.ikeVersion !== 2)
    throw new VpnConfigError(`connection ${c.name}: IKE version ${String(c.ikeVersion)}`)
  if (c.routableCidrs.length === 0) throw new VpnConfigError(`connection ${c.name}: no CIDRs`)
  if (c.tunnels.length === 0 || c.tunnels.length > 9)
    throw new VpnConfigError(`connection ${c.name}: ${c.tunnels.length} tunnels`)
}

const safeComment = (text: string): string => text.replace(/[^A-Za-z0-9_.-]/g, '?')
