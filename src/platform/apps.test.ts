import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { newId } from '../core/ids.js'
import {
  assertRefused,
  makeSpace,
  startTestPlatform,
  type TestPlatform,
} from '../../test/helpers/platform.js'
import { createApp, destroyApp, setAppFeature, updateApp } from './apps.js'

const unique = (prefix: string) => `${prefix}-${newId().slice(0, 8)}`

describe('platform apps', () => {
  let p: TestPlatform
  beforeEach(() => (p = startTestPlatform()))
  afterEach(() => p.close())

  test('a new app has release v1, then app.changed is emitted after the commit', () => {
    const app = createApp(p.ctx, p.user, { name: unique('new') })
    assert.deepEqual(p.store.apps.find(app.id), app)
    assert.deepEqual([app.ownerId, app.region, app.spaceId], [p.user.id, 'us', null])
    const v1 = p.store.releases.current(app.id)!
    assert.deepEqual([v1.version, v1.description, v1.slugId], [1, 'Initial release', null])
    assert.deepEqual(p.emitted, [{ event: 'app.changed', id: app.id, inTransaction: false }])
  })

  test('an app in a space runs in its region, with its team', () => {
    const space = makeSpace(p)
    const team = p.store.teams.find(space.teamId)!
    const app = createApp(p.ctx, p.user, { space, team, internalRouting: true })
    assert.deepEqual(
      [app.spaceId, app.teamId, app.region, app.internalRouting],
      [space.id, team.id, space.region, true],
    )
    assert.match(app.name, /^[a-z]+-[a-z]+-\d{5}$/, 'a generated name')
  })

  test('placement rules refuse the app, and nothing is stored or emitted', () => {
    const space = makeSpace(p)
    const team = p.store.teams.find(space.teamId)!
    const taken = createApp(p.ctx, p.user, { name: unique('taken') })
    p.emitted.length = 0
    assertRefused(
      () => createApp(p.ctx, p.user, { internalRouting: true }),
      /only available for Private/,
    )
    assertRefused(
      () => createApp(p.ctx, p.user, { region: 'virginia' }),
      /only available to Private/,
    )
    assertRefused(
      () => createApp(p.ctx, p.user, { space, team, region: 'tokyo' }),
      /run in its region/,
    )
    assertRefused(() => createApp(p.ctx, p.user, { region: 'atlantis' }), /does not exist/)
    assertRefused(() => createApp(p.ctx, p.user, { name: taken.name }), /already taken/)
    assertRefused(() => createApp(p.ctx, p.user, { name: 'Bad_Name' }), /Name must start/)
    p.store.spaces.setState(space.id, 'deleting', new Date().toISOString())
    assertRefused(
      () => createApp(p.ctx, p.user, { space: p.store.spaces.find(space.id)!, team }),
      /being deleted/,
    )
    assert.deepEqual(
      p.store.apps.all().map((a) => a.id),
      [taken.id],
    )
    assert.deepEqual(p.emitted, [])
  })

  test('rename, maintenance, feature and destroy each emit app.changed after the commit', () => {
    const app = createApp(p.ctx, p.user, { name: unique('old') })
    const other = createApp(p.ctx, p.user, { name: unique('other') })
    p.emitted.length = 0
    assertRefused(() => updateApp(p.ctx, app, { name: other.name }), /already taken/)
    assert.deepEqual(p.emitted, [])
    const renamed = updateApp(p.ctx, app, { name: unique('new'), maintenance: true })
    assert.equal(p.store.apps.find(renamed.name)?.maintenance, true)
    setAppFeature(p.ctx, app, 'spaces-dns-discovery', true)
    assert.equal(p.store.apps.features(app.id)[0]?.enabled, true)
    destroyApp(p.ctx, app)
    assert.equal(p.store.apps.find(app.id), undefined)
    const changed = { event: 'app.changed', id: app.id, inTransaction: false }
    assert.deepEqual(p.emitted, [changed, changed, changed])
  })
})
