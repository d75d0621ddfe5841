/** Spaces: create, list, info, rename, destroy (docs/heroku-reference.md §2). */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { pickEgressAddresses, poolFor } from '../../core/egress.js'
import { newId, nowIso, shortId } from '../../core/ids.js'
import { SPACE_NAME, SPACE_NAME_MAX } from '../../core/names.js'
import { findRegion } from '../../core/regions.js'
import { planSpaceCidrs } from '../../core/space-cidrs.js'
import type { Space } from '../../core/types.js'
import type { Store } from '../../store/store.js'
import { findSpace, findTeam } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { spaceJson } from '../serializers.js'
import { logDrainFor } from './space-resources.routes.js'

export const DEFAULT_SPACE_REGION = 'virginia'

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

export function checkSpaceName(store: Store, name: string, exceptId?: string): void {
  if (!SPACE_NAME.test(name) || name.length > SPACE_NAME_MAX) {
    throw errors.invalidParams(
      `Name must be 3 to ${SPACE_NAME_MAX} lowercase letters, digits and single dashes, starting and ending with a letter or digit.`,
    )
  }
  const existing = store.spaces.find(name)
  if (existing && existing.id !== exceptId) throw errors.invalidParams('Name is already taken.')
}

/** A space id whose short form (it names the space's bridges) no other space has. */
function newSpaceId(store: Store): string {
  const used = new Set(store.spaces.all().map((s) => shortId(s.id)))
  for (;;) {
    const id = newId()
    if (!used.has(shortId(id))) return id
  }
}

/** Networks a new space must not overlap: every space's pair plus the host's own. */
export const takenCidrs = (store: Store, hostCidrs: readonly string[]): string[] => [
  ...store.spaces.all().flatMap((s) => [s.cidr, s.dataCidr]),
  ...hostCidrs,
]

export function spaceRoutes(app: FastifyInstance): void {
  const { store, events, runtime } = app.ctx
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
      const regionName = body.region ?? DEFAULT_SPACE_REGION
      const region = findRegion(regionName)
      if (!region?.privateCapable) {
        throw errors.invalidParams(`Region ${regionName} is not available for Private Spaces.`)
      }
      const generation =
        (typeof body.generation === 'string' ? body.generation : body.generation?.name) ?? 'cedar'
      if (generation !== 'cedar' && generation !== 'fir') {
        throw errors.invalidParams('generation must be cedar or fir.')
      }
      if (body.shield && generation === 'fir') {
        throw errors.invalidParams('shield spaces are not supported for fir generation')
      }
      const drainUrl = body.log_drain_url
      const now = nowIso()
      // Name and CIDR checks read what the insert depends on: one transaction, so two
      // concurrent creates cannot both take the same name or network.
      const space = store.transaction(() => {
        checkSpaceName(store, body.name)
        const pair = planSpaceCidrs(
          { cidr: body.cidr, dataCidr: body.data_cidr },
          takenCidrs(store, runtime.reservedCidrs()),
        )
        const created: Space = {
          id: newSpaceId(store),
          name: body.name,
          teamId: team.id,
          teamName: team.name,
          region: region.name,
          state: 'allocating',
          shield: !!body.shield,
          cidr: pair.cidr,
          dataCidr: pair.dataCidr,
          generation,
          createdAt: now,
          updatedAt: now,
        }
        store.spaces.insert(created)
        // Outbound addresses are handed out now, so an exhausted pool refuses the space
        // before anything is stored.
        const pool = poolFor(app.ctx.egressPools, region.name)
        if (pool) {
          const taken = new Set(store.network.allEgress())
          store.network.insertEgress(
            created.id,
            pickEgressAddresses(pool, taken, app.ctx.egressPerSpace),
            now,
          )
        }
        // A new space admits the whole internet until its admins say otherwise (Heroku's default).
        store.spaces.insertRuleset({
          id: newId(),
          spaceId: created.id,
          version: 1,
          rules: [{ action: 'allow', source: '0.0.0.0/0' }],
          createdBy: request.account.email,
          applied: false,
          createdAt: now,
        })
        if (drainUrl !== undefined)
          store.spaces.upsertLogDrain(logDrainFor(created.id, drainUrl, now, app.ctx.addressPolicy))
        return created
      })
      events.emit('space.changed', space.id)
      events.emit('ruleset.changed', space.id)
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
      if (name !== undefined && name !== space.name) {
        store.transaction(() => {
          checkSpaceName(store, name, space.id)
          store.spaces.rename(space.id, name, nowIso())
        })
      }
      return spaceJson(store.spaces.find(space.id)!)
    },
  )

  app.delete<{ Params: { space: string } }>('/spaces/:space', async (request) => {
    const space = findSpace(store, request.account, request.params.space, { admin: true })
    const deleting = store.transaction(() => {
      if (store.spaces.appCount(space.id) > 0) {
        throw errors.invalidParams('Space must not contain any apps. Destroy its apps first.')
      }
      store.spaces.setState(space.id, 'deleting', nowIso())
      return store.spaces.find(space.id)!
    })
    events.emit('space.changed', space.id)
    return spaceJson(deleting)
  })
}
