import type { AppDrains, AppLogDrain, DrainSource, DrainTarget } from '../core/drains.js'
import type { Db } from './db.js'

interface DrainRow {
  id: string
  app_id: string
  url: string
  token: string
  created_at: string
  updated_at: string
}
const toDrain = (r: DrainRow): AppLogDrain => ({
  id: r.id,
  appId: r.app_id,
  url: r.url,
  token: r.token,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

interface TargetRow {
  app_id: string
  app_name: string
  id: string
  url: string
  token: string
  scope: 'app' | 'space'
}

/** Apps' own log drains; and, as a DrainSource, every app's drains including its space's. */
export class DrainsRepo implements DrainSource {
  constructor(private readonly db: Db) {}

  forApp(appId: string): AppLogDrain[] {
    return this.db
      .prepare<[string], DrainRow>(
        'SELECT * FROM app_log_drains WHERE app_id = ? ORDER BY created_at, rowid',
      )
      .all(appId)
      .map(toDrain)
  }

  /** By id, URL or token, as `heroku drains:remove URL|TOKEN` names it. */
  find(appId: string, idOrUrlOrToken: string): AppLogDrain | undefined {
    const r = this.db
      .prepare<[string, { key: string }], DrainRow>(
        `SELECT * FROM app_log_drains WHERE app_id = ? AND (id = @key OR url = @key OR token = @key)
         ORDER BY id = @key DESC LIMIT 1`,
      )
      .get(appId, { key: idOrUrlOrToken })
    return r && toDrain(r)
  }

  insert(d: AppLogDrain): void {
    this.db
      .prepare(
        `INSERT INTO app_log_drains (id, app_id, url, token, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?)`,
      )
      .run(d.id, d.appId, d.url, d.token, d.createdAt, d.updatedAt)
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM app_log_drains WHERE id = ?').run(id)
  }

  /** Every app that has a drain of its own or a space log drain, with those drains. */
  appDrains(): AppDrains[] {
    const rows = this.db
      .prepare<[], TargetRow>(
        `SELECT a.id app_id, a.name app_name, d.id, d.url, d.token, 'app' scope, d.created_at
           FROM app_log_drains d JOIN apps a ON a.id = d.app_id
         UNION ALL
         SELECT a.id, a.name, s.id, s.url, s.token, 'space', s.created_at
           FROM space_log_drains s JOIN apps a ON a.space_id = s.space_id
         ORDER BY 1, 7, 3`,
      )
      .all()
    const byApp = new Map<string, AppDrains>()
    for (const r of rows) {
      let entry = byApp.get(r.app_id)
      if (!entry) {
        entry = { appId: r.app_id, appName: r.app_name, drains: [] }
        byApp.set(r.app_id, entry)
      }
      const target: DrainTarget = { id: r.id, url: r.url, token: r.token, scope: r.scope }
      entry.drains.push(target)
    }
    return [...byApp.values()]
  }
}
