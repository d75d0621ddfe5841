/**
 * The data converger: makes the host's data servers match a desired list of plain data (the
 * lead feeds it from the store) and reports every server's status through one callback.
 * A pass starts (or adopts) what should run, stops what should be stopped, destroys what
 * should be gone, and hands a changed spec (a follower added) to the running server. It
 * runs on the project's ReconcileLoop: single-flight, coalescing kicks, and a timer that
 * retries a failed start.
 *
 * A pass does not wait for a server's start (seconds for initdb): each server's operation
 * runs on its own, one at a time per server, and kicks the loop when done, so one slow start
 * holds up nobody else. `settled()` waits for all of them (tests, shutdown).
 */
import { ReconcileLoop } from '../agent/reconcile-loop.js'
import { DataServer, type DataServerOptions } from './server.js'
import type { DataServerSpec, DataServerStatus, DesiredDataServer } from './types.js'

export interface DataAgentOptions extends Omit<DataServerOptions, 'onStatus'> {
  /** The desired servers, read at every pass. */
  desired: () => Promise<readonly DesiredDataServer[]> | readonly DesiredDataServer[]
  onStatus: (status: DataServerStatus) => void
  /** A pass over everything this often (retries failed starts); default 10 s. */
  intervalMs?: number
  onError?: (error: Error) => void
}

export class DataAgent {
  private readonly servers = new Map<string, { server: DataServer; spec: string }>()
  /** The operation under way per add-on; a pass leaves a busy server alone. */
  private readonly busy = new Map<string, Promise<void>>()
  /** Add-ons a pass skipped because they were busy: a pass follows their operation. */
  private readonly skipped = new Set<string>()
  private readonly loop: ReconcileLoop<string>

  constructor(private readonly options: DataAgentOptions) {
    this.loop = new ReconcileLoop<string>({
      run: () => this.pass(),
      intervalMs: options.intervalMs ?? 10_000,
      ...(options.onError && { onError: options.onError }),
    })
  }

  start(): Promise<void> {
    return this.loop.start()
  }

  /** A pass soon (the store changed). */
  kick(): Promise<void> {
    return this.loop.kick()
  }

  /** The running server of an add-on, for host-side operations (backups, followers). */
  server(addonId: string): DataServer | undefined {
    return this.servers.get(addonId)?.server
  }

  /** Resolves when no pass and no server operation is under way. */
  async settled(): Promise<void> {
    for (;;) {
      await this.loop.idle()
      if (this.busy.size === 0) return
      await Promise.allSettled([...this.busy.values()])
    }
  }

  /**
   * Daemon shutdown: no more passes; the servers are left running (the next daemon's agent
   * adopts them), only watched no more.
   */
  async stop(): Promise<void> {
    await this.loop.stop()
    await Promise.allSettled([...this.busy.values()])
    for (const { server } of this.servers.values()) await server.release()
    this.servers.clear()
  }

  private async pass(): Promise<void> {
    const desired = await this.options.desired()
    const ids = new Set(desired.map((d) => d.spec.addonId))
    // Gone from the list (destroyed and forgotten by the store): nothing left to watch.
    for (const [id, { server }] of this.servers)
      if (!ids.has(id) && !this.busy.has(id)) {
        this.servers.delete(id)
        await server.release()
      }
    for (const d of desired) {
      const id = d.spec.addonId
      if (this.busy.has(id)) {
        this.skipped.add(id)
        continue
      }
      const op = this.operationFor(d)
      if (!op) continue
      const running = op()
        .catch((e: unknown) =>
          this.options.onError?.(e instanceof Error ? e : new Error(String(e))),
        )
        .finally(() => {
          this.busy.delete(id)
          if (this.skipped.delete(id)) void this.loop.kick()
        })
      this.busy.set(id, running)
    }
  }

  /** What one server needs now, or undefined when it is as desired. */
  private operationFor(d: DesiredDataServer): (() => Promise<void>) | undefined {
    const id = d.spec.addonId
    const known = this.servers.get(id)
    const specText = JSON.stringify(d.spec)
    if (d.state === 'destroyed') {
      if (known?.server.state === 'destroyed') return undefined
      return () => this.serverFor(d.spec).destroy()
    }
    if (d.state === 'stopped') {
      if (known?.server.state === 'stopped') return undefined
      return () => this.serverFor(d.spec).stop()
    }
    if (known && known.spec !== specText && known.server.state === 'available')
      return async () => {
        await known.server.update(d.spec)
        known.spec = specText
      }
    const state = known?.server.state
    // Running and watched (a crash's restarts are the server's own business).
    if (state === 'available' || state === 'starting' || known?.server.supervised) return undefined
    // New, stopped, or failed to start (the timer's pass retries it).
    return () => this.serverFor(d.spec).start()
  }

  private serverFor(spec: DataServerSpec): DataServer {
    const known = this.servers.get(spec.addonId)
    if (known) return known.server
    const { desired: _d, onStatus, intervalMs: _i, onError: _e, ...serverOptions } = this.options
    const server = new DataServer(spec, { ...serverOptions, onStatus })
    this.servers.set(spec.addonId, { server, spec: JSON.stringify(spec) })
    return server
  }
}
