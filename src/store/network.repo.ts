import { firstFreeAddress, spaceAddresses } from '../core/address-plan.js'
import { errors } from '../core/errors.js'
import { newId, nowIso, shortId } from '../core/ids.js'
import type { Attachment, AttachmentKind, AttachmentState, Space } from '../core/types.js'
import type { Db } from './db.js'

interface AttachmentRow {
  id: string
  space_id: string
  kind: Attachment['kind']
  address: string
  owner: string
  state: AttachmentState
  created_at: string
  updated_at: string
}
const toAttachment = (r: AttachmentRow): Attachment => ({
  id: r.id,
  spaceId: r.space_id,
  kind: r.kind,
  address: r.address,
  owner: r.owner,
  state: r.state,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

/** Outbound addresses of spaces and the network attachments (addresses) handed out in them. */
export class NetworkRepo {
  constructor(private readonly db: Db) {}

  egressOf(spaceId: string): string[] {
    return this.db
      .prepare<[string], string>(
        'SELECT address FROM space_egress WHERE space_id = ? ORDER BY rowid',
      )
      .pluck()
      .all(spaceId)
  }

  allEgress(): string[] {
    return this.db.prepare<[], string>('SELECT address FROM space_egress').pluck().all()
  }

  insertEgress(spaceId: string, addresses: readonly string[], now: string): void {
    const insert = this.db.prepare(
      'INSERT INTO space_egress (address, space_id, created_at) VALUES (?, ?, ?)',
    )
    for (const a of addresses) insert.run(a, spaceId, now)
  }

  /**
   * Hands out the lowest free address of the space's dyno or data range and records the
   * attachment, `pending` unless told otherwise (the network agent's attach records it `ready`
   * in the same transaction); call inside a transaction with the space just read. The id is
   * `preferredId` (the host prepared a namespace named for it) when its short id is free.
   */
  allocateAttachment(
    space: Space,
    kind: AttachmentKind,
    owner: string,
    {
      preferredId,
      state = 'pending',
    }: { preferredId?: string | undefined; state?: AttachmentState } = {},
  ): Attachment {
    const plan = spaceAddresses(space.cidr, space.dataCidr)
    const address = firstFreeAddress(plan, kind, this.addressesInUse(space.id))
    if (!address)
      throw errors.invalidParams(`Space ${space.name} has no free ${kind} address left.`)
    // Host objects are named by the short id, so it must be unique among attachments. Ids are
    // lower-case UUIDs (newId), whose short id is their first 8 characters: a prefix match
    // that the primary key's index answers (with 1,000 dynos a scan took ~0.2 ms per attach).
    const used = (id: string) =>
      this.db
        .prepare<[string], number>('SELECT 1 FROM network_attachments WHERE id GLOB ?')
        .pluck()
        .get(`${shortId(id)}*`) !== undefined
    let id = preferredId ?? newId()
    while (used(id)) id = newId()
    const now = nowIso()
    const attachment: Attachment = {
      id,
      spaceId: space.id,
      kind,
      address,
      owner,
      state,
      createdAt: now,
      updatedAt: now,
    }
    this.insertAttachment(attachment)
    return attachment
  }

  insertAttachment(a: Attachment): void {
    this.db
      .prepare(
        `INSERT INTO network_attachments (id, space_id, kind, address, owner, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.id, a.spaceId, a.kind, a.address, a.owner, a.state, a.createdAt, a.updatedAt)
  }

  attachments(spaceId?: string): Attachment[] {
    const rows =
      spaceId === undefined
        ? this.db.prepare<[], AttachmentRow>('SELECT * FROM network_attachments').all()
        : this.db
            .prepare<[string], AttachmentRow>(
              'SELECT * FROM network_attachments WHERE space_id = ?',
            )
            .all(spaceId)
    return rows.map(toAttachment)
  }

  attachment(id: string): Attachment | undefined {
    const r = this.db
      .prepare<[string], AttachmentRow>('SELECT * FROM network_attachments WHERE id = ?')
      .get(id)
    return r && toAttachment(r)
  }

  /** Addresses in use in a space, including ones still being detached (never reused early). */
  addressesInUse(spaceId: string): Set<string> {
    return new Set(
      this.db
        .prepare<[string], string>('SELECT address FROM network_attachments WHERE space_id = ?')
        .pluck()
        .all(spaceId),
    )
  }

  setAttachmentState(id: string, state: AttachmentState, now: string): void {
    this.db
      .prepare('UPDATE network_attachments SET state = ?, updated_at = ? WHERE id = ?')
      .run(state, now, id)
  }

  deleteAttachment(id: string): void {
    this.db.prepare('DELETE FROM network_attachments WHERE id = ?').run(id)
  }
}
