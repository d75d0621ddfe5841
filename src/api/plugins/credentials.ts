/**
 * Signing in with credentials: `heroku login -i` and the dashboard's sign-in both come here.
 */
import type { FastifyReply, FastifyRequest } from 'fastify'
import { errors } from '../../core/errors.js'
import { hashToken } from '../../core/ids.js'
import { verifyPassword } from '../../core/passwords.js'
import type { Account } from '../../core/types.js'
import type { Store } from '../../store/store.js'
import type { SignInLimiter } from './sign-in-limit.js'

/**
 * Who signs in: `heroku login -i` sends Basic email:password; `heroku
 * authorizations:create` sends the Bearer key it already has. A password attempt is rate
 * limited first, and costs one scrypt whether the email exists or not.
 */
export async function accountFromCredentials(
  store: Store,
  limiter: SignInLimiter,
  request: FastifyRequest,
  reply: FastifyReply,
): Promise<Account> {
  const [scheme, value] = (request.headers.authorization ?? '').split(/\s+/, 2)
  if (scheme?.toLowerCase() === 'bearer' && value) {
    const account = store.accounts.findByToken(hashToken(value), new Date().toISOString())
    if (account) return account
    throw errors.unauthorized()
  }
  if (scheme?.toLowerCase() !== 'basic' || !value) throw errors.unauthorized()
  const decoded = Buffer.from(value, 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  if (colon <= 0) throw errors.unauthorized('Invalid email or password.')
  const email = decoded.slice(0, colon)
  const password = decoded.slice(colon + 1)
  const wait = limiter.admit(request.ip, email)
  if (wait > 0) {
    void reply.header('retry-after', String(wait))
    throw errors.rateLimit(
      `Too many sign-in attempts. Please wait ${wait} seconds before trying again.`,
    )
  }
  const account = store.accounts.find(email)
  const stored = account ? store.accounts.passwordHash(account.id) : null
  if (!(await verifyPassword(password, stored)) || !account) {
    throw errors.unauthorized('Invalid email or password.')
  }
  return account
}
