/**
 * Test files that change the host — start a daemon, make bridges, namespaces or nftables
 * tables — run in a throw-away network + mount namespace of their own (scripts/sandbox), so
 * they never touch the host's network nor each other's, and leave nothing behind even when
 * aborted. A file opts in at its top:
 *
 *   if (sandboxed(import.meta.url)) { describe(…) }
 *
 * Outside its sandbox the file re-runs itself inside one and reports as one test that fails
 * with the inner output when any inner test fails.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

/**
 * Inside scripts/sandbox: its private /run/netns is mounted here (the mount namespace is the
 * sandbox's own). The LOCALSPACE_SANDBOX variable alone could be left in an environment by hand.
 */
export const inSandbox = (): boolean =>
  readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === '/run/netns' && l.includes(' - tmpfs localspace-sandbox '))

export function sandboxed(fileUrl: string, timeoutMs = 600_000): boolean {
  if (inSandbox()) return true
  const file = fileURLToPath(fileUrl)
  test(`${basename(file)}, in a network sandbox of its own`, { timeout: timeoutMs }, async (t) => {
    const run = await runInSandbox(file, timeoutMs)
    t.diagnostic(`${run.passed} passed, ${run.failed} failed inside the sandbox`)
    assert.equal(run.code, 0, run.output)
    assert.equal(run.failed, 0, run.output)
    assert.ok(run.passed > 0, `nothing ran inside the sandbox:\n${run.output}`)
  })
  return false
}

async function runInSandbox(file: string, timeoutMs: number) {
  const env = { ...process.env }
  delete env.LOCALSPACE_SANDBOX
  delete env.NODE_TEST_CONTEXT // else the child reports to this runner and prints nothing
  const child = spawn(
    join(REPO, 'scripts', 'sandbox'),
    [process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', file],
    { env, cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs },
  )
  let output = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d))
  const code = await new Promise<number | string>((resolve) =>
    child.on('close', (c, signal) => resolve(c ?? signal ?? 'unknown')),
  )
  const count = (word: string) =>
    Number(new RegExp(`^\\S*\\s*${word} (\\d+)$`, 'm').exec(output)?.[1] ?? 0)
  return { code, output, passed: count('pass'), failed: count('fail') }
}
