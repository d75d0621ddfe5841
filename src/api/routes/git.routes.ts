/**
 * `git push` and `git clone` over HTTP at `<apiUrl>/<app>.git` (git's smart HTTP protocol):
 *
 *   GET  /<app>.git/info/refs?service=git-receive-pack|git-upload-pack
 *   POST /<app>.git/git-receive-pack     (push; the build's output comes back as `remote:` lines)
 *   POST /<app>.git/git-upload-pack      (clone, fetch)
 *
 * As on git.heroku.com, the API key is the password of HTTP Basic auth and the user name is
 * ignored. These routes check it themselves instead of through the auth hook, because git
 * needs `WWW-Authenticate` on a 401 (without it git never sends the credentials) and wants
 * plain-text errors, which it shows as `remote:` lines. Access is that of the app: a caller
 * who cannot see it gets 404, which git reports as "repository not found".
 *
 * The API only authorises; the GitBackend (src/builds/git-push.ts, wired by the daemon) runs
 * git and builds.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, PlatformError } from '../../core/errors.js'
import { GIT_SERVICES, type GitBackend, type GitService } from '../../core/git.js'
import { hashToken } from '../../core/ids.js'
import type { Account } from '../../core/types.js'
import { findApp } from '../access.js'
import { keyFromAuthorization } from '../plugins/auth.js'
import { toPlatformError } from '../plugins/conventions.js'

type GitRequest = FastifyRequest<{ Params: { app: string }; Querystring: { service?: string } }>

const header = (request: FastifyRequest, name: string): string | undefined => {
  const value = request.headers[name]
  return Array.isArray(value) ? value[0] : value
}

export function gitRoutes(app: FastifyInstance): void {
  const { store } = app.ctx
  /** Requests in flight: their git processes are stopped when the server closes. */
  const open = new Set<AbortController>()
  app.addHook('preClose', async () => {
    for (const c of open) c.abort()
  })

  const backend = (): GitBackend => {
    const git = app.ctx.git
    if (!git) throw new PlatformError('service_unavailable', 503, 'git push is not enabled here.')
    return git
  }

  /** The same key check as the auth hook, for Basic auth with the key as password. */
  const pusher = (request: FastifyRequest): Account => {
    const key = keyFromAuthorization(request.headers.authorization)
    const account = key && store.accounts.findByToken(hashToken(key), new Date().toISOString())
    if (!account) throw errors.unauthorized()
    return account
  }

  const serve = async (
    request: GitRequest,
    reply: FastifyReply,
    service: GitService,
    kind: 'advertise' | 'rpc',
  ) => {
    const account = pusher(request)
    const target = findApp(store, account, request.params.app)
    const git = backend()
    const length = header(request, 'content-length')
    if (length !== undefined && Number(length) > git.maxRequestBytes) {
      void reply.header('connection', 'close')
      throw errors.payloadTooLarge(git.maxRequestBytes)
    }
    const controller = new AbortController()
    open.add(controller)
    // The client went away before the end: stop git (and the push's hook) for it.
    reply.raw.once('close', () => {
      open.delete(controller)
      if (!reply.raw.writableFinished) controller.abort()
    })
    const contentType = header(request, 'content-type')
    const contentEncoding = header(request, 'content-encoding')
    // `version=2`: handed to git as GIT_PROTOCOL, so only the characters git itself sends.
    const gitProtocol = header(request, 'git-protocol')?.match(/^[\w.=:-]{1,200}$/)?.[0]
    const res = await git.serve({
      app: { id: target.id, name: target.name },
      account: { id: account.id, email: account.email },
      service,
      kind,
      ...(contentType !== undefined && { contentType }),
      ...(contentEncoding !== undefined && { contentEncoding }),
      ...(length !== undefined && { contentLength: length }),
      ...(gitProtocol !== undefined && { gitProtocol }),
      remoteAddress: request.ip,
      ...(kind === 'rpc' && { body: request.raw }),
      apiUrl: app.ctx.apiUrl,
      webUrl: app.ctx.webUrl(target.name),
      signal: controller.signal,
    })
    return reply.code(res.status).headers(res.headers).send(res.body)
  }

  // git's bodies are not JSON: a scope whose only parser hands on the raw stream, and whose
  // errors are plain text.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      const e = toPlatformError(error)
      if (e.statusCode >= 500) request.log.error({ err: error }, 'git request failed')
      if (e.statusCode === 401) void reply.header('www-authenticate', 'Basic realm="localspace"')
      void reply.code(e.statusCode).type('text/plain; charset=utf-8').send(` !     ${e.message}\n`)
    })

    const config = { public: true } // authenticated by `pusher` above

    scope.get('/:app.git/info/refs', { config }, async (request: GitRequest, reply) => {
      const service = GIT_SERVICES.find((s) => s === request.query.service)
      if (!service) {
        // Without ?service= git is asking for the old "dumb" protocol, which is not served.
        throw errors.forbidden('Only the smart HTTP protocol is served: please use git 1.6.6+.')
      }
      return serve(request, reply, service, 'advertise')
    })
    for (const service of GIT_SERVICES) {
      scope.post(`/:app.git/${service}`, { config }, async (request: GitRequest, reply) =>
        serve(request, reply, service, 'rpc'),
      )
    }
  })
}
