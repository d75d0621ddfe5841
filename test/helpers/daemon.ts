/**
 * Runs the real `localspace daemon` (the built bin/localspace) as a child process on a free
 * port with a temp data dir, for tests that need the whole thing: restarts, kill -9, the
 * heroku CLI.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import assert from 'node:assert/strict'
import { checkResponse } from './schema.js'
import { waitUntil } from './wait.js'

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

/** How long `stop()` waits after its signal before it sends SIGKILL. */
const STOP_TIMEOUT_MS = 10_000

export interface DaemonProcess {
  child: ChildProcess
  url: string
  key: string
  /** Everything the daemon has printed so far, stdout and stderr together. */
  output: () => string
  /**
   * Sends a signal (SIGKILL as well if the daemon is still running 10 s later) and waits for
   * the exit; resolves to the exit code (or signal name).
   */
  stop(signal?: NodeJS.Signals): Promise<number | string>
}

export interface DaemonOptions {
  /** The daemon's working directory; the test runner's by default. */
  cwd?: string
  /**
   * Leads a process group of its own (as a shell's foreground job does), so a test can signal
   * the whole group as a terminal's Ctrl-C does: `process.kill(-child.pid, 'SIGINT')`.
   */
  processGroup?: boolean
}

/**
 * Starts the daemon and resolves once it has printed its HEROKU_API_KEY line (the key on first
 * start, later `$(cat …/admin-api-key)`: the key is then read from that file). Its output is
 * drained for as long as it runs, so a chatty daemon never blocks on a full pipe. If it does
 * not get ready in time it is killed and the promise rejects.
 */
export async function startDaemonProcess(
  dataDir: string,
  port: number,
  extraArgs: string[] = [],
  timeoutMs = 15_000,
  options: DaemonOptions = {},
): Promise<DaemonProcess> {
  const child = spawn(
    process.execPath,
    [BIN, 'daemon', '--data-dir', dataDir, '--api-listen', `127.0.0.1:${port}`, ...extraArgs],
    { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: options.processGroup },
  )
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d))
  const key = await new Promise<string>((resolve, reject) => {
    const done = (settle: () => void) => {
      clearTimeout(timer)
      child.stdout.off('data', check)
      child.off('exit', onExit)
      child.off('error', onError)
      settle()
    }
    const check = () => {
      const m = /^export HEROKU_API_KEY=([^\r\n]+)\r?\n/m.exec(out)
      const keyFile = join(dataDir, 'admin-api-key')
      if (m)
        done(() => resolve(m[1]!.startsWith('$(') ? readFileSync(keyFile, 'utf8').trim() : m[1]!))
    }
    const onExit = () => done(() => reject(new Error(`daemon exited before it was ready:\n${out}`)))
    const onError = (e: Error) => done(() => reject(e))
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      done(() => reject(new Error(`daemon did not start within ${timeoutMs} ms:\n${out}`)))
    }, timeoutMs)
    child.stdout.on('data', check)
    child.once('exit', onExit)
    child.once('error', onError)
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
      const exited = once(child, 'exit')
      child.kill(signal)
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS)
      try {
        const [code, sig] = (await exited) as [number | null, NodeJS.Signals | null]
        return code ?? sig!
      } finally {
        clearTimeout(timer)
      }
    },
  }
}

export function tempDataDir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-daemon-'))
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * One API request to a running daemon over real HTTP. As with the in-process helper, a 2xx
 * JSON body must match Heroku's schema and an error must have Heroku's `{id, message}` shape.
 */
export async function apiRequest(
  url: string,
  key: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      accept: 'application/vnd.heroku+json; version=3',
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  const parsed: unknown = text === '' ? undefined : JSON.parse(text)
  if (res.status < 300 && parsed !== undefined) {
    assert.deepEqual(checkResponse(method, path, parsed).errors, [], `${method} ${path} schema`)
  } else if (res.status >= 400) {
    assert.equal(typeof (parsed as { id?: unknown }).id, 'string', `${method} ${path}: no error id`)
  }
  return { status: res.status, body: parsed }
}

/**
 * What most daemon tests start from: a team, a space in it that is `allocated` (its network
 * exists), and an app in the space. Returns the space's id.
 */
export async function createSpaceApp(
  d: { url: string; key: string },
  names: { team: string; space: string; app: string; region?: string },
): Promise<string> {
  const call = (method: string, path: string, body?: unknown) =>
    apiRequest(d.url, d.key, method, path, body)
  assert.equal((await call('POST', '/teams', { name: names.team })).status, 201)
  const space = await call('POST', '/spaces', {
    name: names.space,
    team: names.team,
    region: names.region ?? 'virginia',
  })
  assert.equal(space.status, 201)
  await waitUntil(
    'the space to be allocated',
    async () => (await call('GET', `/spaces/${names.space}`)).body.state === 'allocated',
  )
  const app = await call('POST', '/teams/apps', {
    name: names.app,
    team: names.team,
    space: names.space,
  })
  assert.equal(app.status, 201)
  return space.body.id as string
}

/** An app of examples/ (default node-web) as the .tar.gz a source upload takes. */
export function exampleTarball(example = 'node-web'): Buffer {
  return execFileSync('tar', ['-czf', '-', '-C', join(REPO, 'examples', example), '.'])
}

/** Uploads a .tar.gz as the app's source (POST /sources, PUT); returns its get_url. */
export async function uploadSource(
  d: { url: string; key: string },
  app: string,
  tarball: Buffer,
): Promise<string> {
  const source = await apiRequest(d.url, d.key, 'POST', `/apps/${app}/sources`)
  const blob = source.body.source_blob as { put_url: string; get_url: string }
  const put = await fetch(blob.put_url, { method: 'PUT', body: new Uint8Array(tarball) })
  assert.equal(put.status, 200)
  return blob.get_url
}
