import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('teams and members', () => {
  let api: TestApi
  let owner: string
  let member: string
  let outsider: string
  before(async () => {
    api = await startTestApi()
    owner = api.user('owner@example.com')
    member = api.user('member@example.com')
    outsider = api.user('outsider@example.com')
    api.user('second@example.com')
  })
  after(() => api.close())

  test('creating a team makes the creator its admin', async () => {
    const res = await api.call('POST', '/teams', { name: 'acme' }, { key: owner })
    assert.equal(res.status, 201)
    assert.equal(res.body.name, 'acme')
    assert.equal(res.body.role, 'admin')
    const members = await api.call('GET', '/teams/acme/members', undefined, { key: owner })
    assert.deepEqual(
      (members.body as any[]).map((m) => [m.email as string, m.role as string]),
      [['owner@example.com', 'admin']],
    )
  })

  test('creating a team with a taken name is rejected with invalid_params', async () => {
    const res = await api.call('POST', '/teams', { name: 'acme' })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
  })

  test('creating a team with an invalid name is rejected with invalid_params', async () => {
    for (const name of ['Acme', 'a', '1acme', 'acme-', 'ac_me', 'a'.repeat(31)]) {
      const res = await api.call('POST', '/teams', { name })
      assert.equal(res.status, 422, name)
      assert.equal(res.body.id, 'invalid_params')
    }
    assert.equal(api.store.teams.find('Acme'), undefined)
  })

  test('team info works by name and by id', async () => {
    const byName = await api.call('GET', '/teams/acme', undefined, { key: owner })
    assert.equal(byName.status, 200)
    const byId = await api.call('GET', `/teams/${byName.body.id}`, undefined, { key: owner })
    assert.equal(byId.status, 200)
    assert.equal(byId.body.name, 'acme')
    assert.equal(byId.body.role, 'admin')
  })

  test('a user outside a team cannot see it', async () => {
    const res = await api.call('GET', '/teams/acme', undefined, { key: outsider })
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
    const list = await api.call('GET', '/teams', undefined, { key: outsider })
    assert.deepEqual(list.body, [])
    const members = await api.call('GET', '/teams/acme/members', undefined, { key: outsider })
    assert.equal(members.status, 404)
  })

  test('the installation admin sees every team as admin', async () => {
    const list = await api.call('GET', '/teams')
    assert.ok((list.body as any[]).some((t) => t.name === 'acme' && t.role === 'admin'))
    const info = await api.call('GET', '/teams/acme')
    assert.equal(info.body.role, 'admin')
  })

  test('a team admin adds a member with put', async () => {
    const res = await api.call(
      'PUT',
      '/teams/acme/members',
      { email: 'member@example.com', role: 'member' },
      { key: owner },
    )
    assert.equal(res.status, 200)
    assert.equal(res.body.email, 'member@example.com')
    assert.equal(res.body.role, 'member')
    const list = await api.call('GET', '/teams', undefined, { key: member })
    assert.deepEqual(
      (list.body as any[]).map((t) => [t.name as string, t.role as string]),
      [['acme', 'member']],
    )
  })

  test('a member without a role given becomes a plain member', async () => {
    const res = await api.call(
      'PUT',
      '/teams/acme/members',
      { email: 'second@example.com' },
      { key: owner },
    )
    assert.equal(res.status, 200)
    assert.equal(res.body.role, 'member')
  })

  test('the members list shows every member with its role', async () => {
    const res = await api.call('GET', '/teams/acme/members', undefined, { key: member })
    assert.equal(res.status, 200)
    assert.deepEqual((res.body as any[]).map((m) => [m.email as string, m.role as string]).sort(), [
      ['member@example.com', 'member'],
      ['owner@example.com', 'admin'],
      ['second@example.com', 'member'],
    ])
  })

  test('a plain member cannot manage members', async () => {
    const put = await api.call(
      'PUT',
      '/teams/acme/members',
      { email: 'outsider@example.com', role: 'admin' },
      { key: member },
    )
    assert.equal(put.status, 403)
    assert.equal(put.body.id, 'forbidden')
    const del = await api.call('DELETE', '/teams/acme/members/second@example.com', undefined, {
      key: member,
    })
    assert.equal(del.status, 403)
    assert.equal(del.body.id, 'forbidden')
    assert.equal(api.store.teams.members(api.store.teams.find('acme')!.id).length, 3)
  })

  test('adding an unknown email is not found', async () => {
    const res = await api.call(
      'PUT',
      '/teams/acme/members',
      { email: 'ghost@example.com', role: 'member' },
      { key: owner },
    )
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
  })

  test('an unknown role is rejected with invalid_params', async () => {
    const res = await api.call(
      'PUT',
      '/teams/acme/members',
      { email: 'member@example.com', role: 'owner' },
      { key: owner },
    )
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
  })

  test('the last admin cannot be demoted', async () => {
    const res = await api.call(
      'PATCH',
      '/teams/acme/members',
      { email: 'owner@example.com', role: 'member' },
      { key: owner },
    )
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
    const team = api.store.teams.find('acme')!
    assert.equal(api.store.teams.adminCount(team.id), 1)
  })

  test('the last admin cannot be removed', async () => {
    const res = await api.call('DELETE', '/teams/acme/members/owner@example.com', undefined, {
      key: owner,
    })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
    const members = await api.call('GET', '/teams/acme/members', undefined, { key: owner })
    assert.ok((members.body as any[]).some((m) => m.email === 'owner@example.com'))
  })

  test('promoting a member makes a second admin, after which the first can step down', async () => {
    const promote = await api.call(
      'PATCH',
      '/teams/acme/members',
      { email: 'member@example.com', role: 'admin' },
      { key: owner },
    )
    assert.equal(promote.status, 200)
    assert.equal(promote.body.role, 'admin')
    const demote = await api.call(
      'PUT',
      '/teams/acme/members',
      { email: 'owner@example.com', role: 'member' },
      { key: member },
    )
    assert.equal(demote.status, 200)
    assert.equal(demote.body.role, 'member')
  })

  test('removing a member by email takes away access to the team', async () => {
    const res = await api.call('DELETE', '/teams/acme/members/second@example.com', undefined, {
      key: member,
    })
    assert.equal(res.status, 200)
    assert.equal(res.body.email, 'second@example.com')
    const key = api.user('third@example.com')
    await api.call('PUT', '/teams/acme/members', { email: 'third@example.com' }, { key: member })
    const info = await api.call('GET', '/teams/acme', undefined, { key })
    assert.equal(info.status, 200)
    const third = api.store.accounts.find('third@example.com')!
    const byId = await api.call('DELETE', `/teams/acme/members/${third.id}`, undefined, {
      key: member,
    })
    assert.equal(byId.status, 200)
    assert.equal((await api.call('GET', '/teams/acme', undefined, { key })).status, 404)
  })

  test('removing someone who is not a member is not found', async () => {
    const res = await api.call('DELETE', '/teams/acme/members/outsider@example.com', undefined, {
      key: member,
    })
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
  })
})

describe('a member removed from a team', () => {
  let api: TestApi
  let creator: string
  before(async () => {
    api = await startTestApi()
    creator = api.user('creator@example.com')
    assert.equal((await api.call('POST', '/teams', { name: 'removal' })).status, 201)
    await api.call('PUT', '/teams/removal/members', { email: 'creator@example.com' })
    const space = { name: 'removal-space', team: 'removal', region: 'tokyo' }
    assert.equal((await api.call('POST', '/spaces', space)).status, 201)
    const made = await api.call(
      'POST',
      '/teams/apps',
      { name: 'left-behind', space: 'removal-space' },
      { key: creator },
    )
    assert.equal(made.status, 201)
    assert.equal(made.body.owner.email, 'creator@example.com')
  })
  after(() => api.close())

  test('loses every kind of access to the team apps they created', async () => {
    // While a member, the creator uses the app, and opens a log session on it.
    const asCreator = { key: creator }
    assert.equal((await api.call('GET', '/apps/left-behind', undefined, asCreator)).status, 200)
    const logs = await api.call('POST', '/apps/left-behind/log-sessions', {}, asCreator)
    assert.equal(logs.status, 201)
    const logUrl = new URL(logs.body.logplex_url as string)

    const removed = await api.call('DELETE', '/teams/removal/members/creator@example.com')
    assert.equal(removed.status, 200)

    const app = api.store.apps.find('left-behind')!
    const denied = [
      ['GET', '/apps/left-behind', undefined],
      ['GET', `/apps/${app.id}`, undefined],
      ['GET', '/teams/apps/left-behind', undefined],
      ['PATCH', '/apps/left-behind', { maintenance: true }],
      ['GET', '/apps/left-behind/config-vars', undefined],
      ['PATCH', '/apps/left-behind/config-vars', { SECRET: 'stolen' }],
      ['POST', '/apps/left-behind/log-drains', { url: 'syslog+tls://logs.example.com:6514' }],
      ['POST', '/apps/left-behind/log-sessions', {}],
      ['POST', '/apps/left-behind/dynos', { command: 'bash' }],
      ['POST', '/apps/left-behind/builds', { source_blob: { url: 'https://example.com/a.tgz' } }],
      ['GET', '/apps/left-behind/builds', undefined],
      ['POST', '/apps/left-behind/sources', undefined],
      ['GET', '/apps/left-behind/releases', undefined],
      ['PATCH', '/apps/left-behind/formation', { updates: [{ type: 'web', quantity: 2 }] }],
      ['POST', '/apps/left-behind/domains', { hostname: 'www.left-behind.example' }],
      ['GET', '/apps/left-behind/sni-endpoints', undefined],
      ['DELETE', '/apps/left-behind', undefined],
    ] as const
    for (const [method, path, body] of denied) {
      const res = await api.call(method, path, body, asCreator)
      assert.equal(res.status, 404, `${method} ${path}`)
      assert.equal(res.body.id, 'not_found', `${method} ${path}`)
    }
    // Nothing changed: the app, its config, drains, builds and formation are as they were.
    assert.ok(api.store.apps.find(app.id))
    assert.equal(api.store.apps.find(app.id)!.maintenance, false)
    assert.deepEqual(api.store.releases.current(app.id)?.config ?? {}, {})
    assert.deepEqual(api.store.drains.forApp(app.id), [])
    assert.deepEqual(api.store.builds.list(app.id), [])
    assert.deepEqual(api.store.domains.forApp(app.id), [])

    // The app is not listed for them either.
    const list = await api.call('GET', '/apps', undefined, asCreator)
    assert.deepEqual(list.body, [])
    const own = await api.call('GET', '/users/~/apps', undefined, asCreator)
    assert.deepEqual(own.body, [])

    // The log session they opened while a member no longer reads the app's logs.
    const read = await api.server.inject({ method: 'GET', url: logUrl.pathname })
    assert.equal(read.statusCode, 404)

    // git push: the API key as password of HTTP Basic auth is refused as "not found".
    const basic = `Basic ${Buffer.from(`:${creator}`).toString('base64')}`
    for (const url of [
      '/left-behind.git/info/refs?service=git-receive-pack',
      '/left-behind.git/info/refs?service=git-upload-pack',
    ]) {
      const git = await api.server.inject({ method: 'GET', url, headers: { authorization: basic } })
      assert.equal(git.statusCode, 404, url)
    }
  })

  test('a member still uses, and may destroy, a team app they created', async () => {
    const key = api.user('stays@example.com')
    await api.call('PUT', '/teams/removal/members', { email: 'stays@example.com' })
    const made = await api.call(
      'POST',
      '/teams/apps',
      { name: 'stays-app', team: 'removal' },
      { key },
    )
    assert.equal(made.status, 201)
    const vars = await api.call('PATCH', '/apps/stays-app/config-vars', { A: '1' }, { key })
    assert.equal(vars.status, 200)
    assert.equal((await api.call('DELETE', '/apps/stays-app', undefined, { key })).status, 200)
  })
})
