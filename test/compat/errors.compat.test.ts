/**
 * The official `heroku` CLI (11.x) for commands whose feature localspace does not offer, or
 * offers differently, and `releases:info`, against a real daemon (docs/heroku-compat.md lists
 * them): each either works or fails with a message that names what is missing and what to use
 * instead. Every JSON body the API answers is checked against Heroku's schema by the proxy.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import { ok, fails, flat, startCompat, type Compat } from './harness.js'
import { sandboxed } from '../helpers/sandbox.js'

if (sandboxed(import.meta.url)) {
  describe('heroku commands localspace answers with a clear error, and releases:info', () => {
    const sfx = randomBytes(3).toString('hex')
    const team = `errs-${sfx}`
    const space = `errs-space-${sfx}`
    const ownApp = `errs-own-${sfx}`
    const teamApp = `errs-team-${sfx}`
    let c: Compat

    before(async () => {
      c = await startCompat()
      assert.equal((await c.api('POST', '/teams', { name: team })).status, 201)
      assert.equal((await c.api('POST', '/spaces', { name: space, team })).status, 201)
      assert.equal((await c.api('POST', '/apps', { name: ownApp })).status, 201)
      assert.equal((await c.api('POST', '/teams/apps', { name: teamApp, team })).status, 201)
    })
    after(async () => {
      await c?.stop()
    })

    test('releases:info shows a release and the config vars it was made with', async () => {
      ok(await c.heroku(['config:set', 'GREETING=hello', '-a', ownApp]))
      ok(await c.heroku(['config:set', 'GREETING=changed', '-a', ownApp]))
      const info = ok(await c.heroku(['releases:info', 'v2', '-a', ownApp]))
      const out = flat(info.stdout)
      assert.ok(out.includes('Release v2'), info.stdout)
      assert.ok(out.includes('Set GREETING config vars'), info.stdout)
      assert.match(out, /GREETING: hello\b/)
      assert.ok(!out.includes('changed'), info.stdout)
      fails(await c.heroku(['releases:info', 'v99', '-a', ownApp]), "Couldn't find that release.")
      assert.deepEqual(c.proxy.failures, [])
    })

    test('apps:leave tells the owner and a team member what to do instead', async () => {
      fails(
        await c.heroku(['apps:leave', '-a', ownApp]),
        `You own ${ownApp}: transfer it (heroku apps:transfer) or destroy it (heroku apps:destroy) instead.`,
      )
      fails(
        await c.heroku(['apps:leave', '-a', teamApp]),
        `${teamApp} is a team app: you use it as a member of team ${team}, so a team admin removes you from the team`,
      )
      // Both apps are still there.
      assert.equal((await c.api('GET', `/apps/${ownApp}`)).status, 200)
      assert.equal((await c.api('GET', `/apps/${teamApp}`)).status, 200)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('Heroku Exec commands point at heroku run', async () => {
      for (const args of [
        ['ps:exec', '-a', ownApp],
        ['ps:copy', 'app.json', '-a', ownApp],
        ['ps:forward', '8080', '-a', ownApp],
        ['ps:socks', '-a', ownApp],
      ]) {
        fails(
          await c.heroku(args),
          'Heroku Exec (ps:exec, ps:copy, ps:forward, ps:socks) is not available in localspace: start a one-off dyno with heroku run instead',
        )
      }
      assert.deepEqual(c.proxy.failures, [])
    })

    test('run:inside points at heroku run', async () => {
      fails(
        await c.heroku(['run:inside', 'web.1', 'bash', '-a', ownApp]),
        'Running a command inside an existing dyno (run:inside) is not available in localspace: start a one-off dyno with heroku run instead',
      )
      assert.deepEqual(c.proxy.failures, [])
    })

    test('spaces:transfer says the space stays with its team', async () => {
      fails(
        await c.heroku(['spaces:transfer', '--space', space, '--team', 'another-team']),
        'Moving a space to another team is not available in localspace',
      )
      assert.equal((await c.api('GET', `/spaces/${space}`)).body.team.name, team)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('certs:auto:enable, disable and refresh point at certs:add', async () => {
      const message =
        'Automated Certificate Management is not available in localspace: add your own certificate with heroku certs:add CERT KEY'
      fails(await c.heroku(['certs:auto:enable', '-a', ownApp]), message)
      fails(await c.heroku(['certs:auto:disable', '-a', ownApp, '--confirm', ownApp]), message)
      fails(await c.heroku(['certs:auto:refresh', '-a', ownApp]), message)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('pg:backups lists no backups; capture first finds the app has no database', async () => {
      // The harness sets HEROKU_DATA_HOST as the daemon prints it (the CLI keeps HEROKU_HOST's port).
      const list = ok(await c.heroku(['pg:backups', '-a', ownApp]))
      assert.ok(flat(list.stdout).includes('No backups. Capture one with'), list.stdout)
      fails(await c.heroku(['pg:backups:capture', '-a', ownApp]), `${ownApp} has no databases`)
      fails(
        await c.heroku(['pg:backups:schedules', '-a', ownApp]),
        `No Heroku Postgres legacy database on ${ownApp}`,
      )
      assert.deepEqual(c.proxy.failures, [])
    })

    test('redis commands find no Redis instance: the app has no add-ons', async () => {
      fails(await c.heroku(['redis:cli', '-a', ownApp]), 'No Redis instances found.')
      fails(await c.heroku(['redis:credentials', '-a', ownApp]), 'No Redis instances found.')
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
