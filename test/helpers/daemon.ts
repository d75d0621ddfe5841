/**
 * Runs the real `localspace daemon` (the built bin/localspace) as a child process on a free
 * port with a temp data dir, for tests that need the whole thing: restarts, kill -9, the
 * heroku CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const BIN = join(REPO, 'bin', 'localspace')

export async function freePort(): Promise<number> {
  const server = createServer()
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : 0
  server.close()
  await once(server, 'close')
  return port
}

export interface DaemonProcess {
  child: ChildProcess
  url: string
  key: string
  output: () => string
  /** Sends a signal and waits for the exit; resolves to the exit code (or signal name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

/** Starts the daemon and resolves once it has printed its HEROKU_API_KEY line. */
export async function startDaemonProcess(
  dataDir: string,
  port: number,
  extraArgs: string[] = [],
  timeoutMs = 15_000,
): Promise<DaemonProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'daemon', '--data-dir', dataDir, '--api-listen', `127.0.0.1:${port}`, ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d))
  const exited = once(child, 'exit')
  const key = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not start:\n${out}`)), timeoutMs)
    const check = () => {
      const m = /export HEROKU_API_KEY=(\S+)/.exec(out)
      if (m) {
        clearTimeout(timer)
        resolve(m[1]!)
      }
    }
    child.stdout.on('data', check)
    child.on('exit', () => {
      clearTimeout(timer)
      reject(new Error(`daemon exited before it was ready:\n${out}`))
    })
  })
  return {
    child,
    url: `http://127.0.0.1:${port}`,
    key,
    output: () => out,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) {
        return child.exitCode ?? child.signalCode!
      }
      child.kill(signal)
      const [code, sig] = (await exited) as [number | null, NodeJS.Signals | null]
      return code ?? sig!
    },
  }
}

export function tempDataDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-daemon-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}
