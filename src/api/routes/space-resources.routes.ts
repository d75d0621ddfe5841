/**
 * What hangs off a space: trusted IP ranges (inbound ruleset), NAT, topology, dynos,
 * hosts and the space log drain (docs/heroku-reference.md §3, §4, §5.3, §8.4, §8.6, §8.7).
 */
import { randomUUID } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { AddressPolicy } from '../../core/address-policy.js'
import { parseCidr } from '../../core/cidr.js'
import { errors } from '../../core/errors.js'
import { drainHostError } from '../../core/drains.js'
import { newId, nowIso } from '../../core/ids.js'
import type { LogDrain, TrustedRule } from '../../core/types.js'
import { findSpace } from '../access.js'
import { sendList } from '../plugins/pagination.js'
import { dynoJson, hostJson, logDrainJson, rulesetJson } from '../serializers.js'

export const MAX_TRUSTED_RANGES = 20

export const logDrainFor = (
  spaceId: string,
  url: string,
  now: string,
  policy: AddressPolicy,
): LogDrain => {
  checkDrainUrl(url, policy)
  return { id: newId(), spaceId, url, token: `d.${randomUUID()}`, createdAt: now, updatedAt: now }
}

function checkDrainUrl(url: string, policy: AddressPolicy): void {
  let parsed: URL | undefined
  try {
    parsed = new URL(url)
  } catch {
    parsed = undefined
  }
  if (parsed?.protocol !== 'https:') {
    throw errors.invalidParams('Log drain url must be a valid HTTPS URL.')
  }
  const refused = drainHostError(parsed.hostname, policy)
  if (refused) throw errors.invalidParams(refused)
}

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
  const { store, events, runtime } = app.ctx

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
      const rules = request.body.rules.map((r) => ({ action: r.action, source: r.source }))
      if (rules.length > MAX_TRUSTED_RANGES) {
        throw errors.invalidParams(`Maximum of ${MAX_TRUSTED_RANGES} trusted IP ranges.`)
      }
      for (const r of rules) {
        if (!parseCidr(r.source)) {
          throw errors.invalidParams(
            `${JSON.stringify(r.source)} must be a valid IPv4 CIDR, such as 203.0.113.0/24.`,
          )
        }
      }
      const ruleset = store.transaction(() => {
        const version = (store.spaces.currentRuleset(space.id)?.version ?? 0) + 1
        const created = {
          id: newId(),
          spaceId: space.id,
          version,
          rules,
          createdBy: request.account.email,
          applied: false,
          createdAt: nowIso(),
        }
        store.spaces.insertRuleset(created)
        return created
      })
      events.emit('ruleset.changed', space.id)
      return rulesetJson(store.spaces.ruleset(space.id, ruleset.id) ?? ruleset, space)
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
      const drain = logDrainFor(space.id, request.body.url, nowIso(), app.ctx.addressPolicy)
      store.spaces.upsertLogDrain(drain)
      events.emit('drains.changed', space.id)
      return logDrainJson(store.spaces.logDrain(space.id)!)
    },
  )
}
