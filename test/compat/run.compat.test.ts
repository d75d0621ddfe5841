/**
 * `heroku run:detached`, `heroku ps` and `heroku ps:stop` (the official CLI, 11.x) with
 * one-off dynos against a real localspace daemon; the recording proxy checks every body
 * against Heroku's schema. Needs `npm run build` first.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmodSync } from 'node:fs'
import { dirname } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { exampleTarball } from '../helpers/daemon.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { ok, flat, startCompat, type Compat } from './harness.js'

if (sandboxed(import.meta.url)) {
  describe('heroku run:detached against localspace', () => {
    const suffix = randomBytes(3).toString('hex')
    const team = `run-team-${suffix}`
    const space = `run-space-${suffix}`
    const app = `run-${suffix}`
    let c: Compat

    const logText = async () => {
      const session = await c.api('POST', `/apps/${app}/log-sessions`, { lines: 1500 })
      return (await fetch(session.body.logplex_url as string)).text()
    }
    /**
     * GET through the proxy, once more if the connection was reset: a kept-alive connection
     * the proxy closes just as it is reused (after a CLI run of a few seconds) is no finding.
     */
    const get = (path: string) =>
      c.api('GET', path).catch(async (e: Error) => {
        if (!/fetch failed/.test(e.message)) throw e
        return c.api('GET', path)
      })
    const dynoNames = async () =>
      ((await get(`/apps/${app}/dynos`)).body as Array<{ name: string }>).map((d) => d.name)

    before(async () => {
      c = await startCompat()
      // The harness's temp dir is 0700; dynos run as the app's uid and must traverse it to
      // their sandboxes, as they do a daemon's real data dir (0711).
      chmodSync(dirname(c.dataDir), 0o711)
      assert.equal((await c.api('POST', '/teams', { name: team })).status, 201)
      const created = await c.api('POST', '/spaces', { name: space, team, region: 'virginia' })
      assert.equal(created.status, 201)
      await waitUntil('the space to be allocated', async () => {
        const s = await c.api('GET', `/spaces/${space}`)
        return s.body.state === 'allocated'
      })
      assert.equal((await c.api('POST', '/teams/apps', { name: app, team, space })).status, 201)
      // A deploy through sources and builds, as `git push` would make one.
      const source = await c.api('POST', `/apps/${app}/sources`)
      const tarball = exampleTarball()
      const put = await fetch(source.body.source_blob.put_url as string, {
        method: 'PUT',
        body: tarball,
      })
      assert.equal(put.status, 200)
      const build = await c.api('POST', `/apps/${app}/builds`, {
        source_blob: { url: source.body.source_blob.get_url },
      })
      assert.equal(build.status, 201)
      await waitUntil(
        'the build to finish',
        async () => {
          const b = await c.api('GET', `/apps/${app}/builds/${build.body.id}`)
          return b.body.status !== 'pending'
        },
        { timeoutMs: 60_000 },
      )
      // No web dyno needed here.
      await c.api('PATCH', `/apps/${app}/formation/web`, { quantity: 0 })
    })
    after(async () => {
      await c?.stop()
    })

    test('heroku run:detached starts run.N; its output and exit land in the log', async () => {
      const r = ok(
        await c.heroku(['run:detached', '-a', app, '--', 'sh', '-c', 'echo hello; exit 3']),
      )
      const m = /Run heroku logs --app (\S+) --dyno (run\.\d{4}) to view the output\./.exec(
        r.stdout,
      )
      assert.ok(m, r.stdout)
      assert.equal(m[1], app)
      const name = m[2]!
      await waitUntil('the dyno to finish', async () =>
        (await logText()).includes(`heroku[${name}]: State changed from up to complete`),
      )
      const text = await logText()
      assert.ok(text.includes(`app[${name}]: hello`), text)
      assert.ok(text.includes(`heroku[${name}]: Process exited with status 3`), text)
      await waitUntil('it to be gone', async () => !(await dynoNames()).includes(name))
      const logs = ok(await c.heroku(['logs', '-a', app, '--dyno', name]))
      assert.match(logs.stdout, /app\[run\.\d{4}\]: hello/)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('heroku ps shows a running one-off; heroku ps:stop stops it', async () => {
      const r = ok(await c.heroku(['run:detached', '-a', app, '--', 'sleep', '600']))
      const name = /--dyno (run\.\d{4})/.exec(r.stdout)![1]!
      await waitUntil('it to be up', async () => {
        const dynos = (await get(`/apps/${app}/dynos`)).body as Array<{
          name: string
          state: string
        }>
        return dynos.some((d) => d.name === name && d.state === 'up')
      })
      const ps = ok(await c.heroku(['ps', '-a', app]))
      assert.ok(ps.stdout.includes(name), ps.stdout)
      assert.match(ps.stdout, /sleep 600/)
      ok(await c.heroku(['ps:stop', name, '-a', app]))
      await waitUntil('it to be gone', async () => !(await dynoNames()).includes(name), {
        timeoutMs: 40_000,
      })
      assert.deepEqual(c.proxy.failures, [])
    })

    test('a size that does not exist is refused and nothing starts', async () => {
      const r = await c.heroku(['run:detached', '-a', app, '--size', 'Gigantic-X', '--', 'ls'])
      assert.notEqual(r.code, 0)
      assert.match(flat(r.stderr), /Unknown dyno size/)
      // No one-off started (web.1 of the deploy may still be on its way out on a busy host).
      assert.deepEqual(
        (await dynoNames()).filter((n) => n.startsWith('run.')),
        [],
      )
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
