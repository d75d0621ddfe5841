/** Facts about this host the API reports, read from the OS without running commands. */
import { createHash } from 'node:crypto'
import { freemem, hostname, networkInterfaces, totalmem } from 'node:os'
import type { HostView } from '../core/runtime-view.js'

/** The host's own IPv4 networks (not loopback): a space CIDR may not overlap them. */
export function hostCidrs(): string[] {
  const out: string[] = []
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family === 'IPv4' && !a.internal && a.cidr) out.push(a.cidr)
    }
  }
  return out
}

/** The address outbound traffic leaves from when no egress pool is configured. */
export function primaryAddress(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address
  }
  return undefined
}

export function thisHost(since: string): HostView {
  return {
    hostId: `h-${createHash('sha256').update(hostname()).digest('hex').slice(0, 17)}`,
    state: 'available',
    availableCapacityPercentage: Math.round((freemem() / totalmem()) * 100),
    allocatedAt: since,
  }
}
