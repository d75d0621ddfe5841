import assert from 'node:assert/strict'
import { afterEach, before, beforeEach, describe, test } from 'node:test'
import { MAX_SNI_ENDPOINTS_PER_APP, newVerificationToken } from '../core/domains.js'
import { newId, nowIso } from '../core/ids.js'
import type { App } from '../core/types.js'
import { selfSigned, type TestCertificate } from '../../test/helpers/certs.js'
import { assertRefused, startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js'
import { createApp } from './apps.js'
import { addSniEndpoint, removeSniEndpoint, replaceSniCertificate } from './certificates.js'

const asCertificate = (c: TestCertificate) => ({ chain: c.cert, privateKey: c.key })

describe('platform certificates (SNI endpoints)', () => {
  let www: TestCertificate
  let api: TestCertificate
  let p: TestPlatform
  let app: App
  before(() => {
    www = selfSigned(['www.example.com'])
    api = selfSigned(['api.example.com'])
  })
  beforeEach(() => {
    p = startTestPlatform()
    app = createApp(p.ctx, p.user, { name: `crt-${newId().slice(0, 8)}` })
    p.emitted.length = 0
  })
  afterEach(() => p.close())

  test('an endpoint is stored with a dinosaur name, then domains.changed', () => {
    const e = addSniEndpoint(p.ctx, app, asCertificate(www))
    assert.match(e.name, /^[a-z]+-\d{5}$/)
    assert.equal(p.store.domains.findEndpoint(app.id, e.name)?.certificateChain, www.cert)
    removeSniEndpoint(p.ctx, app, e)
    assert.deepEqual(p.store.domains.endpoints(app.id), [])
    const changed = { event: 'domains.changed', id: app.id, inTransaction: false }
    assert.deepEqual(p.emitted, [changed, changed])
  })

  test('a bad pair or one endpoint too many is refused and not stored', () => {
    assertRefused(
      () => addSniEndpoint(p.ctx, app, { chain: www.cert, privateKey: api.key }),
      /does not match/,
    )
    for (let i = 0; i < MAX_SNI_ENDPOINTS_PER_APP; i++) {
      addSniEndpoint(p.ctx, app, asCertificate(www))
    }
    p.emitted.length = 0
    assertRefused(() => addSniEndpoint(p.ctx, app, asCertificate(www)), /at most/)
    assert.equal(p.store.domains.endpoints(app.id).length, MAX_SNI_ENDPOINTS_PER_APP)
    assert.deepEqual(p.emitted, [])
  })

  test('a new certificate must still cover the domains that chose the endpoint', () => {
    const e = addSniEndpoint(p.ctx, app, asCertificate(www))
    const now = nowIso()
    p.store.domains.insert({
      id: newId(),
      appId: app.id,
      hostname: 'www.example.com',
      sniEndpointId: e.id,
      verificationToken: newVerificationToken(),
      verifiedAt: now,
      createdAt: now,
      updatedAt: now,
    })
    p.emitted.length = 0
    assertRefused(
      () => replaceSniCertificate(p.ctx, app, e, asCertificate(api)),
      /does not cover www\.example\.com/,
    )
    assert.equal(p.store.domains.findEndpoint(app.id, e.id)?.certificateChain, www.cert)
    assert.deepEqual(p.emitted, [])
    const renewed = selfSigned(['www.example.com'], 30)
    const updated = replaceSniCertificate(p.ctx, app, e, asCertificate(renewed))
    assert.equal(updated.certificateChain, renewed.cert)
    assert.equal(p.store.domains.findEndpoint(app.id, e.id)?.certificateChain, renewed.cert)
    assert.deepEqual(p.emitted, [{ event: 'domains.changed', id: app.id, inTransaction: false }])
  })
})
