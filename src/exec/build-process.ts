/**
 * A command run to its end with its output streamed: what one build step is (the command
 * line, a sandbox, comes from src/runtime/sandbox.ts `buildCommand`).
 *
 * - It runs in a process group of its own, so a timeout or an abort kills what it started too.
 * - `input3` is written to the command's fd 3 and closed: how a sandbox gets its environment
 *   (`bwrap --args 3`) without config vars ever appearing on a command line, which every user
 *   on the host can read in /proc/<pid>/cmdline.
 * - stdout and stderr arrive interleaved, as text, in the order the pipes deliver them.
 */
// eslint-disable-next-line no-restricted-imports -- src/exec is the sanctioned spawner
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import type { Writable } from 'node:stream'

export interface RunToEndOptions {
  /** The complete environment: nothing of the daemon's leaks in. */
  env: Record<string, string>
  cwd?: string
  /** Written to fd 3, then closed. */
  input3?: string
  onOutput: (text: string) => void
  /** Kills the whole process group when it fires. */
  signal?: AbortSignal
  timeoutMs?: number
}

/** Resolves the exit code: 128+N when killed by signal N, 127 when it could not start. */
export function runToEnd(argv: readonly string[], o: RunToEndOptions): Promise<number> {
  const [cmd, ...args] = argv
  if (!cmd) throw new Error('empty command')
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      ...(o.cwd !== undefined && { cwd: o.cwd }),
      env: o.env,
      stdio: ['ignore', 'pipe', 'pipe', o.input3 === undefined ? 'ignore' : 'pipe'],
      detached: true, // its own process group: killed as a whole
    })
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL')
      } catch {
        // already gone
      }
    }
    const timer = o.timeoutMs ? setTimeout(kill, o.timeoutMs) : undefined
    o.signal?.addEventListener('abort', kill, { once: true })
    if (o.signal?.aborted) kill()
    if (o.input3 !== undefined) {
      const fd3 = child.stdio[3] as Writable
      fd3.on('error', () => undefined) // it exited before reading: its status says why
      fd3.end(o.input3)
    }
    child.stdout!.setEncoding('utf8').on('data', o.onOutput)
    child.stderr!.setEncoding('utf8').on('data', o.onOutput)
    let settled = false
    const finish = (code: number) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      o.signal?.removeEventListener('abort', kill)
      resolve(code)
    }
    child.on('error', (e: NodeJS.ErrnoException) => {
      o.onOutput(e.code === 'ENOENT' ? `${cmd}: command not found\n` : `${e.message}\n`)
      finish(127)
    })
    child.on('close', (code, signal) =>
      finish(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
    )
  })
}
