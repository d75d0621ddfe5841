/**
 * The fast path that gives a dyno or data service its network, and its undo. Two `ip`
 * processes per attach: one on the host, one inside the new namespace.
 *
 * The veth is created with its peer already inside the namespace (`peer name eth0 netns …`):
 * moving an existing veth into a namespace costs ~16 ms, creating it there ~0.5 ms
 * (benchmarking.md).
 */
import type { Exec } from '../exec/run.js'
import type { Shell } from '../exec/shell.js'
import { BatchError, runIpBatch, type BatchLine } from './batch.js'
import { AttachError } from './errors.js'
import { removeNetnsFiles, writeResolvConf } from './host-files.js'
import { macFor, OWNED_NETNS } from './names.js'
import type { DesiredAttachment, HostPaths } from './types.js'
import { checkAttachment, checkName, VETH } from './validate.js'

const strict = (command: string): BatchLine => ({ command, tolerate: 'nothing' })
const absentOk = (command: string): BatchLine => ({ command, tolerate: 'gone' })

/**
 * A veth made with its peer already inside `netns` (moving one in costs ~16 ms, making it
 * there ~0.5 ms).
 */
export const vethIntoLine = (hostEnd: string, inside: string, netns: string): string =>
  `link add ${hostEnd} type veth peer name ${inside} netns ${netns}`

/** The host-side lines of an attach, in order; their count is what a rollback undoes. */
export function hostAttachLines(a: DesiredAttachment): string[] {
  return [
    `netns add ${a.netns}`,
    vethIntoLine(a.veth, 'eth0', a.netns),
    `link set ${a.veth} master ${a.bridge} up`,
  ]
}

/** The lines run inside the namespace (`ip -n <ns> -batch -`). */
export function namespaceAttachLines(a: DesiredAttachment): string[] {
  return [
    `addr add ${a.address}/${a.prefix} dev eth0`,
    `link set eth0 address ${macFor(a.address)} up`,
    `link set lo up`,
    `route add default via ${a.gateway}`,
  ]
}

/**
 * Deletes the host veth, then the namespace. Deleting the veth first is synchronous and takes
 * its peer with it, so the name is free when this returns (a namespace is dismantled by the
 * kernel later, and may outlive `netns del` while a process still runs in it).
 */
export function teardownLines(netns: string, veth: string | undefined): BatchLine[] {
  return [
    ...(veth === undefined ? [] : [absentOk(`link del ${veth}`)]),
    absentOk(`netns del ${netns}`),
  ]
}

/**
 * Gives one dyno or data service its network: a namespace `a.netns` whose `eth0` carries
 * `a.address/a.prefix`, a default route via `a.gateway`, `lo` up, the host end `a.veth` on
 * `a.bridge`, and `/etc/netns/<ns>/resolv.conf` naming `a.dns`. Not idempotent by design (the
 * planner repairs): it fails when the namespace exists. On any failure it removes what it
 * made, then rejects with an AttachError whose cause is the first failure.
 *
 * @example
 * await attach(run, { id, bridge: 'lsb-1a2b3c4d', address: '10.40.128.1', prefix: 16,
 *   gateway: '10.40.0.1', dns: '10.40.0.1', netns: netnsName(id), veth: vethName(id) })
 */
export async function attach(
  exec: Exec,
  a: DesiredAttachment,
  paths: HostPaths = {},
): Promise<void> {
  checkAttachment(a)
  const hostLines = hostAttachLines(a)
  // How many host lines took effect: what a rollback must undo.
  let made = 0
  try {
    try {
      await runIpBatch(exec, hostLines.map(strict))
      made = hostLines.length
    } catch (e) {
      // ip stops at the first failed line; the ones before it happened. Anything else (a
      // timeout, a kill) leaves it unknown, so undo everything, tolerating absence.
      made = e instanceof BatchError ? (e.failures[0]?.line ?? 1) - 1 : hostLines.length
      throw e
    }
    await runIpBatch(exec, namespaceAttachLines(a).map(strict), { netns: a.netns })
    await writeResolvConf(a.netns, a.dns, paths)
  } catch (cause) {
    let rollbackError: unknown
    if (made > 0) {
      try {
        await runIpBatch(exec, teardownLines(a.netns, made >= 2 ? a.veth : undefined), {
          force: true,
        })
        await removeNetnsFiles(a.netns, paths)
      } catch (e) {
        rollbackError = e
      }
    }
    const detail = cause instanceof Error ? cause.message : String(cause)
    const undone = rollbackError === undefined ? '' : ' (and the rollback failed too)'
    throw new AttachError(
      `could not attach ${a.id} (${a.netns} on ${a.bridge}): ${detail}${undone}`,
      a.id,
      { cause, rollbackError },
    )
  }
}

/** A namespace made ahead of need (warm-pool.ts): `eth0` inside, `lo` up, host end unplugged. */
export interface PreparedNamespace {
  /** The attachment id the names derive from. */
  id: string
  netns: string
  veth: string
  /** `ip` running inside the namespace; closed once the attach has used it. */
  shell: Shell
}

/**
 * `attach` for a prepared namespace: what is left is the address and route inside (through
 * its shell) and plugging the host end into the bridge (through `hostShell`, an `ip` shell in
 * the host namespace), done side by side, and the resolv.conf. No process starts, so this
 * takes about a millisecond. On failure the namespace is removed (`exec`) and it rejects with
 * an AttachError.
 */
export async function attachPrepared(
  exec: Exec,
  hostShell: Shell,
  prepared: PreparedNamespace,
  a: DesiredAttachment,
  paths: HostPaths = {},
): Promise<void> {
  checkAttachment(a)
  if (prepared.netns !== a.netns || prepared.veth !== a.veth) {
    const message = `${prepared.netns} was prepared for another attachment`
    throw new AttachError(message, a.id, { cause: new Error(message) })
  }
  try {
    await Promise.all([
      prepared.shell.run(namespaceAttachLines(a).join('\n')),
      hostShell.run(`link set ${a.veth} master ${a.bridge} up`),
      writeResolvConf(a.netns, a.dns, paths),
    ])
  } catch (cause) {
    let rollbackError: unknown
    try {
      await detach(exec, a, paths)
    } catch (e) {
      rollbackError = e
    }
    const detail = cause instanceof Error ? cause.message : String(cause)
    throw new AttachError(`could not attach ${a.id} (${a.netns} on ${a.bridge}): ${detail}`, a.id, {
      cause,
      rollbackError,
    })
  } finally {
    prepared.shell.close()
  }
}

/**
 * Undoes `attach`: the host veth (and with it `eth0` inside), the namespace, and its
 * /etc/netns files. Succeeds when any or all of them are already gone. One `ip` process.
 */
export async function detach(
  exec: Exec,
  target: { netns: string; veth: string },
  paths: HostPaths = {},
): Promise<void> {
  checkName(target.netns, OWNED_NETNS, 'network namespace')
  checkName(target.veth, VETH, 'veth')
  await runIpBatch(exec, teardownLines(target.netns, target.veth), { force: true })
  await removeNetnsFiles(target.netns, paths)
}
