/**
 * What hangs off a space: trusted IP ranges (inbound ruleset), NAT, topology, dynos,
 * hosts and the space log drain (docs/heroku-reference.md §3, §4, §5.3, §8.4, §8.6, §8.7).
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import type { TrustedRule } from '../../core/types.js'
import { setSpaceDrain } from '../../platform/drains.js'
import { setInboundRuleset } from '../../platform/spaces.js'
import { findSpace } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { dynoJson, hostJson, logDrainJson, rulesetJson } from '../serializers.js'

// Unknown fields are allowed: `spaces:trusted-ips:add` PUTs back the whole GET body.
const rulesetBody = {
  type: 'object',
  required: ['rules'],
  properties: {
    rules: {
      type: 'array',
      items: {
        type: 'object',
        required: ['action', 'source'],
        properties: {
          action: { type: 'string', enum: ['allow', 'deny'] },
          source: { type: 'string' },
        },
      },
    },
  },
} as const

export function spaceResourceRoutes(app: FastifyInstance): void {
  const { store, runtime } = app.ctx

  app.get<{ Params: { space: string } }>('/spaces/:space/inbound-ruleset', async (request) => {
    const space = findSpace(store, request.account, request.params.space)
    const ruleset = store.spaces.currentRuleset(space.id)
    if (!ruleset) throw errors.notFound('inbound-ruleset')
    return rulesetJson(ruleset, space)
  })

  app.put<{ Params: { space: string }; Body: { rules: TrustedRule[] } }>(
    '/spaces/:space/inbound-ruleset',
    { schema: { body: rulesetBody } },
    async (request) => {
      const space = findSpace(store, request.account, request.params.space, { admin: true })
      const ruleset = setInboundRuleset(app.ctx, space, request.account, request.body.rules)
      return rulesetJson(ruleset, space)
    },
  )

  app.get<{ Params: { space: string } }>(
    '/spaces/:space/inbound-rulesets',
    async (request, reply) => {
      const space = findSpace(store, request.account, request.params.space)
      const all = store.spaces.rulesets(space.id).map((r) => rulesetJson(r, space))
      // Oldest first by default: the history reads in the order it was written.
      return sendList(request, reply, all, ['created_at', 'id'])
    },
  )

  app.get<{ Params: { space: string; id: string } }>(
    '/spaces/:space/inbound-rulesets/:id',
    async (request) => {
      const space = findSpace(store, request.account, request.params.space)
      const ruleset = store.spaces.ruleset(space.id, request.params.id)
      if (!ruleset) throw errors.notFound('inbound-ruleset')
      return rulesetJson(ruleset, space)
    },
  )

  app.get<{ Params: { space: string } }>('/spaces/:space/nat', async (request) => {
    const space = findSpace(store, request.account, request.params.space)
    // A space's own outbound addresses when a pool gave it some; else the host's address.
    const egress = store.network.egressOf(space.id)
    const sources = egress.length > 0 ? egress : runtime.natSources(space.id)
    return {
      state: space.state === 'allocated' ? 'enabled' : 'updating',
      sources: space.state === 'allocated' ? sources : [],
      created_at: space.createdAt,
      updated_at: space.updatedAt,
    }
  })

  app.get<{ Params: { space: string } }>('/spaces/:space/topology', async (request) => {
    const space = findSpace(store, request.account, request.params.space)
    const apps = store.apps.forSpace(space.id).map((a) => {
      const dynos = runtime.dynos(a.id).filter((d) => d.type !== 'run')
      const formation = store.releases.formation(a.id).map((f) => ({
        id: f.id,
        process_type: f.type,
        dynos: dynos
          .filter((d) => d.type === f.type && d.privateIp)
          .map((d) => {
            const number = Number(d.name.split('.')[1])
            const hostname = `${number}.${f.type}.${a.name}.app.localspace`
            return {
              id: d.id,
              number,
              private_ip: d.privateIp!,
              hostname,
              host_entry: `${d.privateIp} ${hostname} ${f.type}.${a.name}.app.localspace`,
            }
          }),
      }))
      // The schema says `formation`, the CLI reads `formations`: send both.
      return {
        id: a.id,
        domains: [
          `${a.name}.${app.ctx.domain}`,
          ...store.domains.forApp(a.id).map((d) => d.hostname),
        ],
        formation,
        formations: formation,
      }
    })
    return { version: 1, apps }
  })

  app.get<{ Params: { space: string } }>('/spaces/:space/dynos', async (request) => {
    const space = findSpace(store, request.account, request.params.space)
    return store.apps.forSpace(space.id).map((a) => ({
      app_id: a.id,
      app_name: a.name,
      dynos: runtime.dynos(a.id).map((d) => dynoJson(d, a)),
    }))
  })

  app.get<{ Params: { space: string } }>('/spaces/:space/hosts', async (request) => {
    findSpace(store, request.account, request.params.space)
    return runtime.hosts().map(hostJson)
  })

  app.get<{ Params: { space: string } }>('/spaces/:space/log-drain', async (request) => {
    const space = findSpace(store, request.account, request.params.space)
    const drain = store.spaces.logDrain(space.id)
    if (!drain) throw errors.notFound('log drain', 'No log drain is set for this space.')
    return logDrainJson(drain)
  })

  app.put<{ Params: { space: string }; Body: { url: string } }>(
    '/spaces/:space/log-drain',
    {
      schema: {
        body: { type: 'object', required: ['url'], properties: { url: { type: 'string' } } },
      },
    },
    async (request) => {
      const space = findSpace(store, request.account, request.params.space, { admin: true })
      return logDrainJson(setSpaceDrain(app.ctx, space, request.body.url, app.ctx.addressPolicy))
    },
  )
}
