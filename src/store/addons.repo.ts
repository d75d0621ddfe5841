import type { Addon, AddonAttachment, AddonState, ConnectionFacts } from '../core/addons.js'
import type { Db } from './db.js'

interface AddonRow {
  id: string
  name: string
  app_id: string
  app_name: string
  space_id: string
  service: string
  plan: string
  state: AddonState
  state_message: string | null
  host: string
  port: number
  username: string
  password: string
  database: string
  tls: number
  leader_id: string | null
  created_at: string
  updated_at: string
}
const toAddon = (r: AddonRow): Addon => ({
  id: r.id,
  name: r.name,
  appId: r.app_id,
  appName: r.app_name,
  spaceId: r.space_id,
  serviceName: r.service,
  planName: r.plan,
  state: r.state,
  stateMessage: r.state_message,
  host: r.host,
  port: r.port,
  user: r.username,
  password: r.password,
  database: r.database,
  tls: r.tls === 1,
  leaderId: r.leader_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

interface AttachmentRow {
  id: string
  addon_id: string
  app_id: string
  app_name: string
  name: string
  namespace: string | null
  created_at: string
  updated_at: string
}
const toAttachment = (r: AttachmentRow): AddonAttachment => ({
  id: r.id,
  addonId: r.addon_id,
  appId: r.app_id,
  appName: r.app_name,
  name: r.name,
  namespace: r.namespace,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

const ADDON_SELECT = 'SELECT d.*, a.name app_name FROM addons d JOIN apps a ON a.id = d.app_id'
const ATTACHMENT_SELECT =
  'SELECT t.*, a.name app_name FROM addon_attachments t JOIN apps a ON a.id = t.app_id'

/** Add-ons and their attachments. The API sees every state but `deprovisioning` (`live`). */
export class AddonsRepo {
  constructor(private readonly db: Db) {}

  insert(a: Addon): void {
    this.db
      .prepare(
        `INSERT INTO addons (id, name, app_id, space_id, service, plan, state, state_message, host,
           port, username, password, database, tls, leader_id, created_at, updated_at)
         VALUES (@id, @name, @appId, @spaceId, @serviceName, @planName, @state, @stateMessage,
           @host, @port, @user, @password, @database, @tls, @leaderId, @createdAt, @updatedAt)`,
      )
      .run({ ...a, tls: a.tls ? 1 : 0 })
  }

  /** Any state, by id (the agent's calls). */
  byId(id: string): Addon | undefined {
    const r = this.db.prepare<[string], AddonRow>(`${ADDON_SELECT} WHERE d.id = ?`).get(id)
    return r && toAddon(r)
  }

  /** By id or name, not being deprovisioned: what the API may show. */
  live(idOrName: string): Addon | undefined {
    const r = this.db
      .prepare<[string, string], AddonRow>(
        `${ADDON_SELECT} WHERE (d.id = ? OR d.name = ?) AND d.state != 'deprovisioning'`,
      )
      .get(idOrName, idOrName)
    return r && toAddon(r)
  }

  nameTaken(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM addons WHERE name = ?').get(name) !== undefined
  }

  /** Every add-on, in every state, oldest first. */
  all(): Addon[] {
    return this.db
      .prepare<[], AddonRow>(`${ADDON_SELECT} ORDER BY d.created_at, d.rowid`)
      .all()
      .map(toAddon)
  }

  forApp(appId: string): Addon[] {
    return this.db
      .prepare<[string], AddonRow>(
        `${ADDON_SELECT} WHERE d.app_id = ? AND d.state != 'deprovisioning'
         ORDER BY d.created_at, d.rowid`,
      )
      .all(appId)
      .map(toAddon)
  }

  followersOf(leaderId: string): Addon[] {
    return this.db
      .prepare<[string], AddonRow>(
        `${ADDON_SELECT} WHERE d.leader_id = ? AND d.state != 'deprovisioning'
         ORDER BY d.created_at, d.rowid`,
      )
      .all(leaderId)
      .map(toAddon)
  }

  /** Data addresses taken in a space (also by add-ons still being removed). */
  hostsIn(spaceId: string): Set<string> {
    const rows = this.db
      .prepare<[string], { host: string }>('SELECT host FROM addons WHERE space_id = ?')
      .all(spaceId)
    return new Set(rows.map((r) => r.host))
  }

  setState(id: string, state: AddonState, message: string | null, now: string): void {
    this.db
      .prepare('UPDATE addons SET state = ?, state_message = ?, updated_at = ? WHERE id = ?')
      .run(state, message, now, id)
  }

  setConnection(id: string, f: ConnectionFacts, now: string): void {
    this.db
      .prepare(
        `UPDATE addons SET host = ?, port = ?, username = ?, password = ?, database = ?, tls = ?,
           updated_at = ? WHERE id = ?`,
      )
      .run(f.host, f.port, f.user, f.password, f.database, f.tls ? 1 : 0, now, id)
  }

  update(
    id: string,
    fields: { name: string; planName: string; leaderId: string | null },
    now: string,
  ): void {
    this.db
      .prepare('UPDATE addons SET name = ?, plan = ?, leader_id = ?, updated_at = ? WHERE id = ?')
      .run(fields.name, fields.planName, fields.leaderId, now, id)
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM addons WHERE id = ?').run(id)
  }

  insertAttachment(t: AddonAttachment): void {
    this.db
      .prepare(
        `INSERT INTO addon_attachments (id, addon_id, app_id, name, namespace, created_at, updated_at)
         VALUES (@id, @addonId, @appId, @name, @namespace, @createdAt, @updatedAt)`,
      )
      .run(t)
  }

  attachment(id: string): AddonAttachment | undefined {
    const r = this.db
      .prepare<[string], AttachmentRow>(`${ATTACHMENT_SELECT} WHERE t.id = ?`)
      .get(id)
    return r && toAttachment(r)
  }

  attachmentsOfApp(appId: string): AddonAttachment[] {
    return this.db
      .prepare<[string], AttachmentRow>(
        `${ATTACHMENT_SELECT} WHERE t.app_id = ? ORDER BY t.created_at, t.rowid`,
      )
      .all(appId)
      .map(toAttachment)
  }

  attachmentsOfAddon(addonId: string): AddonAttachment[] {
    return this.db
      .prepare<[string], AttachmentRow>(
        `${ATTACHMENT_SELECT} WHERE t.addon_id = ? ORDER BY t.created_at, t.rowid`,
      )
      .all(addonId)
      .map(toAttachment)
  }

  deleteAttachment(id: string): void {
    this.db.prepare('DELETE FROM addon_attachments WHERE id = ?').run(id)
  }
}
