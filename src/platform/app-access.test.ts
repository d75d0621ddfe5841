import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { newId } from '../core/ids.js'
import type { Account, App } from '../core/types.js'
import {
  assertRefused,
  makeSpace,
  startTestPlatform,
  type TestPlatform,
} from '../../test/helpers/platform.js'
import { createAccount } from './accounts.js'
import {
  addCollaborator,
  answerTransfer,
  offerTransfer,
  removeCollaborator,
  transferToAccount,
  transferToTeam,
} from './app-access.js'
import { createApp } from './apps.js'
import { createTeam } from './teams.js'

describe('platform app access', () => {
  let p: TestPlatform
  let app: App
  let other: Account
  beforeEach(() => {
    p = startTestPlatform()
    app = createApp(p.ctx, p.user, { name: `acc-${newId().slice(0, 8)}` })
    other = createAccount(p.store, {
      email: `other-${newId().slice(0, 8)}@example.com`,
      password: 'a-password',
      isAdmin: false,
    })
    p.emitted.length = 0
  })
  afterEach(() => p.close())

  test('a collaborator is added once, never the owner; each change emits after the commit', () => {
    addCollaborator(p.ctx, app, other)
    assert.ok(p.store.appAccess.collaborator(app.id, other.id))
    assertRefused(() => addCollaborator(p.ctx, app, other), /already a collaborator/)
    assertRefused(() => addCollaborator(p.ctx, app, p.user), /owns/)
    removeCollaborator(p.ctx, app, other)
    assert.equal(p.store.appAccess.collaborator(app.id, other.id), undefined)
    const changed = { event: 'app.changed', id: app.id, inTransaction: false }
    assert.deepEqual(p.emitted, [changed, changed])
  })

  test('an accepted transfer gives the app to the recipient, without its collaborators', () => {
    addCollaborator(p.ctx, app, other)
    const third = createAccount(p.store, {
      email: `third-${newId().slice(0, 8)}@example.com`,
      password: 'a-password',
      isAdmin: false,
    })
    const offer = offerTransfer(p.store, app, third)
    assertRefused(() => offerTransfer(p.store, app, other), /already has a transfer pending/)
    assertRefused(() => answerTransfer(p.ctx, offer, 'maybe'), /accepted or declined/)
    p.emitted.length = 0
    answerTransfer(p.ctx, offer, 'accepted')
    const moved = p.store.apps.find(app.id)!
    assert.deepEqual([moved.ownerId, moved.teamId], [third.id, null])
    assert.deepEqual(p.store.appAccess.collaborators(app.id), [])
    assert.deepEqual(p.emitted, [{ event: 'app.changed', id: app.id, inTransaction: false }])
  })

  test('a declined transfer changes nothing of the app and emits nothing', () => {
    const offer = offerTransfer(p.store, app, other)
    answerTransfer(p.ctx, offer, 'declined')
    assert.equal(p.store.apps.find(app.id)?.ownerId, p.user.id)
    assert.equal(p.store.appAccess.transfer(offer.id), undefined)
    assert.deepEqual(p.emitted, [])
  })

  test('into a team and out of it at once; apps in a space stay with its team', () => {
    const team = createTeam(p.store, p.user, `t-${newId().slice(0, 8)}`)
    assertRefused(() => transferToAccount(p.ctx, app, other), /personal app/)
    assert.equal(transferToTeam(p.ctx, app, team).teamId, team.id)
    assertRefused(() => transferToTeam(p.ctx, p.store.apps.find(app.id)!, team), /already belongs/)
    const out = transferToAccount(p.ctx, p.store.apps.find(app.id)!, other)
    assert.deepEqual([out.ownerId, out.teamId], [other.id, null])

    const space = makeSpace(p)
    const spaceTeam = p.store.teams.find(space.teamId)!
    const inSpace = createApp(p.ctx, p.user, { space, team: spaceTeam })
    assertRefused(() => transferToTeam(p.ctx, inSpace, team), /stay with its team/)
    assertRefused(() => transferToAccount(p.ctx, inSpace, other), /stay with its team/)
    assert.equal(p.store.apps.find(inSpace.id)?.teamId, spaceTeam.id)
  })
})
