/**
 * The messages between the daemon and its exec runner (runner.ts), over Node's IPC channel.
 */
import type { ExecOptions } from './run.js'

export type RunnerRequest =
  | { id: number; op: 'exec'; cmd: string; args: string[]; options: ExecOptions }
  /** Starts a shell's tool (shell.ts `StartTool`); its pipes come back as `ToolPipe`s. */
  | { id: number; op: 'tool.start'; tool: number; argv: string[] }
  | { id: number; op: 'tool.kill'; tool: number }

export type RunnerReply =
  | { id: number; ok: true; stdout: string; stderr: string }
  | { id: number; ok: false; error: SerializedError }

/**
 * One of a started tool's pipes, sent with the pipe itself as the message's handle, before
 * the reply to its `tool.start`. The runner keeps no end of it: the daemon's closing stdin
 * ends the tool, and the tool's exit ends the daemon's stdout.
 */
export interface ToolPipe {
  tool: number
  pipe: 'stdin' | 'stdout'
}

/** An ExecError (or any other error) as plain data. */
export interface SerializedError {
  name: string
  message: string
  cmd?: string
  args?: string[]
  exitCode?: number | null
  stderr?: string
}
