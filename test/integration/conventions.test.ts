import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type Reply, type TestApi } from '../helpers/api.js'

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('platform api conventions', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi()
    for (const name of ['app-c', 'app-a', 'app-e', 'app-b', 'app-d']) {
      assert.equal((await api.call('POST', '/apps', { name })).status, 201)
    }
  })
  after(() => api.close())

  /** Follows Next-Range like the CLI's http client does and returns every page. */
  async function allPages(path: string, range: string): Promise<Reply[]> {
    const pages: Reply[] = []
    let next: string | undefined = range
    while (next !== undefined) {
      const res = await api.call('GET', path, undefined, { headers: { range: next } })
      pages.push(res)
      assert.ok(pages.length < 50, 'Next-Range loops')
      next = res.headers['next-range'] as string | undefined
      assert.equal(res.status, next === undefined ? 200 : 206)
    }
    return pages
  }

  describe('request ids', () => {
    test('the first of a comma-joined request id list is echoed', async () => {
      const id1 = 'b6a1a5a4-3a9f-4a55-9d0e-2f5d6c1b0a11'
      const res = await api.call('GET', '/account', undefined, {
        headers: { 'request-id': `${id1},0f3e2d1c-0000-4000-8000-000000000000` },
      })
      assert.equal(res.headers['request-id'], id1)
    })

    test('a request without a request id gets a generated one', async () => {
      const res = await api.call('GET', '/account')
      assert.match(String(res.headers['request-id']), UUID)
    })

    test('a malformed request id is replaced by a generated one', async () => {
      const res = await api.call('GET', '/account', undefined, {
        headers: { 'request-id': 'has spaces <and> brackets' },
      })
      assert.match(String(res.headers['request-id']), UUID)
    })

    test('errors carry the request id too', async () => {
      const res = await api.call('GET', '/apps/nope', undefined, {
        headers: { 'request-id': 'req-42' },
      })
      assert.equal(res.status, 404)
      assert.equal(res.headers['request-id'], 'req-42')
    })
  })

  describe('accept header', () => {
    for (const accept of [
      'application/vnd.heroku+json; version=3',
      'application/vnd.heroku+json; version=3.sdk',
      'application/vnd.heroku+json; version=3.dogwood',
      'application/json',
      '*/*',
    ]) {
      test(`accept ${accept} is served as v3`, async () => {
        const res = await api.call('GET', '/account', undefined, { headers: { accept } })
        assert.equal(res.status, 200)
      })
    }

    test('no accept header at all is served as v3', async () => {
      const res = await api.server.inject({
        method: 'GET',
        url: '/account',
        headers: { authorization: `Bearer ${api.adminKey}` },
      })
      assert.equal(res.statusCode, 200)
    })

    test('version 2 is refused with not_acceptable', async () => {
      const res = await api.call('GET', '/account', undefined, {
        headers: { accept: 'application/vnd.heroku+json; version=2' },
      })
      assert.equal(res.status, 406)
      assert.equal(res.body.id, 'not_acceptable')
    })
  })

  describe('authentication', () => {
    test('a request without a token is refused with unauthorized', async () => {
      const res = await api.call('GET', '/account', undefined, { key: null })
      assert.equal(res.status, 401)
      assert.equal(res.body.id, 'unauthorized')
    })

    test('an unknown token is refused with unauthorized', async () => {
      const res = await api.call('GET', '/account', undefined, { key: 'HRKU-wrong' })
      assert.equal(res.status, 401)
      assert.equal(res.body.id, 'unauthorized')
    })

    test('an authorization header of another scheme is refused with unauthorized', async () => {
      for (const authorization of ['Token abc', 'Bearer', 'Basic', 'Basic bm9jb2xvbg==']) {
        const res = await api.call('GET', '/account', undefined, {
          key: null,
          headers: { authorization },
        })
        assert.equal(res.status, 401, authorization)
        assert.equal(res.body.id, 'unauthorized')
      }
    })

    test('basic auth with the api key as password works', async () => {
      const authorization = `Basic ${Buffer.from(`:${api.adminKey}`).toString('base64')}`
      const res = await api.call('GET', '/account', undefined, {
        key: null,
        headers: { authorization },
      })
      assert.equal(res.status, 200)
      assert.equal(res.body.email, 'admin@localspace.localhost')
      const named = `Basic ${Buffer.from(`anyone:${api.adminKey}`).toString('base64')}`
      const again = await api.call('GET', '/account', undefined, {
        key: null,
        headers: { authorization: named },
      })
      assert.equal(again.status, 200)
    })

    test('an expired key is refused with unauthorized', async () => {
      const res = await api.call('POST', '/oauth/authorizations', { expires_in: 1 })
      const token = res.body.access_token.token
      assert.equal((await api.call('GET', '/account', undefined, { key: token })).status, 200)
      api.store.db
        .prepare('UPDATE authorizations SET expires_at = ? WHERE id = ?')
        .run('2000-01-01T00:00:00.000Z', res.body.id)
      const later = await api.call('GET', '/account', undefined, { key: token })
      assert.equal(later.status, 401)
      assert.equal(later.body.id, 'unauthorized')
    })

    test('a request without a token is refused before its body is looked at', async () => {
      const bad = await api.call('POST', '/apps', undefined, { key: null, raw: '{not json' })
      assert.equal(bad.status, 401)
      assert.equal(bad.body.id, 'unauthorized')
      const wrong = await api.call('POST', '/apps', { name: 42 }, { key: null })
      assert.equal(wrong.status, 401)
      assert.equal(wrong.body.id, 'unauthorized')
    })
  })

  describe('routes and bodies', () => {
    test('the health check needs no token', async () => {
      const res = await api.server.inject({ method: 'GET', url: '/healthz' })
      assert.equal(res.statusCode, 200)
      assert.deepEqual(res.json(), { status: 'ok' })
    })

    test('an unknown route is not found', async () => {
      const res = await api.call('GET', '/no/such/route')
      assert.equal(res.status, 404)
      assert.equal(res.body.id, 'not_found')
    })

    test('a known path with an unsupported verb is not found', async () => {
      const res = await api.call('PUT', '/regions')
      assert.equal(res.status, 404)
      assert.equal(res.body.id, 'not_found')
    })

    test('a trailing slash is ignored', async () => {
      const res = await api.server.inject({
        method: 'GET',
        url: '/regions/tokyo/',
        headers: { authorization: `Bearer ${api.adminKey}` },
      })
      assert.equal(res.statusCode, 200)
      assert.equal(res.json().name, 'tokyo')
    })

    test('a body that is not json is refused with bad_request', async () => {
      const res = await api.call('POST', '/teams', undefined, { raw: '{"name": ' })
      assert.equal(res.status, 400)
      assert.equal(res.body.id, 'bad_request')
    })

    test('a body of another media type is refused', async () => {
      const res = await api.call('POST', '/teams', undefined, {
        raw: 'name=acme',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      })
      assert.equal(res.status, 415)
      assert.equal(res.body.id, 'unsupported_media_type')
    })

    test('a body over 1 MiB is refused with 413', async () => {
      const res = await api.call('PATCH', '/apps/app-a/config-vars', {
        BIG: 'x'.repeat(1024 * 1024),
      })
      assert.equal(res.status, 413)
      assert.equal(res.body.id, 'payload_too_large')
      assert.deepEqual((await api.call('GET', '/apps/app-a/config-vars')).body, {})
    })

    test('an empty body with a json content type means no fields', async () => {
      const res = await api.call('POST', '/apps', undefined, { raw: '' })
      assert.equal(res.status, 201)
      await api.call('DELETE', `/apps/${res.body.name}`, undefined, { raw: '' })
      assert.equal(api.store.apps.find(res.body.name), undefined)
    })

    test('errors are json with an id and a message', async () => {
      const res = await api.server.inject({ method: 'GET', url: '/apps/nope' })
      assert.equal(res.statusCode, 401)
      assert.match(String(res.headers['content-type']), /^application\/json/)
      assert.deepEqual(Object.keys(res.json()).sort(), ['id', 'message'])
    })
  })

  describe('range pagination', () => {
    test('a list that fits answers 200 with no next-range', async () => {
      const res = await api.call('GET', '/apps')
      assert.equal(res.status, 200)
      assert.equal(res.headers['next-range'], undefined)
      assert.equal(res.headers['accept-ranges'], 'id, name')
      assert.equal(res.body.length, 5)
    })

    test('pages follow next-range to the end and the last page has none', async () => {
      const pages = await allPages('/apps', 'name ..; max=2')
      assert.deepEqual(
        pages.map((p) => (p.body as any[]).map((a) => a.name as string)),
        [['app-a', 'app-b'], ['app-c', 'app-d'], ['app-e']],
      )
      assert.equal(pages[0]!.status, 206)
      assert.equal(pages[0]!.headers['content-range'], 'name app-a..app-b; max=2')
      assert.equal(pages[0]!.headers['next-range'], 'name ]app-b..; max=2')
      assert.equal(pages.at(-1)!.status, 200)
      assert.equal(pages.at(-1)!.headers['next-range'], undefined)
    })

    test('a list that ends exactly on a page boundary has no next-range on the last page', async () => {
      const pages = await allPages('/apps', 'name ..; max=5')
      assert.equal(pages.length, 1)
      assert.equal(pages[0]!.status, 200)
    })

    test('order desc pages from the end', async () => {
      const pages = await allPages('/apps', 'name ..; max=2, order=desc')
      assert.deepEqual(
        pages.map((p) => (p.body as any[]).map((a) => a.name as string)),
        [['app-e', 'app-d'], ['app-c', 'app-b'], ['app-a']],
      )
      assert.match(String(pages[0]!.headers['next-range']), /order=desc/)
    })

    test('a range with a start and an end is bounded', async () => {
      const res = await api.call('GET', '/apps', undefined, {
        headers: { range: 'name app-b..app-d' },
      })
      assert.equal(res.status, 200)
      assert.deepEqual(
        (res.body as any[]).map((a) => a.name as string),
        ['app-b', 'app-c', 'app-d'],
      )
    })

    test('pages by id cover every item once', async () => {
      const pages = await allPages('/apps', 'id ..; max=2')
      const ids = pages.flatMap((p) => (p.body as any[]).map((a) => a.id as string))
      assert.equal(ids.length, 5)
      assert.deepEqual(ids, [...ids].sort())
    })

    test('max above 1000 is capped at 1000', async () => {
      const res = await api.call('GET', '/apps', undefined, {
        headers: { range: 'name ..; max=5000' },
      })
      assert.equal(res.status, 200)
      assert.equal(res.body.length, 5)
      assert.equal(res.headers['content-range'], 'name app-a..app-e; max=1000')
    })

    test('releases page by version in numeric order', async () => {
      for (let i = 0; i < 11; i++) {
        await api.call('PATCH', '/apps/app-b/config-vars', { N: String(i) })
      }
      const pages = await allPages('/apps/app-b/releases', 'version ..; max=5')
      assert.deepEqual(
        pages.map((p) => (p.body as any[]).map((r) => r.version as number)),
        [
          [1, 2, 3, 4, 5],
          [6, 7, 8, 9, 10],
          [11, 12],
        ],
      )
    })

    test('team members page by email, addresses with dots included', async () => {
      await api.call('POST', '/teams', { name: 'paged' })
      for (const email of ['a.one@example.com', 'b.two@example.com', 'c.three@example.com']) {
        api.user(email)
        await api.call('PUT', '/teams/paged/members', { email })
      }
      const pages = await allPages('/teams/paged/members', 'email ..; max=2')
      assert.deepEqual(
        pages.flatMap((p) => (p.body as any[]).map((m) => m.email as string)),
        [
          'a.one@example.com',
          'admin@localspace.localhost',
          'b.two@example.com',
          'c.three@example.com',
        ],
      )
    })

    for (const range of [
      'garbage',
      'name %E0%A4%A..; max=2',
      'name',
      'name ..; max=0',
      'name ..; max=-1',
      'name ..; max=ten',
      'name ..; order=sideways',
      'name ..; colour=blue',
      'created_at ..; max=2',
    ]) {
      test(`range ${JSON.stringify(range)} is refused with 416`, async () => {
        const res = await api.call('GET', '/apps', undefined, { headers: { range } })
        assert.equal(res.status, 416)
        assert.equal(res.body.id, 'requested_range_not_satisfiable')
      })
    }
  })
})
