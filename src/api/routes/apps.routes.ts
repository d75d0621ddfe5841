/** Apps, personal and team, inside or outside a space (docs/heroku-reference.md §8.1, §8.8). */
import { randomInt } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { APP_FEATURES, findFeature } from '../../core/features.js'
import { newId, nowIso } from '../../core/ids.js'
import { APP_NAME } from '../../core/names.js'
import { checkStack, STACK_NAME } from '../../core/stacks.js'
import { DEFAULT_APP_REGION, findRegion } from '../../core/regions.js'
import type { Account, App, Space, Team } from '../../core/types.js'
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

const ADJECTIVES = ['quiet', 'bright', 'frozen', 'gentle', 'hidden', 'lively', 'polar', 'shiny']
const NOUNS = ['river', 'meadow', 'harbor', 'forest', 'canyon', 'lagoon', 'summit', 'valley']

function generateName(store: Store): string {
  for (;;) {
    const pick = (l: readonly string[]) => l[randomInt(l.length)]!
    const name = `${pick(ADJECTIVES)}-${pick(NOUNS)}-${randomInt(10000, 100000)}`
    if (!store.apps.nameTaken(name)) return name
  }
}

function checkAppName(store: Store, name: string, exceptId?: string): void {
  if (!APP_NAME.test(name)) {
    throw errors.invalidParams(
      'Name must start with a letter, end with a letter or digit and can only contain lowercase letters, digits, and dashes (3 to 30 characters).',
    )
  }
  const existing = store.apps.find(name)
  if (existing && existing.id !== exceptId) throw errors.invalidParams('Name is already taken.')
}

/** Validates a create request and stores the app with its first release, in one transaction. */
function createApp(store: Store, account: Account, body: CreateAppBody): App {
  if (body.internal_routing && !body.space) {
    throw errors.invalidParams('Internal routing is only available for Private Spaces apps.')
  }
  let space: Space | undefined
  let team: Team | undefined
  if (body.space) {
    space = findSpace(store, account, body.space)
    if (space.state === 'deleting')
      throw errors.invalidParams(`Space ${space.name} is being deleted.`)
    team = store.teams.find(space.teamId)
    if (body.team && body.team !== team?.name && body.team !== team?.id) {
      throw errors.invalidParams(`Space ${space.name} does not belong to team ${body.team}.`)
    }
  } else if (body.team && !body.personal) {
    team = findTeam(store, account, body.team)
  }
  let region = space?.region ?? DEFAULT_APP_REGION
  if (body.region !== undefined) {
    const wanted = findRegion(body.region)
    if (!wanted) throw errors.invalidParams(`Region ${body.region} does not exist.`)
    if (space && wanted.name !== space.region) {
      throw errors.invalidParams(
        `Apps in space ${space.name} run in its region, ${space.region}, not ${wanted.name}.`,
      )
    }
    if (!space && wanted.privateCapable) {
      throw errors.invalidParams(`Region ${wanted.name} is only available to Private Spaces apps.`)
    }
    region = wanted.name
  }
  const stack = body.stack ?? STACK_NAME
  checkStack(stack, 'Stack')
  return store.transaction(() => {
    const name = body.name ?? generateName(store)
    checkAppName(store, name)
    const now = nowIso()
    const app: App = {
      id: newId(),
      name,
      ownerId: account.id,
      ownerEmail: account.email,
      teamId: team?.id ?? null,
      teamName: team?.name ?? null,
      spaceId: space?.id ?? null,
      spaceName: space?.name ?? null,
      spaceShield: space?.shield ?? false,
      region,
      internalRouting: !!body.internal_routing,
      maintenance: false,
      stack,
      buildStack: stack,
      createdAt: now,
      updatedAt: now,
      releasedAt: now,
    }
    store.apps.insert(app)
    store.releases.insert({
      id: newId(),
      appId: app.id,
      version: 1,
      description: 'Initial release',
      config: {},
      slugId: null,
      userId: account.id,
      status: 'succeeded',
      createdAt: now,
      updatedAt: now,
    })
    return app
  })
}

const updateBody = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    maintenance: { type: 'boolean' },
    build_stack: { type: 'string' },
    owner: { type: 'string', maxLength: 254 },
  },
} as const

export function appRoutes(app: FastifyInstance): void {
  const { store, events } = app.ctx
  const json = (a: App) => appJson(a, app.ctx)

  for (const url of ['/apps', '/teams/apps']) {
    app.post<{ Body: CreateAppBody | undefined }>(
      url,
      { schema: { body: createBody } },
      async (request, reply) => {
        const created = createApp(store, request.account, request.body ?? {})
        events.emit('app.changed', created.id)
        return reply.code(201).send(json(store.apps.find(created.id)!))
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

  // localspace has no add-ons, but `apps:info` fails unless the app's add-on list exists.
  app.get<{ Params: { app: string } }>('/apps/:app/addons', async (request, reply) => {
    findApp(store, request.account, request.params.app)
    return sendList(request, reply, [])
  })

  for (const prefix of ['/apps', '/teams/apps']) {
    app.get<{ Params: { app: string } }>(`${prefix}/:app`, async (request) =>
      json(findApp(store, request.account, request.params.app)),
    )

    app.patch<{
      Params: { app: string }
      Body:
        { name?: string; maintenance?: boolean; build_stack?: string; owner?: string } | undefined
    }>(`${prefix}/:app`, { schema: { body: updateBody } }, async (request) => {
      const body = request.body ?? {}
      // `heroku apps:transfer`: to a team or, out of one, to an account.
      if (body.owner !== undefined) {
        const moved = changeOwner(store, request.account, request.params.app, body.owner)
        events.emit('app.changed', moved.id)
        return json(moved)
      }
      const target = findApp(store, request.account, request.params.app)
      if (body.build_stack !== undefined) checkStack(body.build_stack, 'Stack')
      store.transaction(() => {
        if (body.name !== undefined) checkAppName(store, body.name, target.id)
        store.apps.update(
          target.id,
          {
            ...(body.name !== undefined && { name: body.name }),
            ...(body.maintenance !== undefined && { maintenance: body.maintenance }),
            ...(body.build_stack !== undefined && { buildStack: body.build_stack }),
          },
          nowIso(),
        )
      })
      events.emit('app.changed', target.id)
      return json(store.apps.find(target.id)!)
    })
  }

  app.delete<{ Params: { app: string } }>('/apps/:app', async (request) => {
    const target = findApp(store, request.account, request.params.app, { admin: true })
    store.apps.delete(target.id)
    events.emit('app.changed', target.id)
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
      store.apps.setFeature(target.id, def.name, request.body.enabled, nowIso())
      events.emit('app.changed', target.id)
      const state = store.apps.features(target.id).find((s) => s.name === def.name)
      return featureJson(def, state, target)
    },
  )
}
