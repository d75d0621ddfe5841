import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('apps', () => {
  let api: TestApi
  let member: string
  let outsider: string
  before(async () => {
    api = await startTestApi({ domain: 'example.test', apiUrl: 'http://127.0.0.1:5000' })
    member = api.user('member@example.com')
    outsider = api.user('outsider@example.com')
    assert.equal((await api.call('POST', '/teams', { name: 'acme' })).status, 201)
    await api.call('PUT', '/teams/acme/members', { email: 'member@example.com', role: 'member' })
    assert.equal(
      (await api.call('POST', '/spaces', { name: 'prod', team: 'acme', region: 'tokyo' })).status,
      201,
    )
  })
  after(() => api.close())

  test('an app created outside a space runs in the us region', async () => {
    const res = await api.call('POST', '/apps', { name: 'plain-app' })
    assert.equal(res.status, 201)
    assert.equal(res.body.name, 'plain-app')
    assert.equal(res.body.region.name, 'us')
    assert.equal(res.body.space, null)
    assert.equal(res.body.team, null)
    assert.equal(res.body.internal_routing, null)
    assert.equal(res.body.owner.email, 'admin@localspace.localhost')
    assert.equal(res.body.web_url, 'http://plain-app.example.test:8080/')
    assert.equal(res.body.git_url, 'http://127.0.0.1:5000/plain-app.git')
  })

  test('an app created without a name gets a generated one', async () => {
    const res = await api.call('POST', '/apps', {})
    assert.equal(res.status, 201)
    assert.match(res.body.name, /^[a-z]+-[a-z]+-\d{5}$/)
    const bare = await api.call('POST', '/apps')
    assert.equal(bare.status, 201, 'no body at all is no fields')
    assert.notEqual(bare.body.name, res.body.name)
  })

  test('an app in a common runtime region other than us can be created', async () => {
    const res = await api.call('POST', '/apps', { name: 'euro-app', region: 'eu' })
    assert.equal(res.status, 201)
    assert.equal(res.body.region.name, 'eu')
  })

  test('a private space region outside a space is rejected with invalid_params', async () => {
    const res = await api.call('POST', '/apps', { name: 'lost-app', region: 'tokyo' })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
    assert.equal(api.store.apps.find('lost-app'), undefined)
  })

  test('an app in a space runs in the space region', async () => {
    const res = await api.call('POST', '/teams/apps', { name: 'space-app', space: 'prod' })
    assert.equal(res.status, 201)
    assert.equal(res.body.region.name, 'tokyo')
    assert.equal(res.body.space.name, 'prod')
    assert.equal(res.body.space.shield, false)
    assert.equal(res.body.team.name, 'acme')
    assert.equal(res.body.internal_routing, false)
  })

  test('an app in a space may name the space region explicitly', async () => {
    const res = await api.call('POST', '/teams/apps', {
      name: 'explicit-app',
      space: 'prod',
      region: 'tokyo',
      team: 'acme',
      stack: 'heroku-24',
      locked: false,
    })
    assert.equal(res.status, 201)
    assert.equal(res.body.region.name, 'tokyo')
  })

  test('an app in a space with another region is rejected with invalid_params', async () => {
    const res = await api.call('POST', '/teams/apps', {
      name: 'wrong-region',
      space: 'prod',
      region: 'oregon',
    })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
    assert.equal(api.store.apps.find('wrong-region'), undefined)
  })

  test('an app in a space of another team is rejected with invalid_params', async () => {
    await api.call('POST', '/teams', { name: 'other' })
    const res = await api.call('POST', '/teams/apps', {
      name: 'wrong-team',
      space: 'prod',
      team: 'other',
    })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
  })

  test('an internal routing app is created in a space', async () => {
    const res = await api.call('POST', '/teams/apps', {
      name: 'internal-app',
      space: 'prod',
      internal_routing: true,
    })
    assert.equal(res.status, 201)
    assert.equal(res.body.internal_routing, true)
  })

  test('internal routing without a space is rejected with invalid_params', async () => {
    const res = await api.call('POST', '/teams/apps', {
      name: 'internal-nowhere',
      team: 'acme',
      internal_routing: true,
    })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
    assert.equal(api.store.apps.find('internal-nowhere'), undefined)
  })

  test('a team app without a space belongs to the team', async () => {
    const res = await api.call('POST', '/teams/apps', { name: 'team-app', team: 'acme' })
    assert.equal(res.status, 201)
    assert.equal(res.body.team.name, 'acme')
    assert.equal(res.body.space, null)
    assert.equal(res.body.region.name, 'us')
  })

  test('app names follow heroku’s rules', async () => {
    for (const name of ['ab', 'Upper', '1app', 'app-', 'under_score', 'a'.repeat(31), '']) {
      const res = await api.call('POST', '/apps', { name })
      assert.equal(res.status, 422, JSON.stringify(name))
      assert.equal(res.body.id, 'invalid_params')
    }
    const ok = await api.call('POST', '/apps', { name: `a${'b'.repeat(28)}c` })
    assert.equal(ok.status, 201, '30 characters is the maximum')
  })

  test('a taken app name is rejected with invalid_params', async () => {
    const res = await api.call('POST', '/teams/apps', { name: 'plain-app', space: 'prod' })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
  })

  test('an unknown stack is rejected with invalid_params', async () => {
    const res = await api.call('POST', '/apps', { name: 'old-stack', stack: 'cedar-14' })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
  })

  test('app info works by name and by id, under /apps and /teams/apps', async () => {
    const byName = await api.call('GET', '/apps/space-app')
    assert.equal(byName.status, 200)
    const byId = await api.call('GET', `/apps/${byName.body.id}`)
    assert.equal(byId.status, 200)
    assert.equal(byId.body.name, 'space-app')
    const team = await api.call('GET', '/teams/apps/space-app')
    assert.equal(team.status, 200)
    assert.equal(team.body.id, byName.body.id)
  })

  test('team apps are listed under the team', async () => {
    const res = await api.call('GET', '/teams/acme/apps', undefined, { key: member })
    assert.equal(res.status, 200)
    assert.deepEqual((res.body as any[]).map((a) => a.name as string).sort(), [
      'explicit-app',
      'internal-app',
      'space-app',
      'team-app',
    ])
  })

  test('a team member sees team apps but not other people’s personal apps', async () => {
    const list = await api.call('GET', '/apps', undefined, { key: member })
    const names = (list.body as any[]).map((a) => a.name as string)
    assert.ok(names.includes('space-app'))
    assert.ok(!names.includes('plain-app'))
    assert.equal((await api.call('GET', '/apps/space-app', undefined, { key: member })).status, 200)
    const personal = await api.call('GET', '/apps/plain-app', undefined, { key: member })
    assert.equal(personal.status, 404)
    assert.equal(personal.body.id, 'not_found')
  })

  test('a user not in the team cannot see its apps', async () => {
    const res = await api.call('GET', '/apps/space-app', undefined, { key: outsider })
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
    assert.equal(res.body.resource, 'app')
    const list = await api.call('GET', '/apps', undefined, { key: outsider })
    assert.deepEqual(list.body, [])
    const team = await api.call('GET', '/teams/acme/apps', undefined, { key: outsider })
    assert.equal(team.status, 404)
    const patch = await api.call(
      'PATCH',
      '/apps/space-app',
      { maintenance: true },
      {
        key: outsider,
      },
    )
    assert.equal(patch.status, 404)
    const del = await api.call('DELETE', '/apps/space-app', undefined, { key: outsider })
    assert.equal(del.status, 404)
    assert.ok(api.store.apps.find('space-app'))
  })

  test('a user creates personal apps and a team member creates apps in the team space', async () => {
    const own = await api.call('POST', '/apps', { name: 'outsider-app' }, { key: outsider })
    assert.equal(own.status, 201)
    assert.equal(own.body.owner.email, 'outsider@example.com')
    const mine = await api.call('GET', '/apps', undefined, { key: outsider })
    assert.deepEqual(
      (mine.body as any[]).map((a) => a.name as string),
      ['outsider-app'],
    )
    const inSpace = await api.call(
      'POST',
      '/teams/apps',
      { name: 'member-app', space: 'prod' },
      { key: member },
    )
    assert.equal(inSpace.status, 201)
    const notMine = await api.call(
      'POST',
      '/teams/apps',
      { name: 'outsider-space-app', space: 'prod' },
      { key: outsider },
    )
    assert.equal(notMine.status, 404)
  })

  test('renaming an app keeps its id', async () => {
    const before = await api.call('GET', '/apps/team-app')
    const res = await api.call('PATCH', '/apps/team-app', { name: 'renamed-app' })
    assert.equal(res.status, 200)
    assert.equal(res.body.name, 'renamed-app')
    assert.equal(res.body.id, before.body.id)
    assert.equal((await api.call('GET', '/apps/team-app')).status, 404)
    assert.equal((await api.call('GET', `/apps/${before.body.id}`)).body.name, 'renamed-app')
  })

  test('renaming an app to a taken or invalid name is rejected with invalid_params', async () => {
    for (const name of ['space-app', 'Bad Name']) {
      const res = await api.call('PATCH', '/apps/renamed-app', { name })
      assert.equal(res.status, 422, name)
      assert.equal(res.body.id, 'invalid_params')
    }
    assert.ok(api.store.apps.find('renamed-app'))
  })

  test('maintenance mode is switched on and off with patch', async () => {
    const on = await api.call('PATCH', '/apps/space-app', { maintenance: true })
    assert.equal(on.status, 200)
    assert.equal(on.body.maintenance, true)
    assert.equal((await api.call('GET', '/apps/space-app')).body.maintenance, true)
    const off = await api.call('PATCH', '/teams/apps/space-app', { maintenance: false })
    assert.equal(off.body.maintenance, false)
  })

  test('a team member who does not own a team app cannot destroy it', async () => {
    const res = await api.call('DELETE', '/apps/space-app', undefined, { key: member })
    assert.equal(res.status, 403)
    assert.equal(res.body.id, 'forbidden')
    assert.ok(api.store.apps.find('space-app'))
  })

  test('the owner destroys an app and everything of it goes', async () => {
    const app = api.store.apps.find('member-app')!
    await api.call('PATCH', '/apps/member-app/config-vars', { A: '1' }, { key: member })
    const res = await api.call('DELETE', '/apps/member-app', undefined, { key: member })
    assert.equal(res.status, 200)
    assert.equal(res.body.name, 'member-app')
    assert.equal((await api.call('GET', '/apps/member-app')).status, 404)
    assert.deepEqual(api.store.releases.list(app.id), [])
    assert.equal(api.store.apps.find(app.id), undefined)
  })

  test('a space whose apps are all destroyed can be destroyed', async () => {
    for (const name of ['space-app', 'explicit-app', 'internal-app']) {
      assert.equal((await api.call('DELETE', `/apps/${name}`)).status, 200)
    }
    assert.equal((await api.call('DELETE', '/spaces/prod')).status, 200)
  })
})
