import type { Build, BuildStatus, ProcessTypes, Slug } from '../core/types.js'
import type { Db } from './db.js'

interface BuildRow {
  id: string
  app_id: string
  status: BuildStatus
  source_url: string
  source_version: string | null
  source_checksum: string | null
  source_version_description: string | null
  user_id: string
  user_email: string
  output_token: string
  slug_id: string | null
  release_id: string | null
  created_at: string
  updated_at: string
}
const toBuild = (r: BuildRow): Build => ({
  id: r.id,
  appId: r.app_id,
  status: r.status,
  sourceUrl: r.source_url,
  sourceVersion: r.source_version,
  sourceChecksum: r.source_checksum,
  sourceVersionDescription: r.source_version_description,
  userId: r.user_id,
  userEmail: r.user_email,
  outputToken: r.output_token,
  slugId: r.slug_id,
  releaseId: r.release_id,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

const BUILD_SELECT = `SELECT b.*, coalesce(a.email, '') user_email FROM builds b
  LEFT JOIN accounts a ON a.id = b.user_id`

interface SlugRow {
  id: string
  app_id: string
  process_types: string
  size: number | null
  checksum: string | null
  commit_sha: string | null
  commit_description: string | null
  buildpack_provided_description: string | null
  stack: string
  created_at: string
  updated_at: string
}
const toSlug = (r: SlugRow): Slug => ({
  id: r.id,
  appId: r.app_id,
  processTypes: JSON.parse(r.process_types) as ProcessTypes,
  size: r.size,
  checksum: r.checksum,
  commit: r.commit_sha,
  commitDescription: r.commit_description,
  buildpackProvidedDescription: r.buildpack_provided_description,
  stack: r.stack,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
})

/** Builds (source → slug → release) and the slugs they make. */
export class BuildsRepo {
  constructor(private readonly db: Db) {}

  insert(b: Omit<Build, 'userEmail'>): void {
    this.db
      .prepare(
        `INSERT INTO builds (id, app_id, status, source_url, source_version, source_checksum,
           source_version_description, user_id, output_token, slug_id, release_id, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        b.id,
        b.appId,
        b.status,
        b.sourceUrl,
        b.sourceVersion,
        b.sourceChecksum,
        b.sourceVersionDescription,
        b.userId,
        b.outputToken,
        b.slugId,
        b.releaseId,
        b.createdAt,
        b.updatedAt,
      )
  }

  find(id: string): Build | undefined {
    const r = this.db.prepare<[string], BuildRow>(`${BUILD_SELECT} WHERE b.id = ?`).get(id)
    return r && toBuild(r)
  }

  findByOutputToken(token: string): Build | undefined {
    const r = this.db
      .prepare<[string], BuildRow>(`${BUILD_SELECT} WHERE b.output_token = ?`)
      .get(token)
    return r && toBuild(r)
  }

  list(appId: string): Build[] {
    return this.db
      .prepare<[string], BuildRow>(`${BUILD_SELECT} WHERE b.app_id = ? ORDER BY b.created_at, b.id`)
      .all(appId)
      .map(toBuild)
  }

  /** Builds not finished yet, oldest first (the builder's queue after a restart). */
  pending(): Build[] {
    return this.db
      .prepare<[], BuildRow>(`${BUILD_SELECT} WHERE b.status = 'pending' ORDER BY b.created_at`)
      .all()
      .map(toBuild)
  }

  finish(
    id: string,
    outcome: { status: 'succeeded' | 'failed'; slugId?: string; releaseId?: string },
    now: string,
  ): void {
    this.db
      .prepare(
        `UPDATE builds SET status = ?, slug_id = ?, release_id = ?, updated_at = ? WHERE id = ?`,
      )
      .run(outcome.status, outcome.slugId ?? null, outcome.releaseId ?? null, now, id)
  }

  insertSlug(s: Slug): void {
    this.db
      .prepare(
        `INSERT INTO slugs (id, app_id, process_types, size, checksum, commit_sha, commit_description,
           buildpack_provided_description, stack, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        s.id,
        s.appId,
        JSON.stringify(s.processTypes),
        s.size,
        s.checksum,
        s.commit,
        s.commitDescription,
        s.buildpackProvidedDescription,
        s.stack,
        s.createdAt,
        s.updatedAt,
      )
  }

  /** Whether any app has a slug of this id (its files are then not left over). */
  hasSlug(slugId: string): boolean {
    return (
      this.db.prepare<[string], { id: string }>('SELECT id FROM slugs WHERE id = ?').get(slugId) !==
      undefined
    )
  }

  /** A slug of the app; the runtime finds its files with core/builds.ts `slugDir`. */
  findSlug(appId: string, slugId: string): Slug | undefined {
    const r = this.db
      .prepare<[string, string], SlugRow>('SELECT * FROM slugs WHERE app_id = ? AND id = ?')
      .get(appId, slugId)
    return r && toSlug(r)
  }
}
