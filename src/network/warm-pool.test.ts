import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { OpenShell, Shell } from '../exec/shell.js'
import { batchError, recordingExec } from './testing/recording-exec.js'
import { WarmPool } from './warm-pool.js'

/** Shells that run nothing, recording what they were given. */
function fakeShells() {
  const opened: Array<{ netns: string | undefined; scripts: string[]; closed: boolean }> = []
  const open: OpenShell = (kind) => {
    const record = {
      netns: kind.tool === 'ip' ? kind.netns : undefined,
      scripts: [] as string[],
      closed: false,
    }
    opened.push(record)
    const shell: Shell = {
      run: async (script) => void record.scripts.push(script),
      read: async (script) => (record.scripts.push(script), []),
      close: () => void (record.closed = true),
    }
    return shell
  }
  return { opened, open }
}

describe('warm pool', () => {
  test('a fill makes every missing namespace with one ip process, then a shell in each', async () => {
    const exec = recordingExec()
    const shells = fakeShells()
    const pool = new WarmPool(exec, shells.open, 3)
    await pool.fill()
    assert.equal(exec.calls.length, 1)
    const lines = exec.calls[0]!.input!.trimEnd().split('\n')
    assert.equal(lines.length, 6)
    assert.match(lines[0]!, /^netns add ls-[0-9a-f]{8}$/)
    assert.match(lines[1]!, /^link add lsv-[0-9a-f]{8} type veth peer name eth0 netns ls-/)
    assert.deepEqual(
      shells.opened.map((s) => s.scripts),
      [['link set lo up'], ['link set lo up'], ['link set lo up']],
    )
    assert.equal(pool.prepared.netns.size, 3)
    // Two taken: the pool runs low, and the next fill makes both in one burst.
    assert.equal(pool.low, false)
    pool.take(pool.peekId()!)
    pool.take(pool.peekId()!)
    assert.equal(pool.low, true)
    await pool.fill()
    assert.equal(pool.low, false)
    assert.equal(exec.calls.length, 2)
    assert.equal(exec.calls[1]!.input!.trimEnd().split('\n').length, 4)
    assert.equal(pool.prepared.netns.size, 3)
  })

  test('a burst that fails removes what it made, and nothing that was there before', async () => {
    const exec = recordingExec(({ args, input }) =>
      // The second namespace's name is taken (by something that is not ours to delete).
      input?.startsWith('netns add') ? batchError(args, { 3: 'File exists' }) : undefined,
    )
    const shells = fakeShells()
    const pool = new WarmPool(exec, shells.open, 2)
    await pool.fill()
    assert.match(pool.lastError?.message ?? '', /File exists/)
    const made = exec.calls[0]!.input!.trimEnd().split('\n')
    const first = /netns add (\S+)/.exec(made[0]!)![1]!
    const firstVeth = /link add (\S+)/.exec(made[1]!)![1]!
    const taken = /netns add (\S+)/.exec(made[2]!)![1]!
    const cleanup = exec.calls[1]!
    assert.deepEqual(cleanup.args, ['-force', '-batch', '-'])
    assert.equal(cleanup.input, `link del ${firstVeth}\nnetns del ${first}\n`)
    assert.ok(!cleanup.input.includes(taken))
    assert.equal(shells.opened.length, 0)
    assert.equal(pool.peekId(), undefined)
    assert.equal(pool.prepared.netns.size, 0, 'no names stay claimed')
  })

  test('stop removes every prepared namespace with one ip process and closes the shells', async () => {
    const exec = recordingExec()
    const shells = fakeShells()
    const pool = new WarmPool(exec, shells.open, 2)
    await pool.fill()
    await pool.stop()
    assert.equal(exec.calls.length, 2)
    assert.equal(exec.calls[1]!.input!.match(/^netns del /gm)?.length, 2)
    assert.ok(shells.opened.every((s) => s.closed))
    await pool.fill()
    assert.equal(exec.calls.length, 2, 'a stopped pool makes no more')
  })
})
