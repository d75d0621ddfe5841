/**
 * Spaces: create, list, info, rename, destroy (docs/heroku-reference.md §2); the rules of a new
 * space and the events after it are src/platform/spaces.ts's.
 */
import type { FastifyInstance } from 'fastify'
import { createSpace, destroySpace, renameSpace } from '../../platform/spaces.js'
import { findSpace, findTeam } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { spaceJson } from '../serializers.js'

interface CreateSpaceBody {
  name: string
  team: string
  region?: string
  cidr?: string
  data_cidr?: string
  shield?: boolean
  generation?: string | { name?: string }
  log_drain_url?: string
}

const createBody = {
  type: 'object',
  required: ['name', 'team'],
  properties: {
    name: { type: 'string' },
    team: { type: 'string' },
    region: { type: 'string' },
    cidr: { type: 'string' },
    data_cidr: { type: 'string' },
    shield: { type: 'boolean' },
    generation: { type: ['string', 'object'] },
    features: { type: 'array', items: { type: 'string' } },
    log_drain_url: { type: 'string' },
  },
} as const

export function spaceRoutes(app: FastifyInstance): void {
  const { store, runtime } = app.ctx
  const expand = (accept: string | string[] | undefined) =>
    String(accept ?? '')
      .split(',')
      .some((s) => s.trim() === 'region')

  const visibleSpaces = (accountId: string, isAdmin: boolean) =>
    isAdmin
      ? store.spaces.all()
      : store.spaces.forTeams(store.teams.forAccount(accountId).map((t) => t.id))

  app.get('/spaces', async (request, reply) => {
    const withRegion = expand(request.headers['accept-expansion'])
    const spaces = visibleSpaces(request.account.id, request.account.isAdmin)
    return sendList(
      request,
      reply,
      spaces.map((s) => spaceJson(s, { expandRegion: withRegion })),
    )
  })

  app.get<{ Params: { team: string } }>('/teams/:team/spaces', async (request, reply) => {
    const team = findTeam(store, request.account, request.params.team)
    const withRegion = expand(request.headers['accept-expansion'])
    const spaces = store.spaces.forTeams([team.id])
    return sendList(
      request,
      reply,
      spaces.map((s) => spaceJson(s, { expandRegion: withRegion })),
    )
  })

  app.get<{ Params: { space: string } }>('/spaces/:space', async (request) => {
    const space = findSpace(store, request.account, request.params.space)
    return spaceJson(space, { expandRegion: expand(request.headers['accept-expansion']) })
  })

  app.post<{ Body: CreateSpaceBody }>(
    '/spaces',
    { schema: { body: createBody } },
    async (request, reply) => {
      const body = request.body
      const team = findTeam(store, request.account, body.team, { admin: true })
      const generation =
        typeof body.generation === 'string' ? body.generation : body.generation?.name
      const space = createSpace(
        app.ctx,
        request.account,
        {
          name: body.name,
          team,
          ...(body.region !== undefined && { region: body.region }),
          ...(body.cidr !== undefined && { cidr: body.cidr }),
          ...(body.data_cidr !== undefined && { dataCidr: body.data_cidr }),
          ...(body.shield !== undefined && { shield: body.shield }),
          ...(generation !== undefined && { generation }),
          ...(body.log_drain_url !== undefined && { logDrainUrl: body.log_drain_url }),
        },
        {
          reservedCidrs: runtime.reservedCidrs(),
          egressPools: app.ctx.egressPools,
          egressPerSpace: app.ctx.egressPerSpace,
          addressPolicy: app.ctx.addressPolicy,
        },
      )
      return reply.code(201).send(spaceJson(space))
    },
  )

  app.patch<{ Params: { space: string }; Body: { name?: string } }>(
    '/spaces/:space',
    {
      schema: { body: { type: 'object', properties: { name: { type: 'string' } } } },
    },
    async (request) => {
      const space = findSpace(store, request.account, request.params.space, { admin: true })
      const name = request.body?.name
      return spaceJson(name === undefined ? space : renameSpace(app.ctx, space, name))
    },
  )

  app.delete<{ Params: { space: string } }>('/spaces/:space', async (request) => {
    const space = findSpace(store, request.account, request.params.space, { admin: true })
    const deleting = destroySpace(app.ctx, space)
    return spaceJson(deleting)
  })
}
