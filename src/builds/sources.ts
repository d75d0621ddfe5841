/**
 * Source tarballs uploaded with `POST /sources` and then `PUT <put_url>`, kept as files in
 * `<dataDir>/blobs`. A file is named by the SHA-256 of its token, so a listing of the directory
 * gives away no URL. Tokens expire SOURCE_TTL_MS after they were made (Heroku's source URLs
 * last an hour too); expired files go at the next create, so no timer has to be stopped.
 */
import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { SourceNotFoundError, SourceTooLargeError, type SourceStore } from '../core/builds.js'

export const SOURCE_TTL_MS = 60 * 60_000
export const DEFAULT_MAX_SOURCE_BYTES = 500 * 1024 * 1024
const TOKEN = /^[A-Za-z0-9_-]{43}$/

export interface FileSourceStoreOptions {
  maxBytes?: number
  ttlMs?: number
}

export class FileSourceStore implements SourceStore {
  readonly maxBytes: number
  private readonly ttlMs: number

  constructor(
    private readonly dir: string,
    options: FileSourceStoreOptions = {},
  ) {
    this.maxBytes = options.maxBytes ?? DEFAULT_MAX_SOURCE_BYTES
    this.ttlMs = options.ttlMs ?? SOURCE_TTL_MS
  }

  create(): string {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    this.prune()
    const token = randomBytes(32).toString('base64url')
    // The empty slot file says "this token exists"; its mtime is when it was made.
    writeFileSync(this.file(token, 'slot'), '', { mode: 0o600 })
    return token
  }

  exists(token: string): boolean {
    if (!TOKEN.test(token)) return false
    try {
      return statSync(this.file(token, 'slot')).mtimeMs + this.ttlMs > Date.now()
    } catch {
      return false
    }
  }

  async put(token: string, body: AsyncIterable<Uint8Array>): Promise<number> {
    if (!this.exists(token)) throw new SourceNotFoundError()
    const part = this.file(token, `part-${randomBytes(4).toString('hex')}`)
    let size = 0
    const max = this.maxBytes
    const counter = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        size += chunk.length
        if (size > max) done(new SourceTooLargeError(max))
        else done(null, chunk)
      },
    })
    try {
      await pipeline(body, counter, createWriteStream(part, { mode: 0o600 }))
      // Readers see the old upload or the new one, never half of one.
      await rename(part, this.file(token, 'tgz'))
      return size
    } catch (e) {
      await rm(part, { force: true })
      throw e
    }
  }

  path(token: string): string | undefined {
    if (!this.exists(token)) return undefined
    const file = this.file(token, 'tgz')
    try {
      return statSync(file).isFile() ? file : undefined
    } catch {
      return undefined
    }
  }

  private file(token: string, kind: string): string {
    return join(this.dir, `${createHash('sha256').update(token).digest('hex')}.${kind}`)
  }

  /** Deletes every file of an expired slot (the slot, its upload and unfinished parts). */
  private prune(): void {
    const now = Date.now()
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.slot')) continue
      const slot = join(this.dir, name)
      try {
        if (statSync(slot).mtimeMs + this.ttlMs > now) continue
      } catch {
        continue
      }
      const hash = name.slice(0, -'.slot'.length)
      for (const other of readdirSync(this.dir)) {
        if (other.startsWith(`${hash}.`)) rmSync(join(this.dir, other), { force: true })
      }
    }
  }
}
