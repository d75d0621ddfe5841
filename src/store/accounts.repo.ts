import type { Account, Authorization } from '../core/types.js'
import type { Db } from './db.js'

interface AccountRow {
  id: string
  email: string
  name: string | null
  password_hash: string | null
  is_admin: number
  created_at: string
  updated_at: string
}

const toAccount = (r: AccountRow): Account => ({
  id: r.id,
  email: r.email,
  name: r.name,
  isAdmin: r.is_admin === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

interface AuthorizationRow {
  id: string
  account_id: string
  description: string
  expires_at: string | null
  created_at: string
  updated_at: string
}

const toAuthorization = (r: AuthorizationRow): Authorization => ({
  id: r.id,
  accountId: r.account_id,
  description: r.description,
  expiresAt: r.expires_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

export class AccountsRepo {
  private readonly byTokenStmt
  constructor(private readonly db: Db) {
    // The hot path of every request: one indexed lookup by token hash.
    this.byTokenStmt = db.prepare<[string, string], AccountRow>(
      `SELECT a.* FROM authorizations z JOIN accounts a ON a.id = z.account_id
       WHERE z.token_hash = ? AND (z.expires_at IS NULL OR z.expires_at > ?)`,
    )
  }

  count(): number {
    return this.db.prepare('SELECT count(*) FROM accounts').pluck().get() as number
  }

  insert(a: Account & { passwordHash: string | null }): void {
    this.db
      .prepare(
        `INSERT INTO accounts (id, email, name, password_hash, is_admin, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(a.id, a.email, a.name, a.passwordHash, a.isAdmin ? 1 : 0, a.createdAt, a.updatedAt)
  }

  find(idOrEmail: string): Account | undefined {
    const r = this.db
      .prepare<[string, string], AccountRow>('SELECT * FROM accounts WHERE id = ? OR email = ?')
      .get(idOrEmail, idOrEmail)
    return r && toAccount(r)
  }

  passwordHash(accountId: string): string | null {
    return (
      (this.db.prepare('SELECT password_hash FROM accounts WHERE id = ?').pluck().get(accountId) as
        string | null | undefined) ?? null
    )
  }

  findByToken(tokenHash: string, now: string): Account | undefined {
    const r = this.byTokenStmt.get(tokenHash, now)
    return r && toAccount(r)
  }

  insertAuthorization(z: Authorization & { tokenHash: string }): void {
    this.db
      .prepare(
        `INSERT INTO authorizations (id, account_id, token_hash, description, expires_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(z.id, z.accountId, z.tokenHash, z.description, z.expiresAt, z.createdAt, z.updatedAt)
  }

  listAuthorizations(accountId: string): Authorization[] {
    return this.db
      .prepare<[string], AuthorizationRow>('SELECT * FROM authorizations WHERE account_id = ?')
      .all(accountId)
      .map(toAuthorization)
  }

  findAuthorization(accountId: string, id: string): Authorization | undefined {
    const r = this.db
      .prepare<[string, string], AuthorizationRow>(
        'SELECT * FROM authorizations WHERE account_id = ? AND id = ?',
      )
      .get(accountId, id)
    return r && toAuthorization(r)
  }

  deleteAuthorization(id: string): void {
    this.db.prepare('DELETE FROM authorizations WHERE id = ?').run(id)
  }
}
