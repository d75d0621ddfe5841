import type { ConfigVars, Formation, Release } from '../core/types.js'
import type { Db } from './db.js'

interface ReleaseRow {
  id: string
  app_id: string
  version: number
  description: string
  config: string
  slug_id: string | null
  user_id: string
  user_email: string
  status: Release['status']
  created_at: string
  updated_at: string
}
const toRelease = (r: ReleaseRow): Release => ({
  id: r.id,
  appId: r.app_id,
  version: r.version,
  description: r.description,
  config: JSON.parse(r.config) as ConfigVars,
  slugId: r.slug_id,
  userId: r.user_id,
  userEmail: r.user_email,
  status: r.status,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

const RELEASE_SELECT = `SELECT r.*, coalesce(a.email, '') user_email FROM releases r
  LEFT JOIN accounts a ON a.id = r.user_id`

interface FormationRow {
  id: string
  app_id: string
  type: string
  command: string
  quantity: number
  size: string
  created_at: string
  updated_at: string
}
const toFormation = (r: FormationRow): Formation => ({
  id: r.id,
  appId: r.app_id,
  type: r.type,
  command: r.command,
  quantity: r.quantity,
  size: r.size,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

/** Releases and formation: what an app runs and how many of each process. */
export class ReleasesRepo {
  private readonly currentStmt
  constructor(private readonly db: Db) {
    this.currentStmt = db.prepare<[string], ReleaseRow>(
      `${RELEASE_SELECT} WHERE r.app_id = ? ORDER BY r.version DESC LIMIT 1`,
    )
  }

  insert(r: Omit<Release, 'userEmail'>): void {
    this.db
      .prepare(
        `INSERT INTO releases (id, app_id, version, description, config, slug_id, user_id, status, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        r.id,
        r.appId,
        r.version,
        r.description,
        JSON.stringify(r.config),
        r.slugId,
        r.userId,
        r.status,
        r.createdAt,
        r.updatedAt,
      )
  }

  /** The newest release; its config is the app's current config vars. */
  current(appId: string): Release | undefined {
    const r = this.currentStmt.get(appId)
    return r && toRelease(r)
  }

  list(appId: string): Release[] {
    return this.db
      .prepare<[string], ReleaseRow>(`${RELEASE_SELECT} WHERE r.app_id = ?`)
      .all(appId)
      .map(toRelease)
  }

  find(appId: string, idOrVersion: string): Release | undefined {
    const r = this.db
      .prepare<[string, string, string], ReleaseRow>(
        `${RELEASE_SELECT} WHERE r.app_id = ? AND (r.id = ? OR CAST(r.version AS TEXT) = ?)`,
      )
      .get(appId, idOrVersion, idOrVersion)
    return r && toRelease(r)
  }

  formation(appId: string): Formation[] {
    return this.db
      .prepare<[string], FormationRow>('SELECT * FROM formations WHERE app_id = ? ORDER BY type')
      .all(appId)
      .map(toFormation)
  }

  upsertFormation(f: Formation): void {
    this.db
      .prepare(
        `INSERT INTO formations (id, app_id, type, command, quantity, size, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (app_id, type) DO UPDATE SET quantity = excluded.quantity, size = excluded.size,
           command = excluded.command, updated_at = excluded.updated_at`,
      )
      .run(f.id, f.appId, f.type, f.command, f.quantity, f.size, f.createdAt, f.updatedAt)
  }
}
