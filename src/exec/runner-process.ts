/**
 * The exec runner: a small child process of the daemon that starts every host command on the
 * daemon's behalf. Starting a process blocks the calling thread for the whole fork (~8 ms on
 * small hosts, more as the daemon's heap grows); done here, the daemon's event loop keeps
 * answering API requests while `ip` and `nft` run. Exits when the daemon goes away.
 */
import { ExecError, run } from './run.js'
import type { RunnerReply, RunnerRequest, SerializedError } from './runner-protocol.js'
import { LocalShell, type Shell } from './shell.js'

const shells = new Map<number, Shell>()

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
    case 'shell.open':
      // Started now, so that its first script does not wait for a process to start.
      shells.set(request.shell, new LocalShell(request.kind))
      return { stdout: '', stderr: '' }
    case 'shell.run': {
      const shell = shells.get(request.shell)
      if (!shell) throw new Error(`shell ${request.shell} is closed`)
      await shell.run(request.script)
      return { stdout: '', stderr: '' }
    }
    case 'shell.close':
      shells.get(request.shell)?.close()
      shells.delete(request.shell)
      return { stdout: '', stderr: '' }
  }
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

// The daemon is gone (exited or killed): nothing more will be asked.
process.on('disconnect', () => {
  for (const shell of shells.values()) shell.close()
  process.exit(0)
})
