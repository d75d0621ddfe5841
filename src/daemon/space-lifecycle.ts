/**
 * Moves spaces through their states: `allocating` → `allocated`, `deleting` → gone, and marks
 * new inbound rulesets applied. Until host networking lands (issue 3) allocation has nothing
 * to build on the host, so it completes at once; the same events will drive the real work.
 */
import type { EventBus } from '../core/events.js'
import { nowIso } from '../core/ids.js'
import type { Store } from '../store/store.js'

export class SpaceLifecycle {
  private readonly unsubscribe: Array<() => void> = []

  constructor(
    private readonly store: Store,
    events: EventBus,
  ) {
    this.unsubscribe.push(events.on('space.changed', (id) => this.converge(id)))
    this.unsubscribe.push(events.on('ruleset.changed', (id) => this.applyRuleset(id)))
  }

  /** Finishes whatever a crash interrupted: spaces left allocating or deleting. */
  recover(): void {
    for (const s of [
      ...this.store.spaces.inState('allocating'),
      ...this.store.spaces.inState('deleting'),
    ]) {
      this.converge(s.id)
    }
    for (const s of this.store.spaces.all()) this.applyRuleset(s.id)
  }

  converge(spaceId: string): void {
    const space = this.store.spaces.find(spaceId)
    if (space?.state === 'allocating') this.store.spaces.setState(space.id, 'allocated', nowIso())
    if (space?.state === 'deleting') this.store.spaces.delete(space.id)
  }

  applyRuleset(spaceId: string): void {
    const ruleset = this.store.spaces.currentRuleset(spaceId)
    if (ruleset && !ruleset.applied) this.store.spaces.markRulesetApplied(ruleset.id)
  }

  stop(): void {
    for (const off of this.unsubscribe) off()
  }
}
