/**
 * The blob store of Postgres backups: `<dir>/<transfer id>.dump` (root 0600, in a root 0700
 * directory), written by `pg_dump -Fc` under `<id>.dump.partial` and renamed when complete, so
 * a backup file exists only whole (a daemon killed mid-backup leaves a `.partial`, which
 * `removePartials` clears at the next start). `publicUrl` signs a download link (HMAC-SHA256
 * of id and expiry with a key kept in the directory) that the API listener serves
 * (`GET /backup-files/:id`, api/routes/backups.routes.ts) to whoever holds it, as Heroku's
 * `pg:backups:url` does, until it expires.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import {
  chmod,
  mkdir,
  open,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises'
import { join } from 'node:path'
import type { BackupFiles } from '../core/backups.js'
import { captureBackup, restoreBackup } from './backups.js'
import type { EngineContext } from './engine.js'
import { exists } from './files.js'

/** Heroku's public backup URLs are valid for an hour. */
export const DEFAULT_URL_TTL_MS = 60 * 60_000

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const EXPIRES = /^\d{1,12}$/
const SIGNATURE = /^[0-9a-f]{64}$/
const PARTIAL = '.partial'

export interface BackupStoreOptions {
  /** `<dataDir>/backups`. */
  dir: string
  /**
   * The API's public URL (`http://host:5000`): links point at its `/backup-files` route. A
   * function where the port is known only once the API listens (the daemon's `--api-listen :0`).
   */
  apiUrl: string | (() => string)
  urlTtlMs?: number
  now?: () => number
}

export class BackupStore implements BackupFiles {
  private constructor(
    private readonly options: BackupStoreOptions,
    private readonly key: Buffer,
  ) {}

  /** Makes the directory (0700) and the signing key (0600, made once) when missing. */
  static async open(options: BackupStoreOptions): Promise<BackupStore> {
    await mkdir(options.dir, { recursive: true, mode: 0o700 })
    await chmod(options.dir, 0o700)
    const keyFile = join(options.dir, 'url.key')
    if (!(await exists(keyFile))) {
      await writeFile(`${keyFile}${PARTIAL}`, randomBytes(32), { mode: 0o600 })
      await rename(`${keyFile}${PARTIAL}`, keyFile)
    }
    return new BackupStore(options, await readFile(keyFile))
  }

  /** The file of a backup; ids are UUIDs, so nothing else can name a path. */
  fileOf(transferId: string): string {
    if (!UUID.test(transferId)) throw new Error(`not a backup id: ${transferId}`)
    return join(this.options.dir, `${transferId}.dump`)
  }

  /**
   * `pg_dump -Fc` of the server's database into the store; resolves with the file's size.
   * `onProgress` is told the bytes written so far, about every second.
   */
  async capture(
    ctx: EngineContext,
    transferId: string,
    onProgress: (bytes: number) => void = () => undefined,
  ): Promise<number> {
    const file = this.fileOf(transferId)
    const partial = `${file}${PARTIAL}`
    // Made 0600 before pg_dump (root, in the server's namespace) writes into it.
    await (await open(partial, 'w', 0o600)).close()
    const timer = setInterval(() => {
      stat(partial).then(
        (s) => onProgress(s.size),
        () => undefined,
      )
    }, 1000)
    try {
      const size = await captureBackup(ctx, partial)
      await rename(partial, file)
      return size
    } catch (e) {
      await rm(partial, { force: true })
      throw e
    } finally {
      clearInterval(timer)
    }
  }

  /** `pg_restore` of a stored backup into the server's database. */
  async restore(ctx: EngineContext, backupId: string): Promise<void> {
    const file = this.fileOf(backupId)
    if (!(await exists(file))) throw new Error('the backup file is gone')
    await restoreBackup(ctx, file)
  }

  async remove(transferId: string): Promise<void> {
    const file = this.fileOf(transferId)
    await rm(`${file}${PARTIAL}`, { force: true })
    await rm(file, { force: true })
  }

  /** Leftovers of backups interrupted by a daemon that stopped; call before any runs. */
  async removePartials(): Promise<string[]> {
    const partials = (await readdir(this.options.dir)).filter((n) => n.endsWith(PARTIAL))
    for (const name of partials) await rm(join(this.options.dir, name), { force: true })
    return partials
  }

  private sign(transferId: string, expires: string): Buffer {
    return createHmac('sha256', this.key).update(`${transferId}\n${expires}`).digest()
  }

  private now(): number {
    return this.options.now?.() ?? Date.now()
  }

  async publicUrl(transferId: string) {
    if (!UUID.test(transferId) || !(await exists(this.fileOf(transferId)))) return undefined
    const expiresMs = this.now() + (this.options.urlTtlMs ?? DEFAULT_URL_TTL_MS)
    const expires = String(Math.floor(expiresMs / 1000))
    const signature = this.sign(transferId, expires).toString('hex')
    const { apiUrl } = this.options
    const base = (typeof apiUrl === 'string' ? apiUrl : apiUrl()).replace(/\/+$/, '')
    return {
      url: `${base}/backup-files/${transferId}?expires=${expires}&signature=${signature}`,
      expiresAt: new Date(Number(expires) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    }
  }

  async openSigned(transferId: string, query: { expires?: string; signature?: string }) {
    const { expires, signature } = query
    // Shapes first (bounded regular expressions on bounded strings), then the MAC, then time.
    if (!UUID.test(transferId)) return 'missing' as const
    if (typeof expires !== 'string' || !EXPIRES.test(expires)) return 'forbidden' as const
    if (typeof signature !== 'string' || !SIGNATURE.test(signature)) return 'forbidden' as const
    if (!timingSafeEqual(this.sign(transferId, expires), Buffer.from(signature, 'hex')))
      return 'forbidden' as const
    if (Number(expires) * 1000 < this.now()) return 'forbidden' as const
    const path = this.fileOf(transferId)
    try {
      return { path, size: (await stat(path)).size }
    } catch {
      return 'missing' as const
    }
  }
}
