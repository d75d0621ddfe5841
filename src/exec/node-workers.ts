/**
 * Node worker processes that share this process's listening sockets (node:cluster): this
 * process accepts the connections and hands them round-robin to its workers, so a server can use
 * more than one core. Exec knows nothing of what a worker runs: the caller names the entry file
 * and speaks to the worker in messages of its own types (the router: router/workers.ts).
 */
// eslint-disable-next-line no-restricted-imports -- src/exec is the sanctioned spawner
import cluster from 'node:cluster'
import { loaderFlags } from './node-entry.js'

/** One worker process; `Send` is what it is told, `Receive` what it answers. */
export interface NodeWorker<Send extends object, Receive> {
  /** Its process id (undefined only if the process could not be started at all). */
  readonly pid: number | undefined
  /** Sends a message, unless the channel is closed (the worker is gone or going). */
  send(message: Send): void
  onMessage(fn: (message: Receive) => void): void
  /** Called once the process has exited. */
  onExit(fn: (code: number | null, signal: NodeJS.Signals | null) => void): void
  kill(signal: NodeJS.Signals): void
  isDead(): boolean
}

export interface ForkNodeWorkerOptions {
  /** Node flags for the worker (default: the loader flags this process runs with). */
  execArgv?: readonly string[] | undefined
}

/** Starts one worker process running `entry`; it shares the listeners it opens with its siblings. */
export function forkNodeWorker<Send extends object, Receive>(
  entry: string,
  options: ForkNodeWorkerOptions = {},
): NodeWorker<Send, Receive> {
  // The cluster's settings are one per process and read at fork: set them for every fork, so
  // callers with different entries never start each other's code.
  cluster.setupPrimary({
    exec: entry,
    execArgv: [...(options.execArgv ?? loaderFlags(process.execArgv))],
  })
  const worker = cluster.fork()
  return {
    pid: worker.process.pid,
    send: (message) => {
      if (worker.isConnected()) worker.send(message)
    },
    onMessage: (fn) => void worker.on('message', fn),
    onExit: (fn) => void worker.once('exit', fn),
    kill: (signal) => worker.kill(signal),
    isDead: () => worker.isDead(),
  }
}
