/**
 * `heroku logs` (the official CLI, 11.x) against a real localspace daemon: the CLI makes a
 * log session through the recording proxy (which checks the body against Heroku's schema)
 * and reads the logplex_url straight from the daemon with an EventSource. The daemon's own
 * `heroku[api]` lines (a config change logs two) are what there is to read.
 * Needs `npm run build` first.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { REPO, apiRequest, freePort, startDaemonProcess, tempDataDir } from '../helpers/daemon.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { ok, startCompat, type Compat } from './harness.js'

const ADMIN_EMAIL = 'admin@localspace.localhost'
const HEROKU_RUN = join(REPO, 'node_modules', 'heroku', 'bin', 'run.js')

/** Printed log lines without their timestamps. */
const untimed = (stdout: string) =>
  stdout
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.replace(/^\S+ /, ''))

if (sandboxed(import.meta.url)) {
  describe('heroku logs against localspace', () => {
    const app = `logs-${randomBytes(3).toString('hex')}`
    let c: Compat

    before(async () => {
      c = await startCompat()
      assert.equal((await c.api('POST', '/apps', { name: app })).status, 201)
      const set = await c.api('PATCH', `/apps/${app}/config-vars`, { FOO: 'bar' })
      assert.equal(set.status, 200, JSON.stringify(set.body))
    })
    after(async () => {
      await c?.stop()
    })

    test('heroku logs prints the recent lines and exits', async () => {
      const r = ok(await c.heroku(['logs', '-a', app]))
      assert.deepEqual(untimed(r.stdout), [
        `heroku[api]: Set FOO config vars by ${ADMIN_EMAIL}`,
        `heroku[api]: Release v2 created by ${ADMIN_EMAIL}`,
      ])
      assert.match(r.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 heroku\[api\]/)
    })

    test('-n, --source and --dyno narrow what is printed', async () => {
      const last = ok(await c.heroku(['logs', '-a', app, '-n', '1']))
      assert.deepEqual(untimed(last.stdout), [`heroku[api]: Release v2 created by ${ADMIN_EMAIL}`])
      const app_ = ok(await c.heroku(['logs', '-a', app, '--source', 'app']))
      assert.deepEqual(untimed(app_.stdout), [])
      const api = ok(await c.heroku(['logs', '-a', app, '--dyno', 'api', '-n', '5']))
      assert.equal(untimed(api.stdout).length, 2)
    })

    test('heroku logs --tail streams new lines as they are written', async () => {
      const child = spawn(
        process.execPath,
        ['--no-deprecation', HEROKU_RUN, 'logs', '--tail', '-a', app],
        {
          cwd: c.home,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: c.home,
            XDG_CONFIG_HOME: join(c.home, '.config'),
            XDG_CACHE_HOME: join(c.home, '.cache'),
            XDG_DATA_HOME: join(c.home, '.local', 'share'),
            HEROKU_HOST: c.apiUrl,
            HEROKU_API_KEY: c.apiKey,
            HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
            HEROKU_DISABLE_AUTOUPDATE: 'true',
            HEROKU_SKIP_ANALYTICS: '1',
            DISABLE_TELEMETRY: 'true',
            NO_COLOR: '1',
            CI: 'true',
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      )
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      const exited = once(child, 'exit')
      try {
        await waitUntil('the recent lines', () => stdout.includes('Release v2 created'), {
          timeoutMs: 30_000,
        })
        const set = await c.api('PATCH', `/apps/${app}/config-vars`, { BAR: 'baz' })
        assert.equal(set.status, 200)
        await waitUntil('the new lines', () => stdout.includes('Release v3 created'))
        assert.deepEqual(untimed(stdout).slice(-2), [
          `heroku[api]: Set BAR config vars by ${ADMIN_EMAIL}`,
          `heroku[api]: Release v3 created by ${ADMIN_EMAIL}`,
        ])
        assert.equal(child.exitCode, null, `a tail keeps running:\n${stderr}`)
      } finally {
        child.kill('SIGINT')
        await exited
      }
    })

    test('bad input gets Heroku-shaped errors the CLI prints', async () => {
      const r = await c.heroku(['logs', '-a', app, '--source', 'router'])
      assert.notEqual(r.code, 0)
      assert.match(r.stderr, /Invalid source "router"/)
      const none = await c.heroku(['logs', '-a', 'no-such-app-here'])
      assert.notEqual(none.code, 0)
      assert.match(none.stderr, /Couldn't find that app/)
    })

    test('every JSON body the API returned matches Heroku schema', () => {
      assert.ok(
        c.proxy.exchanges.some((x) => x.method === 'POST' && x.path.endsWith('/log-sessions')),
      )
      assert.deepEqual(c.proxy.failures, [])
    })
  })

  describe('log history and daemon restarts', () => {
    test('a restarted daemon still shows the lines written before it stopped', async () => {
      const data = tempDataDir()
      const port = await freePort()
      try {
        let daemon = await startDaemonProcess(data.dir, port, [], 20_000, { cwd: REPO })
        const call = (method: string, path: string, body?: unknown) =>
          apiRequest(daemon.url, daemon.key, method, path, body)
        assert.equal((await call('POST', '/apps', { name: 'kept-logs' })).status, 201)
        assert.equal((await call('PATCH', '/apps/kept-logs/config-vars', { A: '1' })).status, 200)
        await daemon.stop()
        daemon = await startDaemonProcess(data.dir, port, [], 20_000, { cwd: REPO })
        try {
          const session = await call('POST', '/apps/kept-logs/log-sessions', {})
          assert.equal(session.status, 201)
          const text = await (await fetch(session.body.logplex_url as string)).text()
          assert.deepEqual(untimed(text), [
            `heroku[api]: Set A config vars by ${ADMIN_EMAIL}`,
            `heroku[api]: Release v2 created by ${ADMIN_EMAIL}`,
          ])
        } finally {
          await daemon.stop()
        }
      } finally {
        data.remove()
      }
    })
  })
}
