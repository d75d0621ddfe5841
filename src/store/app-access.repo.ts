import type { Account, AppTransfer, Collaborator } from '../core/types.js'
import type { Db } from './db.js'

/** An account's columns under a prefix (`c_` for a collaborator, `o_`/`r_` for a transfer). */
const accountColumns = (alias: string, prefix: string) =>
  ['id', 'email', 'name', 'is_admin', 'created_at', 'updated_at']
    .map((c) => `${alias}.${c} ${prefix}${c}`)
    .join(', ')

function accountFrom(r: Record<string, unknown>, prefix: string): Account {
  return {
    id: r[`${prefix}id`] as string,
    email: r[`${prefix}email`] as string,
    name: r[`${prefix}name`] as string | null,
    isAdmin: r[`${prefix}is_admin`] === 1,
    createdAt: r[`${prefix}created_at`] as string,
    updatedAt: r[`${prefix}updated_at`] as string,
  }
}

const COLLABORATOR_SELECT = `SELECT k.id, k.app_id, k.created_at, k.updated_at, ${accountColumns('a', 'c_')}
  FROM app_collaborators k JOIN accounts a ON a.id = k.account_id`

const toCollaborator = (r: Record<string, unknown>): Collaborator => ({
  id: r.id as string,
  appId: r.app_id as string,
  account: accountFrom(r, 'c_'),
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
})

const TRANSFER_SELECT = `SELECT x.id, x.app_id, p.name app_name, x.state, x.created_at, x.updated_at,
    ${accountColumns('o', 'o_')}, ${accountColumns('r', 'r_')}
  FROM app_transfers x JOIN apps p ON p.id = x.app_id
  JOIN accounts o ON o.id = x.owner_id JOIN accounts r ON r.id = x.recipient_id`

const toTransfer = (r: Record<string, unknown>): AppTransfer => ({
  id: r.id as string,
  appId: r.app_id as string,
  appName: r.app_name as string,
  owner: accountFrom(r, 'o_'),
  recipient: accountFrom(r, 'r_'),
  state: r.state as AppTransfer['state'],
  createdAt: r.created_at as string,
  updatedAt: r.updated_at as string,
})

/** Who besides its owner may use a personal app, and the transfers of apps between accounts. */
export class AppAccessRepo {
  constructor(private readonly db: Db) {}

  collaborators(appId: string): Collaborator[] {
    return this.db
      .prepare<[string], Record<string, unknown>>(`${COLLABORATOR_SELECT} WHERE k.app_id = ?`)
      .all(appId)
      .map(toCollaborator)
  }

  collaborator(appId: string, accountId: string): Collaborator | undefined {
    const r = this.db
      .prepare<[string, string], Record<string, unknown>>(
        `${COLLABORATOR_SELECT} WHERE k.app_id = ? AND k.account_id = ?`,
      )
      .get(appId, accountId)
    return r && toCollaborator(r)
  }

  insertCollaborator(c: { id: string; appId: string; accountId: string; now: string }): void {
    this.db
      .prepare(
        'INSERT INTO app_collaborators (id, app_id, account_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
      )
      .run(c.id, c.appId, c.accountId, c.now, c.now)
  }

  deleteCollaborator(appId: string, accountId: string): void {
    this.db
      .prepare('DELETE FROM app_collaborators WHERE app_id = ? AND account_id = ?')
      .run(appId, accountId)
  }

  /** A change of owner: the app's collaborators and any pending transfer go (Heroku's rule). */
  clearForNewOwner(appId: string): void {
    this.db.prepare('DELETE FROM app_collaborators WHERE app_id = ?').run(appId)
    this.db.prepare('DELETE FROM app_transfers WHERE app_id = ?').run(appId)
  }

  /** Transfers the account sent or received. */
  transfersOf(accountId: string): AppTransfer[] {
    return this.db
      .prepare<[string, string], Record<string, unknown>>(
        `${TRANSFER_SELECT} WHERE x.owner_id = ? OR x.recipient_id = ? ORDER BY x.created_at`,
      )
      .all(accountId, accountId)
      .map(toTransfer)
  }

  transfer(idOrAppName: string): AppTransfer | undefined {
    const r = this.db
      .prepare<[string, string], Record<string, unknown>>(
        `${TRANSFER_SELECT} WHERE x.id = ? OR p.name = ?`,
      )
      .get(idOrAppName, idOrAppName)
    return r && toTransfer(r)
  }

  insertTransfer(t: {
    id: string
    appId: string
    ownerId: string
    recipientId: string
    now: string
  }): void {
    this.db
      .prepare(
        `INSERT INTO app_transfers (id, app_id, owner_id, recipient_id, state, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'pending', ?, ?)`,
      )
      .run(t.id, t.appId, t.ownerId, t.recipientId, t.now, t.now)
  }

  deleteTransfer(id: string): void {
    this.db.prepare('DELETE FROM app_transfers WHERE id = ?').run(id)
  }
}
