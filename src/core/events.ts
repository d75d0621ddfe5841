import { EventEmitter } from 'node:events'

/**
 * What the API tells the rest of the daemon after it has committed desired state.
 * Listeners (reconciler, data planes) react; the API never waits for the host.
 */
export interface PlatformEvents {
  'space.changed': [spaceId: string]
  /**
   * The network agent made the host match a space's state: an `allocating` space is now
   * `allocated` (data planes start serving it), a `deleting` one is gone. Not `space.changed`,
   * which the agent follows: its own change must not cost every agent a second converge.
   */
  'space.converged': [spaceId: string]
  'ruleset.changed': [spaceId: string]
  /** Attachments of a space were added or are to be removed. */
  'network.changed': [spaceId: string]
  'app.changed': [appId: string]
  'formation.changed': [appId: string]
  /** A `pending` build row was written; the builder (src/builds) picks it up and runs it. */
  'build.created': [buildId: string]
  /** A dyno of the app started, changed state or went away (DNS, router and views follow). */
  'dynos.changed': [appId: string]
  /** A restart or stop asked for: all dynos (`target` undefined), one type, or one dyno. */
  'dynos.action': [
    appId: string,
    action: 'restart' | 'stop',
    target?: { type?: string; name?: string },
  ]
  /** An app's log drains or a space's log drain changed (id of that app or space). */
  'drains.changed': [ownerId: string]
  /** An app's custom domains or SNI endpoints (certificates) changed: the router follows. */
  'domains.changed': [appId: string]
  /** A space's VPN connections changed (made, CIDRs changed, deleted): the VPN side follows. */
  'vpn.changed': [spaceId: string]
  /** A peering of the space was requested, accepted or deleted: routes and rules follow. */
  'peering.changed': [spaceId: string]
  /** A space's add-ons changed (created, destroyed, unfollowed, resized): the data agent follows. */
  'addons.changed': [spaceId: string]
  /** A Postgres backup or restore was asked for, canceled or deleted (the data agent runs them). */
  'transfers.changed': [addonId: string]
}

export class EventBus {
  private readonly emitter = new EventEmitter()

  emit<K extends keyof PlatformEvents>(event: K, ...args: PlatformEvents[K]): void {
    this.emitter.emit(event, ...args)
  }

  on<K extends keyof PlatformEvents>(
    event: K,
    listener: (...args: PlatformEvents[K]) => void,
  ): () => void {
    const fn = listener as (...a: unknown[]) => void
    this.emitter.on(event, fn)
    return () => this.emitter.off(event, fn)
  }
}
