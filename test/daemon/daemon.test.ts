/**
 * The daemon as a process: first start, clean shutdown, and that a restart — also after
 * kill -9 — serves exactly the state that was acknowledged before it.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { once } from 'node:events'
import http from 'node:http'
import { createServer } from 'node:net'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { apiRequest, BIN, freePort, startDaemonProcess, tempDataDir } from '../helpers/daemon.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const api = apiRequest

// Starts real daemons, which manage the host's network: in a sandbox of its own.
if (sandboxed(import.meta.url)) {
  describe('localspace daemon', () => {
    const data = tempDataDir()
    let port: number
    before(async () => {
      port = await freePort()
    })
    after(() => data.remove())

    test('first start makes the admin, writes its key with mode 0600 and prints the exports', async () => {
      const d = await startDaemonProcess(data.dir, port)
      try {
        const keyFile = join(data.dir, 'admin-api-key')
        assert.equal(statSync(keyFile).mode & 0o777, 0o600)
        assert.equal(statSync(join(data.dir, 'admin-password')).mode & 0o777, 0o600)
        assert.equal(readFileSync(keyFile, 'utf8').trim(), d.key)
        assert.match(
          d.output(),
          new RegExp(`^export HEROKU_HOST=http://127\\.0\\.0\\.1:${port}$`, 'm'),
        )
        // The data API's host for pg:* and redis:*: the CLI keeps HEROKU_HOST's port.
        assert.match(d.output(), /^export HEROKU_DATA_HOST=127\.0\.0\.1$/m)
        const account = await api(d.url, d.key, 'GET', '/account')
        assert.equal(account.status, 200)
        assert.equal(account.body.email, 'admin@localspace.localhost')
      } finally {
        assert.equal(await d.stop('SIGTERM'), 0, 'SIGTERM exits cleanly with status 0')
      }
    })

    test('a restart after SIGTERM serves the same state with the same key', async () => {
      let d = await startDaemonProcess(data.dir, port)
      const firstKey = d.key
      assert.equal(
        (await api(d.url, d.key, 'POST', '/teams', { name: 'restart-team' })).status,
        201,
      )
      const space = await api(d.url, d.key, 'POST', '/spaces', {
        name: 'restart-space',
        team: 'restart-team',
      })
      assert.equal(space.status, 201)
      assert.equal(await d.stop('SIGTERM'), 0)

      d = await startDaemonProcess(data.dir, port)
      try {
        assert.equal(d.key, firstKey, 'the admin key survives a restart')
        assert.ok(!d.output().includes(firstKey), 'a restart does not print the key again')
        assert.match(
          d.output(),
          /^export HEROKU_API_KEY=\$\(cat \S+\/admin-api-key\)$/m,
          'it says where the key is',
        )
        const info = await api(d.url, d.key, 'GET', '/spaces/restart-space')
        assert.equal(info.status, 200)
        assert.equal(info.body.id, space.body.id)
        assert.equal(info.body.state, 'allocated')
      } finally {
        await d.stop()
      }
    })

    test('every acknowledged write survives kill -9', async () => {
      let d = await startDaemonProcess(data.dir, port)
      await api(d.url, d.key, 'POST', '/teams/apps', { name: 'crash-app', space: 'restart-space' })
      const writes = 50
      for (let i = 0; i < writes; i++) {
        const res = await api(d.url, d.key, 'PATCH', '/apps/crash-app/config-vars', {
          N: String(i),
        })
        assert.equal(res.status, 200)
      }
      assert.equal(await d.stop('SIGKILL'), 'SIGKILL')

      d = await startDaemonProcess(data.dir, port)
      try {
        const config = await api(d.url, d.key, 'GET', '/apps/crash-app/config-vars')
        assert.deepEqual(config.body, { N: String(writes - 1) })
        const releases = await api(d.url, d.key, 'GET', '/apps/crash-app/releases')
        assert.equal(releases.body.length, writes + 1, 'the initial release plus one per change')
      } finally {
        await d.stop()
      }
    })

    test('the network flags reach the API: spaces leave from the egress pool', async () => {
      const other = tempDataDir()
      const d = await startDaemonProcess(other.dir, await freePort(), [
        '--egress-pool',
        'tokyo=203.0.113.0/29',
        '--allow-private',
        '192.168.50.0/24',
      ])
      try {
        await api(d.url, d.key, 'POST', '/teams', { name: 'egress-team' })
        await api(d.url, d.key, 'POST', '/spaces', {
          name: 'egress-space',
          team: 'egress-team',
          region: 'tokyo',
        })
        await waitUntil(
          'the space to be allocated',
          async () =>
            (await api(d.url, d.key, 'GET', '/spaces/egress-space')).body.state === 'allocated',
        )
        const nat = await api(d.url, d.key, 'GET', '/spaces/egress-space/nat')
        // Heroku's four stable outbound addresses per space.
        assert.deepEqual(nat.body.sources, [
          '203.0.113.1',
          '203.0.113.2',
          '203.0.113.3',
          '203.0.113.4',
        ])
      } finally {
        await d.stop()
        other.remove()
      }
    })

    test('--router-workers: workers route what the daemon feeds, and die with it', async () => {
      const other = tempDataDir()
      const routerPort = await freePort()
      const d = await startDaemonProcess(other.dir, await freePort(), [
        ...['--router-workers', '2', '--router-listen', `127.0.0.1:${routerPort}`],
      ])
      /** The daemon's router workers: its children running worker-main. */
      const workers = () =>
        readdirSync('/proc')
          .filter((p) => /^\d+$/.test(p))
          .filter((p) => {
            try {
              const stat = readFileSync(`/proc/${p}/stat`, 'utf8')
              const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
              return (
                ppid === d.child.pid &&
                readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('worker-main')
              )
            } catch {
              return false // gone meanwhile
            }
          })
      // Not fetch: it sets Host itself.
      const status = (host: string) =>
        new Promise<number>((resolve, reject) => {
          http
            .get(
              { port: routerPort, host: '127.0.0.1', headers: { host }, agent: false },
              (res) => {
                res.resume()
                resolve(res.statusCode!)
              },
            )
            .on('error', reject)
        })
      try {
        assert.equal(workers().length, 2)
        await api(d.url, d.key, 'POST', '/teams', { name: 'workers-team' })
        await api(d.url, d.key, 'POST', '/spaces', { name: 'workers-space', team: 'workers-team' })
        await waitUntil(
          'the space to be allocated',
          async () =>
            (await api(d.url, d.key, 'GET', '/spaces/workers-space')).body.state === 'allocated',
        )
        await api(d.url, d.key, 'POST', '/teams/apps', {
          name: 'workers-app',
          space: 'workers-space',
        })
        // Known to the workers (no dynos: 503 H14), on every connection.
        await waitUntil(
          'the app in the workers',
          async () => (await status('workers-app.localhost')) === 503,
        )
        for (let i = 0; i < 6; i++) assert.equal(await status('workers-app.localhost'), 503)
        assert.equal(await status('nope.localhost'), 404)
        await api(d.url, d.key, 'PUT', '/spaces/workers-space/inbound-ruleset', {
          rules: [
            { action: 'deny', source: '127.0.0.0/8' },
            { action: 'allow', source: '0.0.0.0/0' },
          ],
        })
        await waitUntil(
          'the ruleset applied',
          async () =>
            (await api(d.url, d.key, 'GET', '/spaces/workers-space/inbound-ruleset')).body
              .applied === true,
          { timeoutMs: 1000 },
        )
        for (let i = 0; i < 6; i++) assert.equal(await status('workers-app.localhost'), 403)
        const pids = workers()
        assert.equal(await d.stop('SIGKILL'), 'SIGKILL')
        await waitUntil('the workers gone with the daemon', () =>
          pids.every((pid) => !existsSync(`/proc/${pid}`)),
        )
      } finally {
        await d.stop()
        other.remove()
      }
    })

    test('doctor says what is wrong with the host in words, and when it is right again', async () => {
      const d = await startDaemonProcess(data.dir, port)
      try {
        type Check = { name: string; ok: boolean; detail: string }
        const doctor = async () =>
          ((await api(d.url, d.key, 'GET', '/localspace/doctor')).body as { checks: Check[] })
            .checks
        const healthy = await doctor()
        assert.deepEqual(
          healthy.filter((c) => !c.ok),
          [],
        )
        assert.ok(healthy.some((c) => c.name === 'nftables'))
        const space = (await api(d.url, d.key, 'GET', '/spaces/restart-space')).body
        const bridge = `lsb-${(space.id as string).replace(/-/g, '').slice(0, 8)}`
        spawnSync('ip', ['link', 'del', bridge])
        const drifted = (await doctor()).find((c) => c.name === 'space networks')
        assert.equal(drifted?.ok, false)
        assert.match(drifted?.detail ?? '', new RegExp(`bridge ${bridge} is missing`))
        await waitUntil(
          'the daemon to repair the bridge',
          async () => (await doctor()).every((c) => c.ok),
          { timeoutMs: 30_000, intervalMs: 500 },
        )
      } finally {
        await d.stop()
      }
    })

    test('a bad flag is refused with a message and a non-zero exit', () => {
      const run = spawnSync(
        process.execPath,
        [BIN, 'daemon', '--data-dir', data.dir, '--api-listen', 'nope'],
        {
          encoding: 'utf8',
        },
      )
      assert.notEqual(run.status, 0)
      assert.match(run.stderr, /--api-listen must be HOST:PORT/)
    })

    test('a data dir below a directory the apps cannot pass through is refused at start', () => {
      const locked = tempDataDir() // made by mkdtemp: mode 0700, as `mktemp -d` makes them
      try {
        const dataDir = join(locked.dir, 'data')
        const run = spawnSync(
          process.execPath,
          [BIN, 'daemon', '--data-dir', dataDir, '--api-listen', `127.0.0.1:0`],
          { encoding: 'utf8', timeout: 15_000 },
        )
        assert.notEqual(run.status, 0)
        assert.match(run.stderr, new RegExp(`below ${locked.dir} \\(mode 0700\\)`))
        assert.match(run.stderr, new RegExp(`chmod o\\+x ${locked.dir}`))
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
        assert.equal(existsSync(dataDir), false, 'nothing was made')
      } finally {
        locked.remove()
      }
    })

    test('a second daemon on the same host is refused and changes nothing', async () => {
      const d = await startDaemonProcess(data.dir, port)
      try {
        const other = tempDataDir()
        const run = spawnSync(
          process.execPath,
          [BIN, 'daemon', '--data-dir', other.dir, '--api-listen', `127.0.0.1:${await freePort()}`],
          { encoding: 'utf8', timeout: 15_000 },
        )
        other.remove()
        assert.notEqual(run.status, 0)
        assert.match(run.stderr, /another localspace daemon already manages this host/)
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
        const info = await api(d.url, d.key, 'GET', '/spaces/restart-space')
        assert.equal(info.body.state, 'allocated', 'the first daemon still serves its space')
      } finally {
        await d.stop()
      }
    })

    test('a port already in use is reported, not a stack trace', async () => {
      const busy = createServer().listen(port, '127.0.0.1')
      await once(busy, 'listening')
      try {
        const run = spawnSync(
          process.execPath,
          [BIN, 'daemon', '--data-dir', data.dir, '--api-listen', `127.0.0.1:${port}`],
          { encoding: 'utf8', timeout: 15_000 },
        )
        assert.notEqual(run.status, 0)
        assert.match(run.stderr, /EADDRINUSE|in use/)
        assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace')
      } finally {
        busy.close()
      }
    })
  })
}
