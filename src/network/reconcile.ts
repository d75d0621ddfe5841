/**
 * One host-network reconcile: observe → plan (pure) → apply → verify (docs/design.md §2), for
 * the spaces' bridges and namespaces (plan.ts), then their VPN gateways and routes
 * (vpn-gateway.ts), which need the bridges.
 */
import type { Exec } from '../exec/run.js'
import { applyHostActions } from './apply.js'
import { ensureForwarding } from './host-files.js'
import { observeHost } from './observe.js'
import { planHost } from './plan.js'
import type { DesiredHost, HostAction, HostPaths, ObservedHost } from './types.js'
import { applyVpnActions, ensureVpnSettings } from './vpn-apply.js'
import { planVpn, type GatewayFirewalls, type VpnAction } from './vpn-gateway.js'
import { observeVpn } from './vpn-observe.js'

export class NotConvergedError extends Error {
  constructor(readonly remaining: ReadonlyArray<HostAction | VpnAction>) {
    super(`the host did not converge; still to do: ${JSON.stringify(remaining)}`)
    this.name = 'NotConvergedError'
  }
}

/** Both plans against one observation of the host: what differs from desired, [] when none. */
export async function planAll(
  exec: Exec,
  desired: DesiredHost,
  host: ObservedHost,
  firewalls: GatewayFirewalls,
): Promise<Array<HostAction | VpnAction>> {
  const hostActions = planHost(desired, host)
  return [
    ...hostActions,
    ...planVpn(desired, host, await observeVpn(exec, desired, host), firewalls),
  ]
}

/**
 * Converges the host to `desired` and proves it: after applying, a fresh observation must plan
 * nothing. Forwarding is (re)asserted on every desired bridge and the egress interface each
 * time, because the planner does not observe sysctls. Returns what was applied ([] when the
 * host already matched).
 *
 * @param firewalls what this process put in the VPN gateways' firewalls (vpn-gateway.ts);
 *   the caller keeps it across reconciles, or each one replaces those tables again.
 */
export async function reconcileHost(
  exec: Exec,
  desired: DesiredHost,
  paths: HostPaths = {},
  firewalls: GatewayFirewalls = new Map(),
): Promise<Array<HostAction | VpnAction>> {
  const before = await observeHost(exec)
  const actions = planHost(desired, before)
  if (actions.length > 0) await applyHostActions(exec, actions, paths)
  for (const space of desired.spaces) {
    await ensureForwarding(space.dynoBridge, paths)
    await ensureForwarding(space.dataBridge, paths)
  }
  if (desired.egress) await ensureForwarding(desired.egress.iface, paths)
  // The gateways join the bridges just made: planned on a fresh observation.
  const host = actions.length > 0 ? await observeHost(exec) : before
  const vpnActions = planVpn(desired, host, await observeVpn(exec, desired, host), firewalls)
  if (vpnActions.length > 0) await applyVpnActions(exec, vpnActions, firewalls)
  await ensureVpnSettings(desired, paths)
  const done = [...actions, ...vpnActions]
  if (done.length > 0) {
    const remaining = await planAll(exec, desired, await observeHost(exec), firewalls)
    if (remaining.length > 0) throw new NotConvergedError(remaining)
  }
  return done
}
