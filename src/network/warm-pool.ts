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
import type { OpenShell } from '../exec/shell.js'
import { teardownLines, type PreparedNamespace } from './attach.js'
import { BatchError, runIpBatch } from './batch.js'
import { netnsName, vethName } from './names.js'

/**
 * How many namespaces are kept prepared: enough that a burst of dyno starts (a scale-up, a
 * restart of a formation) finds one each. Each costs a namespace with a veth pair and an idle
 * `ip` process (~250 KiB of its own; the rest is the binary's shared pages).
 */
export const DEFAULT_POOL_SIZE = 8

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

  /** Fewer than half of the namespaces are ready. */
  get low(): boolean {
    return this.#ready.length < this.size / 2
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

  /**
   * Tops the pool up to its size, all missing namespaces in one burst (one `ip` process makes
   * them all, then each gets its shell); one fill at a time, again while attaches took some
   * meanwhile. Never rejects.
   */
  fill(): Promise<void> {
    this.#filling ??= (async () => {
      try {
        while (!this.#stopped && this.#ready.length < this.size) {
          const prepared = await this.#prepare(this.size - this.#ready.length)
          if (this.#stopped) await this.#discard(prepared)
          else this.#ready.push(...prepared)
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
    await this.#discard(this.#ready.splice(0))
  }

  /** `count` namespaces, each with `eth0` inside, `lo` up and its shell running; or none. */
  async #prepare(count: number): Promise<PreparedNamespace[]> {
    const names = Array.from({ length: count }, () => {
      const id = newId()
      return { id, netns: netnsName(id), veth: vethName(id) }
    })
    // Claimed before anything exists, so a reconcile running meanwhile leaves them alone.
    for (const n of names) {
      this.#netns.add(n.netns)
      this.#links.add(n.veth)
    }
    const lines = names.flatMap(({ netns, veth }) => [
      `netns add ${netns}`,
      `link add ${veth} type veth peer name eth0 netns ${netns}`,
    ])
    // How many lines took effect: ip stops at the first failed one (a name that exists is
    // someone else's and must survive the cleanup).
    let done = 0
    const made: PreparedNamespace[] = []
    try {
      try {
        await runIpBatch(
          this.exec,
          lines.map((command) => ({ command, tolerate: 'nothing' as const })),
        )
        done = lines.length
      } catch (e) {
        done = e instanceof BatchError ? (e.failures[0]?.line ?? 1) - 1 : lines.length
        throw e
      }
      for (const n of names) {
        made.push({ ...n, shell: this.openShell({ tool: 'ip', netns: n.netns }) })
      }
      // Also proves each shell is up and inside its namespace.
      await Promise.all(made.map((p) => p.shell.run('link set lo up')))
      return made
    } catch (e) {
      for (const p of made) p.shell.close()
      const own = names
        .map((n, i) => ({ netns: n.netns, veth: done >= 2 * i + 2 ? n.veth : undefined }))
        .filter((_, i) => done >= 2 * i + 1)
      await this.#remove(own).finally(() => this.#forget(names))
      throw e
    }
  }

  async #discard(prepared: readonly PreparedNamespace[]): Promise<void> {
    for (const p of prepared) p.shell.close()
    await this.#remove(prepared).finally(() => this.#forget(prepared))
  }

  /** One `ip` process for all of them; fine when some or all are not there. */
  async #remove(names: ReadonlyArray<{ netns: string; veth?: string | undefined }>) {
    if (names.length === 0) return
    await runIpBatch(
      this.exec,
      names.flatMap((n) => teardownLines(n.netns, n.veth)),
      { force: true },
    )
  }

  #forget(names: ReadonlyArray<{ netns: string; veth: string }>): void {
    for (const n of names) {
      this.#netns.delete(n.netns)
      this.#links.delete(n.veth)
    }
  }
}
