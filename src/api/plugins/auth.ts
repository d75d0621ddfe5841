/**
 * Authentication, one path for every caller. The CLI sends `Authorization: Bearer <key>`; git
 * and some scripts send HTTP Basic with the key as the password (any user name), as Heroku
 * accepts. A browser signed in to the dashboard sends its session cookie instead
 * (src/api/dashboard/sessions.ts), and every change it makes must carry the session's CSRF
 * token in a header. Either way the request ends up with `request.account`, and the routes
 * authorise by team role exactly the same.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { errors } from '../../core/errors.js'
import { hashToken } from '../../core/ids.js'
import type { Account } from '../../core/types.js'
import {
  cookieValue,
  CSRF_HEADER,
  csrfMatches,
  SESSION_COOKIE,
  type DashboardSession,
} from '../dashboard/sessions.js'

export function keyFromAuthorization(header: string | undefined): string | undefined {
  if (!header) return undefined
  const [scheme, value] = header.split(/\s+/, 2)
  if (!value) return undefined
  if (scheme?.toLowerCase() === 'bearer') return value
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8')
    const colon = decoded.indexOf(':')
    return colon >= 0 ? decoded.slice(colon + 1) : undefined
  }
  return undefined
}

/** Methods that change nothing: a cookie alone is enough for them. */
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS'])

export function registerAuth(app: FastifyInstance): void {
  const { store, sessions } = app.ctx
  app.decorateRequest('account', null as unknown as Account)
  app.decorateRequest('dashboardSession', null)

  /** The account behind a dashboard session, looked up again on every request. */
  const sessionAccount = (session: DashboardSession): Account | undefined =>
    session.keyHash === undefined
      ? store.accounts.find(session.accountId)
      : store.accounts.findByToken(session.keyHash, new Date().toISOString())

  const fromCookie = (request: FastifyRequest): Account => {
    const token = cookieValue(request.headers.cookie, SESSION_COOKIE)
    const session = token === undefined ? undefined : sessions.find(token)
    if (!session) throw errors.unauthorized()
    const account = sessionAccount(session)
    if (!account) {
      sessions.end(session.id)
      throw errors.unauthorized()
    }
    // Another site's page cannot read the token, so it cannot forge a change in our name.
    if (!SAFE_METHODS.has(request.method) && !csrfMatches(session, request.headers[CSRF_HEADER])) {
      throw errors.forbidden(
        `This change needs the ${CSRF_HEADER} header of your dashboard session; reload the page and try again.`,
      )
    }
    request.dashboardSession = session
    return account
  }

  // onRequest, before the body is read: a caller without a valid key learns nothing from
  // parse or validation errors and cannot make the server parse a large body.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public) return
    // A key, when given, decides: the CLI never sends cookies, so nothing changes for it.
    if (request.headers.authorization === undefined && request.headers.cookie !== undefined) {
      request.account = fromCookie(request)
      return
    }
    const key = keyFromAuthorization(request.headers.authorization)
    if (!key) throw errors.unauthorized()
    const account = store.accounts.findByToken(hashToken(key), new Date().toISOString())
    if (!account) throw errors.unauthorized()
    request.account = account
  })
}
