/**
 * The `localspace` CLI end to end: a real daemon on a free port with a temp data dir, and
 * `node bin/localspace …` run as child processes, asserting on what they print and how they
 * exit. Needs the build (`npm run build`); `npm test` builds first.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { once } from 'node:events'
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DEFAULT_CGROUP_ROOT } from '../../src/runtime/cgroup.js'
import { BIN, REPO, freePort, startDaemonProcess, type DaemonProcess } from '../helpers/daemon.js'
import { selfSigned } from '../helpers/certs.js'
import { dataServersUnder, killDataServers } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const ADMIN_EMAIL = 'admin@localspace.localhost'

type Named = { name: string }

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** The environment without any credentials the person running the tests may have set. */
function cleanEnv(): Record<string, string | undefined> {
  const env = { ...process.env }
  for (const name of [
    'LOCALSPACE_API_URL',
    'LOCALSPACE_API_KEY',
    'HEROKU_HOST',
    'HEROKU_API_KEY',
    'LOCALSPACE_DEBUG',
  ]) {
    delete env[name]
  }
  return env
}

// Starts real daemons, which manage the host's network: in a sandbox of its own.
if (sandboxed(import.meta.url)) {
  describe('localspace CLI against a real daemon', () => {
    const suffix = randomBytes(3).toString('hex')
    const team = `cli-team-${suffix}`
    const space = `cli-space-${suffix}`
    const renamed = `cli-moved-${suffix}`
    const app = `cli-app-${suffix}`
    const dataDir = mkdtempSync(join(tmpdir(), 'localspace-cli-data-'))
    const configHome = mkdtempSync(join(tmpdir(), 'localspace-cli-config-'))
    let daemon: DaemonProcess | undefined
    let url = ''
    let adminKey = ''

    /** Runs the CLI with the admin's key unless `env` says otherwise; stdin is `input` or empty. */
    async function cli(
      args: string[],
      options: { env?: Record<string, string | undefined>; input?: string } = {},
    ): Promise<Run> {
      const env: Record<string, string | undefined> = {
        ...cleanEnv(),
        XDG_CONFIG_HOME: configHome,
        LOCALSPACE_API_URL: url,
        LOCALSPACE_API_KEY: adminKey,
        ...options.env,
      }
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k]
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: 'pipe' })
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
      child.stdin.end(options.input ?? '')
      const [code] = (await once(child, 'close')) as [number | null]
      return { code, stdout, stderr }
    }

    /** Runs a command that must succeed, and returns what it printed. */
    async function ok(args: string[], options: Parameters<typeof cli>[1] = {}): Promise<Run> {
      const run = await cli(args, options)
      assert.equal(run.code, 0, `localspace ${args.join(' ')} failed:\n${run.stdout}${run.stderr}`)
      return run
    }

    /** Runs a read with --json and parses stdout; `T` names the fields a test reads. */
    const json = async <T = any>(args: string[]): Promise<T> =>
      JSON.parse((await ok([...args, '--json'])).stdout) as T

    before(async () => {
      assert.ok(existsSync(join(REPO, 'dist', 'main.js')), 'run `npm run build` first')
      daemon = await startDaemonProcess(dataDir, await freePort(), [], 20_000)
      url = daemon.url
      adminKey = daemon.key
    })

    after(async () => {
      await daemon?.stop()
      // Data servers outlive the daemon: those a failed test did not destroy go here.
      await killDataServers(dataServersUnder(dataDir), DEFAULT_CGROUP_ROOT)
      rmSync(dataDir, { recursive: true, force: true })
      rmSync(configHome, { recursive: true, force: true })
    })

    test('teams:create makes a team the admin then lists', async () => {
      const created = await ok(['teams:create', team])
      assert.match(created.stderr, new RegExp(`Creating team ${team}\\.\\.\\. done`))
      const [listed, teams] = await Promise.all([ok(['teams']), json<Named[]>(['teams'])])
      assert.match(listed.stdout, /Team\s+Role/)
      assert.match(listed.stdout, new RegExp(`${team}\\s+admin`))
      assert.ok(teams.some((t) => t.name === team))
    })

    test('regions --private lists only Private Space regions', async () => {
      const [regions, shown] = await Promise.all([
        json<Array<{ private_capable: boolean }>>(['regions', '--private']),
        ok(['regions', '--private']),
      ])
      assert.ok(regions.length >= 10)
      assert.ok(regions.every((r) => r.private_capable === true))
      assert.match(shown.stdout, /tokyo\s+Tokyo, Japan\s+Private Spaces/)
    })

    test('spaces:create, spaces:wait and spaces:info show the space as heroku renders it', async () => {
      const created = await ok([
        'spaces:create',
        '--space',
        space,
        '--team',
        team,
        '--region',
        'tokyo',
      ])
      assert.match(created.stdout, new RegExp(`^=== ${space}$`, 'm'))
      assert.match(created.stdout, /^CIDR:\s+10\.\d+\.0\.0\/16$/m)
      assert.match(created.stdout, /^Data CIDR:\s+\S+$/m)

      const waited = await ok(['spaces:wait', space, '--interval', '0.1', '--timeout', '30'])
      assert.match(
        waited.stderr,
        new RegExp(`Waiting for space ${space} to allocate\\.\\.\\. done`),
      )
      assert.match(waited.stdout, /^State:\s+allocated$/m)

      const [info, parsed, spaces] = await Promise.all([
        ok(['spaces:info', space]),
        json(['spaces:info', '-s', space]),
        json<Named[]>(['spaces', '--team', team]),
      ])
      assert.match(info.stdout, /^Region:\s+Tokyo, Japan$/m)
      assert.match(info.stdout, /^Shield:\s+off$/m)
      assert.match(info.stdout, /^Outbound IPs:\s+\S/m)
      assert.equal(parsed.name, space)
      assert.equal(parsed.state, 'allocated')
      assert.equal(parsed.team.name, team)
      assert.equal(parsed.outbound_ips.state, 'enabled')
      assert.deepEqual(
        spaces.map((s) => s.name),
        [space],
      )
    })

    test('trusted IP ranges are added and removed with heroku’s messages', async () => {
      const added = await ok(['spaces:trusted-ips:add', '203.0.113.0/24', '-s', space])
      assert.match(
        added.stdout,
        new RegExp(`Added 203\\.0\\.113\\.0/24 to trusted IP ranges on ${space}`),
      )
      const again = await ok(['spaces:trusted-ips:add', '203.0.113.0/24', '-s', space])
      assert.match(again.stdout, /A rule already exists for 203\.0\.113\.0\/24\./)

      const listed = await ok(['spaces:trusted-ips', '-s', space])
      assert.match(listed.stdout, /^=== Trusted IP Ranges$/m)
      assert.match(listed.stdout, /^0\.0\.0\.0\/0$/m)
      assert.match(listed.stdout, /^203\.0\.113\.0\/24$/m)
      assert.match(listed.stdout, /Trusted IP rules are applied to this space\./)

      const removed = await ok(['spaces:trusted-ips:remove', '0.0.0.0/0', '-s', space])
      assert.match(
        removed.stdout,
        new RegExp(`Removed 0\\.0\\.0\\.0/0 from trusted IP ranges on ${space}`),
      )
      const missing = await ok(['spaces:trusted-ips:remove', '198.51.100.0/24', '-s', space])
      assert.match(missing.stdout, /No IP range matching 198\.51\.100\.0\/24 was found\./)

      const ruleset = await json(['spaces:trusted-ips', '-s', space])
      assert.deepEqual(ruleset.rules, [{ action: 'allow', source: '203.0.113.0/24' }])
    })

    test('an invalid CIDR is refused by the API with its message', async () => {
      const run = await cli(['spaces:trusted-ips:add', 'not-a-cidr', '-s', space])
      assert.equal(run.code, 1)
      assert.match(run.stderr, / ▸ {4}.*must be a valid IPv4 CIDR/)
      assert.match(run.stderr, /Error ID: invalid_params/)
    })

    test('spaces:rename renames the space', async () => {
      const run = await ok(['spaces:rename', '--from', space, '--to', renamed])
      assert.match(run.stdout, new RegExp(`Renamed space from ${space} to ${renamed}\\.`))
      assert.equal((await json(['spaces:info', renamed])).name, renamed)
    })

    test('apps:create --space creates the app in the space', async () => {
      const run = await ok(['apps:create', app, '--space', renamed])
      assert.match(run.stderr, new RegExp(`Creating ${app} in space ${renamed}\\.\\.\\. done`))
      assert.match(run.stdout, new RegExp(`^\\S*${app}\\S* \\| \\S+/${app}\\.git$`, 'm'))
      const [info, shown, inSpace] = await Promise.all([
        json(['apps:info', '-a', app]),
        ok(['apps:info', app]),
        json<Named[]>(['apps', '--space', renamed]),
      ])
      assert.equal(info.space.name, renamed)
      assert.equal(info.region.name, 'tokyo')
      assert.match(shown.stdout, new RegExp(`^Space:\\s+${renamed}$`, 'm'))
      assert.deepEqual(
        inSpace.map((a) => a.name),
        [app],
      )
    })

    test('config:set, config, config:get and config:unset make releases', async () => {
      const set = await ok(['config:set', 'GREETING=hello', "QUOTE=it's here", '-a', app])
      assert.match(set.stderr, /Setting GREETING, QUOTE and restarting .*\.\.\. done, v2/)
      assert.match(set.stdout, /^GREETING: hello$/m)

      const [shown, shell, got] = await Promise.all([
        ok(['config', '-a', app]),
        ok(['config', '--shell', '-a', app]),
        ok(['config:get', 'GREETING', '-a', app]),
      ])
      assert.match(shown.stdout, new RegExp(`^=== ${app} Config Vars$`, 'm'))
      assert.match(shown.stdout, /^GREETING: hello$/m)
      assert.equal(shell.stdout, "GREETING=hello\nQUOTE='it'\\''s here'\n")
      assert.equal(got.stdout, 'hello\n')

      const unset = await ok(['config:unset', 'GREETING', '-a', app])
      assert.match(unset.stderr, /Unsetting GREETING and restarting .*\.\.\. done, v3/)
      assert.deepEqual(await json(['config', '-a', app]), { QUOTE: "it's here" })
    })

    test('releases lists newest first and releases:rollback goes back one release', async () => {
      const [listed, releases] = await Promise.all([
        ok(['releases', '-a', app]),
        json<Array<{ version: number }>>(['releases', '-a', app]),
      ])
      assert.match(listed.stdout, new RegExp(`^=== ${app} Releases - Current: v3$`, 'm'))
      assert.match(listed.stdout, /v3\s+Remove GREETING config vars/)
      assert.deepEqual(
        releases.map((r) => r.version),
        [3, 2, 1],
      )

      const rolled = await ok(['releases:rollback', '-a', app])
      assert.match(rolled.stderr, /Rolling back .* to v2\.\.\. done, v4/)
      const [config, info] = await Promise.all([
        json(['config', '-a', app]),
        json(['releases:info', 'v4', '-a', app]),
      ])
      assert.equal(config.GREETING, 'hello')
      assert.equal(info.description, 'Rollback to v2')
      assert.equal(info.current, true)
    })

    test('ps:scale sends the changes and ps shows the formation', async () => {
      const scaled = await ok(['ps:scale', 'web=2:Private-M', 'worker+1', '-a', app])
      assert.match(
        scaled.stderr,
        /Scaling dynos\.\.\. done, now running web at 2:Private-M, worker at 1:Private-S/,
      )
      const [formation, ps, parsed, bad] = await Promise.all([
        ok(['ps:scale', '-a', app]),
        ok(['ps', '-a', app]),
        json<{ formation: Array<{ type: string; quantity: number }>; dynos: unknown }>([
          'ps',
          '-a',
          app,
        ]),
        cli(['ps:scale', 'web=lots', '-a', app]),
      ])
      assert.equal(formation.stdout, 'web=2:Private-M worker=1:Private-S\n')
      assert.match(ps.stdout, /^=== Formation$/m)
      assert.match(ps.stdout, /web\s+Private-M\s+2/)
      assert.match(ps.stdout, /worker\s+Private-S\s+1/)
      assert.deepEqual(
        parsed.formation.map((f) => [f.type, f.quantity]),
        [
          ['web', 2],
          ['worker', 1],
        ],
      )
      assert.ok(Array.isArray(parsed.dynos))
      assert.equal(bad.code, 1)
      assert.match(bad.stderr, /web=lots is not a valid scale argument/)
    })

    test('features:disable and features:enable toggle an app feature', async () => {
      await ok(['features:disable', 'spaces-dns-discovery', '-a', app])
      const enabled = await ok(['features:enable', 'spaces-dns-discovery', '-a', app])
      assert.match(enabled.stderr, /Enabling spaces-dns-discovery for .*\.\.\. done/)
      const features = await json<Array<{ name: string; enabled: boolean }>>([
        'features',
        '-a',
        app,
      ])
      assert.equal(features.find((f) => f.name === 'spaces-dns-discovery')?.enabled, true)
      const again = await cli(['features:enable', 'spaces-dns-discovery', '-a', app])
      assert.equal(again.code, 1)
      assert.match(again.stderr, /spaces-dns-discovery is already enabled\./)
    })

    test('domains and certs: add, list, info, update --cert, remove', async () => {
      const host = `www.${suffix}.example.com`
      const added = await ok(['domains:add', host, '-a', app])
      assert.match(added.stderr, new RegExp(`Adding ${host} to ${app}\\.\\.\\. done`))
      assert.match(added.stdout, new RegExp(`point to the DNS Target ${app}\\.localhost\\.`))
      // Pending until its TXT record is found: the CLI says which one to publish.
      const listedJson = await json<Array<{ kind: string; verification_txt_value: string }>>([
        'domains',
        '-a',
        app,
      ])
      const token = listedJson.find((d) => d.kind === 'custom')!.verification_txt_value
      const record = `_localspace-challenge.${host}  TXT  "${token}"`
      assert.ok(added.stdout.includes(record), added.stdout)
      const listed = await ok(['domains', '-a', app])
      assert.match(listed.stdout, new RegExp(`=== ${app} Heroku Domain\n${app}\\.localhost\n`))
      assert.match(
        listed.stdout,
        new RegExp(`${host.replace(/\./g, '\\.')}\\s+CNAME\\s+${app}\\.localhost`),
      )
      const info = await ok(['domains:info', host, '-a', app])
      assert.match(info.stdout, /Kind:\s+custom/)
      assert.match(info.stdout, /Status:\s+pending/)
      assert.match(info.stdout, /Verification TXT Name:\s+_localspace-challenge\./)
      const dup = await cli(['domains:add', host, '-a', app])
      assert.equal(dup.code, 1)
      assert.match(dup.stderr, /Domain already added to this app\./)

      const dir = mkdtempSync(join(tmpdir(), 'localspace-cli-certs-'))
      try {
        const pem = selfSigned([host])
        writeFileSync(join(dir, 'c.crt'), pem.cert)
        writeFileSync(join(dir, 'c.key'), pem.key)
        const cert = await ok(['certs:add', join(dir, 'c.crt'), join(dir, 'c.key'), '-a', app])
        assert.match(
          cert.stdout,
          new RegExp(`Common Name\\(s\\):\\s+${host.replace(/\./g, '\\.')}`),
        )
        assert.match(cert.stdout, /SSL certificate is self signed\./)
        const [endpoint] = await json<Array<{ name: string }>>(['certs', '-a', app])
        await ok(['domains:update', host, '--cert', endpoint!.name, '-a', app])
        assert.match((await ok(['domains', '-a', app])).stdout, new RegExp(`${endpoint!.name}`))
        const missing = await cli([
          'certs:add',
          join(dir, 'none.crt'),
          join(dir, 'c.key'),
          '-a',
          app,
        ])
        assert.equal(missing.code, 1)
        assert.match(missing.stderr, /Could not read .*none\.crt/)
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
      await ok(['certs:remove', '-a', app, '--confirm', app])
      assert.match((await ok(['certs', '-a', app])).stdout, /has no SSL certificates/)
      await ok(['domains:remove', host, '-a', app])
      assert.deepEqual(
        (await json<Array<{ kind: string }>>(['domains', '-a', app])).map((d) => d.kind),
        ['heroku'],
      )
    })

    test('addons:create, addons, addons:info and addons:destroy (Redis in the space)', async () => {
      const dataApp = `cli-data-${suffix}`
      await ok(['apps:create', dataApp, '--space', renamed])
      const created = await ok([
        'addons:create',
        'heroku-redis:private-3',
        '-a',
        dataApp,
        '--as',
        'CACHE',
      ])
      const m = /^(redis-[a-z]+-\d{5}) is being created in the background as CACHE_URL\./m.exec(
        created.stdout,
      )
      assert.ok(m, created.stdout)
      const name = m[1]!
      const config = await json<Record<string, string>>(['config', '-a', dataApp])
      assert.match(config.CACHE_URL!, /^rediss:\/\//)
      // The daemon runs a real server: `creating` until it answers (about a second), then `created`.
      const line = new RegExp(
        `heroku-redis \\(${name}\\)\\s+heroku-redis:private-3\\s+CACHE_URL\\s+(creating|created)`,
      )
      assert.match((await ok(['addons', '-a', dataApp])).stdout, line)
      await waitUntil('the Redis server to be created', async () =>
        / created\n/.test((await ok(['addons', '-a', dataApp])).stdout),
      )
      const info = await ok(['addons:info', name, '-a', dataApp])
      assert.match(info.stdout, new RegExp(`^Attachments:\\s+${dataApp}::CACHE$`, 'm'))
      const listed = await json<Array<{ name: string }>>(['addons', '-a', dataApp, '--json'])
      assert.deepEqual(
        listed.map((a) => a.name),
        [name],
      )
      // Without a terminal to ask, destroying needs --confirm with the app's name.
      const refused = await cli(['addons:destroy', name, '-a', dataApp])
      assert.equal(refused.code, 1)
      assert.match(refused.stderr, new RegExp(`Re-run it with --confirm ${dataApp}`))
      await ok(['addons:destroy', name, '-a', dataApp, '--confirm', dataApp])
      assert.equal(
        (await json<Record<string, string>>(['config', '-a', dataApp])).CACHE_URL,
        undefined,
      )
      assert.match((await ok(['addons', '-a', dataApp])).stdout, /No add-ons for app/)
      await ok(['apps:destroy', dataApp, '--confirm', dataApp])
    })

    test('an unknown app is exit 1 with the API’s message and error id', async () => {
      const run = await cli(['apps:info', '-a', `no-such-app-${suffix}`])
      assert.equal(run.code, 1)
      assert.match(run.stderr, /^ ▸ {4}Couldn't find that app\.$/m)
      assert.match(run.stderr, /Error ID: not_found/)
      assert.equal(run.stdout, '')
    })

    test('a bad API key is exit 1 and says where the key came from', async () => {
      const run = await cli(['teams'], { env: { LOCALSPACE_API_KEY: 'HRKU-not-a-real-key' } })
      assert.equal(run.code, 1)
      assert.match(run.stderr, /Invalid credentials provided\./)
      assert.match(run.stderr, /Error ID: unauthorized/)
      assert.match(run.stderr, /LOCALSPACE_API_KEY/)
    })

    test('no daemon at the URL is a clear message naming it', async () => {
      const nowhere = `http://127.0.0.1:${await freePort()}`
      const run = await cli(['teams'], { env: { LOCALSPACE_API_URL: nowhere } })
      assert.equal(run.code, 1)
      assert.match(run.stderr, new RegExp(`${nowhere}.*connection refused`))
      assert.match(run.stderr, /localspace daemon/)
    })

    test('usage mistakes are refused before any request', async () => {
      const noApp = await cli(['config'])
      assert.notEqual(noApp.code, 0)
      assert.match(noApp.stderr, /--app/)
      const noSpace = await cli(['spaces:create', '--team', team])
      assert.notEqual(noSpace.code, 0)
      assert.match(noSpace.stderr, /missing space/)
    })

    test('destroying needs a matching --confirm when nobody can be asked', async () => {
      const unconfirmed = await cli(['apps:destroy', '-a', app])
      assert.equal(unconfirmed.code, 1)
      assert.match(unconfirmed.stderr, new RegExp(`--confirm ${app}`))
      const mismatched = await cli(['apps:destroy', app, '--confirm', 'something-else'])
      assert.equal(mismatched.code, 1)
      assert.match(
        mismatched.stderr,
        new RegExp(`Confirmation something-else did not match ${app}\\. Aborted\\.`),
      )
      assert.equal((await json(['apps:info', app])).name, app)
    })

    test('a space with apps cannot be destroyed; apps:destroy then spaces:destroy can', async () => {
      const blocked = await cli(['spaces:destroy', renamed, '--confirm', renamed])
      assert.equal(blocked.code, 1)
      assert.match(blocked.stderr, /Error ID: invalid_params/)

      const app_ = await ok(['apps:destroy', app, '--confirm', app])
      assert.match(app_.stderr, new RegExp(`Destroying app ${app}\\.\\.\\. done`))
      const space_ = await ok(['spaces:destroy', renamed, '--confirm', renamed])
      assert.match(space_.stderr, new RegExp(`Destroying space ${renamed}\\.\\.\\. done`))

      const gone = await cli(['apps:info', app])
      assert.equal(gone.code, 1)
    })

    test('accounts:create prints the new password and key once; members:add adds it', async () => {
      const email = `dev-${suffix}@example.com`
      const created = await ok(['accounts:create', email])
      const password = /^Password:\s+(\S+)$/m.exec(created.stdout)?.[1]
      const key = /^API key:\s+(\S+)$/m.exec(created.stdout)?.[1]
      assert.ok(password && key, created.stdout)

      const before = await ok(['teams'], { env: { LOCALSPACE_API_KEY: key } })
      assert.match(before.stdout, /not a member of any teams/)
      await ok(['members:add', email, '-t', team, '--role', 'member'])
      const members = await ok(['members', '-t', team])
      assert.match(members.stdout, new RegExp(`${email.replace('.', '\\.')}\\s+member`))
      const theirTeams = await ok(['teams'], { env: { LOCALSPACE_API_KEY: key } })
      assert.match(theirTeams.stdout, new RegExp(`${team}\\s+member`))
      await ok(['members:remove', email, '-t', team])
      assert.ok(!(await ok(['members', '-t', team])).stdout.includes(email))
    })

    describe('login and logout', () => {
      const credentialsFile = () => join(configHome, 'localspace', 'credentials.json')
      // No key in the environment: commands must use what `login` stored.
      const noKey = { LOCALSPACE_API_KEY: undefined }
      const password = () => readFileSync(join(dataDir, 'admin-password'), 'utf8').trim()

      test('login with flags stores a 0600 credentials file that later commands use', async () => {
        const run = await ok(['login', '--email', ADMIN_EMAIL, '--password', password()], {
          env: noKey,
        })
        assert.match(run.stdout, new RegExp(`Logged in as ${ADMIN_EMAIL}`))
        assert.equal(statSync(credentialsFile()).mode & 0o777, 0o600)
        const stored = JSON.parse(readFileSync(credentialsFile(), 'utf8'))
        assert.equal(stored.url, url)
        assert.equal(stored.email, ADMIN_EMAIL)
        assert.match(stored.token, /\S{20,}/)
        assert.notEqual(stored.token, adminKey)

        const whoami = await ok(['auth:whoami'], { env: noKey })
        assert.equal(whoami.stdout, `${ADMIN_EMAIL}\n`)
        assert.equal((await json(['auth:whoami'])).email, ADMIN_EMAIL)
      })

      test('login reads email and password from stdin when they are not flags', async () => {
        const run = await ok(['login', '--api-url', url], {
          env: { LOCALSPACE_API_URL: undefined, LOCALSPACE_API_KEY: undefined },
          input: `${ADMIN_EMAIL}\n${password()}\n`,
        })
        assert.match(run.stdout, /Logged in as/)
      })

      test('a wrong password is exit 1 and leaves the stored login alone', async () => {
        const before = readFileSync(credentialsFile(), 'utf8')
        const run = await cli(['login', '--email', ADMIN_EMAIL, '--password', 'wrong-password'], {
          env: noKey,
        })
        assert.equal(run.code, 1)
        assert.match(run.stderr, /Invalid email or password\./)
        assert.match(run.stderr, /Error ID: unauthorized/)
        assert.equal(readFileSync(credentialsFile(), 'utf8'), before)
      })

      test('logout removes the login, and then commands are refused', async () => {
        const run = await ok(['logout'], { env: noKey })
        assert.match(run.stdout, /Logged out\./)
        assert.equal(existsSync(credentialsFile()), false)
        const whoami = await cli(['auth:whoami'], { env: noKey })
        assert.equal(whoami.code, 1)
        assert.match(whoami.stderr, /Error ID: unauthorized/)
        assert.match(whoami.stderr, /localspace login/)
      })
    })
  })
}
