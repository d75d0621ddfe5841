/**
 * git's own programs for `git push` over HTTP: `git http-backend` run as a CGI per request,
 * `git init --bare` for an app's repository and `git archive` for the source of a build.
 *
 * `git http-backend` implements the smart HTTP protocol; it reads the request from its
 * environment (PATH_INFO, QUERY_STRING, …) and its body from stdin, and writes CGI headers, a
 * blank line and the response body to stdout. It runs `git receive-pack`, which runs the
 * repository's hooks with their output sent to the client as `remote:` lines.
 *
 * The hook channel: every backend gets a fourth stdio entry, fd 3, a socket whose other end
 * stays here. git does not close inherited descriptors, so http-backend, receive-pack and
 * the pre-receive hook all have it: the hook talks to the daemon over it. Nothing else can
 * reach that socket (it has no name and no port), so no token is needed, and it belongs to
 * exactly one push.
 */
// eslint-disable-next-line no-restricted-imports -- src/exec is the sanctioned spawner
import { spawn, type ChildProcess } from 'node:child_process'
import { PassThrough, Transform, type Duplex, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'

/** The host's programs, for git and the hook (`sh`, `gzip`). */
const GIT_PATH = '/usr/local/bin:/usr/bin:/bin'
/** CGI headers are a few hundred bytes; more than this before the blank line is not git. */
const MAX_HEADER_BYTES = 64 * 1024

/**
 * The whole environment of every git we run: nothing of the daemon's (its API key, HOME with a
 * ~/.gitconfig) leaks in, and no system or global config changes what git does.
 */
function gitEnv(extra: Record<string, string> = {}): Record<string, string> {
  return { PATH: GIT_PATH, LANG: 'C.UTF-8', GIT_CONFIG_NOSYSTEM: '1', ...extra }
}

export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
  ) {
    super(`git ${args.join(' ')} failed: ${stderr.trim()}`)
    this.name = 'GitError'
  }
}

/** Runs git to its end; resolves its stdout. */
export function git(args: readonly string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env: gitEnv(env), stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.on('error', (e) => reject(new GitError(args, e.message)))
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new GitError(args, stderr || `exit code ${code}`)),
    )
  })
}

/** Makes an empty bare repository at `path` (no template: no sample hooks, no description). */
export async function initBareRepo(path: string, config: Record<string, string>): Promise<void> {
  await git(['init', '--bare', '--quiet', '--template=', '--initial-branch=main', path])
  for (const [key, value] of Object.entries(config)) {
    await git(['--git-dir', path, 'config', key, value])
  }
}

/**
 * A gzipped tarball of `rev`'s tree, as a stream that errors when git fails. `env` may point
 * git at a push's quarantined objects (GIT_OBJECT_DIRECTORY, GIT_ALTERNATE_OBJECT_DIRECTORIES).
 */
export function gitArchive(
  gitDir: string,
  rev: string,
  env: Record<string, string> = {},
): Readable {
  const args = ['archive', '--format=tar.gz', rev]
  const child = spawn('git', args, {
    env: gitEnv({ ...env, GIT_DIR: gitDir }),
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = new PassThrough()
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  child.stdout.pipe(out, { end: false })
  child.on('error', (e) => out.destroy(new GitError(args, e.message)))
  // 'close' comes after stdout ended, so everything was piped by then.
  child.on('close', (code) =>
    code === 0 ? out.end() : out.destroy(new GitError(args, stderr || `exit code ${code}`)),
  )
  // A reader that gives up (a source over the size limit) stops git too.
  out.on('close', () => child.kill('SIGKILL'))
  return out
}

export interface GitCgiRequest {
  /** GIT_PROJECT_ROOT: the directory the repositories are in. */
  projectRoot: string
  /** PATH_INFO: `/<repo>.git/info/refs`, `/<repo>.git/git-receive-pack`, … */
  pathInfo: string
  method: 'GET' | 'POST'
  query: string
  contentType?: string
  contentEncoding?: string
  contentLength?: string
  gitProtocol?: string
  /** REMOTE_USER: receive-pack is refused without one; git records it in the reflog. */
  remoteUser: string
  remoteAddress?: string
  body?: AsyncIterable<Uint8Array>
  /** The backend is killed (with its hooks) once more than this was read from the body. */
  maxBodyBytes: number
  /** Called once with the daemon's end of the hook channel (fd 3 of the backend). */
  onHookChannel?: (channel: Duplex) => void
  /** Kills the backend and everything it started. */
  signal: AbortSignal
  /** http-backend's stderr (git's own error messages), line by line. */
  onStderr?: (line: string) => void
}

export interface GitCgiResponse {
  status: number
  headers: Record<string, string>
  body: Readable
}

/** `Status: 404 Not Found` and `Content-Type: …` lines, up to the blank line. */
function parseCgiHeaders(text: string): { status: number; headers: Record<string, string> } {
  let status = 200
  const headers: Record<string, string> = {}
  for (const line of text.split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    if (name === 'status') status = Number.parseInt(value, 10) || 500
    else headers[name] = value
  }
  return { status, headers }
}

/** Where the CGI headers end (the blank line) and the body starts, or undefined. */
function headerEnd(buf: Buffer): { head: number; body: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n')
  const lf = buf.indexOf('\n\n')
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { head: crlf, body: crlf + 4 }
  if (lf >= 0) return { head: lf, body: lf + 2 }
  return undefined
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/**
 * Runs one request through `git http-backend`; resolves once its headers are in, with the
 * body still streaming. Rejects when the backend ends without a response.
 */
export function serveGitHttp(req: GitCgiRequest): Promise<GitCgiResponse> {
  const child = spawn('git', ['http-backend'], {
    env: gitEnv({
      GIT_PROJECT_ROOT: req.projectRoot,
      // Every repository under the root may be served: the API already checked access.
      GIT_HTTP_EXPORT_ALL: '1',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: 'HTTP/1.1',
      REQUEST_METHOD: req.method,
      PATH_INFO: req.pathInfo,
      QUERY_STRING: req.query,
      REMOTE_USER: req.remoteUser,
      REMOTE_ADDR: req.remoteAddress ?? '',
      CONTENT_TYPE: req.contentType ?? '',
      ...(req.contentLength !== undefined && { CONTENT_LENGTH: req.contentLength }),
      // http-backend inflates gzip'd bodies itself (git gzips larger fetch requests).
      ...(req.contentEncoding !== undefined && { HTTP_CONTENT_ENCODING: req.contentEncoding }),
      ...(req.gitProtocol !== undefined && { GIT_PROTOCOL: req.gitProtocol }),
    }),
    // fd 3: the hook channel (see the top of this file).
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    // Its own process group, so that killing it kills receive-pack and the hook too.
    detached: true,
  })
  const kill = () => killGroup(child)
  req.signal.addEventListener('abort', kill, { once: true })
  if (req.signal.aborted) kill()
  child.on('close', () => req.signal.removeEventListener('abort', kill))

  const channel = child.stdio[3] as Duplex
  // A hook that died mid-write must not crash the daemon; the push fails on its own.
  channel.on('error', () => undefined)
  if (req.onHookChannel) req.onHookChannel(channel)
  else channel.resume()

  let stderrTail = ''
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    const lines = (stderrTail + text).split('\n')
    stderrTail = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) req.onStderr?.(line)
  })

  // The request body, counted: a push larger than the limit stops the backend.
  const stdin = child.stdin
  stdin.on('error', () => undefined) // the backend may exit before reading everything
  if (req.body) {
    let size = 0
    const limit = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length
        if (size > req.maxBodyBytes) done(new Error('request body too large'))
        else done(null, chunk)
      },
    })
    pipeline(req.body, limit, stdin).catch(kill)
  } else {
    stdin.end()
  }

  return new Promise((resolve, reject) => {
    const stdout = child.stdout
    let head = Buffer.alloc(0)
    let answered = false
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk])
      const end = headerEnd(head)
      if (!end) {
        if (head.length > MAX_HEADER_BYTES) {
          kill()
          fail(new Error('git http-backend sent no end of headers'))
        }
        return
      }
      // Synchronously, so no chunk goes by without a listener: the rest is piped as it comes.
      stdout.off('data', onData)
      stdout.pause()
      answered = true
      const { status, headers } = parseCgiHeaders(head.subarray(0, end.head).toString('latin1'))
      const body = new PassThrough()
      body.write(head.subarray(end.body))
      stdout.pipe(body)
      // The client went away: stop the backend (and the hook) rather than let it run on.
      body.on('close', () => {
        if (child.exitCode === null && child.signalCode === null && !stdout.readableEnded) kill()
      })
      resolve({ status, headers, body })
    }
    const fail = (e: Error) => {
      if (answered) return
      answered = true
      reject(e)
    }
    stdout.on('data', onData)
    child.on('error', fail)
    child.on('close', (code) =>
      fail(new Error(`git http-backend ended without a response (exit code ${code})`)),
    )
  })
}
