import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { AddressPolicy } from '../core/address-policy.js'
import { newId } from '../core/ids.js'
import type { App } from '../core/types.js'
import {
  assertRefused,
  makeSpace,
  startTestPlatform,
  type TestPlatform,
} from '../../test/helpers/platform.js'
import { createApp } from './apps.js'
import { addAppDrain, MAX_DRAINS_PER_APP, removeAppDrain, setSpaceDrain } from './drains.js'

const policy = new AddressPolicy()

describe('platform drains', () => {
  let p: TestPlatform
  let app: App
  beforeEach(() => {
    p = startTestPlatform()
    app = createApp(p.ctx, p.user, { name: `drn-${newId().slice(0, 8)}` })
    p.emitted.length = 0
  })
  afterEach(() => p.close())

  test('an app drain is stored once, then drains.changed; removing it emits too', () => {
    const drain = addAppDrain(p.ctx, app, ' https://198.51.100.7/logs ', policy)
    assert.equal(drain.url, 'https://198.51.100.7/logs')
    assert.match(drain.token, /^d\.[0-9a-f-]{36}$/)
    assertRefused(() => addAppDrain(p.ctx, app, drain.url, policy), /already been taken/)
    removeAppDrain(p.ctx, app, drain)
    assert.deepEqual(p.store.drains.forApp(app.id), [])
    const changed = { event: 'drains.changed', id: app.id, inTransaction: false }
    assert.deepEqual(p.emitted, [changed, changed])
  })

  test('a drain to a non-public host, a bad URL or one too many is refused and not stored', () => {
    assertRefused(() => addAppDrain(p.ctx, app, 'https://127.0.0.1/logs', policy), /public address/)
    assertRefused(() => addAppDrain(p.ctx, app, 'ftp://198.51.100.7/', policy), /ftp/)
    for (let i = 0; i < MAX_DRAINS_PER_APP; i++) {
      addAppDrain(p.ctx, app, `https://198.51.100.7/${i}`, policy)
    }
    p.emitted.length = 0
    assertRefused(() => addAppDrain(p.ctx, app, 'https://198.51.100.7/x', policy), /at most/)
    assert.equal(p.store.drains.forApp(app.id).length, MAX_DRAINS_PER_APP)
    assert.deepEqual(p.emitted, [])
  })

  test("a space's drain is HTTPS to a public host, and replaces the one before", () => {
    const space = makeSpace(p)
    p.emitted.length = 0
    assertRefused(() => setSpaceDrain(p.ctx, space, 'http://198.51.100.7/', policy), /HTTPS/)
    assert.equal(p.store.spaces.logDrain(space.id), undefined)
    setSpaceDrain(p.ctx, space, 'https://198.51.100.7/a', policy)
    const drain = setSpaceDrain(p.ctx, space, 'https://198.51.100.7/b', policy)
    assert.equal(p.store.spaces.logDrain(space.id)?.url, 'https://198.51.100.7/b')
    assert.equal(drain.url, 'https://198.51.100.7/b')
    const changed = { event: 'drains.changed', id: space.id, inTransaction: false }
    assert.deepEqual(p.emitted, [changed, changed])
  })
})
