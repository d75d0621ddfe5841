import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, test } from 'node:test'
import { UNCAUGHT_EXIT_CODE } from './crash-handlers.js'

const module = fileURLToPath(new URL('./crash-handlers.ts', import.meta.url))

/** Runs `body` in a fresh node process that installed the daemon's handlers first. */
function runWithHandlers(body: string) {
  const script = `
    const { installCrashHandlers } = await import(${JSON.stringify(module)})
    installCrashHandlers()
    ${body}
  `
  return spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 30_000,
  })
}

describe('crash handlers', () => {
  test('an unhandled rejection is logged with its stack and the daemon keeps running', () => {
    const run = runWithHandlers(`
      Promise.reject(new RangeError('Invalid string length'))
      setTimeout(() => { console.log('still serving'); process.exit(0) }, 100)
    `)
    assert.equal(run.status, 0, run.stderr)
    assert.match(run.stdout, /still serving/)
    assert.match(run.stderr, /BUG: a promise was rejected and nobody handled it/)
    assert.match(run.stderr, /RangeError: Invalid string length\n\s+at /)
  })

  test('an uncaught exception is logged and the daemon exits non-zero at once', () => {
    const run = runWithHandlers(`
      setTimeout(() => { throw new TypeError('half done') }, 0)
      setTimeout(() => { console.log('went on'); process.exit(0) }, 500)
    `)
    assert.equal(run.status, UNCAUGHT_EXIT_CODE, run.stderr)
    assert.doesNotMatch(run.stdout, /went on/)
    assert.match(run.stderr, /BUG: uncaught exception, exiting/)
    assert.match(run.stderr, /TypeError: half done/)
  })
})
