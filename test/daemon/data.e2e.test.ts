/**
 * Data add-ons end to end, against a real daemon process: Postgres and Redis servers made by
 * `addons:create` in a space's data network, reached by a one-off dyno through DATABASE_URL
 * and REDIS_URL, out of reach of another space and of the host; a Postgres server killed with
 * SIGKILL comes back with its data; a daemon restart adopts the servers; a follower in
 * another space (another region) catches up and takes writes once unfollowed; a destroy
 * leaves nothing behind.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { slugDir } from '../../src/core/builds.js'
import { dataLayout } from '../../src/data/layout.js'
import { runSql } from '../../src/data/postgres.js'
import type { DataServerSpec } from '../../src/data/types.js'
import { DEFAULT_CGROUP_ROOT } from '../../src/runtime/cgroup.js'
import { run } from '../../src/exec/run.js'
import {
  apiRequest,
  createSpaceApp,
  freePort,
  REPO,
  startDaemonProcess,
  tempDataDir,
  type DaemonProcess,
  uploadSource,
} from '../helpers/daemon.js'
import { dataServersUnder, killDataServers, killDynosUnder } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const PSQL = '/usr/lib/postgresql/15/bin/psql'

if (sandboxed(import.meta.url)) {
  describe('data add-ons in a space, on real servers', () => {
    const data = tempDataDir()
    let port: number
    let d: DaemonProcess
    const call = (method: string, path: string, body?: unknown) =>
      apiRequest(d.url, d.key, method, path, body)
    /** The data API (pg:*, redis:*): not in the Platform API's schema. */
    const dataApi = async (method: string, path: string) => {
      const res = await fetch(`${d.url}${path}`, {
        method,
        headers: { authorization: `Bearer ${d.key}`, accept: 'application/json' },
      })
      return { status: res.status, body: (await res.json()) as any }
    }
    const serverDir = (addonId: string) => join(data.dir, 'data', addonId)
    const postmasterPid = (addonId: string) =>
      Number(
        readFileSync(join(dataLayout(serverDir(addonId)).pgdata, 'postmaster.pid'), 'utf8').split(
          '\n',
        )[0],
      )
    /** Running (a zombie waiting for its parent to reap it has ended). */
    const alive = (pid: number) => {
      try {
        return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
      } catch {
        return false
      }
    }
    const netnsList = async () => (await run('ip', ['netns', 'list'])).stdout
    /** The namespace that holds `address` (a server's, made by the network agent). */
    const netnsOf = async (address: string): Promise<string> => {
      for (const line of (await netnsList()).split('\n')) {
        const ns = line.split(' ')[0]!
        if (!/^ls-[0-9a-f]{8}$/.test(ns)) continue
        // A one-off dyno's namespace may go between the list and this look.
        const { stdout } = await run('ip', ['-n', ns, '-4', '-o', 'addr']).catch(() => ({
          stdout: '',
        }))
        if (stdout.includes(` ${address}/`)) return ns
      }
      throw new Error(`no namespace holds ${address}`)
    }
    /** pg:info's Tables row: a number only while the probe reaches the server. */
    const liveTables = async (addonId: string) => {
      const info = await dataApi('GET', `/client/v11/databases/${addonId}`)
      const rows = info.body.info as Array<{ name: string; values: unknown[] }>
      return rows.find((r) => r.name === 'Tables')?.values[0]
    }
    /** Each add-on's data address, as its URL had it. */
    const addonHosts: Record<string, string> = {}

    before(async () => {
      port = await freePort()
      d = await startDaemonProcess(data.dir, port)
    })
    after(async () => {
      // Servers outlive the daemon: whatever a failed test left goes with its add-on.
      for (const app of ['dw-web', 'dw-dr']) {
        const list = await call('GET', `/apps/${app}/addons`).catch(() => undefined)
        for (const a of (list?.body as Array<{ id: string }> | undefined) ?? [])
          await call('DELETE', `/apps/${app}/addons/${a.id}`).catch(() => undefined)
      }
      await waitUntil(
        'the data servers to be removed',
        () =>
          !existsSync(join(data.dir, 'data')) || readdirSync(join(data.dir, 'data')).length === 0,
        { timeoutMs: 60_000 },
      ).catch(() => undefined)
      await d.stop('SIGTERM')
      await killDynosUnder(data.dir)
      await killDataServers(dataServersUnder(data.dir), DEFAULT_CGROUP_ROOT) // whatever a failed test left
      data.remove()
    })

    interface Addon {
      id: string
      name: string
      state: string
    }
    const created: Record<string, Addon> = {}

    /** `addons:create PLAN -a APP [config]`; waits until it is provisioned. */
    async function createAddon(app: string, plan: string, extra: object = {}): Promise<Addon> {
      const res = await call('POST', `/apps/${app}/addons`, { plan: { name: plan }, ...extra })
      assert.equal(res.status, 201, JSON.stringify(res.body))
      const id = res.body.id as string
      await waitUntil(
        `${plan} to be provisioned`,
        async () => {
          const a = await call('GET', `/apps/${app}/addons/${id}`)
          assert.notEqual(a.body.state, 'deprovisioned', JSON.stringify(a.body))
          return a.body.state === 'provisioned'
        },
        { timeoutMs: 90_000 },
      )
      return (await call('GET', `/apps/${app}/addons/${id}`)).body as Addon
    }

    const configVars = async (app: string) =>
      (await call('GET', `/apps/${app}/config-vars`)).body as Record<string, string>

    /** Runs `command` in a one-off dyno of `app`; resolves with its output and exit status. */
    async function inDyno(app: string, command: string): Promise<{ out: string; status: number }> {
      const res = await call('POST', `/apps/${app}/dynos`, { command, attach: false })
      assert.equal(res.status, 201, JSON.stringify(res.body))
      const name = res.body.name as string
      let text = ''
      await waitUntil(
        `${name} to exit`,
        async () => {
          const session = await call('POST', `/apps/${app}/log-sessions`, { lines: 1500 })
          text = await (await fetch(session.body.logplex_url as string)).text()
          return text.includes(`heroku[${name}]: Process exited with status`)
        },
        { timeoutMs: 60_000 },
      )
      const status = Number(
        new RegExp(`heroku\\[${name}\\]: Process exited with status (\\d+)`).exec(text)![1],
      )
      const out = text
        .split('\n')
        .filter((l) => l.includes(`app[${name}]: `))
        .map((l) => l.slice(l.indexOf(`app[${name}]: `) + `app[${name}]: `.length))
        .join('\n')
      return { out, status }
    }

    /** A TCP connect from a namespace (or the host): true when it is accepted. */
    const connects = async (netns: string | null, host: string, port: number) => {
      const probe = ['timeout', '3', 'bash', '-c', `exec 3<>/dev/tcp/${host}/${port}`]
      const argv = netns ? ['ip', 'netns', 'exec', netns, ...probe] : probe
      return run(argv[0]!, argv.slice(1)).then(
        () => true,
        () => false,
      )
    }

    /**
     * Deploys examples/node-web (dynos need a release with code), with no web dyno; `build`
     * becomes its build script. Resolves with the slug's id.
     */
    async function deploy(app: string, buildScript?: string): Promise<string> {
      const src = join(data.dir, `src-${app}-${Date.now()}`)
      cpSync(join(REPO, 'examples', 'node-web'), src, { recursive: true })
      if (buildScript !== undefined) {
        const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'))
        pkg.scripts = { ...pkg.scripts, build: buildScript }
        writeFileSync(join(src, 'package.json'), JSON.stringify(pkg))
      }
      const tarball = execFileSync('tar', ['-czf', '-', '-C', src, '.'])
      rmSync(src, { recursive: true })
      const url = await uploadSource(d, app, tarball)
      const build = await call('POST', `/apps/${app}/builds`, { source_blob: { url } })
      assert.equal(build.status, 201)
      await waitUntil(
        'the build to succeed',
        async () =>
          (await call('GET', `/apps/${app}/builds/${build.body.id}`)).body.status === 'succeeded',
        { timeoutMs: 90_000 },
      )
      await call('PATCH', `/apps/${app}/formation/web`, { quantity: 0 })
      return (await call('GET', `/apps/${app}/builds/${build.body.id}`)).body.slug.id as string
    }

    test('a space, an app deployed in it', async () => {
      await createSpaceApp(d, { team: 'dw-team', space: 'dw-space', app: 'dw-web' })
      await deploy('dw-web')
    })

    test('addons:create heroku-postgresql --as DATABASE: available, DATABASE_URL its server', async () => {
      const pg = await createAddon('dw-web', 'heroku-postgresql:private-0', {
        attachment: { name: 'DATABASE' },
      })
      created.pg = pg
      const url = new URL((await configVars('dw-web')).DATABASE_URL!)
      addonHosts[pg.id] = url.hostname
      assert.equal(url.protocol, 'postgres:')
      assert.equal(url.port, '5432')
      // The server's own namespace on the data bridge, owned by the network agent.
      assert.match(url.hostname, /^10\.\d+\.0\.\d+$/)
      assert.ok(alive(postmasterPid(pg.id)))
    })

    test('a one-off dyno writes through DATABASE_URL and reads it back', async () => {
      const r = await inDyno(
        'dw-web',
        `${PSQL} "$DATABASE_URL" -v ON_ERROR_STOP=1 -At -c "CREATE TABLE notes (v text)" -c "INSERT INTO notes VALUES ('written-by-a-dyno')" && ${PSQL} "$DATABASE_URL" -At -c "SELECT v FROM notes"`,
      )
      assert.equal(r.status, 0, r.out)
      assert.match(r.out, /^written-by-a-dyno$/m)
    })

    test('pg:info: live rows from the server', async () => {
      const info = await dataApi('GET', `/client/v11/databases/${created.pg!.id}`)
      assert.equal(info.status, 200)
      const row = (name: string) =>
        (info.body.info as Array<{ name: string; values: unknown[] }>).find((r) => r.name === name)
          ?.values
      assert.match(String(row('PG Version')?.[0]), /^15\./)
      assert.deepEqual(row('Tables'), [1])
      assert.match(String(row('Status')?.[0]), /Available/)
    })

    test('heroku-redis: REDIS_URL works from a dyno (TLS); redis:info answers', async () => {
      const redis = await createAddon('dw-web', 'heroku-redis:private-7')
      created.redis = redis
      const url = (await configVars('dw-web')).REDIS_URL!
      assert.match(url, /^rediss:\/\/:[^@]+@10\.\d+\.0\.\d+:6379$/)
      addonHosts[redis.id] = new URL(url).hostname
      const r = await inDyno(
        'dw-web',
        // redis-cli -u would send AUTH with an empty user name: the password alone, by env.
        'P=${REDIS_URL#rediss://:}; H=${P#*@}; export REDISCLI_AUTH=${P%@*}; ' +
          'redis-cli --tls --insecure -h ${H%:*} -p ${H##*:} SET greeting from-a-dyno && ' +
          'redis-cli --tls --insecure -h ${H%:*} -p ${H##*:} GET greeting',
      )
      assert.equal(r.status, 0, r.out)
      assert.match(r.out, /^from-a-dyno$/m)
      const info = await dataApi('GET', `/redis/v0/databases/${redis.id}`)
      assert.equal(info.status, 200, JSON.stringify(info.body))
      const version = (info.body.info as Array<{ name: string; values: string[] }>).find(
        (r) => r.name === 'Version',
      )
      assert.match(version?.values[0] ?? '', /^\d+\.\d+/)
    })

    test('isolation: the host, a build and another space cannot reach the servers', async () => {
      const pgHost = new URL((await configVars('dw-web')).DATABASE_URL!).hostname
      const redisHost = new URL((await configVars('dw-web')).REDIS_URL!).hostname
      // From the space's own dyno network it is open (the dyno above); from the host not.
      assert.equal(await connects(null, pgHost, 5432), false, 'the host reaches Postgres')
      assert.equal(await connects(null, redisHost, 6379), false, 'the host reaches Redis')
      // A build of the app, in the space's dyno network: not at build time (Heroku's rule).
      const probeCmd = (host: string, port: number) =>
        `(timeout 3 bash -c 'exec 3<>/dev/tcp/${host}/${port}' && echo reached || echo blocked)`
      const slug = await deploy(
        'dw-web',
        `${probeCmd(pgHost, 5432)} > pg-probe.txt && ${probeCmd(redisHost, 6379)} > redis-probe.txt`,
      )
      for (const file of ['pg-probe.txt', 'redis-probe.txt'])
        assert.equal(
          readFileSync(join(slugDir(data.dir, slug), file), 'utf8').trim(),
          'blocked',
          file,
        )
      // Another space (another region): a namespace on its dyno network.
      await createSpaceApp(d, {
        team: 'dw-team2',
        space: 'dw-space2',
        app: 'dw-dr',
        region: 'oregon',
      })
      await deploy('dw-dr')
      const space2 = await call('GET', '/spaces/dw-space2')
      const attached = await fetch(`${d.url}/localspace/spaces/${space2.body.id}/attachments`, {
        method: 'POST',
        headers: {
          accept: 'application/vnd.heroku+json; version=3',
          authorization: `Bearer ${d.key}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ kind: 'dyno', owner: 'dw-probe' }),
      })
      assert.equal(attached.status, 201, await attached.clone().text())
      const probe = (await attached.json()) as { id: string }
      const probeNetns = `ls-${probe.id.replace(/-/g, '').slice(0, 8)}`
      await waitUntil('the probe namespace', async () => (await netnsList()).includes(probeNetns))
      assert.equal(
        await connects(probeNetns, pgHost, 5432),
        false,
        'another space reaches Postgres',
      )
      assert.equal(
        await connects(probeNetns, redisHost, 6379),
        false,
        'another space reaches Redis',
      )
    })

    test('kill -9 of the Postgres server: restarted, the row is still there', async () => {
      const id = created.pg!.id
      const was = postmasterPid(id)
      process.kill(was, 'SIGKILL')
      await waitUntil(
        'a new postmaster',
        () => {
          try {
            const now = postmasterPid(id)
            return now !== was && alive(now)
          } catch {
            return false
          }
        },
        { timeoutMs: 30_000 },
      )
      await waitUntil('it to be available again', async () => (await liveTables(id)) === 1)
      const r = await inDyno('dw-web', `${PSQL} "$DATABASE_URL" -At -c "SELECT v FROM notes"`)
      assert.equal(r.status, 0, r.out)
      assert.match(r.out, /^written-by-a-dyno$/m)
    })

    test('a daemon restart adopts the servers (same pid), still available', async () => {
      const pid = postmasterPid(created.pg!.id)
      await d.stop('SIGTERM')
      assert.ok(
        alive(pid),
        `the server outlives the daemon: ${readFileSync(dataLayout(serverDir(created.pg!.id)).stderr, 'utf8').slice(-2000)}\n${d.output().slice(-3000)}`,
      )
      d = await startDaemonProcess(data.dir, port)
      await waitUntil('pg:info to have live rows again', async () => {
        const info = await dataApi('GET', `/client/v11/databases/${created.pg!.id}`)
        const tables = (info.body.info as Array<{ name: string; values: unknown[] }>).find(
          (r) => r.name === 'Tables',
        )
        return tables?.values[0] === 1
      })
      assert.equal(postmasterPid(created.pg!.id), pid, 'the same server, adopted')
      const a = await call('GET', `/apps/dw-web/addons/${created.pg!.id}`)
      assert.equal(a.body.state, 'provisioned')
    })

    test('a follower in another space and region catches up, then takes writes when unfollowed', async () => {
      const leader = created.pg!
      const follower = await createAddon('dw-dr', 'heroku-postgresql:private-0', {
        config: { follow: 'dw-web::DATABASE_URL' },
      })
      created.follower = follower
      const leaderHost = new URL((await configVars('dw-web')).DATABASE_URL!).hostname
      const followerUrl = (await configVars('dw-dr')).DATABASE_URL!
      const followerHost = new URL(followerUrl).hostname
      addonHosts[follower.id] = followerHost
      // The firewall opens exactly that path: follower server → leader server, port 5432.
      const replication = (
        await run('nft', ['list', 'set', 'inet', 'localspace', 'data_replication'])
      ).stdout
      assert.ok(replication.includes(`${followerHost} . ${leaderHost} . 5432`), replication)
      // A write on the leader reaches the follower.
      const w = await inDyno(
        'dw-web',
        `${PSQL} "$DATABASE_URL" -At -c "INSERT INTO notes VALUES ('after-follow')"`,
      )
      assert.equal(w.status, 0, w.out)
      await waitUntil(
        'pg:wait: caught up',
        async () => {
          const s = await dataApi('GET', `/client/v11/databases/${follower.id}/wait_status`)
          return s.body['waiting?'] === false
        },
        { timeoutMs: 60_000 },
      )
      const info = await dataApi('GET', `/client/v11/databases/${follower.id}`)
      const row = (name: string) =>
        (info.body.info as Array<{ name: string; values: unknown[] }>).find((r) => r.name === name)
          ?.values ?? []
      assert.equal(row('Following').length, 1, JSON.stringify(info.body.info))
      assert.equal(row('Behind By').length, 1, JSON.stringify(info.body.info))
      const read = await inDyno(
        'dw-dr',
        `${PSQL} "$DATABASE_URL" -At -c "SELECT v FROM notes ORDER BY v"`,
      )
      assert.equal(read.status, 0, read.out)
      assert.match(read.out, /after-follow/)
      // A follower is read-only.
      const ro = await inDyno(
        'dw-dr',
        `${PSQL} "$DATABASE_URL" -At -c "INSERT INTO notes VALUES ('x')"`,
      )
      assert.notEqual(ro.status, 0)
      assert.match(ro.out, /read-only/)

      const unfollow = await dataApi('PUT', `/client/v11/databases/${follower.id}/unfollow`)
      assert.equal(unfollow.status, 200, JSON.stringify(unfollow.body))
      let write = { out: '', status: 1 }
      await waitUntil(
        'the promoted follower to take a write',
        async () => {
          write = await inDyno(
            'dw-dr',
            `${PSQL} "$DATABASE_URL" -At -c "INSERT INTO notes VALUES ('promoted')"`,
          )
          return write.status === 0
        },
        { timeoutMs: 60_000 },
      )
      // Its slot on the leader went, and so did the firewall's path.
      const leaderCtx = {
        spec: { address: leaderHost } as DataServerSpec,
        layout: dataLayout(serverDir(leader.id)),
        exec: run,
        netns: await netnsOf(leaderHost),
      }
      await waitUntil(
        'the slot to go',
        async () =>
          (await runSql(leaderCtx, 'SELECT count(*) FROM pg_replication_slots')).trim() === '0',
      )
      await waitUntil(
        'the replication path to close',
        async () =>
          !(
            await run('nft', ['list', 'set', 'inet', 'localspace', 'data_replication'])
          ).stdout.includes(followerHost),
      )
    })

    test('addons:destroy leaves nothing: process, namespace, files, cgroup, config var', async () => {
      for (const [app, addon, configVar] of [
        ['dw-web', created.redis!, 'REDIS_URL'],
        ['dw-dr', created.follower!, 'DATABASE_URL'],
        ['dw-web', created.pg!, 'DATABASE_URL'],
      ] as const) {
        const dir = serverDir(addon.id)
        const netns = await netnsOf(addonHosts[addon.id]!)
        const record = JSON.parse(readFileSync(dataLayout(dir).record, 'utf8')) as { pid: number }
        const res = await call('DELETE', `/apps/${app}/addons/${addon.id}`)
        assert.equal(res.status, 200)
        await waitUntil(`${addon.name}'s files to go`, () => !existsSync(dir), {
          timeoutMs: 60_000,
        })
        await waitUntil(
          `${addon.name} to be gone`,
          async () => (await call('GET', `/addons/${addon.id}`)).status === 404,
        )
        await waitUntil(`${netns} to go`, async () => !(await netnsList()).includes(netns))
        assert.equal(existsSync(join(DEFAULT_CGROUP_ROOT, `data-${addon.id}`)), false, 'its cgroup')
        await waitUntil(`${addon.name}'s process to end`, () => !alive(record.pid))
        assert.equal((await configVars(app))[configVar], undefined, 'its config var')
        const releases = (await call('GET', `/apps/${app}/releases`)).body as Array<{
          description: string
        }>
        assert.ok(releases.some((r) => r.description.startsWith('Detach ')))
      }
    })
  })
}
