/**
 * Carries out a host plan with as few processes as the dependencies allow:
 *   1. teardown  one `ip -force -batch -`: detaches, leftover links and namespaces, stale addresses
 *   2. bridges   one `ip -force -batch -` of `link add … type bridge`, then a re-read of any name
 *                that already existed (it must be a bridge: CNI's ensureBridge)
 *   3. build     one `ip -force -batch -`: links up, addresses added; then forwarding on bridges
 *   4. attach    two `ip` processes per attachment (attach.ts)
 * Creates accept "File exists", deletes accept "Cannot find device"/"No such file"; anything
 * else fails the stage with every failed line named.
 */
import type { Exec } from '../exec/run.js'
import { attach, teardownLines } from './attach.js'
import { runIpBatch, type BatchLine } from './batch.js'
import { NetworkConflictError } from './errors.js'
import { ensureForwarding, removeNetnsFiles } from './host-files.js'
import { OWNED_NETNS } from './names.js'
import { parseLinks } from './observe.js'
import type { HostAction, HostPaths } from './types.js'

const line = (command: string, tolerate: BatchLine['tolerate']): BatchLine => ({
  command,
  tolerate,
})

function teardownLine(action: HostAction): BatchLine[] {
  switch (action.kind) {
    case 'detach':
      return teardownLines(action.netns, action.veth)
    case 'link.delete':
      return [line(`link del ${action.name}`, 'gone')]
    case 'netns.delete':
      return [line(`netns del ${action.name}`, 'gone')]
    case 'addr.remove':
      return [line(`addr del ${action.address}/${action.prefix} dev ${action.dev}`, 'gone')]
    default:
      return []
  }
}

function buildLine(action: HostAction): BatchLine[] {
  switch (action.kind) {
    case 'link.mac':
      return [line(`link set ${action.name} address ${action.mac}`, 'nothing')]
    case 'link.up':
      return [line(`link set ${action.name} up`, 'nothing')]
    case 'addr.add':
      return [line(`addr add ${action.address}/${action.prefix} dev ${action.dev}`, 'exists')]
    case 'veth.plug':
      return [line(`link set ${action.veth} master ${action.bridge} up`, 'nothing')]
    default:
      return []
  }
}

/** A name that already existed when we created it must be a bridge, or it is not ours. */
async function verifyBridge(exec: Exec, name: string): Promise<void> {
  const { stdout } = await exec('ip', ['-j', '-d', 'link', 'show', 'dev', name])
  const link = parseLinks(stdout)[0]
  if (link?.kind !== 'bridge') {
    throw new NetworkConflictError(name, `is a ${link?.kind ?? 'plain device'}, not a bridge`)
  }
}

/**
 * Applies a plan from planHost. Safe to re-run: every step tolerates having been done already.
 * Attachments are attempted even when one of them fails; the failures are thrown together.
 */
export async function applyHostActions(
  exec: Exec,
  actions: readonly HostAction[],
  paths: HostPaths = {},
): Promise<void> {
  // 1. teardown
  await runIpBatch(exec, actions.flatMap(teardownLine), { force: true })
  for (const action of actions) {
    if (action.kind === 'detach') await removeNetnsFiles(action.netns, paths)
    // Gateway namespaces (lsg-) have no /etc/netns files.
    if (action.kind === 'netns.delete' && OWNED_NETNS.test(action.name)) {
      await removeNetnsFiles(action.name, paths)
    }
  }

  // 2. bridges; ordering matters: nothing is set up or addressed on a name until it is
  // proved to be our bridge.
  const creates = actions.flatMap((a) => (a.kind === 'bridge.create' ? [a] : []))
  const created = creates.map((a) => a.name)
  const { tolerated } = await runIpBatch(
    exec,
    creates.map((a) => line(`link add name ${a.name} address ${a.mac} type bridge`, 'exists')),
    { force: true },
  )
  for (const failure of tolerated) await verifyBridge(exec, created[failure.line - 1]!)

  // 3. build
  await runIpBatch(exec, actions.flatMap(buildLine), { force: true })
  const bridges = new Set(created)
  for (const action of actions) {
    if (action.kind === 'link.up' && /^ls[bcd]-/.test(action.name)) bridges.add(action.name)
  }
  for (const bridge of bridges) await ensureForwarding(bridge, paths)

  // 4. attach
  const failures: unknown[] = []
  for (const action of actions) {
    if (action.kind !== 'attach') continue
    await attach(exec, action.attachment, paths).catch((e: unknown) => failures.push(e))
  }
  if (failures.length === 1) throw failures[0]
  if (failures.length > 1) {
    throw new AggregateError(failures, `${failures.length} attachments failed`)
  }
}
