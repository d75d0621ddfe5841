/**
 * Dynos for real, as root: bubblewrap, overlayfs, a cgroup v1 memory limit and a network
 * namespace, with real processes. Runs inside scripts/sandbox (private network + mount
 * namespace, tmpfs /run/netns and /etc/netns). Dyno ids start with `lsrt-`; cgroups of an
 * aborted earlier run are swept first.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { isAlive } from '../../src/exec/detached.js'
import { run } from '../../src/exec/run.js'
import { DEFAULT_CGROUP_ROOT, members, removeCgroup } from '../../src/runtime/cgroup.js'
import {
  defaultHost,
  DynoProcess,
  HOST_ROOT_ENTRIES,
  type DynoSpec,
  type SandboxHost,
} from '../../src/runtime/index.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const UID = 61_234
const GID = 61_235
const runId = randomBytes(3).toString('hex')
const netns = `ls-${randomBytes(4).toString('hex')}`
const NAMESERVER = '10.99.0.53'
const GREETING = 'hello from the slug\n'

if (sandboxed(import.meta.url)) {
  describe('a dyno process, for real', () => {
    const base = mkdtempSync('/tmp/lsrt-')
    const slugDir = join(base, 'slug')
    let host: SandboxHost
    const started: DynoProcess[] = []
    let n = 0

    const spec = (command: string, over: Partial<DynoSpec> = {}): DynoSpec => {
      const id = `lsrt-${runId}-${++n}`
      return {
        id,
        appId: '7ef41ec6-b4a9-4739-a646-fab8e08960a3',
        appName: 'myapp',
        processType: 'web',
        number: 1,
        releaseVersion: 3,
        command,
        configVars: { GREETING: 'hello world', SECRET_TOKEN: 's3cret' },
        port: 5000 + n,
        privateIp: '10.0.128.5',
        memoryMb: 64,
        uid: UID,
        gid: GID,
        netns,
        slugDir,
        dynoDir: join(base, 'dynos', id),
        ...over,
      }
    }

    const start = async (s: DynoSpec) => {
      const dyno = await DynoProcess.start(s, host)
      started.push(dyno)
      return dyno
    }

    const stdout = (d: DynoProcess) => readFileSync(d.paths.stdout, 'utf8')

    /** Cleans up and proves nothing is left: no process, cgroup, directory or mount. */
    const dispose = async (d: DynoProcess) => {
      await d.cleanup()
      assert.deepEqual(await members(d.meta.cgroup), [])
      assert.equal(existsSync(d.meta.cgroup), false, 'cgroup removed')
      assert.equal(existsSync(d.paths.dir), false, 'dyno directory removed')
      if (d.record !== undefined) assert.equal(await isAlive(d.record), false, 'wrapper gone')
      for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
        const mounts = (() => {
          try {
            return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
          } catch {
            return ''
          }
        })()
        assert.ok(!mounts.includes(d.paths.dir), `process ${pid} still has a mount of ${d.id}`)
      }
    }

    before(async () => {
      // Leftovers of an aborted run of this file: its dynos' processes and cgroups.
      for (const dir of existsSync(DEFAULT_CGROUP_ROOT) ? readdirSync(DEFAULT_CGROUP_ROOT) : [])
        if (dir.startsWith('lsrt-')) {
          const cg = join(DEFAULT_CGROUP_ROOT, dir)
          await waitUntil('stale test dynos to die', async () => {
            for (const pid of await members(cg)) process.kill(pid, 'SIGKILL')
            return (await members(cg)).length === 0
          })
          await removeCgroup(cg)
        }
      // The app's uid must be able to traverse to its dyno directory (bwrap binds it as that uid).
      chmodSync(base, 0o711)
      await run('ip', ['netns', 'add', netns])
      await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up'])
      mkdirSync(`/etc/netns/${netns}`, { recursive: true })
      writeFileSync(`/etc/netns/${netns}/resolv.conf`, `nameserver ${NAMESERVER}\n`)
      mkdirSync(slugDir)
      writeFileSync(join(slugDir, 'greeting.txt'), GREETING)
      // As a builder would: the slug belongs to the app's uid, so the app may change its files.
      chownSync(slugDir, UID, GID)
      chownSync(join(slugDir, 'greeting.txt'), UID, GID)
      host = await defaultHost()
    })

    after(async () => {
      for (const d of started) await d.cleanup().catch(() => undefined)
      await run('ip', ['netns', 'del', netns]).catch(() => undefined)
      rmSync(`/etc/netns/${netns}`, { recursive: true, force: true })
      rmSync(base, { recursive: true, force: true })
    })

    test('sees exactly its env, runs as the app uid without capabilities, in its own pid namespace', async () => {
      const script = [
        'echo "ids $(id -u) $(id -g) $(id -G)"',
        "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):' /proc/self/status",
        'echo "pid $$"',
        'echo "procs $(ls /proc | grep -c \'^[0-9]\')"',
        'cat /etc/resolv.conf',
        'echo "hostname $(hostname)"',
        'echo "cwd $(pwd)"',
        'env',
      ].join('\n')
      const s = spec(script)
      const d = await start(s)
      const end = await d.exited
      const out = stdout(d)
      assert.equal(end.code, 0, out + readFileSync(d.paths.stderr, 'utf8'))
      assert.equal(end.oomKilled, false)
      assert.equal(end.stopRequested, false)

      const env = Object.fromEntries(
        out
          .split('\n')
          .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      )
      assert.equal(env.GREETING, 'hello world')
      assert.equal(env.SECRET_TOKEN, 's3cret')
      assert.equal(env.PORT, String(s.port))
      assert.equal(env.DYNO, 'web.1')
      assert.equal(env.HOME, '/app')
      assert.equal(env.HEROKU_PRIVATE_IP, '10.0.128.5')
      assert.equal(env.HEROKU_DNS_FORMATION_NAME, 'web.myapp.app.localspace')
      assert.equal(env.HEROKU_DNS_DYNO_NAME, '1.web.myapp.app.localspace')
      assert.equal(env.HEROKU_DNS_APP_NAME, 'myapp.app.localspace')
      assert.equal(env.HEROKU_APP_NAME, 'myapp')
      assert.equal(env.HEROKU_APP_ID, s.appId)
      assert.equal(env.HEROKU_RELEASE_VERSION, 'v3')
      assert.ok(env.PATH?.includes('/usr/bin'))
      // Nothing of the host's environment (this test runs with LOCALSPACE_SANDBOX=1).
      assert.equal(process.env.LOCALSPACE_SANDBOX, '1')
      assert.equal(env.LOCALSPACE_SANDBOX, undefined)

      assert.match(out, new RegExp(`^ids ${UID} ${GID} ${GID}$`, 'm'), 'no supplementary groups')
      for (const cap of ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'])
        assert.match(out, new RegExp(`^${cap}:\\s+0000000000000000$`, 'm'), cap)
      assert.match(out, /^NoNewPrivs:\s+1$/m)
      // Its own pid namespace: bwrap's reaper is 1, the command 2, and the host's processes
      // are invisible.
      assert.match(out, /^pid 2$/m)
      const procs = Number(/^procs (\d+)$/m.exec(out)?.[1])
      assert.ok(procs > 0 && procs < 8, `sees ${procs} processes`)
      assert.match(out, new RegExp(`^nameserver ${NAMESERVER.replace(/\./g, '\\.')}$`, 'm'))
      assert.match(out, new RegExp(`^hostname ${s.id}$`, 'm'))
      assert.match(out, /^cwd \/app$/m)
      await dispose(d)
    })

    test('the host is read-only, /app is a private copy-on-write of the slug', async () => {
      const script = [
        'probe() { if (echo x >"$1") 2>/dev/null; then echo "writable $1"; else echo "read-only $1"; fi; }',
        'probe /usr/lsrt-probe',
        'probe /etc/lsrt-probe',
        'probe /lsrt-probe',
        'probe /app/new.txt',
        'probe /tmp/lsrt-probe',
        'echo changed >/app/greeting.txt && echo "greeting $(cat /app/greeting.txt)"',
        `echo "dyno dirs visible: $(ls -A ${join(base, 'dynos')} 2>/dev/null | wc -l)"`,
        'echo "root: $(ls -A / | tr "\\n" " ")"',
        'echo "var: $(ls -A /var | tr "\\n" " ")"',
      ].join('\n')
      const d = await start(spec(script))
      assert.equal((await d.exited).code, 0)
      const out = stdout(d)
      for (const path of ['/usr/lsrt-probe', '/etc/lsrt-probe', '/lsrt-probe'])
        assert.match(out, new RegExp(`^read-only ${path}$`, 'm'))
      assert.match(out, /^writable \/app\/new\.txt$/m)
      assert.match(out, /^writable \/tmp\/lsrt-probe$/m)
      assert.match(out, /^greeting changed$/m)
      assert.match(out, /^dyno dirs visible: 0$/m, "other dynos' directories are hidden")
      // Of the host's root only its programs, libraries and /etc: no /root, /home, /var, /sys…
      const hostEntries = readdirSync('/').filter((e) => HOST_ROOT_ENTRIES.has(e))
      const expected = [...hostEntries, 'app', 'dev', 'proc', 'run', 'tmp', 'var'].sort()
      const seen = /^root: (.*)$/m.exec(out)![1]!.trim().split(' ').sort()
      assert.deepEqual(seen, expected)
      assert.match(out, /^var: tmp $/m)
      // The writes went to the dyno's upper layer, not to the slug or the host.
      assert.equal(readFileSync(join(slugDir, 'greeting.txt'), 'utf8'), GREETING)
      assert.deepEqual(readdirSync(slugDir), ['greeting.txt'])
      // …but to its own tmpfs, mounted in its own mount namespace only: on the host, nothing.
      assert.deepEqual(readdirSync(d.paths.rw), [])
      assert.equal(existsSync('/usr/lsrt-probe') || existsSync('/tmp/lsrt-probe'), false)
      await dispose(d)
    })

    test('/app takes at most its quota: past it, ENOSPC inside, and nothing on the host', async () => {
      const script = [
        'dd if=/dev/zero of=/app/fits bs=1M count=4 2>/dev/null && echo "4 MB fit"',
        'if dd if=/dev/zero of=/app/big bs=1M count=20 2>/tmp/dd.err; then echo "20 MB fit"',
        'else echo "20 MB: $(grep -o "No space left on device" /tmp/dd.err)"; fi',
        'echo "size: $(df -k --output=size /app | tail -1 | tr -d " ")"',
      ].join('\n')
      const d = await start(spec(script, { appLayerMb: 8 }))
      assert.equal((await d.exited).code, 0, readFileSync(d.paths.stderr, 'utf8'))
      const out = stdout(d)
      assert.match(out, /^4 MB fit$/m)
      assert.match(out, /^20 MB: No space left on device$/m)
      assert.match(out, /^size: 8192$/m, 'a tmpfs of 8 MB')
      // The host's disk saw none of it: the dyno's directory holds a few small files.
      const { stdout: du } = await run('du', ['-sk', d.paths.dir])
      assert.ok(Number(du.split('\t')[0]) < 256, `the dyno's directory: ${du}`)
      await dispose(d)
      // Without a quota of its own, /app may hold half the dyno's memory.
      const half = await start(spec('df -k --output=size /app | tail -1'))
      await half.exited
      assert.equal(stdout(half).trim(), String((64 / 2) * 1024))
      await dispose(half)
    })

    test('a web dyno is up once it listens on $PORT in its own network namespace', async (t) => {
      // A listener on the same port outside the dyno's namespace must not count.
      const port = 5000 + n + 1
      const decoy = createServer().listen(port, '127.0.0.1')
      await new Promise((resolve) => decoy.once('listening', resolve))
      try {
        const idle = await start(spec('exec sleep 30', { port }))
        assert.equal(await idle.waitListening(port, { timeoutMs: 300 }), 'timeout')
        await idle.stop({ graceMs: 5000 })
        await dispose(idle)
      } finally {
        decoy.close()
      }

      const t0 = performance.now()
      const web = await start(spec('exec python3 -m http.server "$PORT"'))
      assert.equal(await web.waitListening(), 'listening')
      t.diagnostic(`start to listening: ${(performance.now() - t0).toFixed(0)} ms`)
      // The app's cgroup membership, from outside: the limit applies to it.
      assert.ok((await members(web.meta.cgroup)).length >= 3)
      const end = await web.stop({ graceMs: 5000 })
      assert.equal(end.code, 143)
      assert.equal(end.signal, 'SIGTERM')
      assert.equal(end.stopRequested, true)
      await dispose(web)
    })

    test('a dyno that exits before listening is reported as such, not as a timeout', async () => {
      const d = await start(spec('exit 1'))
      assert.equal(await d.waitListening(undefined, { timeoutMs: 20_000 }), 'exited')
      await dispose(d)
    })

    test('stop: SIGTERM, and a process that exits within the grace period exits cleanly', async () => {
      const d = await start(
        spec(
          `trap 'sleep 0.2; echo "got TERM"; exit 0' TERM; echo ready; while :; do sleep 0.1; done`,
        ),
      )
      await waitUntil('the trap to be set', () => stdout(d).includes('ready'))
      const t0 = Date.now()
      const end = await d.stop({ graceMs: 10_000 })
      assert.ok(Date.now() - t0 < 10_000, 'it did not wait out the grace period')
      assert.equal(end.code, 0)
      assert.equal(end.signal, null)
      assert.match(stdout(d), /^got TERM$/m)
      await dispose(d)
    })

    test('stop: a process that ignores SIGTERM is SIGKILLed once the grace period is over', async () => {
      const d = await start(spec(`trap '' TERM; echo ready; while :; do sleep 0.1; done`))
      await waitUntil('the trap to be set', () => stdout(d).includes('ready'))
      const t0 = Date.now()
      const end = await d.stop({ graceMs: 500 })
      assert.ok(Date.now() - t0 >= 500, 'the grace period was honoured')
      assert.equal(end.code, 137)
      assert.equal(end.signal, 'SIGKILL')
      assert.equal(end.oomKilled, false)
      await dispose(d)
    })

    test('a stop as soon as the start returns ends the run, without waiting out the grace', async () => {
      for (let i = 0; i < 5; i++) {
        // The launch steps are still on their way in (maybe not even in the cgroup yet); a
        // SIGTERM to them could be lost and leave the app to start unsignalled.
        const d = await start(spec('sleep 600'))
        const t0 = Date.now()
        const end = await d.stop({ graceMs: 20_000 })
        assert.ok(Date.now() - t0 < 10_000, `stopped in ${Date.now() - t0} ms`)
        assert.equal(end.stopRequested, true)
        assert.deepEqual(await members(d.meta.cgroup), [], 'nothing of the run is left')
        await dispose(d)
      }
    })

    test('a memory hog is killed at its limit and reported as OOM', async () => {
      const hog = 'exec python3 -c "b = []\nwhile True: b.append(bytearray(1 << 20))"'
      const d = await start(spec(hog, { memoryMb: 32 }))
      const end = await d.exited
      assert.equal(end.code, 137)
      assert.equal(end.signal, 'SIGKILL')
      assert.equal(end.oomKilled, true)
      assert.equal(end.memory?.limitBytes, 32 * 1024 * 1024)
      assert.ok((end.memory?.maxUsageBytes ?? 0) > 30 * 1024 * 1024)
      assert.ok((end.memory?.oomKills ?? 0) >= 1)
      await dispose(d)
    })

    test('a crash is reported with its status, and output lands in the log files', async () => {
      const d = await start(spec('echo to-stdout; echo to-stderr >&2; exit 3'))
      const end = await d.exited
      assert.equal(end.code, 3)
      assert.equal(end.signal, null)
      assert.equal(end.stopRequested, false)
      assert.equal(end.lost, false)
      assert.equal(stdout(d), 'to-stdout\n')
      assert.equal(readFileSync(d.paths.stderr, 'utf8'), 'to-stderr\n')
      await dispose(d)
    })

    /** Starts a dyno from a separate Node process, then kills that process with SIGKILL. */
    const startFromDoomedDaemon = async (s: DynoSpec, { checkParent = true } = {}) => {
      const daemon = spawn(
        process.execPath,
        ['--import', 'tsx', join(import.meta.dirname, 'start-dyno.ts'), JSON.stringify(s)],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      )
      let out = ''
      daemon.stdout.setEncoding('utf8').on('data', (c: string) => (out += c))
      await waitUntil('the daemon to start the dyno', () => out.includes('\n'))
      const { pid } = JSON.parse(out) as { pid: number }
      const ppid = () =>
        Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1])
      if (checkParent) assert.equal(ppid(), daemon.pid, 'the dyno was the daemon’s child')
      const gone = new Promise((resolve) => daemon.once('exit', resolve))
      daemon.kill('SIGKILL')
      await gone
      return { pid, ppid, daemonPid: daemon.pid }
    }

    test('outlives the Node process that started it, and another one adopts and stops it', async () => {
      const s = spec('exec python3 -m http.server "$PORT"')
      const { pid, ppid, daemonPid } = await startFromDoomedDaemon(s)
      const d = await DynoProcess.adopt(s.dynoDir)
      started.push(d)
      assert.equal(d.pid, pid)
      assert.ok(d.record !== undefined && (await isAlive(d.record)), 'still running')
      assert.notEqual(ppid(), daemonPid, 'reparented: its parent is dead')
      assert.equal(await d.waitListening(), 'listening')
      const end = await d.stop({ graceMs: 5000 })
      assert.equal(end.code, 143)
      assert.equal(end.lost, false)
      await dispose(d)
    })

    test('an exit while no daemon watched is known to the one that adopts it', async () => {
      const s = spec('sleep 0.3; exit 7')
      await startFromDoomedDaemon(s, { checkParent: false })
      const d = await DynoProcess.adopt(s.dynoDir)
      started.push(d)
      const end = await d.exited
      assert.equal(end.code, 7)
      assert.equal(end.lost, false)
      await dispose(d)
    })

    test('a dyno whose wrapper is killed is reported lost, and its processes die with it', async () => {
      const d = await start(spec('echo ready; exec sleep 30'))
      await waitUntil('the dyno to run', () => stdout(d).includes('ready'))
      assert.ok(d.pid !== undefined)
      process.kill(d.pid, 'SIGKILL')
      const end = await d.exited
      assert.equal(end.lost, true)
      assert.equal(end.code, null)
      await waitUntil('bwrap --die-with-parent to take the app down', async () => {
        return (await members(d.meta.cgroup)).length === 0
      })
      await dispose(d)
    })
  })
}
