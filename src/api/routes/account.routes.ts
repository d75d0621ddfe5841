/** The caller's account, its API keys (OAuth authorizations), and admin-made accounts. */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { generatePassword } from '../../core/passwords.js'
import { createAccount, issueApiKey, revokeApiKey } from '../../platform/accounts.js'
import { accountFromCredentials } from '../plugins/credentials.js'
import type { SignInLimiter } from '../plugins/sign-in-limit.js'
import { sendList } from '../plugins/pagination.js'
import { accountJson, authorizationJson } from '../serializers.js'

const authorizationBody = {
  type: 'object',
  properties: {
    description: { type: 'string', maxLength: 500 },
    expires_in: { type: ['integer', 'null'], minimum: 1 },
    scope: { type: 'array', items: { type: 'string' } },
  },
} as const

/** `limiter` is shared with the dashboard's sign-in: one budget of password attempts. */
export function accountRoutes(app: FastifyInstance, limiter: SignInLimiter): void {
  const { store } = app.ctx

  app.get('/account', async (request) => {
    const team = store.teams.forAccount(request.account.id)[0]
    return accountJson(request.account, team)
  })

  // `heroku labs`: localspace has no account features (only app features, `labs -a APP`),
  // so the list is empty and naming one says so.
  app.get('/account/features', async (request, reply) => sendList(request, reply, []))
  for (const method of ['GET', 'PATCH'] as const) {
    app.route<{ Params: { feature: string } }>({
      method,
      url: '/account/features/:feature',
      handler: async (request) => {
        throw errors.notFound(
          'feature',
          `Couldn't find that feature: localspace has no account features (${JSON.stringify(request.params.feature)}); its app features are listed by heroku labs -a APP.`,
        )
      },
    })
  }

  // `heroku login -i`: Basic email:password in, a new API key out (docs/heroku-reference.md §1.1).
  app.post<{ Body: { description?: string; expires_in?: number | null } | undefined }>(
    '/oauth/authorizations',
    { config: { public: true }, schema: { body: authorizationBody } },
    async (request, reply) => {
      const account = await accountFromCredentials(store, limiter, request, reply)
      const body = request.body ?? {}
      const { authorization, token } = issueApiKey(
        store,
        account,
        body.description ?? '',
        body.expires_in ?? null,
      )
      return reply.code(201).send(authorizationJson(authorization, account, token))
    },
  )

  app.get('/oauth/authorizations', async (request, reply) =>
    sendList(
      request,
      reply,
      store.accounts
        .listAuthorizations(request.account.id)
        .map((z) => authorizationJson(z, request.account)),
      ['id'],
    ),
  )

  app.get<{ Params: { id: string } }>('/oauth/authorizations/:id', async (request) => {
    const z = store.accounts.findAuthorization(request.account.id, request.params.id)
    if (!z) throw errors.notFound('authorization')
    return authorizationJson(z, request.account)
  })

  app.delete<{ Params: { id: string } }>('/oauth/authorizations/:id', async (request) => {
    const z = store.accounts.findAuthorization(request.account.id, request.params.id)
    if (!z) throw errors.notFound('authorization')
    revokeApiKey(store, z.id)
    return authorizationJson(z, request.account)
  })

  // localspace's own: the installation admin makes accounts (`localspace accounts:create`).
  app.post<{ Body: { email: string; name?: string; password?: string; admin?: boolean } }>(
    '/localspace/accounts',
    {
      schema: {
        body: {
          type: 'object',
          required: ['email'],
          properties: {
            email: { type: 'string', maxLength: 254 },
            name: { type: 'string', maxLength: 100 },
            password: { type: 'string', minLength: 8, maxLength: 200 },
            admin: { type: 'boolean' },
          },
        },
      },
    },
    async (request, reply) => {
      if (!request.account.isAdmin) {
        throw errors.forbidden('Only the installation admin can create accounts.')
      }
      const { email, name, admin } = request.body
      const password = request.body.password ?? generatePassword()
      const account = store.transaction(() => {
        const created = createAccount(store, {
          email,
          name: name ?? null,
          password,
          isAdmin: !!admin,
        })
        return { created, key: issueApiKey(store, created, 'Created by accounts:create', null) }
      })
      return reply.code(201).send({
        ...accountJson(account.created),
        password: request.body.password === undefined ? password : undefined,
        api_key: account.key.token,
      })
    },
  )
}
