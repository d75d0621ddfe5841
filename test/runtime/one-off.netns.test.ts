/**
 * One-off dynos for real (issue 4 item 6), assembled in-process as the daemon assembles them
 * (store, network agent, runtime agent, log store, the API on a real port): `run:detached`
 * through the API, the localspace CLI and the official heroku CLI; an interactive
 * `localspace run` with stdin, stdout and the exit code; a one-off in the space network
 * reaching a web dyno; ps:stop; bad input refused with nothing started.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { LinuxSpaceHost } from '../../src/agent/linux-space-host.js'
import { NetworkAgent } from '../../src/agent/network-agent.js'
import { RuntimeAgent } from '../../src/agent/runtime-agent.js'
import { createAccount, issueApiKey } from '../../src/platform/accounts.js'
import { buildServer } from '../../src/api/server.js'
import { EventBus } from '../../src/core/events.js'
import { newId, nowIso } from '../../src/core/ids.js'
import type { RuntimeView } from '../../src/core/runtime-view.js'
import { startExecRunner } from '../../src/exec/runner.js'
import { LogStore } from '../../src/logs/store.js'
import { defaultHost, DynoProcess } from '../../src/runtime/index.js'
import { Store } from '../../src/store/store.js'
import { apiRequest, REPO } from '../helpers/daemon.js'
import { killDynosUnder } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const APP_UID = 64_124
const HEROKU_RUN = join(REPO, 'node_modules', 'heroku', 'bin', 'run.js')

interface Ran {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a command to its end with `input` on stdin. */
function runProcess(
  argv: string[],
  env: Record<string, string>,
  input = '',
  cwd = REPO,
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { cwd, env, stdio: ['pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.stdin.on('error', () => undefined)
    child.stdin.end(input)
    const timer = setTimeout(() => child.kill('SIGKILL'), Number(process.env.OO_KILL_MS ?? 60_000))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code, stdout, stderr })
    })
  })
}

if (sandboxed(import.meta.url)) {
  describe('one-off dynos, for real', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localspace-oneoff-'))
    chmodSync(dir, 0o711)
    const home = join(dir, 'home')
    mkdirSync(join(home, '.cache', 'heroku'), { recursive: true })
    writeFileSync(join(home, '.cache', 'heroku', 'terms-of-service'), '')
    const store = Store.open(join(dir, 'localspace.db'))
    const events = new EventBus()
    const runner = startExecRunner()
    const network = new NetworkAgent(
      store,
      events,
      new LinuxSpaceHost(runner.exec, { openShell: runner.openShell }),
      { settings: { egressPoolCidrs: [], allowPrivate: [], routerListeners: [] }, intervalMs: 0 },
    )
    const logs = new LogStore()
    const sandbox = await defaultHost({ hide: [dir] })
    const slugs = join(dir, 'slugs')
    const runtime = new RuntimeAgent(store, events, {
      dir: join(dir, 'dynos'),
      logs,
      network,
      startProcess: (spec) => DynoProcess.start(spec, sandbox),
      adoptProcess: (runDir) => DynoProcess.adopt(runDir),
      slugFor: (_appId, slugId) => ({
        dir: join(slugs, slugId),
        processTypes: { web: 'node server.js', greet: 'echo greetings from' },
      }),
      uidFor: () => APP_UID,
      graceMs: 2000,
      bootTimeoutMs: 15_000,
      intervalMs: 0,
    })
    // What daemon.ts hands the API (plus the two one-off entries).
    const view: RuntimeView = {
      dynos: (appId) => runtime.dynosOf(appId),
      natSources: () => [],
      hosts: () => [],
      reservedCidrs: () => [],
      doctor: () => Promise.resolve([]),
      runOneOff: (appId, spec) => runtime.runOneOff(appId, spec),
      rendezvous: (token) => runtime.rendezvous(token),
    }
    const api = buildServer({ store, events, runtime: view, logs })

    // --- the store as the API leaves it ------------------------------------------------------
    const now = nowIso()
    const owner = createAccount(store, {
      email: 'oneoff@example.com',
      password: 'pw-pw-pw-pw',
      isAdmin: true,
    })
    const key = issueApiKey(store, owner, 'test', null).token
    store.teams.insert({ id: 'team-oo', name: 'team-oo', createdAt: now, updatedAt: now })
    const spaceId = newId()
    store.spaces.insert({
      id: spaceId,
      name: 'space-oo',
      teamId: 'team-oo',
      teamName: 'team-oo',
      region: 'virginia',
      state: 'allocating',
      shield: false,
      cidr: '10.66.0.0/16',
      dataCidr: '10.67.0.0/16',
      generation: 'cedar',
      createdAt: now,
      updatedAt: now,
    })
    const insertApp = (name: string, inSpace: boolean) => {
      const id = newId()
      store.apps.insert({
        id,
        name,
        ownerId: owner.id,
        ownerEmail: owner.email,
        teamId: 'team-oo',
        teamName: 'team-oo',
        spaceId: inSpace ? spaceId : null,
        spaceName: inSpace ? 'space-oo' : null,
        spaceShield: false,
        region: 'virginia',
        internalRouting: false,
        maintenance: false,
        stack: 'heroku-24',
        buildStack: 'heroku-24',
        createdAt: now,
        updatedAt: now,
        releasedAt: now,
      })
      return id
    }
    const appId = insertApp('oo-app', true)
    insertApp('oo-norelease', true)
    insertApp('oo-outside', false)

    const slugDir = join(slugs, 'slug-1')
    mkdirSync(slugDir, { recursive: true })
    writeFileSync(
      join(slugDir, 'server.js'),
      `require('http').createServer((q, s) => s.end('hello from ' + process.env.DYNO))` +
        `.listen(process.env.PORT)\n`,
    )
    store.releases.insert({
      id: newId(),
      appId,
      version: 1,
      description: 'Deploy slug-1',
      config: { GREETING: 'hi' },
      slugId: 'slug-1',
      userId: owner.id,
      status: 'succeeded',
      createdAt: nowIso(),
      updatedAt: nowIso(),
    })

    let url = ''
    let particleboard: http.Server | undefined
    let particleboardUrl = ''

    const call = (method: string, path: string, body?: unknown) =>
      apiRequest(url, key, method, path, body)
    const dynoNames = async () =>
      ((await call('GET', '/apps/oo-app/dynos')).body as Array<{ name: string; state: string }>)
        .map((d) => `${d.name}:${d.state}`)
        .join(' ')
    const logText = () =>
      logs
        .recent(appId, { lines: 1500 })
        .map((l) => `${l.source}[${l.dyno}]: ${l.text}`)
        .join('\n')
    const until = (what: string, check: () => boolean | Promise<boolean>) =>
      waitUntil(what, check, { timeoutMs: 30_000 }).catch((e: Error) => {
        throw new Error(`${e.message}\n${logText()}`)
      })
    const cliEnv = (): Record<string, string> => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: home,
      LOCALSPACE_API_URL: url,
      LOCALSPACE_API_KEY: key,
      NO_COLOR: '1',
    })
    const localspace = (args: string[], input = '') =>
      runProcess([process.execPath, '--import', 'tsx', 'src/main.ts', ...args], cliEnv(), input)

    before(async () => {
      await network.start()
      assert.equal(store.spaces.find(spaceId)?.state, 'allocated')
      await runtime.start()
      await api.listen({ host: '127.0.0.1', port: 0 })
      const address = api.server.address() as net.AddressInfo
      url = `http://127.0.0.1:${address.port}`
      api.ctx.apiUrl = url
      particleboard = http.createServer((_req, res) => {
        res.writeHead(404, { 'content-type': 'application/json' })
        res.end('{"id":"not_found","message":"No Particleboard here."}')
      })
      await new Promise<void>((resolve) => particleboard!.listen(0, '127.0.0.1', resolve))
      particleboardUrl = `http://127.0.0.1:${(particleboard.address() as net.AddressInfo).port}`
    })

    after(async () => {
      store.releases.upsertFormation({
        id: newId(),
        appId,
        type: 'web',
        command: '',
        quantity: 0,
        size: 'Private-S',
        createdAt: nowIso(),
        updatedAt: nowIso(),
      })
      await runtime.reconcile()
      await waitUntil('no dynos', () => runtime.dynosOf(appId).length === 0).catch(() => undefined)
      particleboard?.closeAllConnections()
      particleboard?.close()
      await api.close()
      await runtime.stop()
      await network.stop()
      await runner.close()
      logs.close()
      store.close()
      await killDynosUnder(dir) // whatever a failed test left running
      rmSync(dir, { recursive: true, force: true })
    })

    test('run:detached: run.N runs the release, logs its output and exit, then goes', async () => {
      const created = await call('POST', '/apps/oo-app/dynos', {
        command: 'echo hello $GREETING $DYNO; exit 3',
        attach: false,
      })
      assert.equal(created.status, 201, JSON.stringify(created.body))
      const name = created.body.name as string
      assert.match(name, /^run\.\d{4}$/)
      assert.equal(created.body.attach_url, null)
      assert.equal(created.body.type, 'run')
      assert.equal(created.body.size, 'Private-S')
      assert.equal(created.body.release.version, 1)
      await until('its exit in the log', () =>
        logText().includes(`heroku[${name}]: State changed from up to complete`),
      )
      const text = logText()
      assert.match(text, /heroku\[api\]: Starting process with command `echo hello/)
      assert.ok(text.includes(`heroku[${name}]: Starting process with command \`echo hello`))
      assert.ok(text.includes(`heroku[${name}]: State changed from starting to up`))
      assert.ok(text.includes(`app[${name}]: hello hi ${name}`), text)
      assert.ok(text.includes(`heroku[${name}]: Process exited with status 3`))
      await until('it to be gone', async () => !(await dynoNames()).includes(name))
      assert.ok(!text.includes(`${name}]: State changed from crashed`), 'never restarted')
    })

    test('a first word naming a process type runs its Procfile command', async () => {
      const created = await call('POST', '/apps/oo-app/dynos', { command: 'greet you' })
      assert.equal(created.status, 201)
      assert.equal(created.body.command, 'echo greetings from you')
      const name = created.body.name as string
      await until('its output', () => logText().includes(`app[${name}]: greetings from you`))
    })

    test('the converge leaves one-offs alone; ps:stop stops one', async () => {
      const created = await call('POST', '/apps/oo-app/dynos', {
        command: 'sleep 300',
        size: 'private-m',
      })
      assert.equal(created.status, 201)
      assert.equal(created.body.size, 'Private-M')
      const name = created.body.name as string
      await until('it to be up', async () => (await dynoNames()).includes(`${name}:up`))
      events.emit('formation.changed', appId)
      await runtime.reconcile()
      assert.ok((await dynoNames()).includes(`${name}:up`), 'still up after a converge')
      const stop = await call('POST', `/apps/oo-app/dynos/${name}/actions/stop`)
      assert.equal(stop.status, 202)
      await until('it to be gone', async () => !(await dynoNames()).includes(name))
      assert.ok(logText().includes(`heroku[${name}]: Stopping all processes with SIGTERM`))
      assert.match(logText(), new RegExp(`heroku\\[${name.replace('.', '\\.')}\\]: Process exited`))
    })

    test('localspace run is interactive: stdin, stdout, exit code', async () => {
      const r = await localspace(
        ['run', '-a', 'oo-app', '--', 'sh', '-c', 'read x; echo got $x; echo err >&2; exit 7'],
        'abc\n',
      )
      assert.equal(r.code, 7, `${r.stdout}\n${r.stderr}`)
      assert.equal(r.stdout.replace('err\n', ''), 'got abc\n')
      assert.ok(r.stdout.includes('err\n'), 'stderr comes back too')
      assert.match(r.stderr, /Running .* on oo-app\.\.\. up, run\.\d{4}/)
      // Attached output goes to the client, not the log; the lifecycle does.
      const name = /up, (run\.\d{4})/.exec(r.stderr)![1]!
      await until('its end in the log', () =>
        logText().includes(`heroku[${name}]: Process exited with status 7`),
      )
      assert.ok(!logText().includes(`app[${name}]`))
      await until('it to be gone', async () => !(await dynoNames()).includes(name))
    })

    test('an interactive session passes the exit code 0 and end of input through', async () => {
      const r = await localspace(['run', '-a', 'oo-app', '--', 'wc', '-l'], 'a\nb\nc\n')
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout.trim(), '3')
    })

    test('a one-off is in the space network: it reaches a web dyno on its private IP', async () => {
      store.releases.upsertFormation({
        id: newId(),
        appId,
        type: 'web',
        command: '',
        quantity: 1,
        size: 'Private-S',
        createdAt: nowIso(),
        updatedAt: nowIso(),
      })
      events.emit('formation.changed', appId)
      await until('web.1 to be up', async () => (await dynoNames()).includes('web.1:up'))
      const web = runtime.dynosOf(appId).find((d) => d.name === 'web.1')!
      const r = await localspace([
        'run',
        '-a',
        'oo-app',
        '--',
        'curl',
        '-s',
        '--max-time',
        '3',
        `http://${web.privateIp}:5000/`,
      ])
      assert.equal(r.code, 0, r.stderr)
      assert.equal(r.stdout, 'hello from web.1')
    })

    test('localspace run:detached prints the dyno and how to see its output', async () => {
      const r = await localspace([
        'run:detached',
        '-a',
        'oo-app',
        '-e',
        'X=1;Y=2',
        '--',
        'echo $X$Y',
      ])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stderr, /^Running echo \$X\$Y on oo-app\.\.\. up, run\.\d{4}$/m)
      const name = /up, (run\.\d{4})/.exec(r.stderr)![1]!
      assert.equal(r.stdout, `Run localspace logs -a oo-app --dyno ${name} to view the output.\n`)
      await until('its output', () => logText().includes(`app[${name}]: 12`))
    })

    test('heroku run:detached (the official CLI) works', async () => {
      const r = await runProcess(
        [
          process.execPath,
          '--no-deprecation',
          HEROKU_RUN,
          'run:detached',
          '-a',
          'oo-app',
          '--',
          'echo',
          'from heroku',
        ],
        {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          HOME: home,
          XDG_CONFIG_HOME: join(home, '.config'),
          XDG_CACHE_HOME: join(home, '.cache'),
          XDG_DATA_HOME: join(home, '.local', 'share'),
          HEROKU_HOST: url,
          HEROKU_API_KEY: key,
          HEROKU_PARTICLEBOARD_URL: particleboardUrl,
          HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
          HEROKU_DISABLE_AUTOUPDATE: 'true',
          HEROKU_SKIP_ANALYTICS: '1',
          DISABLE_TELEMETRY: 'true',
          NO_COLOR: '1',
          CI: 'true',
        },
        '',
        home,
      )
      assert.equal(r.code, 0, `${r.stdout}\n${r.stderr}`)
      const m = /--dyno (run\.\d{4})/.exec(r.stdout)
      assert.ok(m, r.stdout)
      assert.match(r.stdout, /Run heroku logs --app oo-app --dyno run\.\d{4} to view the output\./)
      await until('its output', () => logText().includes(`app[${m[1]}]: from heroku`))
    })

    test('bad input is refused in Heroku shape and starts nothing', async () => {
      await until('no one-offs left', async () => !/run\./.test(await dynoNames()))
      const before = readdirSync(join(dir, 'dynos')).length
      const cases: Array<[string, unknown, number, RegExp]> = [
        ['/apps/oo-app/dynos', {}, 422, /command/],
        ['/apps/oo-app/dynos', { command: '   ' }, 422, /empty/],
        ['/apps/oo-app/dynos', { command: 'ls', size: 'Gigantic-X' }, 422, /Unknown dyno size/],
        ['/apps/oo-app/dynos', { command: 'ls', size: 'Standard-1X' }, 422, /Private Space/],
        ['/apps/oo-app/dynos', { command: 'ls', type: 'no good' }, 422, /process type/],
        ['/apps/oo-app/dynos', { command: 'ls', time_to_live: 0 }, 422, /time_to_live/],
        ['/apps/oo-app/dynos', { command: 'ls', env: { 'A-B': '1' } }, 422, /variable name/],
        ['/apps/oo-outside/dynos', { command: 'ls' }, 422, /not in a space/],
        ['/apps/oo-norelease/dynos', { command: 'ls' }, 422, /deploy/],
        ['/apps/nope/dynos', { command: 'ls' }, 404, /Couldn't find that app/],
      ]
      for (const [path, body, status, message] of cases) {
        const r = await call('POST', path, body)
        assert.equal(r.status, status, `${path} ${JSON.stringify(body)}: ${JSON.stringify(r.body)}`)
        assert.equal(typeof r.body.id, 'string')
        assert.match(r.body.message as string, message)
      }
      assert.ok(!/run\./.test(await dynoNames()))
      assert.equal(readdirSync(join(dir, 'dynos')).length, before)
      // A used or unknown rendezvous token is refused.
      const r = await localspace(['run', '-a', 'oo-app', '--', 'true'])
      assert.equal(r.code, 0, r.stderr)
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(`${url}/localspace/rendezvous/not-a-real-token-at-all`, {
          headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
        })
        req.on('response', (res) => resolve(res.statusCode ?? 0))
        req.on('upgrade', () => resolve(101))
        req.on('error', reject)
        req.end()
      })
      assert.equal(status, 404)
    })
  })
}
