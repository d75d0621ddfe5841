/**
 * Network attachments asked for through the API (localspace's own; the installation admin's
 * look into a space's network). The address is taken in the commit; `network.changed` then tells
 * the network agent to make (or tear down) the namespace. The runtime's own attachments are
 * the agent's.
 */
import { errors } from '../core/errors.js'
import { nowIso } from '../core/ids.js'
import type { Attachment, AttachmentKind, Space } from '../core/types.js'
import type { PlatformContext } from './context.js'

export function createAttachment(
  { store, events }: PlatformContext,
  space: Space,
  kind: AttachmentKind,
  owner: string,
): Attachment {
  const attachment = store.transaction(() => {
    const current = store.spaces.find(space.id)
    if (!current || current.state === 'deleting') throw errors.notFound('space')
    return store.network.allocateAttachment(current, kind, owner)
  })
  events.emit('network.changed', space.id)
  return attachment
}

/** Detaching is the agent's work; the address stays taken until the namespace is gone. */
export function detachAttachment({ store, events }: PlatformContext, a: Attachment): Attachment {
  store.network.setAttachmentState(a.id, 'detaching', nowIso())
  events.emit('network.changed', a.spaceId)
  return store.network.attachment(a.id)!
}
