import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ExecError, type Exec } from '../exec/run.js'
import { isNoEspAnswer, kernelHasEsp } from './kernel-esp.js'

const answering =
  (stderr: string | undefined): Exec =>
  (cmd, args) =>
    stderr === undefined
      ? Promise.resolve({ stdout: '', stderr: '' })
      : Promise.reject(new ExecError(cmd, args, 2, stderr))

describe('kernel ESP detection', () => {
  test('an accepted ESP state means kernel ESP', async () => {
    assert.equal(await kernelHasEsp(answering(undefined)), true)
  })

  test("a kernel without ESP (this project's CI kernel says so) means userspace ESP", async () => {
    assert.equal(await kernelHasEsp(answering('Error: Requested type not found.')), false)
    assert.equal(await kernelHasEsp(answering('RTNETLINK answers: Protocol not supported')), false)
  })

  test('anything else is an error, not a silent "no ESP"', async () => {
    await assert.rejects(
      kernelHasEsp(answering('unshare: unshare failed: Operation not permitted x')),
    )
    await assert.rejects(kernelHasEsp(answering('unshare: command not found')))
    assert.equal(isNoEspAnswer('Error: argument "0x100" is wrong'), false)
  })

  test('the probe runs in a throw-away network namespace', async () => {
    const calls: string[][] = []
    await kernelHasEsp((cmd, args) => {
      calls.push([cmd, ...args])
      return Promise.resolve({ stdout: '', stderr: '' })
    })
    assert.deepEqual(calls[0]?.slice(0, 6), ['unshare', '--net', '--', 'ip', 'xfrm', 'state'])
  })
})
