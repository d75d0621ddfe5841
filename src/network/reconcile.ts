/**
 * One host-network reconcile: observe → plan (pure) → apply → verify (docs/design.md §2).
 */
import type { Exec } from '../exec/run.js'
import { applyHostActions } from './apply.js'
import { ensureForwarding } from './host-files.js'
import { observeHost } from './observe.js'
import { planHost } from './plan.js'
import type { DesiredHost, HostAction, HostPaths } from './types.js'

export class NotConvergedError extends Error {
  constructor(readonly remaining: readonly HostAction[]) {
    super(`the host did not converge; still to do: ${JSON.stringify(remaining)}`)
    this.name = 'NotConvergedError'
  }
}

/**
 * Converges the host to `desired` and proves it: after applying, a fresh observation must plan
 * nothing. Forwarding is (re)asserted on every desired bridge and the egress interface each
 * time, because the planner does not observe sysctls. Returns what was applied ([] when the
 * host already matched).
 */
export async function reconcileHost(
  exec: Exec,
  desired: DesiredHost,
  paths: HostPaths = {},
): Promise<HostAction[]> {
  const actions = planHost(desired, await observeHost(exec))
  if (actions.length > 0) await applyHostActions(exec, actions, paths)
  for (const space of desired.spaces) {
    await ensureForwarding(space.dynoBridge, paths)
    await ensureForwarding(space.dataBridge, paths)
  }
  if (desired.egress) await ensureForwarding(desired.egress.iface, paths)
  if (actions.length > 0) {
    const remaining = planHost(desired, await observeHost(exec))
    if (remaining.length > 0) throw new NotConvergedError(remaining)
  }
  return actions
}
