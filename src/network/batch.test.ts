import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ExecError } from '../exec/run.js'
import { BatchError, parseBatchFailures, runIpBatch } from './batch.js'
import { recordingExec } from './testing/recording-exec.js'

// Verbatim from `ip -force -batch -` (iproute2 6.1) with five failing lines.
const STDERR = `RTNETLINK answers: File exists
Command failed -:3
Error: ipv4: Address already assigned.
Command failed -:5
Cannot find device "nope0"
Command failed -:6
Error: ipv4: Address not found.
Command failed -:7
Cannot remove namespace file "/run/netns/ls-nope": No such file or directory
Command failed -:8
`

describe('ip -batch', () => {
  test('stderr is split into the message of each failed line', () => {
    assert.deepEqual(
      [...parseBatchFailures(STDERR)],
      [
        [3, 'RTNETLINK answers: File exists'],
        [5, 'Error: ipv4: Address already assigned.'],
        [6, 'Cannot find device "nope0"'],
        [7, 'Error: ipv4: Address not found.'],
        [8, 'Cannot remove namespace file "/run/netns/ls-nope": No such file or directory'],
      ],
    )
  })

  test('tolerated failures are returned, the others thrown', async () => {
    const lines = [
      { command: 'link add lsb-00000001 type bridge', tolerate: 'exists' as const },
      { command: 'link set lsb-00000001 up', tolerate: 'nothing' as const },
      { command: 'link add lsb-00000001 type bridge', tolerate: 'exists' as const },
      { command: 'addr add 10.0.0.1/16 dev lsb-00000001', tolerate: 'exists' as const },
      { command: 'addr add 10.0.0.1/16 dev lsb-00000001', tolerate: 'exists' as const },
      { command: 'link del nope0', tolerate: 'gone' as const },
      { command: 'addr del 10.9.9.9/32 dev lsb-00000001', tolerate: 'gone' as const },
      { command: 'netns del ls-nope', tolerate: 'exists' as const },
    ]
    const exec = recordingExec(({ args }) => new ExecError('ip', args, 1, STDERR))
    const error = await runIpBatch(exec, lines, { force: true }).catch((e: unknown) => e)
    assert.ok(error instanceof BatchError)
    assert.deepEqual(
      error.failures.map((f) => f.line),
      [8],
    )
    const lines7 = recordingExec(
      ({ args }) => new ExecError('ip', args, 1, STDERR.split('\n').slice(0, 8).join('\n')),
    )
    const ok = await runIpBatch(lines7, lines.slice(0, 7), { force: true })
    assert.deepEqual(
      ok.tolerated.map((f) => f.line),
      [3, 5, 6, 7],
    )
  })

  test('without -force any failure is fatal: the lines after it never ran', async () => {
    const exec = recordingExec(
      ({ args }) =>
        new ExecError('ip', args, 1, 'RTNETLINK answers: File exists\nCommand failed -:1\n'),
    )
    await assert.rejects(
      runIpBatch(exec, [{ command: 'link add x type bridge', tolerate: 'exists' }]),
      BatchError,
    )
  })

  test('a failure ip did not attribute to a line is passed on as it is', async () => {
    const exec = recordingExec(({ args }) => new ExecError('ip', args, null, 'killed'))
    await assert.rejects(
      runIpBatch(exec, [{ command: 'link del x', tolerate: 'gone' }], { force: true }),
      ExecError,
    )
  })

  test('no lines, no process', async () => {
    const exec = recordingExec()
    await runIpBatch(exec, [])
    assert.equal(exec.calls.length, 0)
  })
})
