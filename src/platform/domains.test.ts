import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { newId } from '../core/ids.js'
import type { App } from '../core/types.js'
import { assertRefused, startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js'
import { createApp } from './apps.js'
import { addDomain, markDomainVerified, removeDomain } from './domains.js'

describe('platform domains', () => {
  let p: TestPlatform
  let a: App
  let b: App
  const add = (app: App, hostname: string, verifiedAtOnce = false) =>
    addDomain(p.ctx, app, {
      hostname,
      endpoint: undefined,
      routerDomain: 'apps.test',
      verifiedAtOnce,
    })
  beforeEach(() => {
    p = startTestPlatform()
    a = createApp(p.ctx, p.user, { name: `dom-a-${newId().slice(0, 6)}` })
    b = createApp(p.ctx, p.user, { name: `dom-b-${newId().slice(0, 6)}` })
    p.emitted.length = 0
  })
  afterEach(() => p.close())

  test('a domain is added pending with its own token, then domains.changed after the commit', () => {
    const d = add(a, 'shop.example.com')
    assert.equal(d.verifiedAt, null)
    assert.match(d.verificationToken, /^[0-9a-f]{32}$/)
    assert.notEqual(add(a, 'www.example.com').verificationToken, d.verificationToken)
    const changed = { event: 'domains.changed', id: a.id, inTransaction: false }
    assert.deepEqual(p.emitted, [changed, changed])
    assert.equal(add(b, 'closed.example.com', true).verifiedAt !== null, true)
  })

  test('under the router domain, twice on one app, or verified elsewhere: refused, nothing stored', () => {
    assertRefused(() => add(a, 'x.apps.test'), /default domains/)
    const d = add(a, 'shop.example.com')
    assertRefused(() => add(a, 'shop.example.com'), /already added/)
    // Unverified elsewhere does not block a claim; verified does.
    const rival = add(b, 'shop.example.com')
    p.emitted.length = 0
    assert.equal(markDomainVerified(p.ctx, d), true)
    assert.deepEqual(p.emitted, [{ event: 'domains.changed', id: a.id, inTransaction: false }])
    assert.equal(markDomainVerified(p.ctx, rival), false, 'the first to verify holds it')
    removeDomain(p.ctx, rival)
    p.emitted.length = 0
    assertRefused(() => add(b, 'shop.example.com'), /in use by another app/)
    assert.deepEqual(p.emitted, [])
    assert.deepEqual(
      p.store.domains.forApp(b.id).map((x) => x.hostname),
      [],
    )
  })
})
