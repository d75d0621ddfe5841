import type { App, FeatureState } from '../core/types.js'
import type { Db } from './db.js'

interface AppRow {
  id: string
  name: string
  owner_id: string
  owner_email: string
  team_id: string | null
  team_name: string | null
  space_id: string | null
  space_name: string | null
  space_shield: number | null
  region: string
  internal_routing: number
  maintenance: number
  stack: string
  build_stack: string
  created_at: string
  updated_at: string
  released_at: string | null
}
const toApp = (r: AppRow): App => ({
  id: r.id,
  name: r.name,
  ownerId: r.owner_id,
  ownerEmail: r.owner_email,
  teamId: r.team_id,
  teamName: r.team_name,
  spaceId: r.space_id,
  spaceName: r.space_name,
  spaceShield: r.space_shield === 1,
  region: r.region,
  internalRouting: r.internal_routing === 1,
  maintenance: r.maintenance === 1,
  stack: r.stack,
  buildStack: r.build_stack,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  releasedAt: r.released_at,
})

const APP_SELECT = `SELECT p.*, o.email owner_email, t.name team_name, s.name space_name, s.shield space_shield
  FROM apps p JOIN accounts o ON o.id = p.owner_id
  LEFT JOIN teams t ON t.id = p.team_id LEFT JOIN spaces s ON s.id = p.space_id`

/** Apps' dyno uids start here: clear of the host's users and of common subuid ranges. */
export const FIRST_APP_UID = 2_000_000

export class AppsRepo {
  private readonly byIdStmt
  private readonly byNameStmt
  constructor(private readonly db: Db) {
    // GET /apps/{app} is the hottest read; both lookups hit a unique index.
    this.byIdStmt = db.prepare<[string], AppRow>(`${APP_SELECT} WHERE p.id = ?`)
    this.byNameStmt = db.prepare<[string], AppRow>(`${APP_SELECT} WHERE p.name = ?`)
  }

  insert(a: App): void {
    this.db
      .prepare(
        `INSERT INTO apps (id, name, owner_id, team_id, space_id, region, internal_routing, maintenance,
           stack, build_stack, created_at, updated_at, released_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        a.id,
        a.name,
        a.ownerId,
        a.teamId,
        a.spaceId,
        a.region,
        a.internalRouting ? 1 : 0,
        a.maintenance ? 1 : 0,
        a.stack,
        a.buildStack,
        a.createdAt,
        a.updatedAt,
        a.releasedAt,
      )
  }

  find(idOrName: string): App | undefined {
    const r = this.byNameStmt.get(idOrName) ?? this.byIdStmt.get(idOrName)
    return r && toApp(r)
  }

  nameTaken(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM apps WHERE name = ?').get(name) !== undefined
  }

  /**
   * Apps the account can see: its personal apps, the personal apps it collaborates on, and the
   * apps of the teams it is in now (not team apps it created in a team it has left).
   */
  visibleTo(accountId: string): App[] {
    return this.db
      .prepare<[string, string, string], AppRow>(
        `${APP_SELECT} WHERE (p.owner_id = ? AND p.team_id IS NULL) OR p.team_id IN
           (SELECT team_id FROM team_members WHERE account_id = ?)
           OR p.id IN (SELECT app_id FROM app_collaborators WHERE account_id = ?)`,
      )
      .all(accountId, accountId, accountId)
      .map(toApp)
  }

  all(): App[] {
    return this.db.prepare<[], AppRow>(APP_SELECT).all().map(toApp)
  }

  forTeam(teamId: string): App[] {
    return this.db
      .prepare<[string], AppRow>(`${APP_SELECT} WHERE p.team_id = ?`)
      .all(teamId)
      .map(toApp)
  }

  forSpace(spaceId: string): App[] {
    return this.db
      .prepare<[string], AppRow>(`${APP_SELECT} WHERE p.space_id = ?`)
      .all(spaceId)
      .map(toApp)
  }

  update(
    id: string,
    fields: { name?: string; maintenance?: boolean; buildStack?: string },
    now: string,
  ): void {
    const current = this.byIdStmt.get(id)
    if (!current) return
    this.db
      .prepare(
        'UPDATE apps SET name = ?, maintenance = ?, build_stack = ?, updated_at = ? WHERE id = ?',
      )
      .run(
        fields.name ?? current.name,
        fields.maintenance === undefined ? current.maintenance : fields.maintenance ? 1 : 0,
        fields.buildStack ?? current.build_stack,
        now,
        id,
      )
  }

  /** A transfer: a new owning account, and the team it now belongs to (null: personal). */
  setOwner(id: string, ownerId: string, teamId: string | null, now: string): void {
    this.db
      .prepare('UPDATE apps SET owner_id = ?, team_id = ?, updated_at = ? WHERE id = ?')
      .run(ownerId, teamId, now, id)
  }

  /** The buildpacks the app chose (`heroku buildpacks:set`), in order; [] = detect. */
  buildpacks(appId: string): string[] {
    return this.db
      .prepare<[string], string>('SELECT url FROM app_buildpacks WHERE app_id = ? ORDER BY ordinal')
      .pluck()
      .all(appId)
  }

  setBuildpacks(appId: string, urls: readonly string[]): void {
    this.db.prepare('DELETE FROM app_buildpacks WHERE app_id = ?').run(appId)
    const insert = this.db.prepare(
      'INSERT INTO app_buildpacks (app_id, ordinal, url) VALUES (?, ?, ?)',
    )
    urls.forEach((url, i) => insert.run(appId, i, url))
  }

  setReleasedAt(id: string, at: string): void {
    this.db.prepare('UPDATE apps SET released_at = ?, updated_at = ? WHERE id = ?').run(at, at, id)
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM apps WHERE id = ?').run(id)
  }

  /**
   * The unprivileged uid the app's dynos run as: handed out on first use, the lowest free one
   * from FIRST_APP_UID (far above the host's own users), and kept while the app exists.
   */
  uidOf(appId: string): number {
    const existing = this.db
      .prepare<[string], number>('SELECT uid FROM app_uids WHERE app_id = ?')
      .pluck()
      .get(appId)
    if (existing !== undefined) return existing
    const uid = this.db
      .prepare<[number, number], number>(
        `SELECT coalesce(min(u.uid + 1), ?) FROM (SELECT uid FROM app_uids UNION SELECT ? - 1) u
         WHERE u.uid + 1 NOT IN (SELECT uid FROM app_uids)`,
      )
      .pluck()
      .get(FIRST_APP_UID, FIRST_APP_UID)!
    this.db.prepare('INSERT INTO app_uids (app_id, uid) VALUES (?, ?)').run(appId, uid)
    return uid
  }

  /** Explicitly set feature states; features never touched take their catalogue default. */
  features(appId: string): FeatureState[] {
    return this.db
      .prepare<[string], { name: string; enabled: number; updated_at: string }>(
        'SELECT name, enabled, updated_at FROM app_features WHERE app_id = ?',
      )
      .all(appId)
      .map((r) => ({ name: r.name, enabled: r.enabled === 1, updatedAt: r.updated_at }))
  }

  setFeature(appId: string, name: string, enabled: boolean, now: string): void {
    this.db
      .prepare(
        `INSERT INTO app_features (app_id, name, enabled, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (app_id, name) DO UPDATE SET enabled = excluded.enabled, updated_at = excluded.updated_at`,
      )
      .run(appId, name, enabled ? 1 : 0, now)
  }
}
