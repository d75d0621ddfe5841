/**
 * Site-to-site on the host (docs/design.md §7): turns the store's VPN connections and peerings
 * into a gateway namespace and routes (through the network agent, whose desired state
 * includes them: desired-network.ts) and one charon per space (src/vpn VpnHost), and writes
 * what the host made of them back to the store.
 *
 * One pass, in the order the host needs:
 * 1. `pending` connections become `provisioning` (the platform removes a `pending` one at
 *    once when its user destroys it: only once marked is it the host's);
 * 2. the network agent converges: gateways, tunnel addresses, routes, rules, firewall rows;
 * 3. VpnHost converges the charons: a space's connections into its gateway namespace;
 *    spaces without any have their charon stopped;
 * 4. what now stands is recorded: `provisioning` connections `active` (charon has their
 *    configuration; the tunnels' UP/DOWN shows separately, as Heroku shows `active` with
 *    tunnels DOWN until the customer's side is up), `provisioning` peerings `active`, and
 *    deleted connections, whose charon configuration is gone, finished — after which the
 *    network agent removes their addresses, and the gateway when it was the space's last.
 */
import type { EventBus } from '../core/events.js'
import { nowIso } from '../core/ids.js'
import { vpnGatewayNetnsName } from '../network/names.js'
import { readSiteToSite, type DesiredSiteToSite } from '../store/site-to-site.js'
import type { Store } from '../store/store.js'
import type { DesiredVpnSpace, TunnelStatus } from '../vpn/types.js'
import { ReconcileLoop } from './reconcile-loop.js'

/** The part of the network agent this one drives. */
export interface HostNetworking {
  /** Converges the host's networking (resolves when done, also when it failed). */
  reconcile(): Promise<void>
  /** The last converge's failure; undefined after a success. */
  readonly lastError: Error | undefined
}

/** The part of src/vpn VpnHost this one drives. */
export interface CharonHost {
  converge(spaces: readonly DesiredVpnSpace[]): Promise<void>
}

export interface VpnAgentOptions {
  /** A pass over everything this often, besides the events; 0 = only on events. */
  intervalMs: number
  log?: (message: string) => void
}

/** The charon spec of one space: its connections the host side has taken on. */
export function desiredVpnSpace(s2s: DesiredSiteToSite): DesiredVpnSpace {
  return {
    spaceId: s2s.spaceId,
    netns: vpnGatewayNetnsName(s2s.spaceId),
    spaceCidr: s2s.spaceCidr,
    connections: s2s.vpnConnections
      .filter((c) => c.status !== 'pending')
      .map((c) => ({
        id: c.id,
        name: c.name,
        ikeVersion: c.ikeVersion,
        routableCidrs: c.routableCidrs,
        tunnels: c.tunnels.map((t) => ({
          localIp: t.ip,
          customerIp: t.customerIp,
          psk: t.preSharedKey,
        })),
      })),
  }
}

export class VpnAgent {
  private readonly loop: ReconcileLoop
  /** What VpnHost reported going wrong during the converge under way (it never rejects). */
  private charonErrors: Error[] = []

  constructor(
    private readonly store: Store,
    private readonly events: EventBus,
    private readonly network: HostNetworking,
    private readonly vpn: CharonHost,
    private readonly options: VpnAgentOptions,
  ) {
    this.loop = new ReconcileLoop({
      run: () => this.pass(),
      intervalMs: options.intervalMs,
      onError: (e) => options.log?.(`vpn: ${e.message}`),
    })
  }

  /** Follows the changes that concern it, and runs a first pass (adopting what is there). */
  start(): Promise<void> {
    this.loop
      .follow(this.events, 'vpn.changed')
      .follow(this.events, 'peering.changed')
      .follow(this.events, 'space.changed')
      // A space just allocated may have a connection waiting for its network.
      .follow(this.events, 'space.converged')
    return this.loop.start()
  }

  reconcile(): Promise<void> {
    return this.loop.kick()
  }

  idle(): Promise<void> {
    return this.loop.idle()
  }

  stop(): Promise<void> {
    return this.loop.stop()
  }

  /** A tunnel's status from charon, into the store (`vpn:connections`, `vpn:info` read it). */
  recordTunnel(status: TunnelStatus): void {
    if (status.tunnelIndex !== 0 && status.tunnelIndex !== 1) return
    this.store.vpn.setTunnelStatus(
      status.connectionId,
      status.tunnelIndex,
      status.status,
      status.statusMessage,
      status.lastStatusChange,
    )
  }

  /**
   * VpnHost's `onError`: a charon that could not start or take its configuration. During a
   * pass, it keeps the pass from recording connections `active`; the next pass retries.
   */
  charonFailed(error: Error): void {
    this.charonErrors.push(error)
    this.options.log?.(`vpn: ${error.message}`)
  }

  /** What the host should have: allocated spaces only (a space being deleted has nothing). */
  private read(): DesiredSiteToSite[] {
    const { store } = this
    return store.spaces
      .all()
      .filter((s) => s.state === 'allocated')
      .flatMap((s) => readSiteToSite(store, s.id) ?? [])
  }

  private async pass(): Promise<void> {
    const { store } = this
    let marked = false
    for (const s2s of this.read())
      for (const c of s2s.vpnConnections)
        if (c.status === 'pending')
          marked = store.vpn.setConnectionStatus(c.id, 'provisioning', '', nowIso()) || marked
    // Read again: what the marks changed, and whatever the user changed meanwhile.
    const wanted = this.read()
    const needsNetwork =
      marked ||
      wanted.some(
        (s) =>
          s.vpnConnections.some((c) => c.status === 'provisioning') ||
          s.peerings.some((p) => p.status === 'provisioning'),
      )
    if (needsNetwork) await this.network.reconcile()
    // Gateways are made by the network agent; charon cannot start without its namespace.
    if (this.network.lastError) {
      throw new Error(`waiting for host networking: ${this.network.lastError.message}`)
    }
    this.charonErrors = []
    await this.vpn.converge(
      wanted.map(desiredVpnSpace).filter((space) => space.connections.length > 0),
    )
    const failed = this.charonErrors[0]
    if (failed) throw new Error(`charon not converged: ${failed.message}`)
    this.record(wanted)
  }

  /** The host matches `wanted` now: move connections and peerings on. */
  private record(wanted: readonly DesiredSiteToSite[]): void {
    const { store } = this
    const now = nowIso()
    let finished = false
    store.transaction(() => {
      for (const s2s of wanted) {
        for (const c of s2s.vpnConnections)
          if (c.status === 'provisioning') store.vpn.setConnectionStatus(c.id, 'active', '', now)
        for (const p of s2s.peerings)
          if (p.status === 'provisioning') store.peerings.setObservedStatus(p.pcxId, 'active', now)
        for (const id of s2s.deprovisioning)
          finished = store.vpn.finishDeprovisioning(id) || finished
      }
    })
    // Their addresses and, with the space's last connection, its gateway go now (charon is
    // no longer using them). The network agent follows `vpn.changed`.
    if (finished) for (const s2s of wanted) this.events.emit('vpn.changed', s2s.spaceId)
  }
}
