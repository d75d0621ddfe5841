import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { newId } from '../core/ids.js'
import type { Account } from '../core/types.js'
import { assertRefused, startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js'
import { createAccount } from './accounts.js'
import { createTeam, removeMember, setMember } from './teams.js'

describe('platform teams', () => {
  let p: TestPlatform
  let other: Account
  beforeEach(() => {
    p = startTestPlatform()
    other = createAccount(p.store, {
      email: `member-${newId().slice(0, 8)}@example.com`,
      password: 'a-password',
      isAdmin: false,
    })
  })
  afterEach(() => p.close())

  test('a new team is administered by its creator; a taken or bad name is refused', () => {
    const team = createTeam(p.store, p.user, `team-${newId().slice(0, 8)}`)
    assert.equal(p.store.teams.roleOf(team.id, p.user.id), 'admin')
    assertRefused(() => createTeam(p.store, other, team.name), /already taken/)
    assertRefused(() => createTeam(p.store, other, 'Bad Name'), /Name must start/)
    assert.equal(p.store.teams.find(team.name)?.id, team.id)
  })

  test("members get Heroku's two roles; other roles are refused, not widened", () => {
    const team = createTeam(p.store, p.user, `team-${newId().slice(0, 8)}`)
    assert.equal(setMember(p.store, team, other, undefined).role, 'member')
    assert.equal(setMember(p.store, team, other, 'admin').role, 'admin')
    assertRefused(() => setMember(p.store, team, other, 'viewer'), /not available/)
    assert.equal(p.store.teams.roleOf(team.id, other.id), 'admin')
  })

  test('a team keeps at least one admin', () => {
    const team = createTeam(p.store, p.user, `team-${newId().slice(0, 8)}`)
    assertRefused(() => setMember(p.store, team, p.user, 'member'), /at least one admin/)
    const creator = p.store.teams.member(team.id, p.user.id)!
    assertRefused(() => removeMember(p.store, team, creator), /at least one admin/)
    setMember(p.store, team, other, 'admin')
    removeMember(p.store, team, creator)
    assert.equal(p.store.teams.roleOf(team.id, p.user.id), undefined)
  })
})
