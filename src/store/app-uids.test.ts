import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { newId, nowIso } from '../core/ids.js'
import { FIRST_APP_UID } from './apps.repo.js'
import { Store } from './store.js'

const dir = mkdtempSync(join(tmpdir(), 'localspace-uids-'))
const store = Store.open(join(dir, 'localspace.db'))
after(() => {
  store.close()
  rmSync(dir, { recursive: true, force: true })
})

const now = nowIso()
const owner = newId()
store.accounts.insert({
  id: owner,
  email: 'uids@example.com',
  name: null,
  isAdmin: false,
  createdAt: now,
  updatedAt: now,
  passwordHash: null,
})
const app = (name: string) => {
  const id = newId()
  store.apps.insert({
    id,
    name,
    ownerId: owner,
    ownerEmail: 'uids@example.com',
    teamId: null,
    teamName: null,
    spaceId: null,
    spaceName: null,
    spaceShield: false,
    region: 'us',
    internalRouting: false,
    maintenance: false,
    stack: 'heroku-24',
    buildStack: 'heroku-24',
    createdAt: now,
    updatedAt: now,
    releasedAt: null,
  })
  return id
}

test('each app gets its own uid, the same one every time, and a freed one is reused', () => {
  const a = app('uid-a')
  const b = app('uid-b')
  const c = app('uid-c')
  assert.equal(store.apps.uidOf(a), FIRST_APP_UID)
  assert.equal(store.apps.uidOf(b), FIRST_APP_UID + 1)
  assert.equal(store.apps.uidOf(a), FIRST_APP_UID, 'stable')
  store.apps.delete(a)
  assert.equal(store.apps.uidOf(c), FIRST_APP_UID, 'the deleted app’s uid is free again')
  assert.equal(store.apps.uidOf(b), FIRST_APP_UID + 1)
})
