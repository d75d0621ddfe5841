import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`

describe('account and oauth authorizations', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi()
  })
  after(() => api.close())

  const login = (email: string, password: string, body: unknown = undefined) =>
    api.call('POST', '/oauth/authorizations', body, {
      key: null,
      headers: { authorization: basic(email, password) },
    })

  test('logging in with basic email and password issues a token that works as bearer', async () => {
    const res = await login('admin@localspace.localhost', 'admin-password', {
      description: 'heroku login',
      expires_in: 2592000,
      scope: ['global'],
    })
    assert.equal(res.status, 201)
    assert.equal(res.body.user.email, 'admin@localspace.localhost')
    assert.equal(res.body.description, 'heroku login')
    const token = res.body.access_token.token
    assert.equal(typeof token, 'string')
    assert.ok(res.body.access_token.expires_in > 2591000)
    const account = await api.call('GET', '/account', undefined, { key: token })
    assert.equal(account.status, 200)
    assert.equal(account.body.email, 'admin@localspace.localhost')
  })

  test('logging in with no body issues a token that never expires', async () => {
    const res = await login('admin@localspace.localhost', 'admin-password')
    assert.equal(res.status, 201)
    assert.equal(res.body.access_token.expires_in, null)
  })

  test('logging in with a wrong password is refused with unauthorized', async () => {
    const res = await login('admin@localspace.localhost', 'wrong-password')
    assert.equal(res.status, 401)
    assert.equal(res.body.id, 'unauthorized')
  })

  test('logging in as an unknown email is refused with unauthorized', async () => {
    const res = await login('nobody@example.com', 'admin-password')
    assert.equal(res.status, 401)
    assert.equal(res.body.id, 'unauthorized')
  })

  test('creating an authorization with a bearer key issues another key', async () => {
    const res = await api.call('POST', '/oauth/authorizations', { description: 'ci' })
    assert.equal(res.status, 201)
    assert.equal(res.body.user.email, 'admin@localspace.localhost')
    assert.notEqual(res.body.access_token.token, api.adminKey)
  })

  test('creating an authorization with an unknown bearer key is refused', async () => {
    const res = await api.call('POST', '/oauth/authorizations', {}, { key: 'HRKU-not-a-key' })
    assert.equal(res.status, 401)
    assert.equal(res.body.id, 'unauthorized')
  })

  test('creating an authorization with no credentials is refused', async () => {
    const res = await api.call('POST', '/oauth/authorizations', {}, { key: null })
    assert.equal(res.status, 401)
    assert.equal(res.body.id, 'unauthorized')
  })

  test('get account returns the caller', async () => {
    const res = await api.call('GET', '/account')
    assert.equal(res.status, 200)
    assert.equal(res.body.email, 'admin@localspace.localhost')
    assert.equal(res.body.default_team, null)
  })

  test('get account names the first team as the default team', async () => {
    const key = api.user('teamed@example.com')
    assert.equal((await api.call('POST', '/teams', { name: 'teamed' }, { key })).status, 201)
    const res = await api.call('GET', '/account', undefined, { key })
    assert.equal(res.body.default_team.name, 'teamed')
  })

  test('listing authorizations shows only the caller’s own keys', async () => {
    const key = api.user('lister@example.com')
    const mine = await api.call('GET', '/oauth/authorizations', undefined, { key })
    assert.equal(mine.status, 200)
    assert.equal(mine.body.length, 1)
    assert.equal(mine.body[0].user.email, 'lister@example.com')
    assert.equal(mine.body[0].access_token, null, 'tokens are never shown again')
    const admin = await api.call('GET', '/oauth/authorizations')
    assert.ok((admin.body as any[]).every((z) => z.user.email === 'admin@localspace.localhost'))
  })

  test('an authorization can be read by id', async () => {
    const key = api.user('reader@example.com')
    const [z] = (await api.call('GET', '/oauth/authorizations', undefined, { key })).body
    const res = await api.call('GET', `/oauth/authorizations/${z.id}`, undefined, { key })
    assert.equal(res.status, 200)
    assert.equal(res.body.id, z.id)
  })

  test('another account’s authorization is not found', async () => {
    const key = api.user('snoop@example.com')
    const [z] = (await api.call('GET', '/oauth/authorizations')).body
    const res = await api.call('GET', `/oauth/authorizations/${z.id}`, undefined, { key })
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
    const del = await api.call('DELETE', `/oauth/authorizations/${z.id}`, undefined, { key })
    assert.equal(del.status, 404)
  })

  test('deleting an authorization revokes its token', async () => {
    const res = await login('admin@localspace.localhost', 'admin-password', {})
    const token = res.body.access_token.token
    const del = await api.call('DELETE', `/oauth/authorizations/${res.body.id}`, undefined, {
      key: token,
    })
    assert.equal(del.status, 200)
    assert.equal(del.body.id, res.body.id)
    const after = await api.call('GET', '/account', undefined, { key: token })
    assert.equal(after.status, 401)
    assert.equal(after.body.id, 'unauthorized')
    assert.equal((await api.call('GET', '/account')).status, 200, 'other keys still work')
  })

  test('the admin creates an account whose key and password work', async () => {
    const res = await api.call('POST', '/localspace/accounts', {
      email: 'new@example.com',
      name: 'New Person',
    })
    assert.equal(res.status, 201)
    assert.equal(res.body.email, 'new@example.com')
    assert.equal(res.body.name, 'New Person')
    assert.equal(typeof res.body.api_key, 'string')
    assert.equal(typeof res.body.password, 'string')
    const me = await api.call('GET', '/account', undefined, { key: res.body.api_key })
    assert.equal(me.body.email, 'new@example.com')
    assert.equal((await login('new@example.com', res.body.password)).status, 201)
  })

  test('an account created with a chosen password does not echo it', async () => {
    const res = await api.call('POST', '/localspace/accounts', {
      email: 'chosen@example.com',
      password: 'chosen-password',
    })
    assert.equal(res.status, 201)
    assert.equal(res.body.password, undefined)
    assert.equal((await login('chosen@example.com', 'chosen-password')).status, 201)
  })

  test('creating an account with a taken email is rejected with invalid_params', async () => {
    const res = await api.call('POST', '/localspace/accounts', { email: 'new@example.com' })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
  })

  test('a non-admin cannot create accounts', async () => {
    const key = api.user('plain@example.com')
    const before = api.store.accounts.count()
    const res = await api.call(
      'POST',
      '/localspace/accounts',
      { email: 'other@example.com' },
      { key },
    )
    assert.equal(res.status, 403)
    assert.equal(res.body.id, 'forbidden')
    assert.equal(api.store.accounts.count(), before)
  })
})

describe('password sign-in', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi({
      signInLimits: {
        perAddress: { burst: 6, perMinute: 1 },
        perEmail: { burst: 5, perMinute: 1 },
        maxKeys: 100,
      },
    })
    for (const n of [1, 2, 3]) api.user(`known${n}@example.com`)
  })
  after(() => api.close())

  /** A sign-in through inject() from `address`, timed; the reply and its milliseconds. */
  const signIn = async (email: string, password: string, address = '198.51.100.1') => {
    const started = performance.now()
    const res = await api.server.inject({
      method: 'POST',
      url: '/oauth/authorizations',
      remoteAddress: address,
      headers: { authorization: basic(email, password), 'content-type': 'application/json' },
      payload: '{}',
    })
    return { res, ms: performance.now() - started, body: res.json<Record<string, unknown>>() }
  }

  test('an unknown email takes as long as a wrong password: both run scrypt', async () => {
    // Interleaved, each from an address and email of its own (no limit applies), median of 5.
    const known: number[] = []
    const unknown: number[] = []
    for (let i = 0; i < 5; i++) {
      const wrong = await signIn('known1@example.com', `wrong-${i}`, `198.51.100.${10 + i}`)
      assert.equal(wrong.res.statusCode, 401)
      known.push(wrong.ms)
      const nobody = await signIn(`nobody-${i}@example.com`, 'x', `198.51.100.${20 + i}`)
      assert.equal(nobody.res.statusCode, 401)
      assert.equal(nobody.body.message, wrong.body.message, 'the same answer')
      unknown.push(nobody.ms)
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[2]!
    // scrypt (N=16384) takes tens of milliseconds; a sign-in without it well under one.
    assert.ok(
      median(unknown) > median(known) * 0.5,
      `unknown email ${median(unknown).toFixed(1)} ms, wrong password ${median(known).toFixed(1)} ms`,
    )
  })

  test('the event loop answers other requests while sign-ins run', async () => {
    let pending = 5
    const signIns = Array.from({ length: 5 }, (_, i) =>
      signIn('known2@example.com', `wrong-${i}`, `198.51.100.${40 + i}`).finally(() => pending--),
    )
    const health = await api.server.inject({ method: 'GET', url: '/healthz' })
    assert.equal(health.statusCode, 200)
    // Synchronous scrypt would have run all five (queued first) before this request.
    assert.ok(pending >= 3, `${5 - pending} sign-ins finished before /healthz answered`)
    for (const { res } of await Promise.all(signIns)) assert.equal(res.statusCode, 401)
  })

  test('the attempt after the limit per email is refused with rate_limit, even with the right password', async () => {
    for (let i = 0; i < 5; i++) {
      const { res } = await signIn('limited@example.com', 'guess', `198.51.100.${60 + i}`)
      assert.equal(res.statusCode, 401)
    }
    api.user('limited@example.com')
    const refused = await signIn('limited@example.com', 'user-password', '198.51.100.65')
    assert.equal(refused.res.statusCode, 429)
    assert.equal(refused.body.id, 'rate_limit')
    assert.match(refused.body.message as string, /Too many sign-in attempts/)
    assert.ok(Number(refused.res.headers['retry-after']) >= 1)
    assert.equal('token' in refused.body, false)
    // Case does not make another email.
    const upper = await signIn('LIMITED@example.com', 'x', '198.51.100.66')
    assert.equal(upper.res.statusCode, 429)
  })

  test('the attempt after the limit per address is refused; other addresses are not', async () => {
    const address = '198.51.100.80'
    for (let i = 0; i < 6; i++) {
      const { res } = await signIn(`spray-${i}@example.com`, 'x', address)
      assert.equal(res.statusCode, 401)
    }
    const refused = await signIn('known3@example.com', 'user-password', address)
    assert.equal(refused.res.statusCode, 429)
    assert.equal(refused.body.id, 'rate_limit')
    const elsewhere = await signIn('known3@example.com', 'user-password', '198.51.100.81')
    assert.equal(elsewhere.res.statusCode, 201)
    assert.match((elsewhere.body.access_token as { token: string }).token, /^HRKU-/)
  })
})
