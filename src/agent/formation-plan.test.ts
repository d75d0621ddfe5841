import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  planFormation,
  type DesiredFormation,
  type DesiredProcess,
  type FormationAction,
  type PlannedDyno,
} from './formation-plan.js'

const web = (quantity: number, size = 'standard-1x'): DesiredProcess => ({
  type: 'web',
  quantity,
  size,
  command: 'node server.js',
})
const worker = (quantity: number): DesiredProcess => ({
  type: 'worker',
  quantity,
  size: 'standard-1x',
  command: 'node worker.js',
})

/** Release r2 is current; a dyno `web.1@r1` runs release r1. */
const onR2 = (...processes: DesiredProcess[]): DesiredFormation => ({ releaseId: 'r2', processes })

const dyno = (
  name: string,
  state: PlannedDyno['state'] = 'up',
  rest: Partial<PlannedDyno> = {},
): PlannedDyno => {
  const [slot, releaseId = 'r2'] = name.split('@') as [string, string?]
  const [type, number] = slot.split('.') as [string, string]
  return {
    id: `${name}${rest.size ? `/${rest.size}` : ''}`,
    type,
    number: Number(number),
    releaseId,
    size: 'standard-1x',
    state,
    ...rest,
  }
}

const start = (type: string, number: number, size = 'standard-1x'): FormationAction => ({
  kind: 'start',
  type,
  number,
  size,
  command: `node ${type === 'web' ? 'server' : 'worker'}.js`,
})
const replace = (number: number, replaces: string[], size = 'standard-1x'): FormationAction => ({
  kind: 'replace',
  type: 'web',
  number,
  size,
  command: 'node server.js',
  replaces,
})
const stop = (dynoId: string, why: 'replaced' | 'not in formation'): FormationAction => ({
  kind: 'stop',
  dynoId,
  why,
})

interface Case {
  name: string
  desired: DesiredFormation | null
  dynos: PlannedDyno[]
  want: FormationAction[]
}

const cases: Case[] = [
  {
    name: 'nothing runs yet: every slot starts, numbered from 1',
    desired: onR2(web(2), worker(1)),
    dynos: [],
    want: [start('web', 1), start('web', 2), start('worker', 1)],
  },
  {
    name: 'the formation runs as it should: an empty plan',
    desired: onR2(web(2)),
    dynos: [dyno('web.1'), dyno('web.2', 'starting')],
    want: [],
  },
  {
    name: 'a crashed dyno of the current release is left to its restarts, not replaced',
    desired: onR2(web(1)),
    dynos: [dyno('web.1', 'crashed')],
    want: [],
  },
  {
    name: 'scaling down stops the highest numbers',
    desired: onR2(web(1)),
    dynos: [dyno('web.1'), dyno('web.2'), dyno('web.3')],
    want: [stop('web.2', 'not in formation'), stop('web.3', 'not in formation')],
  },
  {
    name: 'a missing slot in the middle is filled',
    desired: onR2(web(3)),
    dynos: [dyno('web.1'), dyno('web.3')],
    want: [start('web', 2)],
  },
  {
    name: 'a new release replaces each dyno, the old one running until the new one is up',
    desired: onR2(web(2)),
    dynos: [dyno('web.1@r1'), dyno('web.2@r1')],
    want: [replace(1, ['web.1@r1']), replace(2, ['web.2@r1'])],
  },
  {
    name: 'the new dyno still starting: the old one keeps running',
    desired: onR2(web(1)),
    dynos: [dyno('web.1@r1'), dyno('web.1', 'starting')],
    want: [],
  },
  {
    name: 'the new dyno up: the old one stops',
    desired: onR2(web(1)),
    dynos: [dyno('web.1@r1'), dyno('web.1')],
    want: [stop('web.1@r1', 'replaced')],
  },
  {
    name: 'the new dyno gave up booting: the old one stops all the same',
    desired: onR2(web(1)),
    dynos: [dyno('web.1@r1'), dyno('web.1', 'crashed')],
    want: [stop('web.1@r1', 'replaced')],
  },
  {
    name: 'a new size replaces the dyno as a new release does',
    desired: onR2(web(1, 'performance-m')),
    dynos: [dyno('web.1')],
    want: [replace(1, ['web.1'], 'performance-m')],
  },
  {
    name: 'the new size up: the old size stops',
    desired: onR2(web(1, 'performance-m')),
    dynos: [dyno('web.1'), dyno('web.1', 'up', { size: 'performance-m' })],
    want: [stop('web.1', 'replaced')],
  },
  {
    name: 'a type scaled to 0 or gone from the formation stops entirely',
    desired: onR2(web(1), worker(0)),
    dynos: [dyno('web.1'), dyno('worker.1'), dyno('clock.1')],
    want: [stop('worker.1', 'not in formation'), stop('clock.1', 'not in formation')],
  },
  {
    name: 'a type without a command (not in the Procfile) runs no dyno',
    desired: onR2({ ...worker(2), command: undefined }),
    dynos: [dyno('worker.1')],
    want: [stop('worker.1', 'not in formation')],
  },
  {
    name: 'no formation (no release, space not allocated, app deleted): every dyno stops',
    desired: null,
    dynos: [dyno('web.1'), dyno('worker.1@r1', 'starting')],
    want: [stop('web.1', 'not in formation'), stop('worker.1@r1', 'not in formation')],
  },
  {
    name: 'a dyno of an older release beyond the new quantity stops at once',
    desired: onR2(web(1)),
    dynos: [dyno('web.1@r1'), dyno('web.2@r1')],
    want: [replace(1, ['web.1@r1']), stop('web.2@r1', 'not in formation')],
  },
]

describe('planFormation', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(planFormation(c.desired, c.dynos), c.want)
    })
  }

  test('carrying out the plan and planning again converges, the new dynos once up', () => {
    const desired = onR2(web(2, 'performance-m'), worker(1))
    let dynos = [dyno('web.1@r1'), dyno('web.2@r1'), dyno('web.3@r1'), dyno('clock.1@r1')]
    let next = 0
    const carryOut = (actions: FormationAction[]) => {
      for (const a of actions) {
        if (a.kind === 'stop') dynos = dynos.filter((d) => d.id !== a.dynoId)
        else
          dynos.push({
            id: `new-${++next}`,
            type: a.type,
            number: a.number,
            releaseId: 'r2',
            size: a.size,
            state: 'starting',
          })
      }
    }
    carryOut(planFormation(desired, dynos))
    assert.equal(dynos.length, 5, 'three new ones started; web.3 and clock.1 stopped')
    dynos = dynos.map((d) => ({ ...d, state: 'up' })) // the new ones boot
    carryOut(planFormation(desired, dynos))
    assert.deepEqual(planFormation(desired, dynos), [])
    assert.deepEqual(dynos.map((d) => `${d.type}.${d.number}@${d.releaseId}/${d.size}`).sort(), [
      'web.1@r2/performance-m',
      'web.2@r2/performance-m',
      'worker.1@r2/standard-1x',
    ])
  })
})
