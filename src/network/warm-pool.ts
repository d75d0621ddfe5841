/**
 * Namespaces made ahead of need, so that giving a dyno its network does not wait for
 * processes to start (~8 ms each here) or for `ip netns add` (~10 ms of mounts).
 *
 * A prepared namespace is named for the attachment that will take it (`ls-<8hex>` of a fresh
 * id), holds `eth0` (the veth made inside it, as attach.ts does) with `lo` up, and has an
 * `ip` shell already running inside it. Its host end is down and on no bridge, so the
 * namespace reaches nothing until an attach plugs it in. What is left for the attach is
 * three netlink requests inside and one outside (attach.ts `attachPrepared`).
 *
 * Prepared namespaces are not in the store: a daemon that restarts finds them as leftovers
 * and the reconciler deletes them, so none outlive the process that made them.
 */
import { newId } from '../core/ids.js'
import type { Exec } from '../exec/run.js'
import type { OpenShell, Shell } from '../exec/shell.js'
import { teardownLines, type PreparedNamespace } from './attach.js'
import { runIpBatch } from './batch.js'
import { netnsName, vethName } from './names.js'

export const DEFAULT_POOL_SIZE = 2

export class WarmPool {
  readonly #ready: PreparedNamespace[] = []
  /** Names of prepared and being-prepared namespaces (the reconciler must leave them alone). */
  readonly #netns = new Set<string>()
  readonly #links = new Set<string>()
  #filling: Promise<void> | undefined
  #stopped = false
  /** The last failure to prepare one; attaches fall back to the slow path meanwhile. */
  lastError: Error | undefined

  constructor(
    private readonly exec: Exec,
    private readonly openShell: OpenShell,
    private readonly size = DEFAULT_POOL_SIZE,
  ) {}

  /** What the reconciler must not delete. Live sets: they change as the pool does. */
  get prepared(): { netns: ReadonlySet<string>; links: ReadonlySet<string> } {
    return { netns: this.#netns, links: this.#links }
  }

  /** The id of a namespace ready to be taken, for the store to name the attachment by. */
  peekId(): string | undefined {
    return this.#ready[0]?.id
  }

  /**
   * Hands the prepared namespace over (the caller owns it now). The caller refills (`fill`)
   * once its attach is done, so the refill's processes do not compete with the attach.
   */
  take(id: string): PreparedNamespace | undefined {
    const i = this.#ready.findIndex((p) => p.id === id)
    if (i < 0) return undefined
    const [taken] = this.#ready.splice(i, 1)
    this.#netns.delete(taken!.netns)
    this.#links.delete(taken!.veth)
    return taken
  }

  /** Tops the pool up to its size; one fill at a time. Never rejects. */
  fill(): Promise<void> {
    this.#filling ??= (async () => {
      try {
        while (!this.#stopped && this.#ready.length < this.size) {
          const prepared = await this.#prepare()
          if (this.#stopped) await this.#discard(prepared)
          else this.#ready.push(prepared)
        }
        this.lastError = undefined
      } catch (e) {
        this.lastError = e instanceof Error ? e : new Error(String(e))
      }
    })().finally(() => (this.#filling = undefined))
    return this.#filling
  }

  /** Removes every prepared namespace; the pool makes no more. */
  async stop(): Promise<void> {
    this.#stopped = true
    await this.#filling
    for (const p of this.#ready.splice(0)) await this.#discard(p)
  }

  async #prepare(): Promise<PreparedNamespace> {
    const id = newId()
    const netns = netnsName(id)
    const veth = vethName(id)
    // Claimed before anything exists, so a reconcile running meanwhile leaves it alone.
    this.#netns.add(netns)
    this.#links.add(veth)
    let shell: Shell | undefined
    try {
      await runIpBatch(
        this.exec,
        [`netns add ${netns}`, `link add ${veth} type veth peer name eth0 netns ${netns}`].map(
          (command) => ({ command, tolerate: 'nothing' as const }),
        ),
      )
      shell = this.openShell({ tool: 'ip', netns })
      await shell.run('link set lo up') // also proves the shell is up and inside
      return { id, netns, veth, shell }
    } catch (e) {
      shell?.close()
      await this.#remove(netns, veth)
      throw e
    }
  }

  async #discard(p: PreparedNamespace): Promise<void> {
    p.shell.close()
    await this.#remove(p.netns, p.veth)
  }

  async #remove(netns: string, veth: string): Promise<void> {
    try {
      await runIpBatch(this.exec, teardownLines(netns, veth), { force: true })
    } finally {
      this.#netns.delete(netns)
      this.#links.delete(veth)
    }
  }
}
