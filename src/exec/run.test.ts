import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ExecError, isCommandMissing, isExists, run } from './run.js'

describe('run', () => {
  test('returns stdout and feeds stdin', async () => {
    const out = await run('cat', [], { input: 'hello' })
    assert.equal(out.stdout, 'hello')
  })

  test('a non-zero exit rejects with the command, code and stderr', async () => {
    const error = await run('sh', ['-c', 'echo RTNETLINK answers: File exists >&2; exit 2']).catch(
      (e: unknown) => e,
    )
    assert.ok(error instanceof ExecError)
    assert.equal(error.exitCode, 2)
    assert.ok(isExists(error))
  })

  test('a missing command is reported as such', async () => {
    const error = await run('no-such-command-localspace', []).catch((e: unknown) => e)
    assert.ok(isCommandMissing(error))
  })
})
