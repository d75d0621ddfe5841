/**
 * Formation becomes real, sandboxed dynos in a real space network: scale up and down, Heroku's
 * lifecycle and log lines, crash and restart with back-off, a new release replacing dynos
 * without dropping to zero, ps:restart, a daemon restart that adopts running dynos, and
 * nothing left behind.
 */
import assert from 'node:assert/strict'
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { OVERFLOW_AT } from '../../src/agent/file-tail.js'
import { LinuxSpaceHost } from '../../src/agent/linux-space-host.js'
import { NetworkAgent } from '../../src/agent/network-agent.js'
import { RuntimeAgent, type RuntimeAgentOptions } from '../../src/agent/runtime-agent.js'
import { createAccount } from '../../src/platform/accounts.js'
import { EventBus } from '../../src/core/events.js'
import { newId, nowIso } from '../../src/core/ids.js'
import { run } from '../../src/exec/run.js'
import { startExecRunner } from '../../src/exec/runner.js'
import { MAX_LINE_BYTES } from '../../src/logs/split.js'
import { LogStore } from '../../src/logs/store.js'
import { defaultHost, DynoProcess } from '../../src/runtime/index.js'
import { Store } from '../../src/store/store.js'
import { killDynosUnder } from '../helpers/dynos.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const APP_UID = 64_123

if (sandboxed(import.meta.url)) {
  describe('the runtime agent, for real', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'localspace-runtime-'))
    chmodSync(dir, 0o711) // as the daemon's data dir: searchable on the way to the dynos
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
    const options: RuntimeAgentOptions = {
      dir: join(dir, 'dynos'),
      logs,
      network,
      startProcess: (spec) => DynoProcess.start(spec, sandbox),
      adoptProcess: (runDir) => DynoProcess.adopt(runDir),
      slugFor: (_appId, slugId) => ({
        dir: join(slugs, slugId),
        processTypes: {
          web: 'node server.js',
          worker: 'node worker.js',
          crashy: 'echo about to fail; exit 3',
          // Ignores SIGTERM (sleep inherits the ignored signal): only the SIGKILL after the grace ends it.
          stubborn: `trap '' TERM; echo ignoring SIGTERM; sleep 600`,
          // Past Private-S's 1 GB in 64 MB steps, each filled, so the memory is really used.
          hog: `node -e 'const a = []; for (;;) a.push(Buffer.alloc(64 << 20, 1))'`,
          // 25 MB without a newline, in 64 KB writes, then one line.
          flood: `for i in $(seq 400); do head -c 65536 /dev/zero | tr '\\0' x; done; echo; echo flood done; sleep 600`,
        },
      }),
      uidFor: () => APP_UID,
      graceMs: 2000,
      bootTimeoutMs: 15_000,
      backoffBaseMs: 300,
      intervalMs: 0,
    }
    let runtime = new RuntimeAgent(store, events, options)

    // --- the store as the API leaves it ------------------------------------------------------
    const now = nowIso()
    const owner = createAccount(store, {
      email: 'rt@example.com',
      password: 'pw-pw-pw-pw',
      isAdmin: true,
    })
    store.teams.insert({ id: 'team-rt', name: 'team-rt', createdAt: now, updatedAt: now })
    const spaceId = newId()
    store.spaces.insert({
      id: spaceId,
      name: 'space-rt',
      teamId: 'team-rt',
      teamName: 'team-rt',
      region: 'virginia',
      state: 'allocating',
      shield: false,
      cidr: '10.64.0.0/16',
      dataCidr: '10.65.0.0/16',
      generation: 'cedar',
      createdAt: now,
      updatedAt: now,
    })
    const appId = newId()
    store.apps.insert({
      id: appId,
      name: 'rt-app',
      ownerId: owner.id,
      ownerEmail: owner.email,
      teamId: 'team-rt',
      teamName: 'team-rt',
      spaceId,
      spaceName: 'space-rt',
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

    /** A slug on disk: a web server that answers with its DYNO and release, and a worker. */
    const makeSlug = (slugId: string) => {
      const slugDir = join(slugs, slugId)
      mkdirSync(slugDir, { recursive: true })
      writeFileSync(
        join(slugDir, 'server.js'),
        `require('http').createServer((q, s) => s.end(process.env.DYNO + ' ' + process.env.HEROKU_RELEASE_VERSION))` +
          `.listen(process.env.PORT, () => console.log('listening on', process.env.PORT))\n` +
          `process.on('SIGTERM', () => { console.log('got SIGTERM'); process.exit(0) })\n`,
      )
      writeFileSync(
        join(slugDir, 'worker.js'),
        `console.log('worker', process.env.DYNO, 'as uid', process.getuid()); setInterval(() => {}, 1000)\n`,
      )
    }
    let version = 0
    const release = (slugId: string) => {
      makeSlug(slugId)
      const id = newId()
      store.releases.insert({
        id,
        appId,
        version: ++version,
        description: `Deploy ${slugId}`,
        config: { GREETING: 'hi' },
        slugId,
        userId: owner.id,
        status: 'succeeded',
        createdAt: nowIso(),
        updatedAt: nowIso(),
      })
      events.emit('app.changed', appId)
      return id
    }
    const scale = (type: string, quantity: number) => {
      const existing = store.releases.formation(appId).find((f) => f.type === type)
      store.releases.upsertFormation({
        id: existing?.id ?? newId(),
        appId,
        type,
        command: '',
        quantity,
        size: 'Private-S',
        createdAt: existing?.createdAt ?? nowIso(),
        updatedAt: nowIso(),
      })
      events.emit('formation.changed', appId)
    }
    /** Every dyno id this test has seen, for the leak check at the end. */
    const seen = new Set<string>()
    const dynos = () => {
      const list = runtime.dynosOf(appId)
      for (const d of list) seen.add(d.id)
      return list
    }
    const states = () =>
      dynos()
        .map((d) => `${d.name}:${d.state}`)
        .join(' ')
    const logText = () =>
      logs
        .recent(appId, { lines: 1500 })
        .map((l) => `${l.source}[${l.dyno}]: ${l.text}`)
        .join('\n')

    /** waitUntil, with the dynos and the log in the message when it times out. */
    const until = (check: () => boolean, timeoutMs = 20_000) =>
      waitUntil('the dynos to get there', check, { timeoutMs }).catch((e: Error) => {
        throw new Error(`${e.message}; dynos: ${states()}\n${logText()}`)
      })

    after(async () => {
      scale('web', 0)
      scale('worker', 0)
      scale('crashy', 0)
      scale('hog', 0)
      scale('stubborn', 0)
      scale('flood', 0)
      await runtime.reconcile()
      await until(() => dynos().length === 0).catch(() => undefined)
      await runtime.stop()
      await network.stop()
      await runner.close()
      logs.close()
      store.close()
      await killDynosUnder(dir) // whatever a failed test left running
      rmSync(dir, { recursive: true, force: true })
    })

    test('formation web=3 worker=2 becomes dynos that are up, with logs', async () => {
      await network.start()
      assert.equal(store.spaces.find(spaceId)?.state, 'allocated')
      release('slug-1')
      scale('web', 3)
      scale('worker', 2)
      await runtime.start()
      await until(() => states() === 'web.1:up web.2:up web.3:up worker.1:up worker.2:up')
      const text = logText()
      assert.match(text, /heroku\[web\.1\]: Starting process with command `node server\.js`/)
      assert.match(text, /heroku\[web\.1\]: State changed from starting to up/)
      await until(() => /app\[worker\.2\]: worker worker\.2 as uid 64123/.test(logText()))
      assert.match(logText(), /app\[web\.2\]: listening on 5000/)
      for (const d of dynos()) assert.match(d.privateIp ?? '', /^10\.64\./)
    })

    test('web dynos answer on their private IP from inside the space', async () => {
      // A client namespace in the space, attached like any dyno.
      const client = await network.attach(spaceId, 'dyno', 'test-client')
      const netns = `ls-${client.id.replace(/-/g, '').slice(0, 8)}`
      const web1 = dynos().find((d) => d.name === 'web.1')!
      const { stdout } = await run('ip', [
        'netns',
        'exec',
        netns,
        'curl',
        '-s',
        '--max-time',
        '2',
        `http://${web1.privateIp}:5000/`,
      ])
      assert.equal(stdout, 'web.1 v1')
      await network.detach(client.id)
    })

    test('scaling down stops the highest numbers, with SIGTERM', async () => {
      const web1 = dynos().find((d) => d.name === 'web.1')!.id
      scale('web', 1)
      scale('worker', 1)
      await runtime.reconcile()
      await until(() => states() === 'web.1:up worker.1:up')
      assert.equal(dynos().find((d) => d.name === 'web.1')!.id, web1, 'web.1 was kept')
      for (const name of ['web.2', 'web.3']) {
        assert.match(
          logText(),
          new RegExp(`heroku\\[${name}\\]: Stopping all processes with SIGTERM`),
        )
        assert.match(logText(), new RegExp(`app\\[${name}\\]: got SIGTERM`))
        assert.match(
          logText(),
          new RegExp(`heroku\\[${name}\\]: Process exited with status 0$`, 'm'),
        )
      }
      assert.match(logText(), /heroku\[worker\.2\]: Stopping all processes with SIGTERM/)
    })

    test('a crashing process is restarted at once, then with back-off', async () => {
      scale('crashy', 1)
      await runtime.reconcile()
      await until(
        () =>
          (logText().match(/heroku\[crashy\.1\]: Process exited with status 3/g) ?? []).length >= 3,
      )
      const lines = logs
        .recent(appId, { lines: 1500, dyno: 'crashy.1', source: 'heroku' })
        .filter((l) => /State changed from crashed to starting/.test(l.text))
        .map((l) => Date.parse(l.time.replace(/000\+00:00$/, 'Z')))
      const crashes = logs
        .recent(appId, { lines: 1500, dyno: 'crashy.1', source: 'heroku' })
        .filter((l) => /State changed from up to crashed/.test(l.text))
        .map((l) => Date.parse(l.time.replace(/000\+00:00$/, 'Z')))
      assert.ok(lines.length >= 2 && crashes.length >= 2)
      const firstDelay = lines[0]! - crashes[0]!
      const secondDelay = lines[1]! - crashes[1]!
      assert.ok(firstDelay < 250, `first restart at once (${firstDelay} ms)`)
      assert.ok(secondDelay >= 250, `second restart backed off (${secondDelay} ms)`)
      assert.match(logText(), /app\[crashy\.1\]: about to fail/)
      scale('crashy', 0)
      await runtime.reconcile()
      await until(() => states() === 'web.1:up worker.1:up')
    })

    test("a dyno's slow stop holds up no other change", async () => {
      scale('stubborn', 1)
      await runtime.reconcile()
      await until(() => /app\[stubborn\.1\]: ignoring SIGTERM/.test(logText()))
      const stubborn = dynos().find((d) => d.name === 'stubborn.1')!.id
      scale('stubborn', 0)
      void runtime.reconcile()
      scale('worker', 2)
      await until(() => states().includes('worker.2:up'))
      // worker.2 came up while stubborn.1 was still within its grace period (2 s here).
      assert.ok(
        runtime.allDynos().some((d) => d.view.id === stubborn),
        'stubborn.1 was still stopping',
      )
      scale('worker', 1)
      await runtime.reconcile()
      await until(() => states() === 'web.1:up worker.1:up')
      assert.match(logText(), /heroku\[stubborn\.1\]: Process exited with status 137/)
    })

    test('a dyno over its memory quota: R14, then R15 and SIGKILL, then a crash', async () => {
      scale('hog', 1)
      await runtime.reconcile()
      await until(() => /heroku\[hog\.1\]: State changed from up to crashed/.test(logText()))
      const lines = logs
        .recent(appId, { lines: 1500, dyno: 'hog.1', source: 'heroku' })
        .map((l) => l.text)
      const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l))
      const mem = at(/^Process running mem=\d+M\(\d+\.\d%\)$/)
      const r14 = at(/^Error R14 \(Memory quota exceeded\)$/)
      const r15 = at(/^Error R15 \(Memory quota vastly exceeded\)$/)
      const exited = at(/^Process exited with status 137$/)
      assert.ok(mem >= 0 && mem < r14 && r14 < r15 && r15 < exited, lines.join('\n'))
      assert.equal(lines[r15 + 1], 'Stopping process with SIGKILL')
      // The usage it reports is the quota's, give or take what the kernel counts.
      const percent = Number(/\((\d+\.\d)%\)/.exec(lines[mem]!)![1])
      assert.ok(percent > 90 && percent <= 100.5, lines[mem])
      scale('hog', 0)
      await runtime.reconcile()
      await until(() => states() === 'web.1:up worker.1:up')
    })

    test('25 MB without a newline: cut lines, a bounded stdout.log, a responsive daemon', async () => {
      let received = 0
      let dropped = 0
      let longest = 0
      let done = false
      const stop = logs.follow(appId, { dyno: 'flood.1' }, (line) => {
        if (line.source === 'app' && line.text === 'flood done') done = true
        if (line.source === 'app') {
          received += line.text.length
          longest = Math.max(longest, Buffer.byteLength(line.text))
        }
        const l10 = /^Error L10 \(output buffer overflow\): (\d+) bytes/.exec(line.text)
        if (line.source === 'heroku' && l10) dropped += Number(l10[1])
      })
      // The event loop's longest stall while the flood is read (the API and router share it).
      let last = performance.now()
      let stall = 0
      const ticker = setInterval(() => {
        stall = Math.max(stall, performance.now() - last)
        last = performance.now()
      }, 5)
      // stdout.log's size on disk, as often as it can be read.
      let largest = 0
      const sizes = setInterval(() => {
        const flood = dynos().find((d) => d.name === 'flood.1')
        const file = flood && join(dir, 'dynos', flood.id, 'run-1', 'stdout.log')
        if (file && existsSync(file)) largest = Math.max(largest, statSync(file).blocks * 512)
      }, 5)
      try {
        scale('flood', 1)
        await runtime.reconcile()
        // Watched through the follower: joining the recent log (15 MB of cut lines) on every
        // poll would cost more than the flood. The wait is long: the point is what arrives,
        // not how fast on a loaded machine.
        await until(() => done, 90_000)
      } finally {
        clearInterval(ticker)
        clearInterval(sizes)
        stop()
        scale('flood', 0)
        await runtime.reconcile()
        await until(() => states() === 'web.1:up worker.1:up')
      }
      assert.equal(longest, MAX_LINE_BYTES, 'lines are cut at the limit')
      // Every byte reached the log, or was counted in an L10 line.
      assert.equal(received - 'flood done'.length + dropped, 400 * 65536, `dropped: ${dropped}`)
      assert.ok(largest <= OVERFLOW_AT + 2 * 1024 * 1024, `stdout.log reached ${largest} bytes`)
      assert.ok(stall < 1000, `the event loop stalled for ${Math.round(stall)} ms`)
    })

    test('a new release replaces dynos without dropping web to zero', async () => {
      const before = dynos().find((d) => d.name === 'web.1')!
      release('slug-2')
      await runtime.reconcile()
      // Until the new web.1 is up, some web.1 is up all the time.
      await until(() => {
        const web = dynos().filter((d) => d.name === 'web.1')
        assert.ok(web.some((d) => d.state === 'up' || d.state === 'starting'))
        return web.length === 1 && web[0]!.releaseVersion === 2 && web[0]!.state === 'up'
      })
      assert.notEqual(dynos().find((d) => d.name === 'web.1')!.id, before.id)
      await until(() => states() === 'web.1:up worker.1:up')
      assert.ok(dynos().every((d) => d.releaseVersion === 2))
    })

    test('a daemon restart adopts running dynos without restarting them', async () => {
      const before = dynos().map((d) => `${d.id} ${d.privateIp} ${d.state}`)
      await runtime.stop()
      runtime = new RuntimeAgent(store, events, options)
      await runtime.start()
      assert.deepEqual(
        dynos().map((d) => `${d.id} ${d.privateIp} ${d.state}`),
        before,
      )
      // Their output still reaches the log.
      events.emit('dynos.action', appId, 'restart', { name: 'worker.1' })
      await until(() => (logText().match(/app\[worker\.1\]: worker worker\.1/g) ?? []).length >= 2)
      await until(() => states() === 'web.1:up worker.1:up')
    })

    test('scaling to zero leaves no dyno, namespace, cgroup or directory', async () => {
      scale('web', 0)
      scale('worker', 0)
      await runtime.reconcile()
      // Gone from the runtime only once the network and the directory are gone too.
      await until(() => runtime.allDynos().length === 0)
      assert.deepEqual(readdirSync(join(dir, 'dynos')), [])
      // cgroups are host-wide (other tests may run dynos meanwhile): look for this test's own.
      // The parent goes with the last child (cgroup.ts): then there is none left at all.
      const parent = '/sys/fs/cgroup/memory/localspace'
      const cgroups = existsSync(parent) ? readdirSync(parent, { withFileTypes: true }) : []
      assert.deepEqual(
        cgroups.filter((e) => e.isDirectory() && seen.has(e.name.replace(/-\d+$/, ''))),
        [],
        'no dyno cgroup of this test is left',
      )
      assert.deepEqual(store.network.attachments(), [])
    })
  })
}
