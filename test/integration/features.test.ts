import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('app features', () => {
  let api: TestApi
  let appId: string
  before(async () => {
    api = await startTestApi()
    await api.call('POST', '/teams', { name: 'acme' })
    await api.call('POST', '/spaces', { name: 'prod', team: 'acme' })
    const created = await api.call('POST', '/teams/apps', { name: 'feat-app', space: 'prod' })
    appId = created.body.id
  })
  after(() => api.close())

  test('the feature list has dns discovery enabled by default', async () => {
    const res = await api.call('GET', '/apps/feat-app/features')
    assert.equal(res.status, 200)
    const dns = (res.body as any[]).find((f) => f.name === 'spaces-dns-discovery')
    assert.ok(dns)
    assert.equal(dns.enabled, true)
    assert.equal(dns.description, 'Enable DNS service discovery')
    assert.equal(dns.state, 'general')
  })

  test('a feature is found by name and by id', async () => {
    const byName = await api.call('GET', '/apps/feat-app/features/spaces-dns-discovery')
    assert.equal(byName.status, 200)
    assert.equal(byName.body.enabled, true)
    const byId = await api.call('GET', `/apps/feat-app/features/${byName.body.id}`)
    assert.equal(byId.status, 200)
    assert.equal(byId.body.name, 'spaces-dns-discovery')
  })

  test('an unknown feature is not found', async () => {
    const res = await api.call('GET', '/apps/feat-app/features/preboot')
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
    const patch = await api.call('PATCH', '/apps/feat-app/features/preboot', { enabled: true })
    assert.equal(patch.status, 404)
    assert.deepEqual(api.store.apps.features(appId), [])
  })

  test('disabling a feature is stored and reported', async () => {
    const changed: string[] = []
    const off = api.events.on('app.changed', (id) => changed.push(id))
    const res = await api.call('PATCH', '/apps/feat-app/features/spaces-dns-discovery', {
      enabled: false,
    })
    off()
    assert.equal(res.status, 200)
    assert.equal(res.body.enabled, false)
    assert.deepEqual(changed, [appId])
    const info = await api.call('GET', '/apps/feat-app/features/spaces-dns-discovery')
    assert.equal(info.body.enabled, false)
    const list = await api.call('GET', '/apps/feat-app/features')
    assert.equal((list.body as any[]).find((f) => f.name === 'spaces-dns-discovery').enabled, false)
  })

  test('enabling it again turns it back on', async () => {
    const res = await api.call('PATCH', '/apps/feat-app/features/spaces-dns-discovery', {
      enabled: true,
    })
    assert.equal(res.status, 200)
    assert.equal(res.body.enabled, true)
    assert.deepEqual(
      api.store.apps.features(appId).map((f) => [f.name, f.enabled]),
      [['spaces-dns-discovery', true]],
    )
  })

  test('enabled must be a boolean', async () => {
    for (const body of [{ enabled: 'true' }, { enabled: 1 }, {}]) {
      const res = await api.call('PATCH', '/apps/feat-app/features/spaces-dns-discovery', body)
      assert.equal(res.status, 422, JSON.stringify(body))
      assert.equal(res.body.id, 'invalid_params')
    }
    assert.equal(api.store.apps.features(appId)[0]!.enabled, true)
  })

  test('features of an app the caller cannot see are not found', async () => {
    const key = api.user('outsider@example.com')
    const res = await api.call('GET', '/apps/feat-app/features', undefined, { key })
    assert.equal(res.status, 404)
  })
})
