/**
 * The compat harness: a real `localspace daemon` on free ports, a recording proxy in front of
 * it that checks every JSON body against Heroku's schema, and a runner for the official
 * `heroku` CLI (node_modules/heroku) pointed at the proxy with a throwaway home directory.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  REPO,
  apiRequest,
  freePort,
  startDaemonProcess,
  type DaemonProcess,
} from '../helpers/daemon.js'
import { checkResponse, SCHEMA_PATH } from '../helpers/schema.js'

const HEROKU_RUN = join(REPO, 'node_modules', 'heroku', 'bin', 'run.js')
const DAEMON_START_TIMEOUT_MS = 20_000
const CLI_TIMEOUT_MS = 60_000

export interface Exchange {
  method: string
  path: string
  status: number
}

/**
 * Forwards everything to the daemon and checks each JSON response on the way back:
 * success bodies against Heroku's schema, error bodies for Heroku's `{id, message}` shape.
 */
class RecordingProxy {
  readonly failures: string[] = []
  readonly undescribed = new Set<string>()
  readonly exchanges: Exchange[] = []
  private readonly server: http.Server

  constructor(private readonly upstreamPort: number) {
    this.server = http.createServer((req, res) => this.forward(req, res))
  }

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', resolve)
    })
    return (this.server.address() as net.AddressInfo).port
  }

  async close(): Promise<void> {
    this.server.closeAllConnections()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const body: Buffer[] = []
    req.on('data', (c: Buffer) => body.push(c))
    req.on('end', () => {
      const upstream = http.request(
        {
          host: '127.0.0.1',
          port: this.upstreamPort,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (up) => {
          const chunks: Buffer[] = []
          up.on('data', (c: Buffer) => chunks.push(c))
          up.on('end', () => {
            const buf = Buffer.concat(chunks)
            try {
              this.record(req.method ?? 'GET', req.url ?? '/', up, buf)
            } catch (e) {
              // Still answered: a check that throws must fail the test, not hang the CLI.
              this.failures.push(`${req.method} ${req.url}: the check threw: ${String(e)}`)
            }
            res.writeHead(up.statusCode ?? 502, up.headers)
            res.end(buf)
          })
        },
      )
      upstream.on('error', (e) => {
        this.failures.push(`${req.method} ${req.url}: proxy could not reach the daemon: ${e}`)
        res.writeHead(502).end()
      })
      upstream.end(Buffer.concat(body))
    })
  }

  private record(method: string, path: string, up: http.IncomingMessage, buf: Buffer): void {
    const status = up.statusCode ?? 0
    this.exchanges.push({ method, path, status })
    const what = `${method} ${path} (${status})`
    if (buf.length === 0) return
    if (!/json/.test(String(up.headers['content-type'])) || up.headers['content-encoding']) {
      this.failures.push(`${what}: not a plain JSON response (${up.headers['content-type']})`)
      return
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(buf.toString('utf8'))
    } catch {
      this.failures.push(`${what}: body is not valid JSON`)
      return
    }
    if (status < 300 && path.startsWith('/buildpacks/')) {
      // The buildpack registry's API (answered by the daemon for `buildpacks:set NAME`), not
      // the Platform API: Heroku's schema does not describe it.
    } else if (status < 300) {
      const check = checkResponse(method, path, parsed)
      if (!check.described) this.undescribed.add(`${method} ${path.split('?')[0]}`)
      for (const e of check.errors) this.failures.push(`${what}: ${e}`)
    } else if (status >= 400) {
      const e = parsed as { id?: unknown; message?: unknown }
      if (typeof e.id !== 'string' || typeof e.message !== 'string') {
        this.failures.push(`${what}: error body lacks string id and message`)
      }
    }
  }
}

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** Extra environment; a value of `undefined` removes the variable. */
  env?: Record<string, string | undefined>
  /** Answers to prompts: when stderr first shows `prompt`, `answer` and a newline are typed. */
  answers?: Array<{ prompt: string; answer: string }>
  /** Where the CLI runs (the throwaway home unless given): `git:remote` works on its repo. */
  cwd?: string
}

export interface CompatOptions {
  /** Also an HTTPS router listener with this default certificate (PEM files). */
  tls?: { certFile: string; keyFile: string }
  /** More `localspace daemon` flags. */
  daemonArgs?: string[]
}

export interface Compat {
  /** The proxy's URL, which is what HEROKU_HOST points at. */
  apiUrl: string
  apiKey: string
  dataDir: string
  home: string
  routerPort: number
  /** The HTTPS router listener's port (0 without `tls`). */
  routerTlsPort: number
  proxy: RecordingProxy
  heroku: (args: string[], options?: RunOptions) => Promise<CliResult>
  /** A Platform API call through the proxy, as the admin. */
  api: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>
  stop: () => Promise<void>
}

/** Starts daemon and proxy; `stop()` undoes everything, also after a partial start. */
export async function startCompat(options: CompatOptions = {}): Promise<Compat> {
  if (!existsSync(join(REPO, 'dist', 'main.js'))) {
    throw new Error('localspace is not built: run `npm run build` before the compat tests')
  }
  if (!existsSync(SCHEMA_PATH)) {
    throw new Error(
      `Heroku's schema, which every response is checked against, is not at ${SCHEMA_PATH}`,
    )
  }
  const tmp = mkdtempSync(join(tmpdir(), 'localspace-compat-'))
  // The apps' users pass through it to their builds and dynos below the data dir.
  chmodSync(tmp, 0o711)
  const dataDir = join(tmp, 'data')
  const home = join(tmp, 'home')
  let daemon: DaemonProcess | undefined
  let proxy: RecordingProxy | undefined
  let particleboard: http.Server | undefined

  const stop = async () => {
    await proxy?.close()
    if (particleboard) {
      particleboard.closeAllConnections()
      await new Promise<void>((resolve) => particleboard!.close(() => resolve()))
    }
    await daemon?.stop()
    rmSync(tmp, { recursive: true, force: true })
  }

  try {
    const [apiPort, routerPort] = [await freePort(), await freePort()]
    const routerTlsPort = options.tls ? await freePort() : 0
    const tlsArgs = options.tls
      ? [
          ...['--router-listen', `https://127.0.0.1:${routerTlsPort}`],
          ...['--tls-cert', options.tls.certFile, '--tls-key', options.tls.keyFile],
        ]
      : []
    daemon = await startDaemonProcess(
      dataDir,
      apiPort,
      // A pool gives spaces known outbound addresses (nothing is added to an interface).
      [
        ...['--router-listen', `127.0.0.1:${routerPort}`, '--egress-pool', '203.0.113.0/28'],
        ...tlsArgs,
        ...(options.daemonArgs ?? []),
      ],
      DAEMON_START_TIMEOUT_MS,
      { cwd: REPO },
    )
    const apiKey = daemon.key

    proxy = new RecordingProxy(apiPort)
    const apiUrl = `http://127.0.0.1:${await proxy.listen()}`
    // Particleboard stand-in: the CLI's delinquency checks (GET /account, /teams/…) get a
    // 404 at once and ignore it (docs/heroku-reference.md §1.1). A closed port would not do: the
    // CLI retries refused connections with backoff, ~6 s per command.
    particleboard = http.createServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"id":"not_found","message":"No Particleboard here."}')
    })
    await new Promise<void>((resolve) => particleboard!.listen(0, '127.0.0.1', resolve))
    const particleboardUrl = `http://127.0.0.1:${(particleboard.address() as net.AddressInfo).port}`

    // The CLI's cache dir; the terms-of-service marker keeps its one-time banner off stderr.
    mkdirSync(join(home, '.cache', 'heroku'), { recursive: true })
    writeFileSync(join(home, '.cache', 'heroku', 'terms-of-service'), '')

    const baseEnv = (homeDir: string): Record<string, string> => ({
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: homeDir,
      XDG_CONFIG_HOME: join(homeDir, '.config'),
      XDG_CACHE_HOME: join(homeDir, '.cache'),
      XDG_DATA_HOME: join(homeDir, '.local', 'share'),
      HEROKU_HOST: apiUrl,
      // As the daemon prints it: pg:* and redis:* reach the data API on HEROKU_HOST's port.
      HEROKU_DATA_HOST: new URL(apiUrl).hostname,
      HEROKU_API_KEY: apiKey,
      HEROKU_PARTICLEBOARD_URL: particleboardUrl,
      // oclif: no update warning, no background autoupdate; heroku: no Herokulytics,
      // OpenTelemetry or Sentry reports (telemetry-utils.js, cli-command-telemetry.js).
      HEROKU_SKIP_NEW_VERSION_CHECK: 'true',
      HEROKU_DISABLE_AUTOUPDATE: 'true',
      HEROKU_SKIP_ANALYTICS: '1',
      DISABLE_TELEMETRY: 'true',
      NO_COLOR: '1',
      CI: 'true',
      // Wide enough that messages are not wrapped mid-sentence.
      OCLIF_COLUMNS: '200',
      COLUMNS: '200',
    })

    const heroku = (args: string[], options: RunOptions = {}): Promise<CliResult> => {
      const env: Record<string, string> = baseEnv(home)
      for (const [k, v] of Object.entries(options.env ?? {})) {
        if (v === undefined) delete env[k]
        else env[k] = v
      }
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ['--no-deprecation', HEROKU_RUN, ...args], {
          cwd: options.cwd ?? home,
          env,
          stdio: ['pipe', 'pipe', 'pipe'],
        })
        let stdout = ''
        let stderr = ''
        const answers = [...(options.answers ?? [])]
        // A CLI that exits without reading its input must not fail the test with EPIPE.
        child.stdin.on('error', () => undefined)
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
        child.stderr.on('data', (c: Buffer) => {
          stderr += c.toString()
          while (answers[0] && stderr.includes(answers[0].prompt)) {
            child.stdin.write(`${answers.shift()!.answer}\n`)
            if (answers.length === 0) child.stdin.end()
          }
        })
        if (answers.length === 0) child.stdin.end()
        const timer = setTimeout(() => {
          child.kill('SIGKILL')
          reject(new Error(`heroku ${args.join(' ')} timed out:\n${stdout}\n${stderr}`))
        }, CLI_TIMEOUT_MS)
        child.on('error', reject)
        child.on('close', (code) => {
          clearTimeout(timer)
          resolve({ code, stdout, stderr })
        })
      })
    }

    const api = (method: string, path: string, body?: unknown) =>
      apiRequest(apiUrl, apiKey, method, path, body)

    return { apiUrl, apiKey, dataDir, home, routerPort, routerTlsPort, proxy, heroku, api, stop }
  } catch (e) {
    await stop()
    throw e
  }
}

/** Whitespace-normalised text without the CLI's `›` error gutter, for message checks. */
export const flat = (s: string): string => s.replace(/›/g, ' ').replace(/\s+/g, ' ').trim()

/** `Key: value` lines of a styled object (spaces:info, apps:info, config…) as a map. */
export function fields(stdout: string): Record<string, string> {
  const out: Record<string, string> = {}
  for (const line of stdout.split('\n')) {
    const m = /^([A-Za-z][\w .-]*?):\s+(.*?)\s*$/.exec(line)
    if (m) out[m[1]!] = m[2]!
  }
  return out
}

/** Rows of a CLI table (after its `---` rule) as arrays of cells. */
export function tableRows(stdout: string): string[][] {
  const lines = stdout.split('\n')
  const rule = lines.findIndex((l) => /^-{5,}\s*$/.test(l))
  return lines
    .slice(rule + 1)
    .filter((l) => l.trim() !== '')
    .map((l) => l.trim().split(/\s{2,}/))
}

/** Asserts a zero exit and returns the result; the message shows everything the CLI said. */
export function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `heroku failed (${r.code}):\n${r.stdout}\n${r.stderr}`)
  return r
}

/** Asserts a failing exit whose stderr says `message`. */
export function fails(r: CliResult, message: string): void {
  assert.notEqual(r.code, 0, `heroku should have failed:\n${r.stdout}\n${r.stderr}`)
  assert.ok(flat(r.stderr).includes(message), `expected "${message}" in:\n${r.stderr}`)
}

/**
 * The environment of a CLI with a login of its own in `home` (made here): no API key, so
 * `login`/`logout` read and write that home's netrc and config, not the suite's.
 */
export function loginHome(home: string): NodeJS.ProcessEnv {
  mkdirSync(home)
  return {
    HEROKU_API_KEY: undefined,
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
  }
}
