/**
 * API-key authentication. The CLI sends `Authorization: Bearer <key>`; git and some scripts
 * send HTTP Basic with the key as the password (any user name), as Heroku accepts.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { hashToken } from '../../core/ids.js'
import type { Account } from '../../core/types.js'

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

export function registerAuth(app: FastifyInstance): void {
  app.decorateRequest('account', null as unknown as Account)
  // onRequest, before the body is read: a caller without a valid key learns nothing from
  // parse or validation errors and cannot make the server parse a large body.
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config.public) return
    const key = keyFromAuthorization(request.headers.authorization)
    if (!key) throw errors.unauthorized()
    const account = app.ctx.store.accounts.findByToken(hashToken(key), new Date().toISOString())
    if (!account) throw errors.unauthorized()
    request.account = account
  })
}
