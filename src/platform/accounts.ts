/**
 * Accounts and their API keys. The admin endpoint (`localspace accounts:create`), `heroku
 * login` and the daemon's first start all make them here. Accounts emit no events: nothing on
 * the host follows them.
 */
import { errors } from '../core/errors.js'
import { hashToken, newId, newToken, nowIso } from '../core/ids.js'
import { EMAIL } from '../core/names.js'
import { hashPassword } from '../core/passwords.js'
import type { Account } from '../core/types.js'
import type { Store } from '../store/store.js'

/** Creates an account; the email must be valid and not in use. */
export function createAccount(
  store: Store,
  fields: { email: string; name?: string | null; password: string; isAdmin: boolean },
): Account {
  if (!EMAIL.test(fields.email)) throw errors.invalidParams('email must be a valid email address.')
  if (store.accounts.find(fields.email)) {
    throw errors.invalidParams(`An account with email ${fields.email} already exists.`)
  }
  const now = nowIso()
  const account: Account = {
    id: newId(),
    email: fields.email,
    name: fields.name ?? null,
    isAdmin: fields.isAdmin,
    createdAt: now,
    updatedAt: now,
  }
  store.accounts.insert({ ...account, passwordHash: hashPassword(fields.password) })
  return account
}

/** Issues a new API key for an account; only its hash is kept, the token is shown once. */
export function issueApiKey(
  store: Store,
  account: Account,
  description: string,
  expiresIn: number | null,
) {
  const now = nowIso()
  const token = newToken()
  const authorization = {
    id: newId(),
    accountId: account.id,
    description,
    expiresAt: expiresIn ? new Date(Date.now() + expiresIn * 1000).toISOString() : null,
    createdAt: now,
    updatedAt: now,
  }
  store.accounts.insertAuthorization({ ...authorization, tokenHash: hashToken(token) })
  return { authorization, token }
}

/** `heroku authorizations:revoke`: the key stops working at once. */
export function revokeApiKey(store: Store, authorizationId: string): void {
  store.accounts.deleteAuthorization(authorizationId)
}
