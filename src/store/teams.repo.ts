import type { Team, TeamMember, TeamRole } from '../core/types.js'
import type { Db } from './db.js'

interface TeamRow {
  id: string
  name: string
  created_at: string
  updated_at: string
}
const toTeam = (r: TeamRow): Team => ({
  id: r.id,
  name: r.name,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

interface MemberRow {
  team_id: string
  role: TeamRole
  created_at: string
  updated_at: string
  a_id: string
  a_email: string
  a_name: string | null
  a_is_admin: number
  a_created_at: string
  a_updated_at: string
}
const toMember = (r: MemberRow): TeamMember => ({
  teamId: r.team_id,
  role: r.role,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  account: {
    id: r.a_id,
    email: r.a_email,
    name: r.a_name,
    isAdmin: r.a_is_admin === 1,
    createdAt: r.a_created_at,
    updatedAt: r.a_updated_at,
  },
})

const MEMBER_SELECT = `SELECT m.team_id, m.role, m.created_at, m.updated_at, a.id a_id, a.email a_email,
  a.name a_name, a.is_admin a_is_admin, a.created_at a_created_at, a.updated_at a_updated_at
  FROM team_members m JOIN accounts a ON a.id = m.account_id`

export class TeamsRepo {
  private readonly roleStmt
  constructor(private readonly db: Db) {
    this.roleStmt = db
      .prepare<[string, string], TeamRole>(
        'SELECT role FROM team_members WHERE team_id = ? AND account_id = ?',
      )
      .pluck()
  }

  insert(t: Team): void {
    this.db
      .prepare('INSERT INTO teams (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)')
      .run(t.id, t.name, t.createdAt, t.updatedAt)
  }

  find(idOrName: string): Team | undefined {
    const r = this.db
      .prepare<[string, string], TeamRow>('SELECT * FROM teams WHERE id = ? OR name = ?')
      .get(idOrName, idOrName)
    return r && toTeam(r)
  }

  all(): Team[] {
    return this.db.prepare<[], TeamRow>('SELECT * FROM teams').all().map(toTeam)
  }

  /** Teams the account belongs to, with its role in each. */
  forAccount(accountId: string): Array<Team & { role: TeamRole }> {
    return this.db
      .prepare<[string], TeamRow & { role: TeamRole }>(
        `SELECT t.*, m.role FROM teams t JOIN team_members m ON m.team_id = t.id
         WHERE m.account_id = ?`,
      )
      .all(accountId)
      .map((r) => ({ ...toTeam(r), role: r.role }))
  }

  roleOf(teamId: string, accountId: string): TeamRole | undefined {
    return this.roleStmt.get(teamId, accountId)
  }

  members(teamId: string): TeamMember[] {
    return this.db
      .prepare<[string], MemberRow>(`${MEMBER_SELECT} WHERE m.team_id = ?`)
      .all(teamId)
      .map(toMember)
  }

  member(teamId: string, accountId: string): TeamMember | undefined {
    const r = this.db
      .prepare<[string, string], MemberRow>(
        `${MEMBER_SELECT} WHERE m.team_id = ? AND m.account_id = ?`,
      )
      .get(teamId, accountId)
    return r && toMember(r)
  }

  upsertMember(teamId: string, accountId: string, role: TeamRole, now: string): void {
    this.db
      .prepare(
        `INSERT INTO team_members (team_id, account_id, role, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (team_id, account_id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at`,
      )
      .run(teamId, accountId, role, now, now)
  }

  removeMember(teamId: string, accountId: string): void {
    this.db
      .prepare('DELETE FROM team_members WHERE team_id = ? AND account_id = ?')
      .run(teamId, accountId)
  }

  adminCount(teamId: string): number {
    return this.db
      .prepare("SELECT count(*) FROM team_members WHERE team_id = ? AND role = 'admin'")
      .pluck()
      .get(teamId) as number
  }
}
