/**
 * The one place that starts host commands (docs/design.md §2): `ip`, `nft`, `bwrap`, `swanctl`.
 * Everything else receives an `Exec` and so can be tested with a recording fake.
 */
// eslint-disable-next-line no-restricted-imports -- this module is the sanctioned exception
import { spawn } from 'node:child_process'

export interface ExecOptions {
  /** Written to the command's stdin (for `ip -batch -`, `nft -f -`). */
  input?: string
  timeoutMs?: number
}

export interface ExecResult {
  stdout: string
  stderr: string
}

export type Exec = (
  cmd: string,
  args: readonly string[],
  options?: ExecOptions,
) => Promise<ExecResult>

export class ExecError extends Error {
  constructor(
    readonly cmd: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${cmd} ${args.join(' ')} failed (${exitCode ?? 'killed'}): ${stderr.trim()}`)
    this.name = 'ExecError'
  }
}

const DEFAULT_TIMEOUT_MS = 30_000

/** Runs a command to completion; rejects with ExecError on a non-zero exit or a timeout. */
export const run: Exec = (cmd, args, options = {}) =>
  new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      // A process group of its own: a terminal's Ctrl-C, sent to the daemon's whole group,
      // must not cut an `nft -f` short; the daemon's shutdown decides what still runs.
      detached: true,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new ExecError(
          cmd,
          args,
          null,
          e.code === 'ENOENT' ? `${cmd}: command not found` : e.message,
        ),
      ),
    )
    child.on('close', (code) => {
      if (code === 0) resolve({ stdout, stderr })
      else reject(new ExecError(cmd, args, code, stderr))
    })
    // A command may exit before reading its stdin (`ip -j addr show`); that is not an error
    // of ours, and its exit code says all there is to say.
    child.stdin.on('error', () => undefined)
    child.stdin.end(options.input ?? '')
  })

// Classifiers for the kernel's answers, so callers can be idempotent (CNI's EEXIST/ENODEV).
const stderrOf = (e: unknown) => (e instanceof ExecError ? e.stderr : '')
export const isExists = (e: unknown): boolean => /File exists|already exists/i.test(stderrOf(e))
export const isNoDevice = (e: unknown): boolean =>
  /Cannot find device|does not exist|No such device/i.test(stderrOf(e))
export const isNoNetns = (e: unknown): boolean =>
  /Cannot open network namespace|No such file or directory/i.test(stderrOf(e))
export const isCommandMissing = (e: unknown): boolean => /command not found/.test(stderrOf(e))
