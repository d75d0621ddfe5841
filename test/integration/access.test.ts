/**
 * Who may use an app besides its owner (`heroku access`), how apps change hands
 * (`heroku apps:transfer`), and team roles as `heroku members` sets them.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('collaborators, transfers and team roles', () => {
  let api: TestApi
  let owner: string
  let friend: string
  let stranger: string
  let teamAdmin: string
  let teamMember: string
  before(async () => {
    api = await startTestApi()
    owner = api.user('owner@example.com')
    friend = api.user('friend@example.com')
    stranger = api.user('stranger@example.com')
    teamAdmin = api.user('team-admin@example.com')
    teamMember = api.user('team-member@example.com')
    assert.equal((await api.call('POST', '/apps', { name: 'own-app' }, { key: owner })).status, 201)
    await api.call('POST', '/teams', { name: 'crew' }, { key: teamAdmin })
    await api.call(
      'PUT',
      '/teams/crew/members',
      { email: 'team-member@example.com', role: 'member' },
      { key: teamAdmin },
    )
    await api.call('POST', '/teams/apps', { name: 'crew-app', team: 'crew' }, { key: teamAdmin })
  })
  after(() => api.close())

  test('the owner adds a collaborator, who may then use the app but not destroy it', async () => {
    assert.equal((await api.call('GET', '/apps/own-app', undefined, { key: friend })).status, 404)
    const added = await api.call(
      'POST',
      '/apps/own-app/collaborators',
      { user: 'friend@example.com' },
      { key: owner },
    )
    assert.equal(added.status, 201)
    assert.equal(added.body.user.email, 'friend@example.com')
    assert.equal(added.body.role, 'collaborator')
    const list = await api.call('GET', '/apps/own-app/collaborators', undefined, { key: friend })
    assert.deepEqual(
      (list.body as Array<{ user: { email: string }; role: string }>)
        .map((c) => [c.user.email, c.role])
        .sort(),
      [
        ['friend@example.com', 'collaborator'],
        ['owner@example.com', 'owner'],
      ],
    )
    const set = await api.call('PATCH', '/apps/own-app/config-vars', { K: 'v' }, { key: friend })
    assert.equal(set.status, 200)
    const apps = await api.call('GET', '/apps', undefined, { key: friend })
    assert.ok(
      (apps.body as any[]).some((a) => a.name === 'own-app'),
      'listed for the collaborator',
    )
    const destroy = await api.call('DELETE', '/apps/own-app', undefined, { key: friend })
    assert.equal(destroy.status, 403)
    const more = await api.call(
      'POST',
      '/apps/own-app/collaborators',
      { user: 'stranger@example.com' },
      { key: friend },
    )
    assert.equal(more.status, 403, 'only the owner says who else may use it')
  })

  test('bad collaborator requests are refused and change nothing', async () => {
    const cases: Array<[unknown, number, RegExp]> = [
      [{ user: 'friend@example.com' }, 422, /already a collaborator/],
      [{ user: 'owner@example.com' }, 422, /owns own-app/],
      [{ user: 'nobody@example.com' }, 404, /Couldn't find an account/],
      [{}, 422, /user/],
    ]
    for (const [body, status, message] of cases) {
      const res = await api.call('POST', '/apps/own-app/collaborators', body, { key: owner })
      assert.equal(res.status, status, JSON.stringify(body))
      assert.match(res.body.message, message)
    }
    const list = await api.call('GET', '/apps/own-app/collaborators', undefined, { key: owner })
    assert.equal((list.body as any[]).length, 2)
  })

  test('removing a collaborator takes their access away', async () => {
    const removed = await api.call(
      'DELETE',
      '/apps/own-app/collaborators/friend@example.com',
      undefined,
      { key: owner },
    )
    assert.equal(removed.status, 200)
    assert.equal((await api.call('GET', '/apps/own-app', undefined, { key: friend })).status, 404)
  })

  test('a team app lists the team by role; its access is changed through members', async () => {
    const list = await api.call('GET', '/apps/crew-app/collaborators', undefined, {
      key: teamMember,
    })
    const rows = (list.body as any[]).map((c): unknown[] => [
      c.user.email,
      c.role,
      (c.permissions as Array<{ name: string }>).map((p) => p.name).join(','),
    ])
    assert.deepEqual(rows.sort(), [
      ['team-admin@example.com', 'admin', 'deploy,manage,operate,view'],
      ['team-member@example.com', 'member', 'deploy,operate,view'],
    ])
    const perms = await api.call('GET', '/teams/permissions')
    assert.deepEqual((perms.body as Array<{ name: string }>).map((p) => p.name).sort(), [
      'deploy',
      'manage',
      'operate',
      'view',
    ])
    for (const [method, path, body] of [
      ['POST', '/teams/apps/crew-app/collaborators', { user: 'friend@example.com' }],
      ['POST', '/apps/crew-app/collaborators', { user: 'friend@example.com' }],
      ['PATCH', '/teams/apps/crew-app/collaborators/friend@example.com', { permissions: ['view'] }],
    ] as const) {
      const res = await api.call(method, path, body, { key: teamAdmin })
      assert.equal(res.status, 422, `${method} ${path}`)
      assert.match(res.body.message, /follows the roles of team crew: .*members:add/)
    }
    assert.equal((await api.call('GET', '/apps/crew-app', undefined, { key: friend })).status, 404)
  })

  test('leaving (apps:leave) is refused with what to do for the owner and for team members', async () => {
    const owned = await api.call(
      'DELETE',
      '/apps/own-app/collaborators/owner@example.com',
      undefined,
      { key: owner },
    )
    assert.equal(owned.status, 422)
    assert.equal(owned.body.id, 'invalid_params')
    assert.match(owned.body.message, /^You own own-app: transfer it .* or destroy it/)
    for (const [email, key] of [
      ['team-member@example.com', teamMember],
      ['team-admin@example.com', teamAdmin],
    ] as const) {
      const res = await api.call('DELETE', `/apps/crew-app/collaborators/${email}`, undefined, {
        key,
      })
      assert.equal(res.status, 422, email)
      assert.match(res.body.message, /^crew-app is a team app: .*a team admin removes you/)
      assert.match(res.body.message, new RegExp(`members:remove ${email} --team crew`))
    }
    // Nothing changed: the owner and the team still have the apps.
    assert.equal((await api.call('GET', '/apps/own-app', undefined, { key: owner })).status, 200)
    const crew = await api.call('GET', '/apps/crew-app', undefined, { key: teamMember })
    assert.equal(crew.status, 200)
    // A stranger still does not learn the app exists.
    const hidden = await api.call(
      'DELETE',
      '/apps/own-app/collaborators/stranger@example.com',
      undefined,
      { key: stranger },
    )
    assert.equal(hidden.status, 404)
  })

  test('members take the roles admin and member; other roles are refused', async () => {
    for (const role of ['viewer', 'collaborator', 'owner']) {
      const res = await api.call(
        'PUT',
        '/teams/crew/members',
        { email: 'friend@example.com', role },
        { key: teamAdmin },
      )
      assert.equal(res.status, 422, role)
      assert.match(res.body.message, /two roles, admin .* and member/)
    }
    const members = await api.call('GET', '/teams/crew/members', undefined, { key: teamAdmin })
    assert.equal((members.body as any[]).length, 2, 'nobody was added')
    const features = await api.call('GET', '/teams/crew/features', undefined, { key: teamMember })
    assert.deepEqual(features.body, [])
    const hidden = await api.call('GET', '/teams/crew/features', undefined, { key: stranger })
    assert.equal(hidden.status, 404)
  })

  test('a personal app goes into a team its owner belongs to, and out again by a team admin', async () => {
    await api.call('POST', '/apps', { name: 'moving-app' }, { key: teamMember })
    const notMine = await api.call(
      'PATCH',
      '/teams/apps/moving-app',
      { owner: 'crew' },
      { key: friend },
    )
    assert.equal(notMine.status, 404)
    const foreignTeam = await api.call('POST', '/teams', { name: 'other-crew' }, { key: stranger })
    assert.equal(foreignTeam.status, 201)
    const notMember = await api.call(
      'PATCH',
      '/teams/apps/moving-app',
      { owner: 'other-crew' },
      { key: teamMember },
    )
    assert.equal(notMember.status, 404, 'a team the owner is not in')
    const moved = await api.call(
      'PATCH',
      '/teams/apps/moving-app',
      { owner: 'crew' },
      { key: teamMember },
    )
    assert.equal(moved.status, 200)
    assert.equal(moved.body.team.name, 'crew')
    // Out of the team: its admins decide, not whoever made it.
    const byMember = await api.call(
      'PATCH',
      '/teams/apps/moving-app',
      { owner: 'friend@example.com' },
      { key: teamMember },
    )
    assert.equal(byMember.status, 403)
    const out = await api.call(
      'PATCH',
      '/teams/apps/moving-app',
      { owner: 'friend@example.com' },
      { key: teamAdmin },
    )
    assert.equal(out.status, 200)
    assert.equal(out.body.team, null)
    assert.equal(out.body.owner.email, 'friend@example.com')
    assert.equal(
      (await api.call('GET', '/apps/moving-app', undefined, { key: teamMember })).status,
      404,
    )
  })

  test('an app in a space stays with its team', async () => {
    await api.call('POST', '/spaces', { name: 'crew-space', team: 'crew' }, { key: teamAdmin })
    await api.call(
      'POST',
      '/teams/apps',
      { name: 'spaced', space: 'crew-space' },
      { key: teamAdmin },
    )
    const res = await api.call(
      'PATCH',
      '/teams/apps/spaced',
      { owner: 'owner@example.com' },
      { key: teamAdmin },
    )
    assert.equal(res.status, 422)
    assert.match(res.body.message, /apps in a space stay with its team/)
    assert.equal(api.store.apps.find('spaced')?.teamName, 'crew')
  })

  test('between accounts: a pending transfer the recipient accepts', async () => {
    await api.call('POST', '/apps', { name: 'gift-app' }, { key: owner })
    await api.call(
      'POST',
      '/apps/gift-app/collaborators',
      { user: 'stranger@example.com' },
      { key: owner },
    )
    const direct = await api.call(
      'PATCH',
      '/teams/apps/gift-app',
      { owner: 'friend@example.com' },
      { key: owner },
    )
    assert.equal(direct.status, 422)
    assert.match(direct.body.message, /a transfer the recipient accepts/)
    const sent = await api.call(
      'POST',
      '/account/app-transfers',
      { app: 'gift-app', recipient: 'friend@example.com' },
      { key: owner },
    )
    assert.equal(sent.status, 201)
    assert.equal(sent.body.state, 'pending')
    const again = await api.call(
      'POST',
      '/account/app-transfers',
      { app: 'gift-app', recipient: 'friend@example.com' },
      { key: owner },
    )
    assert.equal(again.status, 422)
    const received = await api.call('GET', '/account/app-transfers', undefined, { key: friend })
    assert.deepEqual(
      (received.body as any[]).map((t): unknown[] => [t.app.name, t.state]),
      [['gift-app', 'pending']],
    )
    const hidden = await api.call('GET', `/account/app-transfers/${sent.body.id}`, undefined, {
      key: teamMember,
    })
    assert.equal(hidden.status, 404)
    const bySender = await api.call(
      'PATCH',
      `/account/app-transfers/${sent.body.id}`,
      { state: 'accepted' },
      { key: owner },
    )
    assert.equal(bySender.status, 403, 'the sender cannot accept for the recipient')
    const accepted = await api.call(
      'PATCH',
      `/account/app-transfers/${sent.body.id}`,
      { state: 'accepted' },
      { key: friend },
    )
    assert.equal(accepted.status, 200)
    assert.equal(accepted.body.state, 'accepted')
    const info = await api.call('GET', '/apps/gift-app', undefined, { key: friend })
    assert.equal(info.body.owner.email, 'friend@example.com')
    // The old owner and the old collaborators are out.
    assert.equal((await api.call('GET', '/apps/gift-app', undefined, { key: owner })).status, 404)
    assert.equal(
      (await api.call('GET', '/apps/gift-app', undefined, { key: stranger })).status,
      404,
    )
  })

  test('a declined transfer changes nothing', async () => {
    await api.call('POST', '/apps', { name: 'kept-app' }, { key: owner })
    const sent = await api.call(
      'POST',
      '/account/app-transfers',
      { app: 'kept-app', recipient: 'friend@example.com' },
      { key: owner },
    )
    const declined = await api.call(
      'PATCH',
      `/account/app-transfers/${sent.body.id}`,
      { state: 'declined' },
      { key: friend },
    )
    assert.equal(declined.body.state, 'declined')
    assert.equal(api.store.apps.find('kept-app')?.ownerEmail, 'owner@example.com')
    assert.deepEqual(
      (await api.call('GET', '/account/app-transfers', undefined, { key: friend })).body,
      [],
    )
  })
})
