import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { PlatformError } from '../core/errors.js'
import { hashToken } from '../core/ids.js'
import { verifyPassword } from '../core/passwords.js'
import { startTestPlatform, type TestPlatform } from '../../test/helpers/platform.js'
import { createAccount, issueApiKey, revokeApiKey } from './accounts.js'

describe('platform accounts', () => {
  let p: TestPlatform
  beforeEach(() => (p = startTestPlatform()))
  afterEach(() => p.close())

  test('an account keeps a password hash, and its API key works by hash only', async () => {
    const account = createAccount(p.store, {
      email: 'new@example.com',
      password: 'a-password',
      isAdmin: false,
    })
    const stored = p.store.accounts.passwordHash(account.id)
    assert.notEqual(stored, 'a-password')
    assert.ok(await verifyPassword('a-password', stored))
    const { token, authorization } = issueApiKey(p.store, account, 'ci', 60)
    const now = new Date().toISOString()
    assert.equal(p.store.accounts.findByToken(hashToken(token), now)?.id, account.id)
    assert.equal(
      p.store.accounts.findByToken(token, now),
      undefined,
      'the token itself is not kept',
    )
    assert.ok(Date.parse(authorization.expiresAt!) > Date.now())
    revokeApiKey(p.store, authorization.id)
    assert.equal(p.store.accounts.findByToken(hashToken(token), now), undefined, 'revoked')
    assert.deepEqual(p.emitted, [])
  })

  test('an invalid or used email is refused with 422 and stores nothing', () => {
    const before = p.store.accounts.count()
    for (const email of ['not-an-email', p.user.email]) {
      assert.throws(
        () => createAccount(p.store, { email, password: 'a-password', isAdmin: false }),
        (e: unknown) => e instanceof PlatformError && e.statusCode === 422,
      )
    }
    assert.equal(p.store.accounts.count(), before)
  })
})
