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
