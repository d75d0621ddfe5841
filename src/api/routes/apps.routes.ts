/** Apps, personal and team, inside or outside a space (docs/heroku-reference.md §8.1, §8.8). */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { APP_FEATURES, findFeature } from '../../core/features.js'
import type { Account, App } from '../../core/types.js'
import { createApp, destroyApp, setAppFeature, updateApp } from '../../platform/apps.js'
import type { Store } from '../../store/store.js'
import { findApp, findSpace, findTeam } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { appJson, featureJson } from '../serializers.js'
import { changeOwner } from './app-transfers.routes.js'

interface CreateAppBody {
  name?: string
  region?: string
  stack?: string
  team?: string
  space?: string
  internal_routing?: boolean
  personal?: boolean
  locked?: boolean
}

const createBody = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    region: { type: 'string' },
    stack: { type: 'string' },
    team: { type: 'string' },
    space: { type: 'string' },
    internal_routing: { type: 'boolean' },
    personal: { type: 'boolean' },
    locked: { type: 'boolean' },
    feature_flags: { type: ['string', 'array'] },
  },
} as const

/** Resolves the space and team a create request names, as far as the caller may use them. */
function placement(store: Store, account: Account, body: CreateAppBody) {
  if (body.space) {
    const space = findSpace(store, account, body.space)
    const team = store.teams.find(space.teamId)
    if (body.team && body.team !== team?.name && body.team !== team?.id) {
      throw errors.invalidParams(`Space ${space.name} does not belong to team ${body.team}.`)
    }
    return { space, team }
  }
  if (body.team && !body.personal) return { team: findTeam(store, account, body.team) }
  return {}
}

const updateBody = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    maintenance: { type: 'boolean' },
    build_stack: { type: 'string' },
    owner: { type: 'string', maxLength: 254 },
    locked: { type: 'boolean' },
  },
} as const

export function appRoutes(app: FastifyInstance): void {
  const { store } = app.ctx
  const json = (a: App) => appJson(a, app.ctx)

  for (const url of ['/apps', '/teams/apps']) {
    app.post<{ Body: CreateAppBody | undefined }>(
      url,
      { schema: { body: createBody } },
      async (request, reply) => {
        const body = request.body ?? {}
        const created = createApp(app.ctx, request.account, {
          ...placement(store, request.account, body),
          ...(body.name !== undefined && { name: body.name }),
          ...(body.region !== undefined && { region: body.region }),
          ...(body.stack !== undefined && { stack: body.stack }),
          ...(body.internal_routing !== undefined && { internalRouting: body.internal_routing }),
        })
        return reply.code(201).send(json(created))
      },
    )
  }

  app.get('/apps', async (request, reply) => {
    const apps = request.account.isAdmin
      ? store.apps.all()
      : store.apps.visibleTo(request.account.id)
    return sendList(request, reply, apps.map(json))
  })

  app.get<{ Params: { team: string } }>('/teams/:team/apps', async (request, reply) => {
    const team = findTeam(store, request.account, request.params.team)
    return sendList(request, reply, store.apps.forTeam(team.id).map(json))
  })

  // `heroku apps` (no --team/--space/--all) lists `/users/~/apps`: an account's own apps,
  // "excludes team apps" as the schema says. Only the account itself or the admin may ask.
  app.get<{ Params: { user: string } }>('/users/:user/apps', async (request, reply) => {
    const { user } = request.params
    const account = user === '~' ? request.account : store.accounts.find(user)
    if (!account || (account.id !== request.account.id && !request.account.isAdmin)) {
      throw errors.notFound('account')
    }
    const owned = store.apps
      .visibleTo(account.id)
      .filter((a) => a.ownerId === account.id && a.teamId === null)
    return sendList(request, reply, owned.map(json))
  })

  for (const prefix of ['/apps', '/teams/apps']) {
    app.get<{ Params: { app: string } }>(`${prefix}/:app`, async (request) =>
      json(findApp(store, request.account, request.params.app)),
    )

    app.patch<{
      Params: { app: string }
      Body:
        | {
            name?: string
            maintenance?: boolean
            build_stack?: string
            owner?: string
            locked?: boolean
          }
        | undefined
    }>(`${prefix}/:app`, { schema: { body: updateBody } }, async (request) => {
      const body = request.body ?? {}
      // `heroku apps:transfer`: to a team or, out of one, to an account.
      if (body.owner !== undefined) {
        return json(changeOwner(app.ctx, request.account, request.params.app, body.owner))
      }
      const target = findApp(store, request.account, request.params.app)
      // `heroku apps:lock`: Heroku's lock limits a team app to members given access one by
      // one; here access follows team roles only, so a lock would be a promise not kept.
      if (body.locked === true) {
        throw errors.invalidParams(
          `localspace does not lock apps: access to ${target.name} follows team roles; choose who may use it with heroku members:add EMAIL --team TEAM --role member|admin.`,
        )
      }
      return json(
        updateApp(app.ctx, target, {
          ...(body.name !== undefined && { name: body.name }),
          ...(body.maintenance !== undefined && { maintenance: body.maintenance }),
          ...(body.build_stack !== undefined && { buildStack: body.build_stack }),
        }),
      )
    })
  }

  app.delete<{ Params: { app: string } }>('/apps/:app', async (request) => {
    const target = findApp(store, request.account, request.params.app, { admin: true })
    destroyApp(app.ctx, target)
    return json(target)
  })

  app.get<{ Params: { app: string } }>('/apps/:app/features', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    const states = store.apps.features(target.id)
    const list = APP_FEATURES.map((f) =>
      featureJson(
        f,
        states.find((s) => s.name === f.name),
        target,
      ),
    )
    return sendList(request, reply, list)
  })

  app.get<{ Params: { app: string; feature: string } }>(
    '/apps/:app/features/:feature',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const def = findFeature(request.params.feature)
      if (!def) throw errors.notFound('feature')
      const state = store.apps.features(target.id).find((s) => s.name === def.name)
      return featureJson(def, state, target)
    },
  )

  app.patch<{ Params: { app: string; feature: string }; Body: { enabled: boolean } }>(
    '/apps/:app/features/:feature',
    {
      schema: {
        body: {
          type: 'object',
          required: ['enabled'],
          properties: { enabled: { type: 'boolean' } },
        },
      },
    },
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const def = findFeature(request.params.feature)
      if (!def) throw errors.notFound('feature')
      setAppFeature(app.ctx, target, def.name, request.body.enabled)
      const state = store.apps.features(target.id).find((s) => s.name === def.name)
      return featureJson(def, state, target)
    },
  )
}
