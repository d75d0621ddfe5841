/**
 * Buildpack installations, stacks, account features (`heroku labs`) and the parts localspace
 * does not have yet (add-ons), through the API.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('buildpacks, stacks, labs and what is not built', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi()
    await api.call('POST', '/teams', { name: 'extras' })
    await api.call('POST', '/spaces', { name: 'extras-space', team: 'extras' })
    assert.equal((await api.call('POST', '/apps', { name: 'bp-app' })).status, 201)
  })
  after(() => api.close())

  const put = (...urls: string[]) =>
    api.call('PUT', '/apps/bp-app/buildpack-installations', {
      updates: urls.map((buildpack) => ({ buildpack })),
    })

  test('buildpacks are set in order, listed with their names, and cleared', async () => {
    assert.deepEqual((await api.call('GET', '/apps/bp-app/buildpack-installations')).body, [])
    const set = await put('heroku/python', 'https://github.com/heroku/heroku-buildpack-nodejs')
    assert.equal(set.status, 200)
    const list = await api.call('GET', '/apps/bp-app/buildpack-installations')
    assert.deepEqual(list.body, [
      { ordinal: 0, buildpack: { url: 'heroku/python', name: 'heroku/python' } },
      {
        ordinal: 1,
        buildpack: {
          url: 'https://github.com/heroku/heroku-buildpack-nodejs',
          name: 'heroku/nodejs',
        },
      },
    ])
    assert.deepEqual((await put()).body, [])
    assert.deepEqual(api.store.apps.buildpacks(api.store.apps.find('bp-app')!.id), [])
  })

  test('an unknown or repeated buildpack is a 422 and changes nothing', async () => {
    await put('heroku/nodejs')
    for (const [urls, message] of [
      [
        ['heroku/ruby'],
        /no equivalent of "heroku\/ruby".*heroku\/nodejs, heroku\/python, heroku\/procfile/,
      ],
      [['heroku/nodejs', 'heroku/python', 'https://example.com/x.tgz'], /example\.com/],
      [['heroku/nodejs', 'urn:buildpack:heroku/nodejs'], /listed twice/],
    ] as const) {
      const res = await put(...urls)
      assert.equal(res.status, 422, urls.join(' '))
      assert.match(res.body.message, message)
    }
    const list = await api.call('GET', '/apps/bp-app/buildpack-installations')
    assert.deepEqual(
      (list.body as Array<{ buildpack: { name: string } }>).map((b) => b.buildpack.name),
      ['heroku/nodejs'],
    )
  })

  test('the buildpack registry stand-in answers for known buildpacks only, without a key', async () => {
    // Not a Platform API resource (the registry has a schema of its own): inject directly.
    const get = (path: string) => api.server.inject({ method: 'GET', url: path })
    const known = await get('/buildpacks/heroku%2Fpython')
    assert.equal(known.statusCode, 200)
    assert.equal(known.json().blob_url, 'heroku/python')
    const unknown = await get('/buildpacks/heroku%2Fruby')
    assert.equal(unknown.statusCode, 404)
    assert.match(unknown.json().message, /no equivalent of "heroku\/ruby"/)
  })

  test('one stack is offered; setting another is a clear 422', async () => {
    const stacks = await api.call('GET', '/stacks')
    assert.deepEqual(
      (stacks.body as any[]).map((s): unknown[] => [s.name, s.default]),
      [['heroku-24', true]],
    )
    assert.equal((await api.call('GET', '/stacks/heroku-24')).body.name, 'heroku-24')
    assert.equal((await api.call('GET', '/stacks/heroku-22')).status, 404)
    const same = await api.call('PATCH', '/apps/bp-app', { build_stack: 'heroku-24' })
    assert.equal(same.status, 200)
    const other = await api.call('PATCH', '/apps/bp-app', { build_stack: 'heroku-22' })
    assert.equal(other.status, 422)
    assert.match(other.body.message, /localspace offers one stack, heroku-24/)
    const created = await api.call('POST', '/apps', { name: 'old-stack', stack: 'heroku-22' })
    assert.equal(created.status, 422)
    assert.equal(api.store.apps.find('old-stack'), undefined)
  })

  test('there are no account features; naming one says so', async () => {
    assert.deepEqual((await api.call('GET', '/account/features')).body, [])
    for (const method of ['GET', 'PATCH']) {
      const res = await api.call(
        method,
        '/account/features/some-beta',
        method === 'PATCH' ? { enabled: true } : undefined,
      )
      assert.equal(res.status, 404)
      assert.match(res.body.message, /no account features .*heroku labs -a APP/)
    }
  })

  test('Heroku Exec, run:inside, space transfers, ACM and the data API answer 501 naming what to use instead', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['GET', '/apps/bp-app/features/runtime-heroku-exec', /Heroku Exec .* heroku run instead/],
      ['PATCH', '/apps/bp-app/features/runtime-heroku-exec', /Heroku Exec .* heroku run instead/],
      ['POST', '/apps/bp-app/dynos/web.1', /inside an existing dyno .* heroku run instead/],
      ['POST', '/spaces/extras-space/transfer', /Moving a space to another team .*spaces:create/],
      ['POST', '/apps/bp-app/acm', /Automated Certificate Management .*certs:add/],
      ['PATCH', '/apps/bp-app/acm', /Automated Certificate Management .*certs:add/],
      ['DELETE', '/apps/bp-app/acm', /Automated Certificate Management .*certs:add/],
      ['GET', '/postgres/v0/databases/some-db/config', /Postgres .* operation .* is not available/],
    ]
    for (const [method, path, message] of cases) {
      const body = method === 'GET' || method === 'DELETE' ? undefined : { enabled: true }
      const res = await api.call(method, path, body)
      assert.equal(res.status, 501, `${method} ${path}`)
      assert.equal(res.body.id, 'not_implemented')
      assert.match(res.body.message, message)
    }
    // The space stayed with its team; the app's other features are still there.
    assert.equal((await api.call('GET', '/spaces/extras-space')).body.team.name, 'extras')
    assert.equal((await api.call('GET', '/apps/bp-app/features')).status, 200)
    const key = api.user('outsider-exec@example.com')
    for (const [method, path] of [
      ['GET', '/apps/bp-app/features/runtime-heroku-exec'],
      ['POST', '/apps/bp-app/acm'],
      ['POST', '/spaces/extras-space/transfer'],
    ] as const) {
      const res = await api.call(method, path, method === 'POST' ? {} : undefined, { key })
      assert.equal(res.status, 404, `${method} ${path}`)
    }
  })
})
