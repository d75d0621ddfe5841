import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { waitUntil } from '../../test/helpers/wait.js'
import {
  checkDetached,
  exitStatus,
  isAlive,
  readRecord,
  startDetached,
  statFields,
  waitForExit,
} from './detached.js'

const base = mkdtempSync(join(tmpdir(), 'ls-detached-'))
after(() => rmSync(base, { recursive: true, force: true }))

let n = 0
/** Starts `sh -c script` detached in a directory of its own. */
async function start(script: string, env: Record<string, string> = {}) {
  const dir = join(base, `p${++n}`)
  mkdirSync(join(dir, 'status'), { recursive: true })
  const files = {
    stdoutFile: join(dir, 'out.log'),
    stderrFile: join(dir, 'err.log'),
    statusFile: join(dir, 'status', 'exit'),
    recordFile: join(dir, 'process.json'),
  }
  const record = await startDetached('/bin/sh', ['-c', script], {
    env: { PATH: '/usr/bin:/bin', ...env },
    ...files,
  })
  return { record, ...files }
}

/** The wrapper's child: the command itself (once the wrapper has forked it). */
async function childOf(pid: number): Promise<number> {
  let child = 0
  await waitUntil('the wrapper to start its command', () => {
    child = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ')[0])
    return child > 0
  })
  return child
}

describe('startDetached', () => {
  test('records the exit code, appends output to the log files, passes only the given env', async () => {
    process.env.LOCALSPACE_CANARY = 'leaked'
    const p = await start('echo "out $GREETING $LOCALSPACE_CANARY"; echo err >&2; exit 3', {
      GREETING: 'hello',
    })
    delete process.env.LOCALSPACE_CANARY
    const end = await waitForExit(p.record)
    assert.deepEqual(end, { state: 'exited', status: { code: 3, signal: null } })
    assert.equal(readFileSync(p.stdoutFile, 'utf8'), 'out hello \n')
    assert.equal(readFileSync(p.stderrFile, 'utf8'), 'err\n')
    assert.deepEqual(await readRecord(p.recordFile), p.record)
  })

  test('runs in a session of its own, and the record proves identity by start time', async () => {
    const p = await start('sleep 30')
    const stat = readFileSync(`/proc/${p.record.pid}/stat`, 'utf8')
    const sid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3])
    assert.equal(sid, p.record.pid, 'the wrapper leads its own session')
    assert.equal(statFields(stat).startTime, p.record.startTime)
    assert.equal(await isAlive(p.record), true)
    assert.equal(await isAlive({ ...p.record, startTime: p.record.startTime - 1 }), false)
    assert.equal(await isAlive({ ...p.record, bootId: 'another-boot' }), false)
    assert.deepEqual(await checkDetached(p.record), { state: 'running' })
    process.kill(await childOf(p.record.pid), 'SIGKILL')
    assert.deepEqual(await waitForExit(p.record), {
      state: 'exited',
      status: { code: 137, signal: 'SIGKILL' },
    })
  })

  test('a signal to the wrapper does not orphan the command, whose default SIGTERM still works', async () => {
    const p = await start('sleep 30')
    // Once the wrapper has forked its command, its traps are set (they come first in the script);
    // a signal sent before that, on a busy machine, would find the shell's default disposition.
    const command = await childOf(p.record.pid)
    process.kill(p.record.pid, 'SIGTERM') // trapped by the wrapper: nothing happens
    process.kill(p.record.pid, 'SIGHUP')
    assert.deepEqual(await checkDetached(p.record), { state: 'running' })
    process.kill(command, 'SIGTERM')
    const end = await waitForExit(p.record)
    assert.deepEqual(end, { state: 'exited', status: { code: 143, signal: 'SIGTERM' } })
  })

  test('a wrapper killed before it could write a status is reported lost', async () => {
    const p = await start('sleep 30')
    const child = await childOf(p.record.pid)
    process.kill(p.record.pid, 'SIGKILL')
    assert.deepEqual(await waitForExit(p.record, { pollMs: 20 }), { state: 'lost' })
    process.kill(child, 'SIGKILL')
  })

  test('waiting can be aborted', async () => {
    const p = await start('sleep 30')
    const abort = new AbortController()
    const waiting = waitForExit(p.record, { signal: abort.signal })
    abort.abort()
    assert.deepEqual(await waiting, { state: 'running' })
    process.kill(await childOf(p.record.pid), 'SIGKILL')
    assert.equal((await waitForExit(p.record)).state, 'exited')
  })

  test('a command that cannot start is an exit status, like in a shell', async () => {
    const p = await start('exec /no/such/program')
    assert.deepEqual(await waitForExit(p.record), {
      state: 'exited',
      status: { code: 127, signal: null },
    })
  })
})

describe('exitStatus', () => {
  test('reads 128+N as signal N and anything else as a plain code', () => {
    assert.deepEqual(exitStatus(0), { code: 0, signal: null })
    assert.deepEqual(exitStatus(1), { code: 1, signal: null })
    assert.deepEqual(exitStatus(143), { code: 143, signal: 'SIGTERM' })
    assert.deepEqual(exitStatus(137), { code: 137, signal: 'SIGKILL' })
    assert.deepEqual(exitStatus(128), { code: 128, signal: null })
  })
})

describe('statFields', () => {
  test('survives a command name with spaces and parentheses', () => {
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3))
    fields[0] = 'S'
    fields[19] = '123456'
    assert.deepEqual(statFields(`42 (a) b (c) ${fields.join(' ')}`), {
      state: 'S',
      startTime: 123456,
    })
  })
})
