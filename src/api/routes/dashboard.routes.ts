/**
 * The web dashboard on the API's own listener: `GET /` is its page, `/localspace/dashboard/*`
 * its scripts and styles (no Heroku API path starts so), and `/localspace/session` signs a
 * browser in and out (src/api/dashboard/sessions.ts). Everything else the page does is the
 * Platform API itself, authorised by the session cookie as the CLI is by its key.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { PlatformError } from '../../core/errors.js'
import { hashToken } from '../../core/ids.js'
import { sessionCookie } from '../dashboard/sessions.js'
import { acceptsGzip, loadStaticFiles, type StaticFile } from '../dashboard/static-files.js'
import { accountFromCredentials } from '../plugins/credentials.js'
import type { SignInLimiter } from '../plugins/sign-in-limit.js'
import { accountJson } from '../serializers.js'

export const DASHBOARD_PREFIX = '/localspace/dashboard/'

/**
 * The page loads only its own files, talks only to its own origin and cannot be framed; the
 * SVG picture needs inline style attributes.
 */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

const notBuilt = () =>
  new PlatformError(
    'not_found',
    404,
    'The dashboard is not built: run `npm run build` in the localspace directory and restart the daemon.',
  )

export function dashboardRoutes(
  app: FastifyInstance,
  dir: string | undefined,
  limiter: SignInLimiter,
): void {
  const { store, sessions } = app.ctx
  const files = loadStaticFiles(dir)

  const serve = (
    request: FastifyRequest,
    reply: FastifyReply,
    file: StaticFile,
    immutable: boolean,
  ) => {
    const gzip = acceptsGzip(request.headers['accept-encoding'])
    void reply
      .headers(PAGE_HEADERS)
      .header('content-type', file.contentType)
      .header('vary', 'accept-encoding')
      .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
    if (gzip) void reply.header('content-encoding', 'gzip')
    return reply.send(gzip ? file.gzip : file.body)
  }

  app.get('/', { config: { public: true } }, async (request, reply) => {
    const page = files.get('index.html')
    if (!page) throw notBuilt()
    return serve(request, reply, page, false)
  })

  // File names carry a content hash (web/build.ts), so a browser may keep them for good.
  app.get<{ Params: { file: string } }>(
    `${DASHBOARD_PREFIX}:file`,
    { config: { public: true } },
    async (request, reply) => {
      const file = request.params.file === 'index.html' ? undefined : files.get(request.params.file)
      if (!file)
        throw files.size === 0
          ? notBuilt()
          : new PlatformError('not_found', 404, 'No such dashboard file.')
      return serve(request, reply, file, true)
    },
  )

  // Sign-in: `Authorization: Basic email:password` (rate limited like `heroku login -i`) or
  // `Bearer <API key>`. The key is not kept: the session holds its hash, checked again on each
  // request, so revoking the key signs the browser out.
  app.post('/localspace/session', { config: { public: true } }, async (request, reply) => {
    const account = await accountFromCredentials(store, limiter, request, reply)
    const [scheme, value] = (request.headers.authorization ?? '').split(/\s+/, 2)
    const keyHash = scheme?.toLowerCase() === 'bearer' && value ? hashToken(value) : undefined
    const { token, session } = sessions.create(account.id, keyHash)
    void reply.header(
      'set-cookie',
      sessionCookie(token, sessions.cookieMaxAgeSeconds, request.protocol === 'https'),
    )
    return reply.code(201).send(sessionJson(store, account.id, session.csrfToken))
  })

  // The page asks on load whether it is signed in, and learns its CSRF token (same origin only:
  // the API sends no CORS headers, so another site's script cannot read this).
  app.get('/localspace/session', async (request) => {
    const session = request.dashboardSession
    if (!session) throw noSession()
    return sessionJson(store, request.account.id, session.csrfToken)
  })

  app.delete('/localspace/session', async (request, reply) => {
    const session = request.dashboardSession
    if (!session) throw noSession()
    sessions.end(session.id)
    void reply.header('set-cookie', sessionCookie('', 0, request.protocol === 'https'))
    return reply.code(204).send()
  })
}

const noSession = () =>
  new PlatformError('not_found', 404, 'No dashboard session: this request was not made with one.')

function sessionJson(store: FastifyInstance['ctx']['store'], accountId: string, csrfToken: string) {
  const account = store.accounts.find(accountId)!
  return {
    account: accountJson(account, store.teams.forAccount(accountId)[0]),
    csrf_token: csrfToken,
  }
}
