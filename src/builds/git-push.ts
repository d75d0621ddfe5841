/**
 * `git push` deploys (docs/design.md §5): the core GitBackend the API serves `<apiUrl>/<app>.git`
 * with. Each app has a bare repository, `<dataDir>/repos/<app-id>.git`, made on first use;
 * every request runs `git http-backend` over it (src/exec/git-http-backend.ts).
 *
 * A push is built while the pusher waits, as on Heroku. The repository's pre-receive hook (the
 * tiny shell script below) runs after git has received the objects and before it moves any
 * ref. It tells the daemon which refs are being pushed, over the hook channel (a private
 * socket the hook inherits as fd 3; no token, no port), then prints what the daemon sends back
 * until the daemon closes the channel. git shows that output as `remote:` lines. The daemon:
 *
 *   refuses every branch but main or master → `git archive`s the pushed commit into the source
 *   store → records a pending build through src/platform, as `POST /apps/{app}/builds` does → streams the build's
 *   output back → says "ok" when the build succeeded.
 *
 * The hook exits 0 only on that "ok", so a failed build declines the push: git reports
 * `! [remote rejected] main -> main (pre-receive hook declined)` and exits non-zero, and the
 * branch stays where it was (a post-receive hook could not fail the push). Output lines come
 * prefixed with `|` and the verdict is the line `=ok`, so nothing a build prints can pass
 * for the verdict.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import type { Duplex } from 'node:stream'
import { SourceTooLargeError, type BuildOutputView, type SourceStore } from '../core/builds.js'
import type { EventBus } from '../core/events.js'
import {
  DEPLOY_BRANCHES,
  REPOS_DIR,
  repoDir,
  type GitBackend,
  type GitHttpRequest,
  type GitHttpResponse,
} from '../core/git.js'
import { gitArchive, initBareRepo, serveGitHttp } from '../exec/git-http-backend.js'
import { createBuild } from '../platform/builds.js'
import type { Store } from '../store/store.js'

/** Heroku's soft limit for a repository is 1 GB; a single push larger than that is refused. */
export const DEFAULT_MAX_PUSH_BYTES = 1024 * 1024 * 1024

/** Settings of every app repository. */
const REPO_CONFIG: Record<string, string> = {
  // main or master cannot be deleted by a push (the app's deploy history would go).
  'receive.denyDeletes': 'true',
  // `git push --force` is allowed, as on Heroku.
  'receive.denyNonFastForwards': 'false',
  'http.receivepack': 'true',
  // A reflog in a bare repository: who pushed what, when.
  'core.logAllRefUpdates': 'true',
}

/**
 * The pre-receive hook. Its stdin has one `<old> <new> <ref>` line per pushed ref; it sends
 * them and the quarantine directory (where git keeps the pushed objects until the hook
 * agrees), then `end`. Kept this small on purpose: the daemon does the work.
 */
export const PRE_RECEIVE_HOOK = `#!/bin/sh
# Written by localspace: builds the pushed branch while the pusher waits.
# fd 3 is a socket to the localspace daemon, inherited from \`git http-backend\`.
{
  printf 'quarantine %s\\n' "\${GIT_QUARANTINE_PATH:-}"
  while read -r old new ref; do printf 'ref %s %s %s\\n' "$old" "$new" "$ref"; done
  printf 'end\\n'
} >&3 || exit 1
# Lines back: "|<text>" is output for the pusher, "=ok" accepts the push.
status=1
while IFS= read -r line || [ -n "$line" ]; do
  case $line in
    '|'*) printf '%s\\n' "\${line#|}" ;;
    '=ok') status=0 ;;
  esac
done <&3
exit $status
`

const ZERO_SHA = /^0+$/
const SHA = /^[0-9a-f]{40}([0-9a-f]{24})?$/

interface RefUpdate {
  old: string
  new: string
  ref: string
}

/** What the hook sent: the refs, and where the pushed objects wait. */
interface PushMessage {
  quarantine: string
  refs: RefUpdate[]
}

export interface GitPushesOptions {
  store: Store
  events: EventBus
  /** Repositories go to `<dataDir>/repos` (core/git.ts repoDir). */
  dataDir: string
  /** Where the pushed commit's tarball goes; the build fetches it from there. */
  sources: SourceStore
  /** The builder's output, streamed to the pusher. */
  output: BuildOutputView
  maxRequestBytes?: number
  log?: (line: string) => void
}

export class GitPushes implements GitBackend {
  readonly maxRequestBytes: number
  /** Each app's repository, made (or checked) once per daemon. */
  private readonly repos = new Map<string, Promise<string>>()

  constructor(private readonly options: GitPushesOptions) {
    this.maxRequestBytes = options.maxRequestBytes ?? DEFAULT_MAX_PUSH_BYTES
  }

  async serve(req: GitHttpRequest): Promise<GitHttpResponse> {
    const repo = await this.repository(req.app.id)
    const push = req.service === 'git-receive-pack' && req.kind === 'rpc'
    return serveGitHttp({
      projectRoot: join(this.options.dataDir, REPOS_DIR),
      pathInfo: `/${req.app.id}.git/${req.kind === 'advertise' ? 'info/refs' : req.service}`,
      method: req.kind === 'advertise' ? 'GET' : 'POST',
      query: req.kind === 'advertise' ? `service=${req.service}` : '',
      remoteUser: req.account.email,
      maxBodyBytes: this.maxRequestBytes,
      signal: req.signal,
      ...(req.contentType !== undefined && { contentType: req.contentType }),
      ...(req.contentEncoding !== undefined && { contentEncoding: req.contentEncoding }),
      ...(req.contentLength !== undefined && { contentLength: req.contentLength }),
      ...(req.gitProtocol !== undefined && { gitProtocol: req.gitProtocol }),
      ...(req.remoteAddress !== undefined && { remoteAddress: req.remoteAddress }),
      ...(req.body !== undefined && { body: req.body }),
      ...(push && { onHookChannel: (channel: Duplex) => this.onHook(channel, req, repo) }),
      onStderr: (line) => this.options.log?.(`git ${req.app.name}: ${line}`),
    })
  }

  /** The app's repository path, made on first use. */
  private repository(appId: string): Promise<string> {
    let ready = this.repos.get(appId)
    if (!ready) {
      ready = this.makeRepository(appId)
      this.repos.set(appId, ready)
      // A failure (a full disk) is retried by the next request.
      ready.catch(() => this.repos.delete(appId))
    }
    return ready
  }

  private async makeRepository(appId: string): Promise<string> {
    const root = join(this.options.dataDir, REPOS_DIR)
    const path = repoDir(this.options.dataDir, appId)
    await mkdir(root, { recursive: true, mode: 0o700 })
    if (!existsSync(path)) {
      // Made aside and renamed into place: a crash leaves no half-made repository.
      const fresh = await mkdtemp(join(root, '.new-'))
      try {
        await initBareRepo(fresh, REPO_CONFIG)
        await mkdir(join(fresh, 'hooks'), { recursive: true })
        await rename(fresh, path)
      } finally {
        await rm(fresh, { recursive: true, force: true })
      }
    }
    // Written every time the daemon starts using the repository, so that a newer daemon's
    // hook replaces an older one; renamed into place, so a running push never sees half of it.
    const hook = join(path, 'hooks', 'pre-receive')
    const part = `${hook}.${randomBytes(4).toString('hex')}`
    await writeFile(part, PRE_RECEIVE_HOOK, { mode: 0o755 })
    await rename(part, hook)
    return path
  }

  /** One push's conversation with its hook; ends the channel when done. */
  private onHook(channel: Duplex, req: GitHttpRequest, repo: string): void {
    let text = ''
    let started = false
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8')
      if (started || !/(^|\n)end\n/.test(text)) return
      started = true
      channel.off('data', onData)
      const out = new FramedOutput(channel)
      this.handlePush(parseMessage(text), req, repo, out, channel)
        .catch((e: unknown) => {
          this.options.log?.(`git push to ${req.app.name}: ${String(e)}`)
          out.line(` !     Internal error: ${e instanceof Error ? e.message : String(e)}`)
          return false
        })
        .then((ok) => out.finish(ok))
        .catch(() => undefined)
    }
    channel.on('data', onData)
  }

  /** Resolves whether the push is accepted. */
  private async handlePush(
    message: PushMessage,
    req: GitHttpRequest,
    repo: string,
    out: FramedOutput,
    channel: Duplex,
  ): Promise<boolean> {
    const rejected = (...lines: string[]) => {
      out.line('')
      for (const line of lines) out.line(` !     ${line}`)
      out.line('')
      out.line(` !     Push rejected to ${req.app.name}.`)
      out.line('')
      return false
    }
    // Deletions alone build nothing; git itself refuses them (receive.denyDeletes).
    const updates = message.refs.filter((r) => !ZERO_SHA.test(r.new))
    if (updates.length === 0) return true
    const others = updates.filter((r) => !DEPLOY_BRANCHES.includes(r.ref))
    if (others.length > 0) {
      const ref = others[0]!.ref
      const branch = ref.replace(/^refs\/heads\//, '')
      return rejected(
        `Only the main or master branch is deployed; this push updates ${ref}.`,
        ref.startsWith('refs/heads/')
          ? `To deploy it, push it to main: git push <remote> ${branch}:main`
          : 'Push a branch (main or master) instead.',
      )
    }
    if (updates.length > 1) return rejected('Push main or master, not both at once.')
    const sha = updates[0]!.new
    if (!SHA.test(sha)) return rejected(`Not a commit id: ${sha}`)

    out.text('Compressing source files... ')
    const token = this.options.sources.create()
    try {
      await this.options.sources.put(token, gitArchive(repo, sha, quarantineEnv(repo, message)))
    } catch (e) {
      if (e instanceof SourceTooLargeError) {
        out.line('failed.')
        return rejected(`The source is larger than ${e.maxBytes} bytes.`)
      }
      throw e
    }
    out.line('done.')
    out.line('Building source:')
    out.line('')

    // A pending build of the uploaded tarball, made exactly as `POST /apps/{app}/builds` does.
    const { id: buildId } = createBuild(this.options, req.app, req.account, {
      url: `${req.apiUrl.replace(/\/+$/, '')}/localspace/blobs/${token}`,
      version: sha,
    })
    const finished = await this.follow(buildId, out, channel)
    if (!finished) return false // the pusher went away; the build goes on without them
    if (this.options.store.builds.find(buildId)?.status !== 'succeeded') return rejected()
    out.line(`       ${req.webUrl} deployed to localspace`)
    out.line('')
    out.line('Verifying deploy... done.')
    return true
  }

  /** Streams the build's output until it ends (true) or the hook is gone (false). */
  private follow(buildId: string, out: FramedOutput, channel: Duplex): Promise<boolean> {
    return new Promise((done) => {
      let ended = false
      const stop = this.options.output.follow(
        buildId,
        false,
        (text) => out.text(text),
        () => {
          ended = true
          done(true)
        },
      )
      channel.once('close', () => {
        if (ended) return
        stop()
        done(false)
      })
    })
  }
}

function parseMessage(text: string): PushMessage {
  const message: PushMessage = { quarantine: '', refs: [] }
  for (const line of text.split('\n')) {
    if (line.startsWith('quarantine ')) message.quarantine = line.slice('quarantine '.length)
    const m = /^ref (\S+) (\S+) (\S+)$/.exec(line)
    if (m) message.refs.push({ old: m[1]!, new: m[2]!, ref: m[3]! })
  }
  return message
}

/**
 * Until the hook agrees, the pushed objects are in a quarantine directory inside the
 * repository's objects; `git archive` finds them there. Only such a directory is accepted.
 */
function quarantineEnv(repo: string, message: PushMessage): Record<string, string> {
  if (!message.quarantine) return {}
  const objects = resolve(repo, 'objects')
  const dir = resolve(message.quarantine)
  const name = dir.slice(objects.length + 1)
  if (!dir.startsWith(objects + sep) || !/^tmp_objdir-incoming-[A-Za-z0-9_-]+$/.test(name)) {
    throw new Error(`unexpected quarantine directory ${message.quarantine}`)
  }
  return { GIT_OBJECT_DIRECTORY: dir, GIT_ALTERNATE_OBJECT_DIRECTORIES: objects }
}

/** Output for the hook: whole lines, each prefixed with `|`; the verdict last. */
class FramedOutput {
  private partial = ''

  constructor(private readonly channel: Duplex) {}

  text(text: string): void {
    const lines = (this.partial + text).split('\n')
    this.partial = lines.pop() ?? ''
    for (const line of lines) this.send(line)
  }

  line(text: string): void {
    this.text(`${text}\n`)
  }

  finish(ok: boolean): void {
    if (this.partial) this.send(this.partial)
    this.partial = ''
    if (this.channel.writable) this.channel.end(ok ? '=ok\n' : '')
  }

  private send(line: string): void {
    if (this.channel.writable) this.channel.write(`|${line}\n`)
  }
}
