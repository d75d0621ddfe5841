/**
 * Getting a build's source tarball to a local file: straight from the source store when the
 * URL is one of this installation's put/get URLs, otherwise over http(s) as Heroku does
 * (GitHub archive links, S3 URLs). Size is capped as for uploads; `SHA256:<hex>` checksums
 * are verified.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { copyFile } from 'node:fs/promises'
import { Readable, Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import { SOURCE_BLOB_PATH, type SourceStore } from '../core/builds.js'
import { SourceError } from './unpack.js'

export interface FetchOptions {
  sources: SourceStore | undefined
  maxBytes: number
  signal?: AbortSignal
}

/** The local file of a source blob URL of this installation, if it is one. */
function localBlob(url: URL, sources: SourceStore | undefined): string | undefined {
  const token = SOURCE_BLOB_PATH.exec(url.pathname)?.[1]
  return token && sources ? sources.path(token) : undefined
}

async function download(url: URL, dest: string, options: FetchOptions): Promise<void> {
  let response: Response
  try {
    response = await fetch(url, {
      redirect: 'follow',
      ...(options.signal && { signal: options.signal }),
    })
  } catch (e) {
    throw new SourceError(
      `Downloading the source from ${url.origin} failed: ${e instanceof Error ? e.message : String(e)}`,
    )
  }
  if (response.status !== 200 || !response.body) {
    throw new SourceError(
      `Downloading the source failed: HTTP ${response.status} from ${url.origin}.`,
    )
  }
  let size = 0
  const max = options.maxBytes
  const limit = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length
      if (size > max) done(new SourceError(`The source is larger than ${max} bytes.`))
      else done(null, chunk)
    },
  })
  await pipeline(
    Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
    limit,
    createWriteStream(dest, { mode: 0o600 }),
  )
}

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256')
  await pipeline(createReadStream(file), hash)
  return hash.digest('hex')
}

/** Writes the tarball at `url` to `dest`; throws SourceError with a line for the output. */
export async function fetchSource(
  rawUrl: string,
  checksum: string | null,
  dest: string,
  options: FetchOptions,
): Promise<void> {
  let url: URL
  try {
    url = new URL(rawUrl)
  } catch {
    throw new SourceError(`The source URL is not a URL: ${rawUrl}`)
  }
  const local = localBlob(url, options.sources)
  if (local) await copyFile(local, dest)
  else if (url.protocol === 'http:' || url.protocol === 'https:') await download(url, dest, options)
  else throw new SourceError(`The source URL must be http or https, not ${url.protocol}`)

  if (checksum) {
    const m = /^SHA256:([0-9a-f]{64})$/i.exec(checksum)
    if (!m) throw new SourceError(`Unsupported checksum ${checksum}: use SHA256:<hex>.`)
    const actual = await sha256(dest)
    if (actual !== m[1]!.toLowerCase()) {
      throw new SourceError(`The source does not match its checksum (got SHA256:${actual}).`)
    }
  }
}
