/**
 * The formation planner: an app's desired formation + the dynos it has → what to start and
 * what to stop. Pure, like the host-network planner (network/plan.ts), and empty when the app
 * already runs as it should, so "carry out the plan, then plan again" proves convergence.
 *
 * Heroku's lifecycle: `quantity` dynos of each process type, numbered from 1, on the current
 * release and size. A dyno of an older release or another size is replaced, the new one first:
 * the old one stops only once the new one is up (or has given up booting, `crashed`), so an app
 * never drops to zero. Scaling down stops the highest numbers, as they are the ones no longer
 * in the formation.
 */
import type { DynoView } from '../core/runtime-view.js'

/** One process type as it should run. */
export interface DesiredProcess {
  type: string
  quantity: number
  size: string
  /** The command (the slug's Procfile, else the formation's); none: the type cannot run. */
  command: string | undefined
}

/** What an app should run; `null` when no formation dyno should (no release, no space). */
export interface DesiredFormation {
  releaseId: string
  processes: readonly DesiredProcess[]
}

/** A formation dyno the app has, not already on its way out. */
export interface PlannedDyno {
  id: string
  type: string
  number: number
  releaseId: string
  size: string
  state: DynoView['state']
}

export type FormationAction =
  /** A slot with no dyno: start one. */
  | { kind: 'start'; type: string; number: number; size: string; command: string }
  /**
   * A slot whose dynos run an older release or another size: start the new one; `replaces`
   * keep running until it is up (a later plan stops them).
   */
  | {
      kind: 'replace'
      type: string
      number: number
      size: string
      command: string
      replaces: string[]
    }
  | { kind: 'stop'; dynoId: string; why: 'replaced' | 'not in formation' }

/**
 * Plans one app. Every slot (type, number) of the desired formation gets exactly one dyno of
 * the release and size asked for; every other dyno stops, those of a slot only once its new
 * dyno is up or crashed. Actions come in slot order, then stops in the order of `dynos`.
 *
 * @example
 * planFormation({ releaseId: 'r2', processes: [web(2)] }, [web1OnR1])
 * // → [{ kind: 'replace', type: 'web', number: 1, replaces: [web1OnR1.id], … },
 * //    { kind: 'start', type: 'web', number: 2, … }]
 */
export function planFormation(
  desired: DesiredFormation | null,
  dynos: readonly PlannedDyno[],
): FormationAction[] {
  const actions: FormationAction[] = []
  /** Dynos that stay (for now): every other one stops. */
  const kept = new Set<string>()
  const replaced = new Set<string>()
  for (const p of desired?.processes ?? []) {
    if (p.command === undefined) continue
    for (let number = 1; number <= p.quantity; number++) {
      const slot = dynos.filter((d) => d.type === p.type && d.number === number)
      const fresh = slot.find((d) => d.releaseId === desired!.releaseId && d.size === p.size)
      const older = slot.filter((d) => d !== fresh).map((d) => d.id)
      const { type, size, command } = p
      if (!fresh) {
        actions.push(
          older.length === 0
            ? { kind: 'start', type, number, size, command }
            : { kind: 'replace', type, number, size, command, replaces: older },
        )
      } else kept.add(fresh.id)
      if (fresh && (fresh.state === 'up' || fresh.state === 'crashed')) {
        for (const id of older) replaced.add(id)
      } else {
        for (const id of older) kept.add(id)
      }
    }
  }
  for (const d of dynos) {
    if (kept.has(d.id)) continue
    actions.push({
      kind: 'stop',
      dynoId: d.id,
      why: replaced.has(d.id) ? 'replaced' : 'not in formation',
    })
  }
  return actions
}
