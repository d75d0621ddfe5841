/**
 * Postgres backups and restores (`pg:backups*`), as Heroku's data API calls them: transfers,
 * numbered per app (b001 a backup, r002 a restore). The platform records them
 * (platform/backups.ts); the data agent does the work (`pg_dump -Fc` into the blob store,
 * `pg_restore` from it) and reports back; BackupFiles gives a finished backup's download URL.
 */
export interface Transfer {
  id: string
  /** The billing app of the database: the list `pg:backups -a APP` shows. */
  appId: string
  num: number
  kind: 'backup' | 'restore'
  addonId: string
  /** A backup's source (the attachment name, `DATABASE`) or a restore's backup (`b001`). */
  fromName: string
  toName: string
  /** A restore's backup. */
  backupId: string | null
  processedBytes: number
  createdAt: string
  startedAt: string | null
  finishedAt: string | null
  succeeded: boolean
  canceledAt: string | null
  deletedAt: string | null
  logs: Array<{ created_at: string; message: string }>
  /** A scheduled backup's schedule (`DATABASE_URL`); null for a manual one. */
  scheduleName: string | null
}

/** `pg:backups:schedule`: a daily backup at `hour` (0–23) in `timezone` (an IANA name). */
export interface BackupSchedule {
  id: string
  addonId: string
  /** The attachment's config var (`DATABASE_URL`), as the CLI names schedules. */
  name: string
  hour: number
  timezone: string
  /** The local date (YYYY-MM-DD in `timezone`) of its last backup: once a day. */
  lastRunOn: string | null
  createdAt: string
  updatedAt: string
}

/** Where a finished backup can be downloaded (`pg:backups:url`, `pg:backups:download`). */
export interface BackupFiles {
  /** A URL valid for a while, or undefined when the file is not there. */
  publicUrl(transferId: string): Promise<{ url: string; expiresAt: string } | undefined>
  /**
   * The file a public URL names, when its signature is right and it has not expired:
   * `forbidden` (bad or expired signature) or `missing` (the file is gone) otherwise.
   */
  openSigned(
    transferId: string,
    query: { expires?: string; signature?: string },
  ): Promise<{ path: string; size: number } | 'forbidden' | 'missing'>
}

/** `b001` for a backup, `a003` for a scheduled one, `r002` for a restore, as the CLI names them. */
export const transferName = (t: Pick<Transfer, 'kind' | 'num' | 'scheduleName'>): string =>
  `${t.kind === 'restore' ? 'r' : t.scheduleName !== null ? 'a' : 'b'}${String(t.num).padStart(3, '0')}`
