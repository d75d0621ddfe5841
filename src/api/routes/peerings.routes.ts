/**
 * Peering (schemas `peering`, `peering-info`; `heroku spaces:peering:info`,
 * `spaces:peerings*`), and localspace's own side of it under /localspace: the networks the
 * operator attached to the host (`localspace peer-networks:*`, installation admin) and
 * peering requests (a peer network offered to a space; a space asking another by `vpc_id`).
 * Team members read; team admins accept and destroy. The rules are src/platform/peerings.ts's.
 */
import type { FastifyInstance } from 'fastify'
import { spaceAddresses } from '../../core/address-plan.js'
import { formatCidr } from '../../core/cidr.js'
import { errors } from '../../core/errors.js'
import {
  peerNetworkVpcId,
  peeringStatusFor,
  vpcIdFor,
  type PeerNetwork,
  type Peering,
} from '../../core/peering.js'
import { findRegion } from '../../core/regions.js'
import type { Account, Space } from '../../core/types.js'
import {
  acceptPeering,
  addPeerNetwork,
  destroyPeering,
  peeringNotFound,
  removePeerNetwork,
  requestNetworkPeering,
  requestSpacePeering,
  spaceByVpcId,
} from '../../platform/peerings.js'
import { peerCidrsFor, siteCidrsInUse } from '../../platform/site-cidrs.js'
import type { Store } from '../../store/store.js'
import { findSpace } from '../access.js'
import { sendList } from '../plugins/pagination.js'

const awsRegionOf = (space: Space) => findRegion(space.region)?.providerRegion ?? space.region

/**
 * A peering as `viewer` sees it: the peer's CIDRs, VPC id and region; space-to-space
 * peerings are `heroku-managed` (the installation runs both sides), peer networks
 * `customer-managed` (the operator runs the far side).
 */
export function peeringJson(store: Store, p: Peering, viewer: Space) {
  const otherId = p.accepterSpaceId === viewer.id ? p.requesterSpaceId : p.accepterSpaceId
  const other = otherId === undefined ? undefined : store.spaces.find(otherId)
  return {
    pcx_id: p.id,
    type: p.peerNetworkId === undefined ? 'heroku-managed' : 'customer-managed',
    cidr_blocks: peerCidrsFor(store, p, viewer.id),
    status: peeringStatusFor(p, viewer.id),
    aws_vpc_id:
      p.peerNetworkId === undefined ? vpcIdFor(otherId ?? '') : peerNetworkVpcId(p.peerNetworkId),
    aws_region: awsRegionOf(other ?? viewer),
    aws_account_id: store.peerings.installationId(),
    expires: p.expiresAt,
  }
}

/** What a peer needs to know of the space (`spaces:peering:info`). */
export function peeringInfoJson(store: Store, space: Space) {
  const own = [space.cidr, space.dataCidr]
  return {
    aws_account_id: store.peerings.installationId(),
    aws_region: awsRegionOf(space),
    vpc_id: vpcIdFor(space.id),
    vpc_cidr: space.cidr,
    dyno_cidr_blocks: spaceAddresses(space.cidr, space.dataCidr).dynoRanges.map(formatCidr),
    space_cidr_blocks: own,
    // What the space routes already (its VPNs' and peerings' networks): a peer must avoid them.
    unavailable_cidr_blocks: siteCidrsInUse(store, space).filter((c) => !own.includes(c)),
  }
}

export const peerNetworkJson = (n: PeerNetwork) => ({
  id: n.id,
  name: n.name,
  interface: n.interface,
  cidrs: n.cidrs,
  gateway: n.gateway ?? null,
  vpc_id: peerNetworkVpcId(n.id),
  created_at: n.createdAt,
})

function requireInstallationAdmin(account: Account): void {
  if (!account.isAdmin) {
    throw errors.forbidden('Only the installation admin can manage peer networks.')
  }
}

type PeeringParams = { Params: { space: string; pcx: string } }

export function peeringRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  /** A peering the space is a side of; another space's is a 404 like a missing one. */
  const findPeering = (space: Space, pcxId: string): Peering => {
    const p = store.peerings.get(pcxId)
    if (!p || (p.accepterSpaceId !== space.id && p.requesterSpaceId !== space.id)) {
      throw peeringNotFound()
    }
    return p
  }

  const findNetwork = (name: string): PeerNetwork => {
    const n = store.peerings.network(name)
    if (!n) throw errors.notFound('peer-network')
    return n
  }

  app.get<{ Params: { space: string } }>('/spaces/:space/peering-info', async (request) => {
    return peeringInfoJson(store, findSpace(store, request.account, request.params.space))
  })

  app.get<{ Params: { space: string } }>('/spaces/:space/peerings', async (request, reply) => {
    const space = findSpace(store, request.account, request.params.space)
    const list = store.peerings.forSpace(space.id).map((p) => peeringJson(store, p, space))
    return sendList(request, reply, list, ['pcx_id'])
  })

  app.get<PeeringParams>('/spaces/:space/peerings/:pcx', async (request) => {
    const space = findSpace(store, request.account, request.params.space)
    return peeringJson(store, findPeering(space, request.params.pcx), space)
  })

  const accept = (account: Account, spaceName: string, pcxId: string) => {
    const space = findSpace(store, account, spaceName, { admin: true })
    return peeringJson(store, acceptPeering(app.ctx, space, findPeering(space, pcxId)), space)
  }

  app.post<PeeringParams>('/spaces/:space/peerings/:pcx/actions/accept', async (request) =>
    accept(request.account, request.params.space, request.params.pcx),
  )

  // What `heroku spaces:peerings:accept` sends (Accept: …; version=3.dogwood).
  app.post<{ Params: { space: string }; Body: { pcx_id: string } }>(
    '/spaces/:space/peerings',
    {
      schema: {
        body: {
          type: 'object',
          required: ['pcx_id'],
          properties: { pcx_id: { type: 'string', minLength: 1 } },
        },
      },
    },
    async (request) => accept(request.account, request.params.space, request.body.pcx_id),
  )

  app.delete<PeeringParams>('/spaces/:space/peerings/:pcx', async (request) => {
    const space = findSpace(store, request.account, request.params.space, { admin: true })
    return peeringJson(
      store,
      destroyPeering(app.ctx, findPeering(space, request.params.pcx)),
      space,
    )
  })

  // A space asks another, named by the vpc_id of its peering-info (an admin of the asker).
  app.post<{ Params: { space: string }; Body: { vpc_id: string } }>(
    '/localspace/spaces/:space/peering-requests',
    {
      schema: {
        body: {
          type: 'object',
          required: ['vpc_id'],
          properties: { vpc_id: { type: 'string', minLength: 1, maxLength: 64 } },
        },
      },
    },
    async (request, reply) => {
      const space = findSpace(store, request.account, request.params.space, { admin: true })
      const peering = requestSpacePeering(app.ctx, space, spaceByVpcId(store, request.body.vpc_id))
      return reply.code(201).send(peeringJson(store, peering, space))
    },
  )

  app.get('/localspace/peer-networks', async (request) => {
    requireInstallationAdmin(request.account)
    return store.peerings.networks().map(peerNetworkJson)
  })

  app.post<{
    Body: { name: unknown; interface: unknown; cidrs: unknown; gateway?: unknown }
  }>(
    '/localspace/peer-networks',
    { schema: { body: { type: 'object', required: ['name', 'interface', 'cidrs'] } } },
    async (request, reply) => {
      requireInstallationAdmin(request.account)
      return reply.code(201).send(peerNetworkJson(addPeerNetwork(app.ctx, request.body)))
    },
  )

  app.get<{ Params: { network: string } }>(
    '/localspace/peer-networks/:network',
    async (request) => {
      requireInstallationAdmin(request.account)
      return peerNetworkJson(findNetwork(request.params.network))
    },
  )

  app.delete<{ Params: { network: string } }>(
    '/localspace/peer-networks/:network',
    async (request) => {
      requireInstallationAdmin(request.account)
      const network = findNetwork(request.params.network)
      removePeerNetwork(app.ctx, network)
      return peerNetworkJson(network)
    },
  )

  // The operator offers a peer network to a space; the space's admins accept it.
  app.post<{ Params: { network: string }; Body: { space: string } }>(
    '/localspace/peer-networks/:network/peerings',
    {
      schema: {
        body: {
          type: 'object',
          required: ['space'],
          properties: { space: { type: 'string', minLength: 1 } },
        },
      },
    },
    async (request, reply) => {
      requireInstallationAdmin(request.account)
      const network = findNetwork(request.params.network)
      const space = findSpace(store, request.account, request.body.space)
      const peering = requestNetworkPeering(app.ctx, network, space)
      return reply.code(201).send(peeringJson(store, peering, space))
    },
  )
}
