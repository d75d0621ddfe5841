/**
 * A SpaceHost that changes nothing and records what it was asked for: for API tests, which
 * are about desired state, not the kernel (test/netns covers the real host).
 */
import type { SpaceHost } from '../../src/agent/network-agent.js'
import type { FirewallState } from '../../src/network/nft/render.js'
import type { DesiredAttachment, DesiredHost } from '../../src/network/types.js'

export class MemorySpaceHost implements SpaceHost {
  last: { host: DesiredHost; firewall: FirewallState } | undefined
  /** Set to make the next converge fail, as a host that cannot be changed would. */
  failWith: Error | undefined

  async converge(host: DesiredHost, firewall: FirewallState): Promise<void> {
    if (this.failWith) throw this.failWith
    this.last = { host, firewall }
  }

  readonly attached = new Map<string, DesiredAttachment>()

  async attach(a: DesiredAttachment): Promise<void> {
    if (this.failWith) throw this.failWith
    this.attached.set(a.netns, a)
  }

  async detach(a: DesiredAttachment): Promise<void> {
    this.attached.delete(a.netns)
  }

  async drift(): Promise<string[]> {
    return []
  }
}
