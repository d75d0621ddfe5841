import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { PlatformError } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import { DEFAULT_COMMON_SIZE, DEFAULT_SPACE_SIZE } from '../core/sizes.js'
import type { App } from '../core/types.js'
import { makeSpace, startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js'
import { createApp } from './apps.js'
import {
  defaultSize,
  followProcessTypes,
  MAX_QUANTITY,
  resolveQuantity,
  scaleFormation,
} from './formation.js'

describe('platform formation', () => {
  let p: TestPlatform
  let common: App
  let spaced: App
  beforeEach(() => {
    p = startTestPlatform()
    common = createApp(p.ctx, p.user, { name: `frm-${newId().slice(0, 8)}` })
    const space = makeSpace(p)
    const team = p.store.teams.find(space.teamId)!
    spaced = createApp(p.ctx, p.user, { name: `frs-${newId().slice(0, 8)}`, space, team })
    p.emitted.length = 0
  })
  afterEach(() => p.close())

  test('the default size is Private-S in a space, Standard-1X outside', () => {
    assert.equal(defaultSize(spaced), DEFAULT_SPACE_SIZE)
    assert.equal(defaultSize(common), DEFAULT_COMMON_SIZE)
  })

  test('a scaled type and a deployed type get the same default size', () => {
    for (const app of [common, spaced]) {
      const [scaled] = scaleFormation(p.ctx, app, [{ type: 'worker', quantity: 2 }])
      followProcessTypes(p.store, app, { web: 'node server.js' }, nowIso())
      const web = p.store.releases.formation(app.id).find((f) => f.type === 'web')!
      assert.equal(scaled!.size, defaultSize(app))
      assert.equal(web.size, defaultSize(app))
    }
  })

  test('scaling commits the batch, then emits formation.changed', () => {
    const changed = scaleFormation(p.ctx, spaced, [
      { type: 'web', quantity: '3', size: 'private-m' },
      { type: 'worker', quantity: 1 },
    ])
    assert.deepEqual(
      changed.map((f) => [f.type, f.quantity, f.size]),
      [
        ['web', 3, 'Private-M'],
        ['worker', 1, 'Private-S'],
      ],
    )
    const [web] = scaleFormation(p.ctx, spaced, [{ type: 'web', quantity: '-1' }])
    assert.deepEqual([web!.quantity, web!.size], [2, 'Private-M'], 'relative, size kept')
    assert.deepEqual(p.emitted, [
      { event: 'formation.changed', id: spaced.id, inTransaction: false },
      { event: 'formation.changed', id: spaced.id, inTransaction: false },
    ])
  })

  test('one refused update refuses the whole batch: nothing stored, nothing emitted', () => {
    const refusals = [
      [
        { type: 'web', quantity: 1 },
        { type: 'worker', quantity: MAX_QUANTITY + 1 },
      ],
      [
        { type: 'web', quantity: 1 },
        { type: 'worker', size: 'Standard-1X' },
      ],
      [{ type: 'web', quantity: 1 }, { type: 'Bad Type' }],
    ]
    for (const updates of refusals) {
      assert.throws(
        () => scaleFormation(p.ctx, spaced, updates),
        (e: unknown) => e instanceof PlatformError && e.statusCode === 422,
      )
    }
    assert.throws(() => scaleFormation(p.ctx, common, [{ type: 'web', size: 'Private-S' }]))
    assert.deepEqual(p.store.releases.formation(spaced.id), [])
    assert.deepEqual(p.emitted, [])
  })

  test('a deploy adds new types (web 1, others 0), keeps quantity and size, takes the command', () => {
    scaleFormation(p.ctx, spaced, [{ type: 'web', quantity: 4, size: 'Private-L' }])
    followProcessTypes(p.store, spaced, { web: 'new web', clock: 'node clock.js' }, nowIso())
    const byType = Object.fromEntries(
      p.store.releases.formation(spaced.id).map((f) => [f.type, [f.quantity, f.size, f.command]]),
    )
    assert.deepEqual(byType, {
      web: [4, 'Private-L', 'new web'],
      clock: [0, 'Private-S', 'node clock.js'],
    })
  })

  test('quantities: absolute, relative, and bounded', () => {
    assert.equal(resolveQuantity('+2', 1), 3)
    assert.equal(resolveQuantity(' 5 ', 1), 5)
    assert.throws(() => resolveQuantity('-2', 1), /below 0/)
    assert.throws(() => resolveQuantity('1e3', 1), /Invalid quantity/)
  })
})
