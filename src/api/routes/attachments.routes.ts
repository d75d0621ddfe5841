/**
 * localspace's own: network attachments, the addresses handed out in a space's networks.
 * The runtime makes them for dynos and data services; the installation admin may make one by
 * hand to look into a space's network (`ip netns exec <netns> …`). src/platform/attachments.ts
 * stores the desired attachment; the daemon's network agent creates the namespace and marks it
 * `ready`.
 */
import type { FastifyInstance } from 'fastify'
import { errors } from '../../core/errors.js'
import { shortId } from '../../core/ids.js'
import type { Account, Attachment, AttachmentKind } from '../../core/types.js'
import { createAttachment, detachAttachment } from '../../platform/attachments.js'
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

function requireAdmin(account: Account): void {
  if (!account.isAdmin)
    throw errors.forbidden('Only the installation admin can manage attachments.')
}

export function attachmentRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

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
      const attachment = createAttachment(app.ctx, space, request.body.kind, owner)
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

  // Detaching is the agent's work (202): the address stays taken until the namespace is gone.
  app.delete<{ Params: { id: string } }>('/localspace/attachments/:id', async (request, reply) => {
    requireAdmin(request.account)
    const a = find(request.params.id)
    return reply.code(202).send(attachmentJson(detachAttachment(app.ctx, a)))
  })
}
