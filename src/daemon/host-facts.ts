/** Facts about this host the API reports, read from the OS without running commands. */
import { createHash } from 'node:crypto'
import { freemem, hostname, networkInterfaces, totalmem } from 'node:os'
import type { HostView } from '../core/runtime-view.js'
import { OWNED_LINK } from '../network/names.js'

/**
 * IPv4 addresses of the host's own interfaces: not loopback, not localspace's links (bridges,
 * veths, VPN gateways' outer veths with their link-local address).
 */
function hostAddresses(only?: string) {
  return Object.entries(networkInterfaces())
    .filter(([name]) => !OWNED_LINK.test(name) && (only === undefined || name === only))
    .flatMap(([, addrs]) => (addrs ?? []).filter((a) => a.family === 'IPv4' && !a.internal))
}

/**
 * Every address of every interface of this host, loopback and localspace's bridges included:
 * the daemon never connects to one of them for a user (core/address-policy.ts).
 */
export const ownAddresses = (): string[] =>
  Object.values(networkInterfaces()).flatMap((addrs) => (addrs ?? []).map((a) => a.address))

/** The host's own IPv4 networks: a space CIDR may not overlap them. */
export const hostCidrs = (): string[] => hostAddresses().map((a) => a.cidr ?? `${a.address}/32`)

/**
 * The address outbound traffic is masqueraded to when no egress pool is configured: the
 * egress interface's, else the host's first.
 */
export const primaryAddress = (egressInterface?: string): string | undefined =>
  hostAddresses(egressInterface)[0]?.address

export function thisHost(since: string): HostView {
  return {
    hostId: `h-${createHash('sha256').update(hostname()).digest('hex').slice(0, 17)}`,
    state: 'available',
    availableCapacityPercentage: Math.round((freemem() / totalmem()) * 100),
    allocatedAt: since,
  }
}
