/**
 * The official `heroku` CLI (11.x) for teams' members, app access, transfers, buildpacks,
 * stacks, labs and ps:stop/ps:kill, against a real daemon (docs/heroku-compat.md lists them).
 * Every JSON body the API answers is checked against Heroku's schema by the harness's proxy.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { ok, fails, flat, startCompat, tableRows, type Compat } from './harness.js'
import { sandboxed } from '../helpers/sandbox.js'

if (sandboxed(import.meta.url)) {
  describe('heroku members, access, apps:transfer, buildpacks, stack, labs, ps:stop', () => {
    const sfx = randomBytes(3).toString('hex')
    const team = `crew-${sfx}`
    const teamApp = `crew-app-${sfx}`
    const ownApp = `own-app-${sfx}`
    const friend = `friend-${sfx}@example.com`
    const colleague = `colleague-${sfx}@example.com`
    let c: Compat

    before(async () => {
      c = await startCompat()
      for (const email of [friend, colleague]) {
        assert.equal((await c.api('POST', '/localspace/accounts', { email })).status, 201)
      }
      assert.equal((await c.api('POST', '/teams', { name: team })).status, 201)
      assert.equal((await c.api('POST', '/teams/apps', { name: teamApp, team })).status, 201)
      assert.equal((await c.api('POST', '/apps', { name: ownApp })).status, 201)
    })
    after(async () => {
      await c?.stop()
    })

    test('members, members:add, members:set and members:remove', async () => {
      const added = ok(
        await c.heroku(['members:add', colleague, '--team', team, '--role', 'member']),
      )
      assert.ok(flat(added.stderr).includes(`Adding ${colleague} to ${team} as member... done`))
      ok(await c.heroku(['members:set', colleague, '--team', team, '--role', 'admin']))
      const list = ok(await c.heroku(['members', '--team', team]))
      assert.deepEqual(tableRows(list.stdout).sort(), [
        ['admin@localspace.localhost', 'admin'],
        [colleague, 'admin'],
      ])
      fails(
        await c.heroku(['members:set', colleague, '--team', team, '--role', 'viewer']),
        'localspace teams have two roles',
      )
      const removed = ok(await c.heroku(['members:remove', colleague, '--team', team]))
      assert.ok(flat(removed.stderr).includes(`Removing ${colleague} from ${team}... done`))
      const after = await c.api('GET', `/teams/${team}/members`)
      assert.deepEqual(
        (after.body as Array<{ email: string }>).map((m) => m.email),
        ['admin@localspace.localhost'],
      )
      assert.deepEqual(c.proxy.failures, [])
    })

    test('access, access:add, access:update and access:remove', async () => {
      const added = ok(await c.heroku(['access:add', friend, '-a', ownApp]))
      assert.ok(flat(added.stderr).includes(`Adding ${friend} access to the app ${ownApp}... done`))
      const list = ok(await c.heroku(['access', '-a', ownApp]))
      assert.deepEqual(tableRows(list.stdout).sort(), [
        ['admin@localspace.localhost', 'owner'],
        [friend, 'collaborator'],
      ])
      // A team app: the team's admins with every permission; changes go through members.
      const team = ok(await c.heroku(['access', '-a', teamApp]))
      assert.deepEqual(tableRows(team.stdout), [
        ['admin@localspace.localhost', 'admin', 'deploy, manage, operate, view'],
      ])
      fails(
        await c.heroku(['access:update', friend, '-a', teamApp, '--permissions', 'deploy']),
        'members:add',
      )
      ok(await c.heroku(['access:remove', friend, '-a', ownApp]))
      const after = await c.api('GET', `/apps/${ownApp}/collaborators`)
      assert.equal((after.body as unknown[]).length, 1)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('apps:transfer to a team, and to an account as a pending transfer', async () => {
      const toTeam = ok(await c.heroku(['apps:transfer', team, '-a', ownApp]))
      assert.ok(flat(toTeam.stderr).includes(`Transferring ${ownApp} to ${team}... done`))
      assert.equal((await c.api('GET', `/apps/${ownApp}`)).body.team.name, team)
      // Out of the team to an account: at once, by a team admin.
      const out = ok(await c.heroku(['apps:transfer', friend, '-a', ownApp]))
      assert.ok(
        flat(out.stderr).includes(`Initiating transfer of ${ownApp} to ${friend}... done`),
        out.stderr,
      )
      const moved = await c.api('GET', `/apps/${ownApp}`)
      assert.equal(moved.body.team, null)
      assert.equal(moved.body.owner.email, friend)
      // Between accounts: a transfer the recipient accepts.
      const personal = `gift-${sfx}`
      assert.equal((await c.api('POST', '/apps', { name: personal })).status, 201)
      const gift = ok(await c.heroku(['apps:transfer', friend, '-a', personal]))
      assert.ok(
        flat(gift.stderr).includes(`Initiating transfer of ${personal} to ${friend}... email sent`),
        gift.stderr,
      )
      const pending = await c.api('GET', `/account/app-transfers/${personal}`)
      assert.equal(pending.body.state, 'pending')
      assert.deepEqual(c.proxy.failures, [])
    })

    test('buildpacks, buildpacks:set, buildpacks:add and buildpacks:clear', async () => {
      // The CLI asks the buildpack registry for a name's URL: the daemon answers as it.
      const env = { HEROKU_BUILDPACK_REGISTRY_URL: c.apiUrl }
      const set = ok(await c.heroku(['buildpacks:set', 'heroku/nodejs', '-a', teamApp], { env }))
      assert.ok(
        flat(set.stdout).includes(
          `Buildpack set. Next release on ${teamApp} will use heroku/nodejs.`,
        ),
        set.stdout,
      )
      ok(await c.heroku(['buildpacks:add', 'heroku/python', '-a', teamApp], { env }))
      const list = ok(await c.heroku(['buildpacks', '-a', teamApp]))
      assert.match(list.stdout, /1\. heroku\/nodejs\n\s*2\. heroku\/python/)
      // A URL needs no registry; one localspace has no equivalent of is refused.
      fails(
        await c.heroku([
          'buildpacks:add',
          'https://github.com/heroku/heroku-buildpack-ruby',
          '-a',
          teamApp,
        ]),
        'localspace does not run buildpacks',
      )
      const cleared = ok(await c.heroku(['buildpacks:clear', '-a', teamApp]))
      assert.ok(flat(cleared.stdout).includes('will detect buildpacks normally'), cleared.stdout)
      assert.deepEqual((await c.api('GET', `/apps/${teamApp}/buildpack-installations`)).body, [])
      assert.deepEqual(c.proxy.failures, [])
    })

    test('stack shows the one stack; stack:set to another is a clear error', async () => {
      const stack = ok(await c.heroku(['stack', '-a', teamApp]))
      assert.match(stack.stdout, /^\* heroku-24$/m)
      fails(
        await c.heroku(['stack:set', 'heroku-22', '-a', teamApp]),
        'localspace offers one stack, heroku-24',
      )
      assert.deepEqual(c.proxy.failures, [])
    })

    test('labs lists app features; an account feature is a clear error', async () => {
      // labs leaves out general features (those are `heroku features`): both lists are empty.
      const labs = ok(await c.heroku(['labs', '-a', teamApp]))
      assert.deepEqual(
        labs.stdout.split('\n').filter((l) => l.trim() !== ''),
        ['=== User Features admin@localspace.localhost', `=== App Features ${teamApp}`],
      )
      const info = ok(await c.heroku(['labs:info', 'spaces-dns-discovery', '-a', teamApp]))
      assert.match(info.stdout, /Enable DNS service discovery/)
      fails(await c.heroku(['labs:enable', 'some-beta']), 'localspace has no account features')
      assert.deepEqual(c.proxy.failures, [])
    })

    test('ps:stop and ps:kill of a dyno or type that does not exist say so', async () => {
      fails(
        await c.heroku(['ps:stop', '--dyno-name', 'web.9', '-a', teamApp]),
        `${teamApp} has no dyno web.9`,
      )
      fails(
        await c.heroku(['ps:kill', '--process-type', 'clock', '-a', teamApp]),
        `${teamApp} has no process type clock`,
      )
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
