import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { emptyRuntimeView, type DynoView } from '../../src/core/runtime-view.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('formation and dynos', () => {
  let api: TestApi
  let spaceAppId: string
  /** What the runtime reports running (a test sets it). */
  let running: DynoView[] = []
  before(async () => {
    api = await startTestApi({ runtime: { ...emptyRuntimeView(), dynos: () => running } })
    await api.call('POST', '/teams', { name: 'acme' })
    await api.call('POST', '/spaces', { name: 'prod', team: 'acme', shield: true })
    const inSpace = await api.call('POST', '/teams/apps', { name: 'space-app', space: 'prod' })
    assert.equal(inSpace.status, 201)
    spaceAppId = inSpace.body.id
    assert.equal((await api.call('POST', '/apps', { name: 'common-app' })).status, 201)
  })
  after(() => api.close())

  const formation = (appId: string) =>
    Object.fromEntries(api.store.releases.formation(appId).map((f) => [f.type, f]))

  test('a new app has no formation', async () => {
    const res = await api.call('GET', '/apps/space-app/formation')
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, [])
  })

  test('a batch update takes string and relative quantities, as ps:scale sends them', async () => {
    const changes: string[] = []
    const off = api.events.on('formation.changed', (id) => changes.push(id))
    const res = await api.call('PATCH', '/apps/space-app/formation', {
      updates: [
        { type: 'web', quantity: '3', size: 'Private-M' },
        { type: 'worker', quantity: '+1' },
      ],
    })
    off()
    assert.equal(res.status, 200)
    assert.deepEqual(
      (res.body as any[])
        .map((f) => [
          f.type as string,
          f.quantity as number,
          f.size as string,
          f.dyno_size.name as string,
        ])
        .sort(),
      [
        ['web', 3, 'Private-M', 'Private-M'],
        ['worker', 1, 'Private-S', 'Private-S'],
      ],
    )
    assert.deepEqual(changes, [spaceAppId])
  })

  test('relative quantities apply to the current count', async () => {
    const res = await api.call('PATCH', '/apps/space-app/formation', {
      updates: [
        { type: 'web', quantity: '-1' },
        { type: 'worker', quantity: '+2' },
      ],
    })
    assert.equal(res.status, 200)
    const f = formation(spaceAppId)
    assert.equal(f.web!.quantity, 2)
    assert.equal(f.worker!.quantity, 3)
    assert.equal(f.web!.size, 'Private-M', 'an update without a size keeps it')
  })

  test('integer quantities are taken as they are', async () => {
    const res = await api.call('PATCH', '/apps/space-app/formation', {
      updates: [{ type: 'worker', quantity: 0 }],
    })
    assert.equal(res.status, 200)
    assert.equal(res.body[0].quantity, 0)
  })

  test('size names are matched case-insensitively', async () => {
    const res = await api.call('PATCH', '/apps/space-app/formation', {
      updates: [{ type: 'web', size: 'private-l' }],
    })
    assert.equal(res.status, 200)
    assert.equal(res.body[0].size, 'Private-L')
    assert.equal(res.body[0].quantity, 2)
  })

  test('shield sizes are the private sizes', async () => {
    const res = await api.call('PATCH', '/apps/space-app/formation', {
      updates: [{ type: 'web', size: 'Shield-M' }],
    })
    assert.equal(res.status, 200)
    assert.equal(res.body[0].size, 'Private-M')
  })

  test('common runtime sizes are refused in a space', async () => {
    const before = JSON.stringify(formation(spaceAppId))
    for (const size of ['Standard-1X', 'basic', 'Performance-M']) {
      const res = await api.call('PATCH', '/apps/space-app/formation', {
        updates: [{ type: 'web', size }],
      })
      assert.equal(res.status, 422, size)
      assert.equal(res.body.id, 'invalid_params')
    }
    assert.equal(JSON.stringify(formation(spaceAppId)), before)
  })

  test('private sizes are refused outside a space and common sizes work there', async () => {
    const refused = await api.call('PATCH', '/apps/common-app/formation', {
      updates: [{ type: 'web', quantity: 1, size: 'Private-S' }],
    })
    assert.equal(refused.status, 422)
    assert.equal(refused.body.id, 'invalid_params')
    const ok = await api.call('PATCH', '/apps/common-app/formation', {
      updates: [{ type: 'web', quantity: 1, size: 'standard-2x' }],
    })
    assert.equal(ok.status, 200)
    assert.equal(ok.body[0].size, 'Standard-2X')
    const defaulted = await api.call('PATCH', '/apps/common-app/formation', {
      updates: [{ type: 'worker', quantity: 1 }],
    })
    assert.equal(defaulted.body[0].size, 'Standard-1X')
  })

  test('a batch with one bad update changes nothing', async () => {
    const before = JSON.stringify(formation(spaceAppId))
    const bad = [
      { type: 'web', quantity: '-5' },
      { type: 'web', quantity: '101' },
      { type: 'web', quantity: 'lots' },
      { type: 'web', quantity: '1.5' },
      { type: 'web', size: 'Huge' },
      { type: 'bad type!', quantity: 1 },
    ]
    for (const update of bad) {
      const res = await api.call('PATCH', '/apps/space-app/formation', {
        updates: [{ type: 'worker', quantity: 7 }, update],
      })
      assert.equal(res.status, 422, JSON.stringify(update))
      assert.equal(res.body.id, 'invalid_params')
    }
    assert.equal(JSON.stringify(formation(spaceAppId)), before)
  })

  test('formation info works by process type and by id', async () => {
    const byType = await api.call('GET', '/apps/space-app/formation/web')
    assert.equal(byType.status, 200)
    assert.equal(byType.body.type, 'web')
    assert.equal(byType.body.app.name, 'space-app')
    const byId = await api.call('GET', `/apps/space-app/formation/${byType.body.id}`)
    assert.equal(byId.status, 200)
    assert.equal(byId.body.type, 'web')
  })

  test('an unknown process type is not found', async () => {
    const res = await api.call('GET', '/apps/space-app/formation/clock')
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
  })

  test('one process type is updated through its own path', async () => {
    const res = await api.call('PATCH', '/apps/space-app/formation/web', { quantity: '+1' })
    assert.equal(res.status, 200)
    assert.equal(res.body.type, 'web')
    assert.equal(res.body.quantity, 3)
  })

  test('the formation list has every process type', async () => {
    const res = await api.call('GET', '/apps/space-app/formation')
    assert.deepEqual((res.body as any[]).map((f) => f.type as string).sort(), ['web', 'worker'])
  })

  test('the dyno list is empty until the runtime runs dynos', async () => {
    const res = await api.call('GET', '/apps/space-app/dynos')
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, [])
    const one = await api.call('GET', '/apps/space-app/dynos/web.1')
    assert.equal(one.status, 404)
    assert.equal(one.body.id, 'not_found')
  })

  test('restart and stop are accepted with 202 and passed on as events', async () => {
    const now = new Date().toISOString()
    running = [
      {
        ...{ id: 'd1', name: 'web.1', type: 'web', command: 'npm start', size: 'Private-M' },
        ...{ state: 'up', releaseId: 'r1', releaseVersion: 1, privateIp: null },
        ...{ createdAt: now, updatedAt: now },
      },
    ]
    const seen: unknown[] = []
    const off = api.events.on('dynos.action', (appId, action, target) =>
      seen.push([appId, action, target]),
    )
    const calls: Array<[string, string]> = [
      ['DELETE', '/apps/space-app/dynos'],
      ['DELETE', '/apps/space-app/dynos/web.1'],
      ['DELETE', '/apps/space-app/formations/web'],
      ['POST', '/apps/space-app/dynos/web.1/actions/stop'],
      ['POST', '/apps/space-app/formations/worker/actions/stop'],
    ]
    for (const [method, path] of calls) {
      const res = await api.call(method, path)
      assert.equal(res.status, 202, `${method} ${path}`)
      assert.deepEqual(res.body, {})
    }
    off()
    assert.deepEqual(seen, [
      [spaceAppId, 'restart', undefined],
      [spaceAppId, 'restart', { name: 'web.1' }],
      [spaceAppId, 'restart', { type: 'web' }],
      [spaceAppId, 'stop', { name: 'web.1' }],
      [spaceAppId, 'stop', { type: 'worker' }],
    ])
  })

  test('a stop or restart of a dyno or process type that does not exist is a 404', async () => {
    const seen: unknown[] = []
    const off = api.events.on('dynos.action', (...args) => seen.push(args))
    const calls: Array<[string, string, RegExp]> = [
      ['POST', '/apps/space-app/dynos/web.7/actions/stop', /has no dyno web\.7/],
      ['DELETE', '/apps/space-app/dynos/run.1234', /has no dyno run\.1234/],
      ['POST', '/apps/space-app/formations/clock/actions/stop', /has no process type clock/],
      ['DELETE', '/apps/space-app/formations/clock', /has no process type clock/],
    ]
    for (const [method, path, message] of calls) {
      const res = await api.call(method, path)
      assert.equal(res.status, 404, `${method} ${path}`)
      assert.equal(res.body.id, 'not_found')
      assert.match(res.body.message, message)
    }
    off()
    running = []
    assert.deepEqual(seen, [], 'nothing is passed on')
  })

  test('formation of an app the caller cannot see is not found', async () => {
    const key = api.user('outsider@example.com')
    const res = await api.call(
      'PATCH',
      '/apps/space-app/formation',
      { updates: [{ type: 'web', quantity: 0 }] },
      { key },
    )
    assert.equal(res.status, 404)
    assert.equal(
      (await api.call('DELETE', '/apps/space-app/dynos', undefined, { key })).status,
      404,
    )
    assert.equal(formation(spaceAppId).web!.quantity, 3)
  })
})
