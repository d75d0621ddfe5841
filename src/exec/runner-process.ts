/**
 * The exec runner: a small child process of the daemon that starts every host command on the
 * daemon's behalf. Starting a process blocks the calling thread for the whole fork (~8 ms on
 * small hosts, more as the daemon's heap grows); done here, the daemon's event loop keeps
 * answering API requests while `ip` and `nft` run. It also starts the long-lived tools of
 * shells (shell.ts) and hands their pipes to the daemon, which then talks to them directly.
 * Exits when the daemon goes away.
 */
import { Socket } from 'node:net'
import { ExecError, run } from './run.js'
import type { RunnerReply, RunnerRequest, SerializedError, ToolPipe } from './runner-protocol.js'
import { spawnToolProcess } from './shell.js'

/** Shells' tools that are running, to kill one that got stuck. */
const tools = new Map<number, ReturnType<typeof spawnToolProcess>>()

function serialize(e: unknown): SerializedError {
  if (e instanceof ExecError) {
    return {
      name: e.name,
      message: e.message,
      cmd: e.cmd,
      args: [...e.args],
      exitCode: e.exitCode,
      stderr: e.stderr,
    }
  }
  return e instanceof Error
    ? { name: e.name, message: e.message }
    : { name: 'Error', message: String(e) }
}

async function handle(request: RunnerRequest): Promise<{ stdout: string; stderr: string }> {
  switch (request.op) {
    case 'exec':
      return run(request.cmd, request.args, request.options)
    case 'tool.start': {
      const child = spawnToolProcess(request.argv)
      tools.set(request.tool, child)
      child.on('exit', () => tools.delete(request.tool))
      // The daemon talks to the tool itself: no script passes through this process.
      sendPipe({ tool: request.tool, pipe: 'stdin' }, child.stdin)
      sendPipe({ tool: request.tool, pipe: 'stdout' }, child.stdout)
      return { stdout: '', stderr: '' }
    }
    case 'tool.kill':
      tools.get(request.tool)?.kill('SIGKILL')
      return { stdout: '', stderr: '' }
  }
}

/** Hands a pipe to the daemon; this process's end of it is closed once it arrived. */
function sendPipe(message: ToolPipe, pipe: unknown): void {
  if (!(pipe instanceof Socket)) throw new Error(`the tool's ${message.pipe} is not a pipe`)
  process.send!(message, pipe, undefined, () => undefined)
}

process.on('message', (request: RunnerRequest) => {
  handle(request).then(
    (result) => reply({ id: request.id, ok: true, ...result }),
    (e: unknown) => reply({ id: request.id, ok: false, error: serialize(e) }),
  )
})

function reply(message: RunnerReply): void {
  // With a callback, a channel that closed meanwhile is an ignored error, not an 'error' event.
  if (process.connected) process.send!(message, undefined, undefined, () => undefined)
}

// The daemon is gone (exited, killed, or done with this runner): nothing more will be asked,
// and the tools started for it end too (a dead daemon's pipes are closed already).
function shutDown(): void {
  for (const child of tools.values()) child.kill('SIGTERM')
  process.exit(0)
}
process.on('disconnect', shutDown)
// A terminal's Ctrl-C reaches the daemon's whole process group, and a service manager may
// SIGTERM every process of the daemon: this runner ends when the daemon lets it go, not
// before, since the daemon's own shutdown still runs host commands through it.
process.on('SIGINT', () => undefined)
process.on('SIGTERM', () => undefined)
// Node emits no 'disconnect' when the channel closes while a pipe it handed over still waits
// for its acknowledgement (the daemon exited or was killed just then); this notices anyway.
setInterval(() => {
  if (!process.connected) shutDown()
}, 500).unref()
