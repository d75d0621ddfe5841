/**
 * The messages between the daemon and its exec runner (runner.ts), over Node's IPC channel.
 */
import type { ExecOptions } from './run.js'
import type { ShellKind } from './shell.js'

export type RunnerRequest =
  | { id: number; op: 'exec'; cmd: string; args: string[]; options: ExecOptions }
  | { id: number; op: 'shell.open'; shell: number; kind: ShellKind }
  | { id: number; op: 'shell.run'; shell: number; script: string }
  | { id: number; op: 'shell.close'; shell: number }

export type RunnerReply =
  | { id: number; ok: true; stdout: string; stderr: string }
  | { id: number; ok: false; error: SerializedError }

/** An ExecError (or any other error) as plain data. */
export interface SerializedError {
  name: string
  message: string
  cmd?: string
  args?: string[]
  exitCode?: number | null
  stderr?: string
}
