/**
 * The real SpaceHost: nftables, bridges, namespaces and addresses of this Linux host.
 */
import type { Exec } from '../exec/run.js'
import { retryingShell, type OpenShell, type Shell } from '../exec/shell.js'
import { attach, attachPrepared, detach } from '../network/attach.js'
import { Firewall } from '../network/firewall.js'
import { renderStructure, type FirewallState } from '../network/nft/render.js'
import { observeHost } from '../network/observe.js'
import { planAll, reconcileHost } from '../network/reconcile.js'
import type { DesiredAttachment, DesiredHost, HostAction } from '../network/types.js'
import type { GatewayFirewalls, VpnAction } from '../network/vpn-gateway.js'
import { WarmPool } from '../network/warm-pool.js'
import type { SpaceHost } from './network-agent.js'

/**
 * What the kernel's firewall holds, as applied by us: the rules (rendered without the
 * per-dyno set elements) and the dyno elements, which attach/detach change one by one.
 */
interface AppliedFirewall {
  rules: string
  attachments: Set<string>
}

const attachmentKey = (a: { veth: string; address: string }) => `${a.veth} ${a.address}`
const rulesOf = renderStructure

/**
 * How long after an attach the pool of prepared namespaces is topped up: past the boot of a
 * small app (Node boots in ~70 ms here), whose CPU the refill's process starts would take.
 */
const REFILL_DELAY_MS = 250

export interface LinuxSpaceHostOptions {
  /**
   * Long-lived `ip`/`nft` processes (src/exec/shell.ts). With them, namespaces are prepared
   * ahead of need and an attach starts no process; without, every attach starts its own.
   */
  openShell?: OpenShell
  /** How many namespaces to keep prepared (warm-pool.ts). */
  warmNamespaces?: number
}

export class LinuxSpaceHost implements SpaceHost {
  private readonly firewall: Firewall
  private applied: AppliedFirewall | undefined
  private readonly pool: WarmPool | undefined
  private readonly hostShell: Shell | undefined
  private readonly nftShells: Shell[]
  /** What this daemon put in the VPN gateways' firewalls: their reference for drift. */
  private readonly gatewayFirewalls: GatewayFirewalls = new Map()

  constructor(
    private readonly exec: Exec,
    options: LinuxSpaceHostOptions = {},
  ) {
    const { openShell } = options
    const change = openShell?.({ tool: 'nft' })
    const read = openShell?.({ tool: 'nft-json' })
    this.nftShells = [change, read].filter((s) => s !== undefined)
    this.firewall = new Firewall(exec, { change, read })
    if (openShell) {
      this.pool = new WarmPool(exec, openShell, options.warmNamespaces)
      this.hostShell = retryingShell(() => openShell({ tool: 'ip' }))
    }
  }

  /** The host as desired, plus the prepared namespaces the reconciler must leave alone. */
  private withPrepared(host: DesiredHost): DesiredHost {
    return this.pool ? { ...host, prepared: this.pool.prepared } : host
  }

  /** The id the next attachment should take, so that a prepared namespace fits it. */
  preparedId(): string | undefined {
    return this.pool?.peekId()
  }

  /**
   * Tops the pool up a moment after an attach: the refill starts processes (a fork costs
   * ~10 ms of CPU here), which should not compete with the rest of the dyno's start. When the
   * pool runs low (a burst of starts), at once: the burst's next attaches need the namespaces
   * more than its dynos need the CPU, and without one an attach starts two processes itself.
   */
  private refillSoon(): void {
    if (this.pool?.low) void this.pool.fill()
    else setTimeout(() => void this.pool?.fill(), REFILL_DELAY_MS).unref()
  }

  /** Resolves once the prepared namespaces are all made (benchmarks and tests wait on it). */
  warmed(): Promise<void> {
    return this.pool?.fill() ?? Promise.resolve()
  }

  async stop(): Promise<void> {
    // Prepared namespaces that cannot be removed now (the exec runner died) are owned names
    // no one desires: the next daemon's first reconcile deletes them. Shutdown goes on.
    await this.pool?.stop().catch(() => undefined)
    this.hostShell?.close()
    for (const shell of this.nftShells) shell.close()
  }

  /**
   * Firewall first: a new bridge or namespace is covered by the rules from the moment it
   * exists. The firewall is applied when the desired rules or dynos changed or someone changed
   * the kernel's copy (drift): `Firewall.apply` sends only the dyno delta (with the rules) when
   * that is all that changed, else both tables whole; the host objects are then planned,
   * applied and verified.
   */
  async converge(host: DesiredHost, firewall: FirewallState): Promise<void> {
    if (await this.firewallDiffers(firewall)) {
      await this.firewall.apply(firewall)
      this.applied = {
        rules: rulesOf(firewall),
        attachments: new Set(firewall.attachments.map(attachmentKey)),
      }
    }
    await reconcileHost(this.exec, this.withPrepared(host), {}, this.gatewayFirewalls)
    // Prepared only once leftovers of an earlier run are gone, so no name can clash.
    void this.pool?.fill()
  }

  /**
   * Desired rules or dyno entries changed, or someone changed the kernel's copy. The first
   * two are decided in memory; only the last reads the kernel (`drifted()`: one nft process),
   * so the steady state on the timer costs one process for the firewall.
   */
  private async firewallDiffers(firewall: FirewallState): Promise<boolean> {
    const applied = this.applied
    if (!applied || rulesOf(firewall) !== applied.rules) return true
    const wanted = firewall.attachments.map(attachmentKey)
    if (wanted.length !== applied.attachments.size) return true
    if (wanted.some((k) => !applied.attachments.has(k))) return true
    return this.firewall.drifted()
  }

  /** The anti-spoofing entry goes in before the namespace exists, and out after it is gone. */
  async attach(a: DesiredAttachment): Promise<void> {
    const prepared = this.pool?.take(a.id)
    if (prepared && this.hostShell) {
      // Side by side: the anti-spoofing set is an allow-list, so until its element lands the
      // new veth can send nothing at all; nothing is exposed by not waiting for it first.
      const element = this.firewall.addAttachment(a.veth, a.address)
      const plugged = attachPrepared(this.exec, this.hostShell, prepared, a)
      const [added, attached] = await Promise.allSettled([element, plugged])
      if (added.status === 'fulfilled') this.applied?.attachments.add(attachmentKey(a))
      if (added.status === 'fulfilled' && attached.status === 'fulfilled') {
        this.refillSoon()
        return
      }
      // attachPrepared removed its namespace when it failed; undo the rest.
      if (attached.status === 'fulfilled') await detach(this.exec, a)
      await this.firewall.removeAttachment(a.veth, a.address)
      this.applied?.attachments.delete(attachmentKey(a))
      throw attached.status === 'rejected'
        ? attached.reason
        : (added as PromiseRejectedResult).reason
    }
    await this.firewall.addAttachment(a.veth, a.address)
    this.applied?.attachments.add(attachmentKey(a))
    try {
      await attach(this.exec, a)
    } catch (e) {
      await this.firewall.removeAttachment(a.veth, a.address)
      this.applied?.attachments.delete(attachmentKey(a))
      throw e
    }
    this.refillSoon() // the pool was empty
  }

  async detach(a: DesiredAttachment): Promise<void> {
    await detach(this.exec, a)
    await this.firewall.removeAttachment(a.veth, a.address)
    this.applied?.attachments.delete(attachmentKey(a))
  }

  async drift(host: DesiredHost, firewall: FirewallState): Promise<string[]> {
    const desired = this.withPrepared(host)
    const plan = await planAll(
      this.exec,
      desired,
      await observeHost(this.exec),
      this.gatewayFirewalls,
    )
    const found = plan.map(describeAction)
    if (await this.firewallDiffers(firewall)) {
      found.unshift(
        'the firewall differs from what localspace applied (changed by hand, or not applied yet)',
      )
    }
    return found
  }
}

/** A planned step, said as the problem it repairs. */
function describeAction(a: HostAction | VpnAction): string {
  switch (a.kind) {
    case 'gateway.make':
      return `VPN gateway ${a.gateway.netns} is missing (in part)`
    case 'gateway.plug':
      return `VPN gateway ${a.gateway.netns} is not plugged in`
    case 'gateway.inside':
      return `VPN gateway ${a.gateway.netns} is damaged inside (${a.reason})`
    case 'gateway.firewall':
      return `the firewall of VPN gateway ${a.gateway.netns}: ${a.reason}`
    case 'route.add':
      return `route to ${a.route.dst} (table ${a.route.table}) is missing`
    case 'route.delete':
      return `route to ${a.route.dst} (table ${a.route.table}) is left over`
    case 'rule.add':
      return `routing rule from ${a.rule.from} is missing`
    case 'rule.delete':
      return `routing rule from ${a.rule.from} is left over`
    case 'proxy.add':
      return `${a.proxy.dev} does not answer for ${a.proxy.address}`
    case 'proxy.delete':
      return `${a.proxy.dev} still answers for ${a.proxy.address}`
    case 'bridge.create':
      return `bridge ${a.name} is missing`
    case 'link.mac':
      return `${a.name} has lost its fixed MAC address (${a.mac})`
    case 'link.up':
      return `${a.name} is down`
    case 'addr.add':
      return `${a.dev} lacks ${a.address}/${a.prefix}`
    case 'addr.remove':
      return `${a.dev} has ${a.address}/${a.prefix}, which it should not`
    case 'attach':
      return `namespace ${a.attachment.netns} is missing`
    case 'detach':
      return `namespace ${a.netns} is damaged (${a.reason})`
    case 'veth.plug':
      return `${a.veth} is not plugged into ${a.bridge}`
    case 'link.delete':
      return `${a.name} is left over from something deleted`
    case 'netns.delete':
      return `namespace ${a.name} is left over from something deleted`
  }
}
