import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('config vars and releases', () => {
  let api: TestApi
  let appId: string
  before(async () => {
    api = await startTestApi()
    const created = await api.call('POST', '/apps', { name: 'conf-app' })
    assert.equal(created.status, 201)
    appId = created.body.id
  })
  after(() => api.close())

  const releases = () => api.store.releases.list(appId).sort((a, b) => a.version - b.version)

  test('a new app has empty config and an initial release', async () => {
    const config = await api.call('GET', '/apps/conf-app/config-vars')
    assert.equal(config.status, 200)
    assert.deepEqual(config.body, {})
    const list = await api.call('GET', '/apps/conf-app/releases')
    assert.equal(list.status, 200)
    assert.deepEqual(
      (list.body as any[]).map((r) => [
        r.version as number,
        r.description as string,
        r.current as boolean,
      ]),
      [[1, 'Initial release', true]],
    )
  })

  test('setting config vars makes a new release that describes the change', async () => {
    const res = await api.call('PATCH', '/apps/conf-app/config-vars', { A: '1', B: 'two' })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { A: '1', B: 'two' })
    assert.deepEqual((await api.call('GET', '/apps/conf-app/config-vars')).body, {
      A: '1',
      B: 'two',
    })
    const last = releases().at(-1)!
    assert.equal(last.version, 2)
    assert.equal(last.description, 'Set A, B config vars')
    assert.deepEqual(last.config, { A: '1', B: 'two' })
  })

  test('null removes a config var in a new release', async () => {
    const res = await api.call('PATCH', '/apps/conf-app/config-vars', { A: null })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, { B: 'two' })
    const last = releases().at(-1)!
    assert.equal(last.version, 3)
    assert.equal(last.description, 'Remove A config vars')
  })

  test('setting and removing at once is one release', async () => {
    const res = await api.call('PATCH', '/apps/conf-app/config-vars', { C: '3', B: null })
    assert.deepEqual(res.body, { C: '3' })
    const last = releases().at(-1)!
    assert.equal(last.version, 4)
    assert.equal(last.description, 'Set C and remove B config vars')
  })

  test('a patch that changes nothing makes no release', async () => {
    const before = JSON.stringify(releases())
    for (const body of [{ C: '3' }, { NEVER_SET: null }, {}]) {
      const res = await api.call('PATCH', '/apps/conf-app/config-vars', body)
      assert.equal(res.status, 200)
      assert.deepEqual(res.body, { C: '3' })
    }
    assert.equal(JSON.stringify(releases()), before)
  })

  test('config var values must be strings or null', async () => {
    const before = JSON.stringify(releases())
    for (const body of [{ D: 4 }, { D: true }, { D: { nested: 'x' } }, ['D'], 'D=4']) {
      const res = await api.call('PATCH', '/apps/conf-app/config-vars', body)
      assert.equal(res.status, 422, JSON.stringify(body))
      assert.equal(res.body.id, 'invalid_params')
    }
    assert.equal(JSON.stringify(releases()), before)
  })

  test('a config var with a NUL byte is refused: it could never reach a dyno', async () => {
    const before = JSON.stringify(releases())
    for (const body of [{ E: 'a\u0000b' }, { E: '\u0000' }, { F: 'ok', 'E\u0000': 'x' }]) {
      const res = await api.call('PATCH', '/apps/conf-app/config-vars', body)
      assert.equal(res.status, 422, JSON.stringify(body))
      assert.equal(res.body.id, 'invalid_params')
      assert.match(res.body.message, /E/)
    }
    const nul = await api.call('PATCH', '/apps/conf-app/config-vars', { E: 'a\u0000b' })
    assert.equal(nul.body.message, 'Config var E may not contain a NUL character.')
    assert.equal(JSON.stringify(releases()), before)
  })

  test('config var names must be identifiers', async () => {
    for (const key of ['1ABC', 'WITH SPACE', 'DASH-ED', '']) {
      const res = await api.call('PATCH', '/apps/conf-app/config-vars', { [key]: 'x' })
      assert.equal(res.status, 422, key)
      assert.equal(res.body.id, 'invalid_params')
    }
  })

  test('config var names that are also object properties are plain names', async () => {
    const before = releases().length
    const removeAbsent = await api.call('PATCH', '/apps/conf-app/config-vars', {
      constructor: null,
      toString: null,
    })
    assert.equal(removeAbsent.status, 200)
    assert.equal(releases().length, before, 'removing vars that were never set is a no-op')
    // Raw JSON: in an object literal `__proto__` would set the prototype instead.
    const set = await api.call('PATCH', '/apps/conf-app/config-vars', undefined, {
      raw: '{"constructor": "c", "__proto__": "p"}',
    })
    assert.equal(set.status, 200)
    assert.equal(set.body.constructor, 'c')
    const stored = releases().at(-1)!.config
    assert.equal(Object.hasOwn(stored, 'constructor'), true)
    assert.equal(Object.hasOwn(stored, '__proto__'), true)
    assert.equal(stored.__proto__, 'p')
    const got = await api.call('GET', '/apps/conf-app/config-vars')
    assert.deepEqual(Object.keys(got.body).sort(), ['C', '__proto__', 'constructor'])
    await api.call('PATCH', '/apps/conf-app/config-vars', undefined, {
      raw: '{"constructor": null, "__proto__": null}',
    })
    assert.deepEqual(releases().at(-1)!.config, { C: '3' })
  })

  test('releases are listed in version order with only the newest current', async () => {
    const res = await api.call('GET', '/apps/conf-app/releases')
    const versions = (res.body as any[]).map((r) => r.version as number)
    assert.deepEqual(
      versions,
      releases().map((r) => r.version),
    )
    assert.deepEqual(
      (res.body as any[]).filter((r) => r.current).map((r) => r.version as number),
      [versions.at(-1)],
    )
    assert.ok((res.body as any[]).every((r) => r.user.email === 'admin@localspace.localhost'))
  })

  test('the newest release is one request away with a descending range', async () => {
    const res = await api.call('GET', '/apps/conf-app/releases', undefined, {
      headers: { range: 'version ..; max=1, order=desc' },
    })
    assert.equal(res.status, 206)
    assert.equal(res.body.length, 1)
    assert.equal(res.body[0].version, releases().at(-1)!.version)
    assert.equal(res.body[0].current, true)
  })

  test('a release is found by id and by version', async () => {
    const [, second] = releases()
    const byVersion = await api.call('GET', '/apps/conf-app/releases/2')
    assert.equal(byVersion.status, 200)
    assert.equal(byVersion.body.id, second!.id)
    assert.equal(byVersion.body.current, false)
    const byId = await api.call('GET', `/apps/conf-app/releases/${second!.id}`)
    assert.equal(byId.status, 200)
    assert.equal(byId.body.version, 2)
  })

  test('an unknown release is not found', async () => {
    for (const r of ['999', '00000000-0000-4000-8000-000000000000']) {
      const res = await api.call('GET', `/apps/conf-app/releases/${r}`)
      assert.equal(res.status, 404, r)
      assert.equal(res.body.id, 'not_found')
    }
  })

  test("a release's config vars are the ones it was made with", async () => {
    const [, second] = releases()
    const v1 = await api.call('GET', '/apps/conf-app/releases/1/config-vars')
    assert.equal(v1.status, 200)
    assert.deepEqual(v1.body, {})
    const v2 = await api.call('GET', `/apps/conf-app/releases/${second!.id}/config-vars`)
    assert.equal(v2.status, 200)
    assert.deepEqual(v2.body, { A: '1', B: 'two' })
    const current = releases().at(-1)!
    assert.deepEqual(
      (await api.call('GET', `/apps/conf-app/releases/${current.version}/config-vars`)).body,
      (await api.call('GET', '/apps/conf-app/config-vars')).body,
    )
  })

  test('config vars of an unknown release, or of an app the caller cannot see, are not found', async () => {
    for (const path of [
      '/apps/conf-app/releases/999/config-vars',
      '/apps/conf-app/releases/00000000-0000-4000-8000-000000000000/config-vars',
      '/apps/no-such-app/releases/1/config-vars',
    ]) {
      const res = await api.call('GET', path)
      assert.equal(res.status, 404, path)
      assert.equal(res.body.id, 'not_found')
    }
    const stranger = api.user('release-stranger@example.com')
    const res = await api.call('GET', '/apps/conf-app/releases/1/config-vars', undefined, {
      key: stranger,
    })
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
  })

  test('rolling back to a release restores its config in a new release', async () => {
    const latest = releases().at(-1)!.version
    const res = await api.call('POST', '/apps/conf-app/releases', { release: '2' })
    assert.equal(res.status, 201)
    assert.equal(res.body.version, latest + 1)
    assert.equal(res.body.description, 'Rollback to v2')
    assert.equal(res.body.current, true)
    assert.deepEqual((await api.call('GET', '/apps/conf-app/config-vars')).body, {
      A: '1',
      B: 'two',
    })
  })

  test('a rollback may name the release by id or as a number', async () => {
    const [first] = releases()
    const byId = await api.call('POST', '/apps/conf-app/releases', { release: first!.id })
    assert.equal(byId.status, 201)
    assert.deepEqual((await api.call('GET', '/apps/conf-app/config-vars')).body, {})
    const byNumber = await api.call('POST', '/apps/conf-app/releases', {
      release: 4,
      description: 'back to C',
    })
    assert.equal(byNumber.status, 201)
    assert.equal(byNumber.body.description, 'back to C')
    assert.deepEqual((await api.call('GET', '/apps/conf-app/config-vars')).body, { C: '3' })
  })

  test('rolling back to an unknown release is not found and makes no release', async () => {
    const before = releases().length
    const res = await api.call('POST', '/apps/conf-app/releases', { release: '999' })
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
    assert.equal(releases().length, before)
  })

  test('config of an unknown app is not found', async () => {
    const res = await api.call('GET', '/apps/no-such-app/config-vars')
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
  })
})
