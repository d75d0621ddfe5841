/**
 * The VPN side of one host: given the desired VPN state of every space (plain data), it keeps
 * one charon per space running with exactly those connections, and reports every tunnel's
 * status. It knows nothing of the store or of how the gateway namespaces are made: the daemon
 * feeds it (and makes the namespaces first).
 *
 * One pass per space (on the project's ReconcileLoop: single-flight, coalescing, a timer):
 * start or adopt the charon; when the rendered swanctl.conf differs from what that charon has
 * (a new charon has nothing), write and load it and terminate the SAs of connections that are
 * gone; spaces no longer desired get their charon stopped and their directory removed.
 */
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ReconcileLoop, type ReconcileScope } from '../agent/reconcile-loop.js'
import type { Exec } from '../exec/run.js'
import { Charon, stopCharon } from './charon.js'
import { kernelHasEsp } from './kernel-esp.js'
import { parseTunnelName, renderSpaceSwanctl, tunnelName } from './swanctl.js'
import { TunnelWatcher, type ObservedTunnel } from './tunnel-status.js'
import { DEFAULT_DPD, type DesiredVpnSpace, type DpdTimers, type TunnelStatus } from './types.js'
import type { ViciMessage } from './vici.js'

export interface VpnHostOptions {
  dataDir: string
  exec: Exec
  /** Every change of a tunnel's status (or its message). */
  onTunnelStatus(status: TunnelStatus): void
  onError?(error: Error): void
  /** Detected with kernelHasEsp() on the first pass when not given. */
  kernelEsp?: boolean
  dpd?: DpdTimers
  /** Drift repair (a charon whose config was lost, a stopped one): 0 = only when told. */
  intervalMs?: number
}

interface SpaceRun {
  desired: DesiredVpnSpace
  charon: Charon
  watcher: TunnelWatcher
  statuses: Map<string, TunnelStatus>
}

export class VpnHost {
  private desired = new Map<string, DesiredVpnSpace>()
  private readonly runs = new Map<string, SpaceRun>()
  private readonly loop: ReconcileLoop<string>
  private kernelEsp: boolean | undefined

  constructor(private readonly options: VpnHostOptions) {
    this.kernelEsp = options.kernelEsp
    this.loop = new ReconcileLoop<string>({
      run: (scope) => this.pass(scope),
      intervalMs: options.intervalMs ?? 30_000,
      onError: (e) => options.onError?.(e),
    })
  }

  /** The desired VPN state of the whole host; resolves once the host has been made to match. */
  converge(spaces: readonly DesiredVpnSpace[]): Promise<void> {
    this.desired = new Map(spaces.map((s) => [s.spaceId, s]))
    return this.loop.kick()
  }

  /** The last reported status of every tunnel. */
  statuses(): TunnelStatus[] {
    return [...this.runs.values()].flatMap((r) => [...r.statuses.values()])
  }

  /**
   * The daemon stops: watchers close and supervision ends, charons keep running (tunnels stay
   * up) for the next daemon to adopt.
   */
  async release(): Promise<void> {
    await this.loop.stop()
    for (const run of this.runs.values()) {
      run.watcher.stop()
      await run.charon.release()
    }
    this.runs.clear()
  }

  /** Stops every charon of the host and removes its directories (tests, uninstall). */
  async stopAll(): Promise<void> {
    await this.loop.stop()
    this.desired.clear()
    await this.sweep('all')
  }

  private async pass(scope: ReconcileScope<string>): Promise<void> {
    this.kernelEsp ??= await kernelHasEsp(this.options.exec)
    await this.sweep(scope)
    const ids = scope === 'all' ? [...this.desired.keys()] : [...scope]
    const errors: Error[] = []
    for (const id of ids) {
      const desired = this.desired.get(id)
      if (desired === undefined) continue
      await this.convergeSpace(desired).catch((e: Error) => errors.push(e))
    }
    if (errors.length > 0) throw errors[0]!
  }

  /** Stops charons of spaces that are not desired, including ones a previous daemon left. */
  private async sweep(scope: ReconcileScope<string>): Promise<void> {
    const onDisk = await readdir(join(this.options.dataDir, 'vpn')).catch(() => [] as string[])
    const candidates = new Set([...this.runs.keys(), ...onDisk])
    for (const id of candidates) {
      if (this.desired.has(id) || (scope !== 'all' && !scope.has(id))) continue
      const run = this.runs.get(id)
      run?.watcher.stop()
      await run?.charon.release()
      this.runs.delete(id)
      // A directory that is not a space's (not a space id) is not ours to touch.
      await stopCharon(this.options.dataDir, id).catch((e: Error) => this.options.onError?.(e))
    }
  }

  private async convergeSpace(desired: DesiredVpnSpace): Promise<void> {
    let run = this.runs.get(desired.spaceId)
    if (run !== undefined && run.desired.netns !== desired.netns) {
      // Moved to another namespace: a new charon there.
      run.watcher.stop()
      await run.charon.stop()
      this.runs.delete(desired.spaceId)
      run = undefined
    }
    if (run === undefined) run = this.newRun(desired)
    run.desired = desired
    const text = renderSpaceSwanctl(desired, this.options.dpd ?? DEFAULT_DPD)
    await run.charon.ensureRunning()
    // Whether just started, restarted after a crash or adopted from a previous daemon: what
    // it has loaded is what is on disk (Charon keeps that true).
    const loaded = await run.charon.loadedSwanctl()
    const names = desired.connections.flatMap((c) => c.tunnels.map((_, i) => tunnelName(c.id, i)))
    for (const name of run.statuses.keys()) if (!names.includes(name)) run.statuses.delete(name)
    run.watcher.watch(names)
    if (loaded !== text) {
      await run.charon.loadSwanctl(text)
      await this.terminateStale(run.charon, new Set(names))
    }
  }

  private newRun(desired: DesiredVpnSpace): SpaceRun {
    const spaceId = desired.spaceId
    const charon = new Charon({
      spaceId,
      netns: desired.netns,
      dataDir: this.options.dataDir,
      kernelEsp: this.kernelEsp ?? false,
      exec: this.options.exec,
      onRestart: () => void this.loop.kick(spaceId),
      onError: (e) => this.options.onError?.(e),
    })
    const run: SpaceRun = {
      desired,
      charon,
      statuses: new Map(),
      watcher: new TunnelWatcher({
        connect: () => charon.connect(),
        onChange: (states) => this.onTunnels(run, states),
        onError: (e) => this.options.onError?.(e),
      }),
    }
    this.runs.set(spaceId, run)
    run.watcher.start()
    return run
  }

  /** IKE_SAs whose connection is no longer configured (unloading a connection keeps them). */
  private async terminateStale(charon: Charon, wanted: ReadonlySet<string>): Promise<void> {
    const client = await charon.connect()
    try {
      const listing: ViciMessage[] = await client.listSas()
      for (const event of listing)
        for (const [name, sa] of Object.entries(event)) {
          if (wanted.has(name) || typeof sa !== 'object' || Array.isArray(sa)) continue
          const id = sa.uniqueid
          if (typeof id === 'string') await client.terminate({ ikeId: id }).catch(() => undefined)
        }
    } finally {
      client.close()
    }
  }

  private onTunnels(run: SpaceRun, states: ReadonlyMap<string, ObservedTunnel>): void {
    const desired = run.desired
    for (const [name, observed] of states) {
      const parsed = parseTunnelName(name)
      const connection = desired.connections.find((c) => c.id === parsed?.connectionId)
      const tunnel = parsed === undefined ? undefined : connection?.tunnels[parsed.tunnelIndex]
      if (parsed === undefined || tunnel === undefined) continue
      const before = run.statuses.get(name)
      if (before?.status === observed.status && before.statusMessage === observed.statusMessage)
        continue
      const status: TunnelStatus = {
        spaceId: desired.spaceId,
        connectionId: parsed.connectionId,
        tunnelIndex: parsed.tunnelIndex,
        localIp: tunnel.localIp,
        customerIp: tunnel.customerIp,
        status: observed.status,
        statusMessage: observed.statusMessage,
        lastStatusChange:
          before !== undefined && before.status === observed.status
            ? before.lastStatusChange
            : new Date().toISOString(),
      }
      run.statuses.set(name, status)
      this.options.onTunnelStatus(status)
    }
  }
}
