/**
 * Dashboard sessions through the API: sign-in sets an HttpOnly, SameSite=Strict cookie; the
 * cookie authenticates like a key, with the same team rules; a change without the session's
 * CSRF token is refused 403 in Heroku's shape and changes nothing; sessions expire; sign-out
 * ends them; revoking the key a session was opened with ends it too.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { sessionCookie, cookieValue } from '../../src/api/dashboard/sessions.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

const basic = (email: string, password: string) =>
  `Basic ${Buffer.from(`${email}:${password}`).toString('base64')}`

interface Browser {
  cookie: string
  csrf: string
  setCookie: string
}

async function signIn(api: TestApi, authorization: string): Promise<Browser> {
  const res = await api.call('POST', '/localspace/session', undefined, {
    key: null,
    headers: { authorization },
  })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  const setCookie = String(res.headers['set-cookie'])
  const value = cookieValue(setCookie.split(';')[0], 'localspace_session')!
  return { cookie: `localspace_session=${value}`, csrf: res.body.csrf_token, setCookie }
}

/** A request as the browser makes it: cookie, no key; the CSRF header only when asked. */
const asBrowser = (
  api: TestApi,
  b: Browser,
  method: string,
  path: string,
  body?: unknown,
  csrf?: string,
) =>
  api.call(method, path, body, {
    key: null,
    headers: { cookie: b.cookie, ...(csrf !== undefined ? { 'x-csrf-token': csrf } : {}) },
  })

describe('dashboard sessions', () => {
  let api: TestApi
  let clock = Date.now()
  before(async () => {
    api = await startTestApi({
      now: () => clock,
      sessionLimits: { idleMs: 60_000, absoluteMs: 300_000, maxSessions: 100 },
    })
    api.user('member@example.com')
    api.user('other@example.com')
    assert.equal((await api.call('POST', '/teams', { name: 'dash-team' })).status, 201)
    assert.equal((await api.call('POST', '/teams', { name: 'dash-other' })).status, 201)
    const add = (team: string, email: string, role: string) =>
      api.call('PUT', `/teams/${team}/members`, { email, role })
    assert.equal((await add('dash-team', 'member@example.com', 'member')).status, 200)
    assert.equal((await add('dash-other', 'other@example.com', 'admin')).status, 200)
    const space = await api.call('POST', '/spaces', { name: 'dash-space', team: 'dash-team' })
    assert.equal(space.status, 201)
  })
  after(() => api.close())

  test('sign-in with email and password sets an HttpOnly SameSite=Strict cookie, no key', async () => {
    const b = await signIn(api, basic('member@example.com', 'user-password'))
    const flags = b.setCookie.split(';').map((s) => s.trim())
    assert.ok(flags.includes('HttpOnly'))
    assert.ok(flags.includes('SameSite=Strict'))
    assert.ok(flags.includes('Path=/'))
    assert.ok(flags.includes('Max-Age=300'))
    assert.ok(!flags.includes('Secure'), 'not Secure over plain HTTP')
    assert.match(b.csrf, /^[\w-]{40,}$/)
    const me = await asBrowser(api, b, 'GET', '/localspace/session')
    assert.equal(me.status, 200)
    assert.equal(me.body.account.email, 'member@example.com')
    assert.equal(me.body.csrf_token, b.csrf)
    assert.ok(!JSON.stringify(me.body).includes('HRKU-'), 'no API key in the page')
  })

  test('the cookie is Secure when the page is served over HTTPS', () => {
    assert.ok(sessionCookie('v', 10, true).split('; ').includes('Secure'))
  })

  test('wrong password: 401 in Heroku shape, no cookie', async () => {
    const res = await api.call('POST', '/localspace/session', undefined, {
      key: null,
      headers: { authorization: basic('member@example.com', 'wrong-password') },
    })
    assert.equal(res.status, 401)
    assert.equal(res.body.id, 'unauthorized')
    assert.equal(res.headers['set-cookie'], undefined)
  })

  test('a cookie is authorised by team role as a key is', async () => {
    const member = await signIn(api, basic('member@example.com', 'user-password'))
    const other = await signIn(api, basic('other@example.com', 'user-password'))
    assert.equal((await asBrowser(api, member, 'GET', '/spaces/dash-space')).status, 200)
    const hidden = await asBrowser(api, other, 'GET', '/spaces/dash-space')
    assert.equal(hidden.status, 404)
    assert.equal(hidden.body.id, 'not_found')
    const spaces = await asBrowser(api, other, 'GET', '/spaces')
    assert.deepEqual(spaces.body, [])
    // A member, not an admin: the same refusal as with the member's API key.
    const refused = await asBrowser(
      api,
      member,
      'POST',
      '/spaces',
      { name: 'dash-nope', team: 'dash-team' },
      member.csrf,
    )
    assert.equal(refused.status, 403)
    assert.equal(refused.body.message, 'You must be a team admin to perform this action.')
  })

  test('a change without the CSRF token (or a wrong one) is refused 403 and changes nothing', async () => {
    const b = await signIn(api, basic('other@example.com', 'user-password'))
    for (const csrf of [undefined, 'not-the-token', `${b.csrf}x`]) {
      const res = await asBrowser(api, b, 'POST', '/teams', { name: 'dash-csrf' }, csrf)
      assert.equal(res.status, 403)
      assert.equal(res.body.id, 'forbidden')
      assert.match(res.body.message, /x-csrf-token/)
    }
    assert.equal((await api.call('GET', '/teams/dash-csrf')).status, 404, 'no team was made')
    const ok = await asBrowser(api, b, 'POST', '/teams', { name: 'dash-csrf' }, b.csrf)
    assert.equal(ok.status, 201)
  })

  test('a key in the Authorization header decides; cookies do not change the CLI', async () => {
    const res = await api.call(
      'POST',
      '/teams',
      { name: 'dash-cli' },
      {
        headers: { cookie: 'localspace_session=whatever' },
      },
    )
    assert.equal(res.status, 201)
  })

  test('sessions expire after the idle time and after the absolute time', async () => {
    const idle = await signIn(api, basic('member@example.com', 'user-password'))
    clock += 59_000
    assert.equal((await asBrowser(api, idle, 'GET', '/spaces')).status, 200)
    clock += 59_000 // used a moment ago: still alive (sliding)
    assert.equal((await asBrowser(api, idle, 'GET', '/spaces')).status, 200)
    clock += 61_000
    const expired = await asBrowser(api, idle, 'GET', '/spaces')
    assert.equal(expired.status, 401)
    assert.equal(expired.body.id, 'unauthorized')

    const busy = await signIn(api, basic('member@example.com', 'user-password'))
    for (let i = 0; i < 5; i++) {
      clock += 50_000
      assert.equal((await asBrowser(api, busy, 'GET', '/spaces')).status, 200)
    }
    clock += 55_000 // 305 s after sign-in: past the absolute limit though used all along
    assert.equal((await asBrowser(api, busy, 'GET', '/spaces')).status, 401)
  })

  test('sign-out needs the CSRF token, clears the cookie and ends the session', async () => {
    const b = await signIn(api, basic('member@example.com', 'user-password'))
    assert.equal((await asBrowser(api, b, 'DELETE', '/localspace/session')).status, 403)
    assert.equal((await asBrowser(api, b, 'GET', '/spaces')).status, 200)
    const out = await asBrowser(api, b, 'DELETE', '/localspace/session', undefined, b.csrf)
    assert.equal(out.status, 204)
    assert.match(
      String(out.headers['set-cookie']),
      /^localspace_session=; Path=\/; Max-Age=0; HttpOnly/,
    )
    assert.equal((await asBrowser(api, b, 'GET', '/spaces')).status, 401)
  })

  test('a session opened with an API key ends when the key is revoked', async () => {
    const made = await api.call('POST', '/oauth/authorizations', { description: 'dash' })
    assert.equal(made.status, 201)
    const b = await signIn(api, `Bearer ${made.body.access_token.token}`)
    assert.equal((await asBrowser(api, b, 'GET', '/account')).status, 200)
    assert.equal((await api.call('DELETE', `/oauth/authorizations/${made.body.id}`)).status, 200)
    assert.equal((await asBrowser(api, b, 'GET', '/account')).status, 401)
  })

  test('an unknown cookie is 401, and GET /localspace/session with a key is 404', async () => {
    const res = await asBrowser(
      api,
      { cookie: 'localspace_session=nope', csrf: '', setCookie: '' },
      'GET',
      '/spaces',
    )
    assert.equal(res.status, 401)
    assert.equal((await api.call('GET', '/localspace/session')).status, 404)
  })
})
