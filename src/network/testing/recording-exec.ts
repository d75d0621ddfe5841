/**
 * A fake Exec for unit tests (style-examples §9): it records every command with its stdin and
 * answers from a responder, so tests can assert the exact command lines and simulate the
 * kernel's "File exists" or "Cannot find device" without privileges.
 */
import { ExecError, type Exec, type ExecResult } from '../../exec/run.js'

export interface RecordedCall {
  cmd: string
  args: readonly string[]
  input?: string
}

/** Returns stdout (string), a full result, an error to reject with, or nothing (empty success). */
export type Responder = (
  call: RecordedCall,
) => string | ExecResult | Error | undefined | Promise<string | ExecResult | Error | undefined>

export interface RecordingExec extends Exec {
  calls: RecordedCall[]
  /** Each call as one string: `ip -batch -` followed by its stdin lines, `|`-separated. */
  lines(): string[]
}

export function recordingExec(responder: Responder = () => undefined): RecordingExec {
  const calls: RecordedCall[] = []
  const exec = async (cmd: string, args: readonly string[], options: { input?: string } = {}) => {
    const call: RecordedCall =
      options.input === undefined
        ? { cmd, args: [...args] }
        : { cmd, args: [...args], input: options.input }
    calls.push(call)
    const answer = await responder(call)
    if (answer instanceof Error) throw answer
    if (answer === undefined) return { stdout: '', stderr: '' }
    return typeof answer === 'string' ? { stdout: answer, stderr: '' } : answer
  }
  return Object.assign(exec, {
    calls,
    lines: () =>
      calls.map((c) =>
        [`${c.cmd} ${c.args.join(' ')}`, ...(c.input?.trimEnd().split('\n') ?? [])].join(' | '),
      ),
  })
}

/** The ExecError `ip -batch -` gives when the listed lines fail (line number → message). */
export function batchError(args: readonly string[], failed: Record<number, string>): ExecError {
  const stderr = Object.entries(failed)
    .map(([line, message]) => `${message}\nCommand failed -:${line}\n`)
    .join('')
  return new ExecError('ip', args, 1, stderr)
}
