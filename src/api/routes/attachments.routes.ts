/**
 * localspace's own: network attachments, the addresses handed out in a space's networks.
 * The runtime makes them for dynos and data services; the installation admin may make one by
 * hand to look into a space's network (`ip netns exec <netns> …`). The API stores the desired
 * attachment; the daemon's network agent creates the namespace and marks it `ready`.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { nowIso, shortId } from '../../core/ids.js'
import type { Account, Attachment, AttachmentKind } from '../../core/types.js'
import type { Store } from '../../store/store.js'
import { findSpace } from '../access.js'

export const attachmentJson = (a: Attachment) => ({
  id: a.id,
  space: { id: a.spaceId },
  kind: a.kind,
  address: a.address,
  owner: a.owner,
  state: a.state,
  netns: `ls-${shortId(a.id)}`,
  created_at: a.createdAt,
  updated_at: a.updatedAt,
})

export function createAttachment(
  store: Store,
  spaceId: string,
  kind: AttachmentKind,
  owner: string,
): Attachment {
  return store.transaction(() => {
    const space = store.spaces.find(spaceId)
    if (!space || space.state === 'deleting') throw errors.notFound('space')
    return store.network.allocateAttachment(space, kind, owner)
  })
}

function requireAdmin(account: Account): void {
  if (!account.isAdmin)
    throw errors.forbidden('Only the installation admin can manage attachments.')
}

export function attachmentRoutes(app: FastifyInstance): void {
  const { store, events } = app.ctx

  app.post<{ Params: { space: string }; Body: { kind: AttachmentKind; owner?: string } }>(
    '/localspace/spaces/:space/attachments',
    {
      schema: {
        body: {
          type: 'object',
          required: ['kind'],
          properties: {
            kind: { type: 'string', enum: ['dyno', 'data'] },
            owner: { type: 'string', maxLength: 200 },
          },
        },
      },
    },
    async (request, reply) => {
      requireAdmin(request.account)
      const space = findSpace(store, request.account, request.params.space)
      const owner = request.body.owner ?? `manual:${request.account.email}`
      const attachment = createAttachment(store, space.id, request.body.kind, owner)
      events.emit('network.changed', space.id)
      return reply.code(201).send(attachmentJson(attachment))
    },
  )

  app.get<{ Params: { space: string } }>(
    '/localspace/spaces/:space/attachments',
    async (request) => {
      requireAdmin(request.account)
      const space = findSpace(store, request.account, request.params.space)
      return store.network.attachments(space.id).map(attachmentJson)
    },
  )

  const find = (id: string) => {
    const a = store.network.attachment(id)
    if (!a) throw errors.notFound('attachment')
    return a
  }

  app.get<{ Params: { id: string } }>('/localspace/attachments/:id', async (request) => {
    requireAdmin(request.account)
    return attachmentJson(find(request.params.id))
  })

  // Detaching is the agent's work; the address stays taken until the namespace is gone.
  app.delete<{ Params: { id: string } }>('/localspace/attachments/:id', async (request, reply) => {
    requireAdmin(request.account)
    const a = find(request.params.id)
    store.network.setAttachmentState(a.id, 'detaching', nowIso())
    events.emit('network.changed', a.spaceId)
    return reply.code(202).send(attachmentJson(store.network.attachment(a.id)!))
  })
}
