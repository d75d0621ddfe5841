/**
 * The official `heroku` CLI's add-on, `pg:*` and `redis:*` commands against a real daemon
 * (issue 17): the Platform API answers for add-ons and the data API (HEROKU_DATA_HOST, as the
 * daemon prints it) for pg/redis. The data servers are the daemon's own, real ones (its data
 * feed), and so are its backups (its transfer runner and blob store). Every JSON body is
 * checked by the proxy against Heroku's schema.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DEFAULT_CGROUP_ROOT } from '../../src/runtime/cgroup.js'
import { Store } from '../../src/store/store.js'
import { dataServersUnder, killDataServers } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { fails, fields, flat, ok, startCompat, type Compat } from './harness.js'

if (sandboxed(import.meta.url)) {
  describe('heroku addons, pg and redis commands', () => {
    const sfx = randomBytes(3).toString('hex')
    const team = `adds-${sfx}`
    const space = `adds-space-${sfx}`
    const web = `adds-web-${sfx}`
    const worker = `adds-worker-${sfx}`
    const plain = `adds-plain-${sfx}`
    let c: Compat
    let store: Store
    let dbName = ''

    const configOf = async (app: string) =>
      (await c.api('GET', `/apps/${app}/config-vars`)).body as Record<string, string>

    before(async () => {
      c = await startCompat()
      store = Store.open(join(c.dataDir, 'localspace.db'))
      assert.equal((await c.api('POST', '/teams', { name: team })).status, 201)
      assert.equal((await c.api('POST', '/spaces', { name: space, team })).status, 201)
      for (const name of [web, worker]) {
        const made = await c.api('POST', '/teams/apps', { name, team, space })
        assert.equal(made.status, 201)
      }
      assert.equal((await c.api('POST', '/apps', { name: plain })).status, 201)
    })
    after(async () => {
      // The servers outlive the daemon: every add-on goes first, and with it its server.
      for (const a of store?.addons.all() ?? [])
        await c.api('DELETE', `/apps/${a.appName}/addons/${a.id}`).catch(() => undefined)
      const servers = join(c?.dataDir ?? '', 'data')
      await waitUntil(
        'the data servers to be removed',
        () => !existsSync(servers) || readdirSync(servers).length === 0,
        { timeoutMs: 60_000 },
      ).catch(() => undefined)
      const left = c ? dataServersUnder(c.dataDir) : []
      store?.close()
      await c?.stop()
      await killDataServers(left, DEFAULT_CGROUP_ROOT)
    })

    test('addons:create in a space sets DATABASE_URL; outside a space and Kafka are refused', async () => {
      const created = ok(
        await c.heroku([
          'addons:create',
          'heroku-postgresql:private-0',
          '-a',
          web,
          '--as',
          'DATABASE',
        ]),
      )
      const out = flat(created.stdout + created.stderr)
      const m = /(postgresql-[a-z]+-\d{5}) is being created in the background/.exec(out)
      assert.ok(m, out)
      dbName = m[1]!
      assert.match(
        (await configOf(web)).DATABASE_URL!,
        /^postgres:\/\/u[0-9a-f]+:[^@]+@[\d.]+:5432\/d[0-9a-f]+$/,
      )
      fails(
        await c.heroku(['addons:create', 'heroku-postgresql:private-0', '-a', plain]),
        `is a Private-tier plan, which runs inside a Private Space: ${plain} is not in a space`,
      )
      fails(
        await c.heroku(['addons:create', 'heroku-kafka:private-standard-0', '-a', web]),
        'no Kafka broker can be installed',
      )
      assert.deepEqual(c.proxy.failures, [])
    })

    test('addons and addons:info show the database', async () => {
      const list = ok(await c.heroku(['addons', '-a', web]))
      const text = flat(list.stdout)
      assert.ok(text.includes(`heroku-postgresql (${dbName})`), list.stdout)
      assert.ok(text.includes('DATABASE'), list.stdout)
      // Being created, or already made: a real server takes seconds.
      assert.match(text, /creating|created/, list.stdout)
      const info = ok(await c.heroku(['addons:info', dbName]))
      const f = fields(info.stdout)
      assert.equal(f.Plan, 'heroku-postgresql:private-0')
      assert.equal(f['Owning app'], web)
      assert.match(f.State ?? '', /^(creating|created)$/)
      assert.ok(flat(info.stdout).includes(`${web}::DATABASE`), info.stdout)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('pg:wait until the server is up, pg:info, pg:credentials:url', async () => {
      ok(await c.heroku(['pg:wait', '-a', web]))
      const info = ok(await c.heroku(['pg:info', 'DATABASE_URL', '-a', web]))
      assert.equal(fields(info.stdout).Status, 'Available', info.stdout)
      assert.equal(fields(info.stdout)['Add-on'], dbName)
      assert.equal(fields(info.stdout).Plan, 'Private 0')
      // Live rows from the running server (the daemon's probe).
      assert.match(fields(info.stdout)['PG Version'] ?? '', /^15\./, info.stdout)
      const url = ok(await c.heroku(['pg:credentials:url', 'DATABASE', '-a', web]))
      assert.ok(flat(url.stdout).includes((await configOf(web)).DATABASE_URL!), url.stdout)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('pg:backups:capture, pg:backups, pg:backups:info and pg:backups:restore', async () => {
      // The daemon's transfer runner dumps the real server (pg_dump -Fc) into its blob store.
      const captured = ok(await c.heroku(['pg:backups:capture', '-a', web, '--wait-interval', '1']))
      assert.ok(flat(captured.stderr).includes('Backing up DATABASE to b001'), captured.stderr)
      const list = ok(await c.heroku(['pg:backups', '-a', web]))
      assert.match(flat(list.stdout), /b001 \S+ Completed \S+ [\d.]+[KM]?B DATABASE/)
      const info = ok(await c.heroku(['pg:backups:info', 'b001', '-a', web]))
      assert.equal(fields(info.stdout).Status, 'Completed', info.stdout)
      assert.ok(flat(info.stdout).includes('backup done'), info.stdout)
      ok(
        await c.heroku(['pg:backups:restore', 'b001', 'DATABASE_URL', '-a', web, '--confirm', web]),
      )
      const after = ok(await c.heroku(['pg:backups', '-a', web]))
      assert.match(flat(after.stdout), /r002 \S+ Completed/)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('pg:backups:schedule, pg:backups:schedules and pg:backups:unschedule', async () => {
      const none = ok(await c.heroku(['pg:backups:schedules', '-a', web]))
      assert.match(flat(none.stderr), /No backup schedules found/)
      const made = ok(
        await c.heroku(['pg:backups:schedule', 'DATABASE_URL', '--at', '02:00 EST', '-a', web]),
      )
      assert.match(
        flat(made.stderr),
        /Scheduling automatic daily backups of .* at 02:00 America\/New_York/,
      )
      const listed = ok(await c.heroku(['pg:backups:schedules', '-a', web]))
      assert.ok(
        flat(listed.stdout).includes('DATABASE_URL: daily at 2:00 America/New_York'),
        listed.stdout,
      )
      fails(
        await c.heroku([
          'pg:backups:schedule',
          'DATABASE_URL',
          '--at',
          '02:00 Mars/Base',
          '-a',
          web,
        ]),
        'Unknown timezone',
      )
      ok(await c.heroku(['pg:backups:unschedule', 'DATABASE_URL', '-a', web]))
      const after = ok(await c.heroku(['pg:backups:schedules', '-a', web]))
      assert.match(flat(after.stderr), /No backup schedules found/)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('addons:attach and addons:detach: config var and release on the other app', async () => {
      const attached = ok(
        await c.heroku(['addons:attach', dbName, '-a', worker, '--as', 'MAIN_DB']),
      )
      assert.match(
        flat(attached.stderr),
        /Setting MAIN_DB config vars and restarting .* done, v\d+/,
      )
      assert.equal((await configOf(worker)).MAIN_DB_URL, (await configOf(web)).DATABASE_URL)
      ok(await c.heroku(['addons:detach', 'MAIN_DB', '-a', worker]))
      assert.equal((await configOf(worker)).MAIN_DB_URL, undefined)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('redis:info and redis:wait', async () => {
      ok(await c.heroku(['addons:create', 'heroku-redis:private-7', '-a', web]))
      const redis = store.addons
        .forApp(store.apps.find(web)!.id)
        .find((a) => a.serviceName === 'heroku-redis')!
      ok(await c.heroku(['redis:wait', '-a', web]))
      const info = ok(await c.heroku(['redis:info', '-a', web]))
      assert.ok(flat(info.stdout).includes(`${redis.name} (REDIS_URL)`), info.stdout)
      assert.equal(fields(info.stdout).Status, 'Available')
      assert.equal(fields(info.stdout).Plan, 'Private 7')
      assert.deepEqual(c.proxy.failures, [])
    })

    test('addons:destroy --confirm removes the database and its config var', async () => {
      ok(await c.heroku(['addons:destroy', dbName, '-a', web, '--confirm', web]))
      assert.equal((await configOf(web)).DATABASE_URL, undefined)
      const list = ok(await c.heroku(['addons', '-a', web]))
      assert.ok(!flat(list.stdout).includes(dbName), list.stdout)
      // Its final backup (b003, after b001 and r002) stays on the app's list.
      const backups = ok(await c.heroku(['pg:backups', '-a', web]))
      assert.match(flat(backups.stdout), /b003 /, backups.stdout)
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
