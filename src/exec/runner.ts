/**
 * The daemon's side of the exec runner (runner-process.ts): an `Exec` and an `OpenShell` that
 * do their work in that child process, so that no host command ever forks the daemon.
 */
// eslint-disable-next-line no-restricted-imports -- src/exec is the sanctioned spawner
import { fork, type ChildProcess } from 'node:child_process'
import type { Socket } from 'node:net'
import { entryBeside, loaderFlags } from './node-entry.js'
import { ExecError, type Exec, type ExecResult } from './run.js'
import type { RunnerReply, RunnerRequest, SerializedError, ToolPipe } from './runner-protocol.js'
import { PipeShell, type OpenShell, type StartTool } from './shell.js'

type Request = RunnerRequest extends infer R
  ? R extends { id: number }
    ? Omit<R, 'id'>
    : never
  : never

export interface ExecRunner {
  exec: Exec
  /** Shells whose tools the runner starts and whose pipes this process then holds. */
  openShell: OpenShell
  /** What `openShell` starts tools with (for a PipeShell of one's own, e.g. a short timeout). */
  startTool: StartTool
  /** Ends the runner and every shell it holds. */
  close(): Promise<void>
}

function revive(e: SerializedError): Error {
  if (e.name === 'ExecError' && e.cmd !== undefined) {
    return new ExecError(e.cmd, e.args ?? [], e.exitCode ?? null, e.stderr ?? '')
  }
  const error = new Error(e.message)
  error.name = e.name
  return error
}

/** The runner's entry file, beside this one. */
const entry = entryBeside(import.meta.url, 'runner-process')

/** Starts the runner process: forked once, it then starts every host command of the daemon. */
export function startExecRunner(): ExecRunner {
  const child: ChildProcess = fork(entry, [], {
    execArgv: loaderFlags(process.execArgv),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    serialization: 'advanced',
  })
  let nextId = 1
  let nextTool = 1
  /** Pipes of started tools, until the reply to their `tool.start` arrives. */
  const pipes = new Map<number, Partial<Record<ToolPipe['pipe'], Socket>>>()
  const waiting = new Map<
    number,
    { resolve: (r: ExecResult) => void; reject: (e: Error) => void }
  >()
  let exited: Error | undefined

  child.on('message', (message: RunnerReply | ToolPipe, handle?: Socket) => {
    if ('pipe' in message) {
      if (handle) pipes.set(message.tool, { ...pipes.get(message.tool), [message.pipe]: handle })
      return
    }
    const reply = message
    const w = waiting.get(reply.id)
    if (!w) return
    waiting.delete(reply.id)
    if (reply.ok) w.resolve({ stdout: reply.stdout, stderr: reply.stderr })
    else w.reject(revive(reply.error))
  })
  child.on('exit', (code, signal) => {
    exited = new Error(`the exec runner exited (${code ?? signal})`)
    for (const w of waiting.values()) w.reject(exited)
    waiting.clear()
  })

  const call = (request: Request): Promise<ExecResult> =>
    new Promise((resolve, reject) => {
      if (exited) return reject(exited)
      if (!child.connected) return reject(new Error('the exec runner is closed'))
      const id = nextId++
      waiting.set(id, { resolve, reject })
      child.send({ ...request, id }, undefined, undefined, (e) => {
        if (!e) return
        waiting.delete(id)
        reject(e)
      })
    })

  const exec: Exec = (cmd, args, options = {}) =>
    call({ op: 'exec', cmd, args: [...args], options })

  const startTool: StartTool = async (argv) => {
    const tool = nextTool++
    const handOver = () => {
      const got = pipes.get(tool)
      pipes.delete(tool)
      return got
    }
    try {
      await call({ op: 'tool.start', tool, argv: [...argv] })
    } catch (e) {
      for (const pipe of Object.values(handOver() ?? {})) pipe.destroy()
      throw e
    }
    const { stdin, stdout } = handOver() ?? {}
    if (!stdin || !stdout) {
      stdin?.destroy()
      stdout?.destroy()
      throw new Error(`the exec runner did not hand over ${argv[0]}'s pipes`)
    }
    return {
      stdin,
      stdout,
      kill: () => void call({ op: 'tool.kill', tool }).catch(() => undefined),
    }
  }

  const openShell: OpenShell = (kind) => new PipeShell(kind, startTool)

  return {
    exec,
    openShell,
    startTool,
    close: () =>
      new Promise<void>((resolve) => {
        if (exited || !child.connected) return resolve()
        child.once('exit', () => resolve())
        child.disconnect()
      }),
  }
}
