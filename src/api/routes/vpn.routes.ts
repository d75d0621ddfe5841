/**
 * Site-to-site VPN connections (schema `vpn-connection`; `heroku spaces:vpn:*`). Team
 * members read (pre-shared keys included: `spaces:vpn:config` is how a member configures the
 * gateway; people outside the team get a 404 for the space); team admins create, change and
 * destroy. The rules are src/platform/vpn.ts's.
 */
import type { FastifyInstance } from 'fastify'
import type { Space } from '../../core/types.js'
import type { VpnConnection } from '../../core/vpn.js'
import {
  createVpnConnection,
  destroyVpnConnection,
  updateVpnConnection,
  vpnNotFound,
} from '../../platform/vpn.js'
import { findSpace } from '../access.js'
import { sendList } from '../plugins/pagination.js'

/** Heroku's shape; `tunnels` is always the two, in order (the CLI numbers them). */
export const vpnConnectionJson = (c: VpnConnection, space: Space) => ({
  id: c.id,
  name: c.name,
  public_ip: c.publicIp,
  routable_cidrs: c.routableCidrs,
  space_cidr_block: space.cidr,
  ike_version: c.ikeVersion,
  status: c.status,
  status_message: c.statusMessage,
  tunnels: c.tunnels.map((t) => ({
    ip: t.ip,
    customer_ip: t.customerIp,
    pre_shared_key: t.preSharedKey,
    status: t.status,
    status_message: t.statusMessage,
    last_status_change: t.lastStatusChange,
  })),
  created_at: c.createdAt,
  updated_at: c.updatedAt,
})

interface CreateBody {
  name: unknown
  public_ip: unknown
  routable_cidrs: unknown
  ike_version?: unknown
}

type ConnectionParams = { Params: { space: string; connection: string } }

export function vpnRoutes(app: FastifyInstance): void {
  const { store } = app.ctx
  const base = '/spaces/:space/vpn-connections'
  const host = () => ({ pools: app.ctx.vpnPools, maxPerSpace: app.ctx.vpnMaxPerSpace })

  const findConnection = (space: Space, idOrName: string) => {
    const c = store.vpn.find(space.id, idOrName)
    if (!c) throw vpnNotFound()
    return c
  }

  app.get<{ Params: { space: string } }>(base, async (request, reply) => {
    const space = findSpace(store, request.account, request.params.space)
    const list = store.vpn.forSpace(space.id).map((c) => vpnConnectionJson(c, space))
    return sendList(request, reply, list)
  })

  app.post<{ Params: { space: string }; Body: CreateBody }>(
    base,
    {
      schema: {
        body: { type: 'object', required: ['name', 'public_ip', 'routable_cidrs'] },
      },
    },
    async (request, reply) => {
      const space = findSpace(store, request.account, request.params.space, { admin: true })
      const body = request.body
      const created = createVpnConnection(
        app.ctx,
        space,
        {
          name: body.name,
          publicIp: body.public_ip,
          routableCidrs: body.routable_cidrs,
          ...(body.ike_version !== undefined && { ikeVersion: body.ike_version }),
        },
        host(),
      )
      return reply.code(201).send(vpnConnectionJson(created, space))
    },
  )

  app.get<ConnectionParams>(`${base}/:connection`, async (request) => {
    const space = findSpace(store, request.account, request.params.space)
    return vpnConnectionJson(findConnection(space, request.params.connection), space)
  })

  app.patch<ConnectionParams & { Body: { routable_cidrs: unknown } }>(
    `${base}/:connection`,
    { schema: { body: { type: 'object', required: ['routable_cidrs'] } } },
    async (request) => {
      const space = findSpace(store, request.account, request.params.space, { admin: true })
      const connection = findConnection(space, request.params.connection)
      const updated = updateVpnConnection(app.ctx, space, connection, request.body.routable_cidrs)
      return vpnConnectionJson(updated, space)
    },
  )

  app.delete<ConnectionParams>(`${base}/:connection`, async (request) => {
    const space = findSpace(store, request.account, request.params.space, { admin: true })
    const connection = findConnection(space, request.params.connection)
    return vpnConnectionJson(destroyVpnConnection(app.ctx, space, connection), space)
  })
}
