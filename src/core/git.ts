/**
 * `git push` to `<apiUrl>/<app>.git` (docs/design.md §5): what the API and the git backend share.
 * The API authenticates the pusher (Basic auth, the API key as password) and checks the app;
 * the backend (src/builds/git-push.ts, wired by the daemon) runs git's smart HTTP protocol over
 * the app's bare repository and turns a push of main or master into a build.
 */
import { join } from 'node:path'
import type { Readable } from 'node:stream'

/** Where the apps' bare repositories live: `<dataDir>/repos/<app-id>.git`. */
export const REPOS_DIR = 'repos'

/** Keyed by app id, not name: a renamed app keeps its repository. */
export const repoDir = (dataDir: string, appId: string): string =>
  join(dataDir, REPOS_DIR, `${appId}.git`)

/** The two smart-HTTP services: fetch/clone and push. */
export type GitService = 'git-upload-pack' | 'git-receive-pack'

export const GIT_SERVICES: readonly GitService[] = ['git-upload-pack', 'git-receive-pack']

/** One smart-HTTP request, already authenticated and authorised by the API. */
export interface GitHttpRequest {
  app: { id: string; name: string }
  /** Who pushes: the build's user, and the name git records in the reflog. */
  account: { id: string; email: string }
  service: GitService
  /**
   * `advertise`: `GET /<app>.git/info/refs?service=<service>` (the refs, no body);
   * `rpc`: `POST /<app>.git/<service>` with the client's request body.
   */
  kind: 'advertise' | 'rpc'
  /** The request headers git's CGI cares about, as the client sent them. */
  contentType?: string
  contentEncoding?: string
  contentLength?: string
  /** The `Git-Protocol` header (`version=2` for fetches of recent clients). */
  gitProtocol?: string
  remoteAddress?: string
  body?: AsyncIterable<Uint8Array>
  /** This API's public URL now (the port may be known only after listening). */
  apiUrl: string
  /** The app's web URL, shown to the pusher after a deploy. */
  webUrl: string
  /** Fires when the client went away or the server closes: the request's processes are killed. */
  signal: AbortSignal
}

export interface GitHttpResponse {
  status: number
  headers: Record<string, string>
  /** Streamed to the client as it comes (a push's build output arrives over minutes). */
  body: Readable
}

export interface GitBackend {
  /** Largest request body accepted (a push's pack), in bytes; the API answers 413 beyond it. */
  readonly maxRequestBytes: number
  serve(request: GitHttpRequest): Promise<GitHttpResponse>
}

/** Heroku deploys these branches only; a push of any other is refused. */
export const DEPLOY_BRANCHES: readonly string[] = ['refs/heads/main', 'refs/heads/master']
