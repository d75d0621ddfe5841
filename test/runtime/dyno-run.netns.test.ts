/**
 * One dyno run, shared by formation dynos and one-offs (src/agent/dyno-run.ts), with real
 * sandboxed processes: for output into the app log and for output to an attached client alike,
 * the run reads all of the output (a last line without a newline included) and says how the
 * process ended before it reports the exit, reports the exit before its cleanup, and leaves no
 * run directory or cgroup; a stop says SIGTERM and ends the same way. And both kinds of dyno
 * leave nothing on disk when their network detach fails (a formation dyno's stop used to fail
 * there and keep its directory, for a later daemon to bring back).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Dyno } from '../../src/agent/dyno.js'
import type { DynoIdentity } from '../../src/agent/dyno-base.js'
import { DynoRun, type RunOutput } from '../../src/agent/dyno-run.js'
import { OneOffDyno } from '../../src/agent/one-off.js'
import type { Attachment } from '../../src/core/types.js'
import { newId, nowIso } from '../../src/core/ids.js'
import { run } from '../../src/exec/run.js'
import { LogStore } from '../../src/logs/store.js'
import { netnsName } from '../../src/network/names.js'
import {
  defaultHost,
  DynoProcess,
  type DynoExit,
  type DynoSpec,
  type SandboxHost,
} from '../../src/runtime/index.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const UID = 61_236
const APP_ID = '0c8a3d6e-6f5b-4b8e-9a59-2f0f3c1d7a10'

if (sandboxed(import.meta.url)) {
  describe('one dyno run, for real', () => {
    const base = mkdtempSync('/tmp/lsrun-')
    const slugDir = join(base, 'slug')
    const attachmentId = newId()
    const netns = netnsName(attachmentId)
    const processes: DynoProcess[] = []
    let host: SandboxHost
    let n = 0

    before(async () => {
      chmodSync(base, 0o711) // the app's uid traverses it to its run directory
      await run('ip', ['netns', 'add', netns])
      mkdirSync(slugDir)
      chownSync(slugDir, UID, UID)
      host = await defaultHost()
    })

    after(async () => {
      for (const p of processes) {
        await p.stop({ graceMs: 0 }).catch(() => undefined)
        await p.cleanup().catch(() => undefined)
      }
      await run('ip', ['netns', 'del', netns]).catch(() => undefined)
      rmSync(base, { recursive: true, force: true })
    })

    const start = async (command: string): Promise<DynoProcess> => {
      const id = `lsrun-${randomBytes(3).toString('hex')}-${++n}`
      const spec: DynoSpec = {
        id,
        appId: APP_ID,
        appName: 'runapp',
        processType: 'run',
        number: n,
        releaseVersion: 1,
        command,
        configVars: {},
        port: 5000,
        privateIp: '10.0.128.9',
        memoryMb: 64,
        uid: UID,
        gid: UID,
        netns,
        slugDir,
        dynoDir: join(base, 'runs', id),
      }
      const p = await DynoProcess.start(spec, host)
      processes.push(p)
      return p
    }

    /** A run whose every report is recorded, in order, with the output as one string. */
    const follow = (process: DynoProcess, to: 'log' | 'client') => {
      const events: string[] = []
      let output = ''
      let atExit: { dir: boolean; cgroup: boolean; output: string } | undefined
      const out: RunOutput =
        to === 'log'
          ? { to: 'log', offsets: { stdout: 0, stderr: 0 } }
          : { to: 'client', send: (chunk) => (output += chunk.toString()) }
      const dynoRun = new DynoRun(
        process,
        out,
        {
          heroku: (text) => events.push(`heroku: ${text}`),
          app: (text) => (output += `${text}\n`),
          save: () => undefined,
          exited: (exit: DynoExit) => {
            events.push(`exited ${exit.code}`)
            atExit = {
              dir: existsSync(process.paths.dir),
              cgroup: existsSync(process.meta.cgroup),
              output,
            }
          },
          memoryCheckMs: 60_000,
        },
        { adopted: false },
      )
      return { dynoRun, events, output: () => output, atExit: () => atExit }
    }

    const assertGone = (process: DynoProcess) => {
      assert.equal(existsSync(process.paths.dir), false, 'run directory removed')
      assert.equal(existsSync(process.meta.cgroup), false, 'cgroup removed')
    }

    for (const to of ['log', 'client'] as const) {
      test(`to the ${to}: all output, the exit line, the exit, then the cleanup`, async () => {
        const p = await start(`echo one; printf two >&2; exit 7`)
        const r = follow(p, to)
        const exit = await r.dynoRun.ended
        assert.equal(exit.code, 7)
        // The last line, without a newline, is out before the exit is reported.
        const expected = to === 'log' ? ['one', 'two'] : ['one\ntwo']
        for (const text of expected) assert.ok(r.atExit()?.output.includes(text), r.output())
        assert.deepEqual(r.events, ['heroku: Process exited with status 7', 'exited 7'])
        // Reported while the run was still there (DNS and routes follow at once), then cleaned.
        assert.equal(r.atExit()?.dir, true, 'run directory there when the exit is reported')
        assert.equal(r.atExit()?.cgroup, true, 'cgroup there when the exit is reported')
        assertGone(p)
      })

      test(`to the ${to}: a stop says SIGTERM and ends the same way`, async () => {
        const p = await start(`echo ready; exec sleep 600`)
        const r = follow(p, to)
        await waitUntil('its output', () => r.output().includes('ready'))
        const exit = await r.dynoRun.stop(2000)
        assert.equal(exit.stopRequested, true)
        assert.deepEqual(r.events, [
          'heroku: Stopping all processes with SIGTERM',
          `heroku: Process exited with status ${exit.code}`,
          `exited ${exit.code}`,
        ])
        assertGone(p)
      })
    }

    for (const kind of ['formation', 'one-off'] as const) {
      test(`a ${kind} dyno whose network detach fails still leaves nothing behind`, async () => {
        const logs = new LogStore()
        const dir = join(base, 'dynos', newId())
        const ctx = {
          dir,
          logs,
          attach: (spaceId: string, owner: string): Promise<Attachment> =>
            Promise.resolve({
              id: attachmentId,
              spaceId,
              kind: 'dyno',
              address: '10.0.128.9',
              owner,
              state: 'ready',
              createdAt: nowIso(),
              updatedAt: nowIso(),
            }),
          detach: () => Promise.reject(new Error('the namespace is busy')),
          startProcess: (spec: DynoSpec) =>
            DynoProcess.start(spec, host).then((p) => (processes.push(p), p)),
          adoptProcess: (runDir: string) => DynoProcess.adopt(runDir),
          port: 5000,
          graceMs: 2000,
          memoryCheckMs: 60_000,
          bootTimeoutMs: 10_000,
          backoffMs: () => 1000,
          changed: () => undefined,
          gone: () => undefined,
        }
        const identity: DynoIdentity = {
          id: newId(),
          appId: APP_ID,
          appName: 'runapp',
          spaceId: newId(),
          type: kind === 'formation' ? 'worker' : 'run',
          number: 1,
          releaseId: newId(),
          releaseVersion: 1,
          command: 'exec sleep 600',
          size: 'private-s',
          memoryMb: 64,
          uid: UID,
          slugDir,
          configVars: {},
          createdAt: nowIso(),
        }
        const dyno =
          kind === 'formation'
            ? new Dyno(identity, ctx)
            : new OneOffDyno({ ...identity, attach: false }, ctx)
        await dyno.start()
        await waitUntil('it to be up', () => dyno.state === 'up')
        assert.ok(existsSync(dir))
        await dyno.stop()
        assert.equal(dyno.state, 'down')
        assert.equal(existsSync(dir), false, 'dyno directory removed')
        const lines = logs.recent(APP_ID, { lines: 100, source: 'heroku' }).map((l) => l.text)
        assert.ok(lines.includes('network: the namespace is busy'), lines.join('\n'))
      })
    }
  })
}
