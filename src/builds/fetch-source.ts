/**
 * Getting a build's source tarball to a local file: straight from the source store when the
 * URL is one of this installation's put/get URLs, otherwise over http(s) as Heroku does
 * (GitHub archive links, S3 URLs). Size is capped as for uploads; `SHA256:<hex>` checksums
 * are verified.
 *
 * The daemon fetches from the host (issue 15, B3): only addresses the address policy allows
 * (public ones, core/address-policy.ts), judged on the address connected to and again at every
 * redirect, which are followed by hand and at most MAX_REDIRECTS times. What is fetched is
 * never described in the build output beyond "it failed": no digest of it, and a refused URL
 * says only that it was refused, not what answered there.
 */
import { createHash } from 'node:crypto'
import { createReadStream, createWriteStream } from 'node:fs'
import { copyFile } from 'node:fs/promises'
import http from 'node:http'
import https from 'node:https'
import { Transform } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { AddressNotAllowedError, type AddressPolicy } from '../core/address-policy.js'
import { SOURCE_BLOB_PATH, type SourceStore } from '../core/builds.js'
import { SourceError } from './unpack.js'

export interface FetchOptions {
  sources: SourceStore | undefined
  /** Which addresses may be fetched from. */
  policy: AddressPolicy
  maxBytes: number
  signal?: AbortSignal
}

/** Redirects followed before a fetch gives up (browsers allow 20; archive links use 1 or 2). */
export const MAX_REDIRECTS = 5
const REDIRECTS = new Set([301, 302, 303, 307, 308])
const REFUSED = 'The source URL was refused: address not allowed.'

/** The local file of a source blob URL of this installation, if it is one. */
function localBlob(url: URL, sources: SourceStore | undefined): string | undefined {
  const token = SOURCE_BLOB_PATH.exec(url.pathname)?.[1]
  return token && sources ? sources.path(token) : undefined
}

/** One GET, to an address the policy allows; resolves with the response's head. */
function get(url: URL, options: FetchOptions): Promise<http.IncomingMessage> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(
      new SourceError(`The source URL must be http or https, not ${url.protocol}`),
    )
  }
  if (options.policy.refusalOfHost(url.hostname) !== undefined) {
    return Promise.reject(new SourceError(REFUSED))
  }
  const request = url.protocol === 'https:' ? https.request : http.request
  return new Promise((resolve, reject) => {
    const req = request(url, {
      lookup: options.policy.lookup,
      ...(options.signal && { signal: options.signal }),
    })
    req.on('response', resolve)
    req.on('error', (e) => {
      const refused = e instanceof AddressNotAllowedError
      reject(
        new SourceError(
          refused ? REFUSED : `Downloading the source from ${url.origin} failed: ${e.message}`,
        ),
      )
    })
    req.end()
  })
}

async function download(start: URL, dest: string, options: FetchOptions): Promise<void> {
  let url = start
  let response = await get(url, options)
  for (let hops = 0; REDIRECTS.has(response.statusCode ?? 0); hops++) {
    response.resume()
    const location = response.headers.location
    if (hops === MAX_REDIRECTS || location === undefined) {
      throw new SourceError(
        `Downloading the source failed: too many redirects from ${start.origin}.`,
      )
    }
    try {
      url = new URL(location, url)
    } catch {
      throw new SourceError(`Downloading the source failed: a redirect to a bad URL.`)
    }
    response = await get(url, options)
  }
  if (response.statusCode !== 200) {
    response.resume()
    throw new SourceError(
      `Downloading the source failed: HTTP ${response.statusCode} from ${url.origin}.`,
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
  await pipeline(response, limit, createWriteStream(dest, { mode: 0o600 }))
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
  else await download(url, dest, options)

  if (checksum) {
    const m = /^SHA256:([0-9a-f]{64})$/i.exec(checksum)
    if (!m) throw new SourceError(`Unsupported checksum ${checksum}: use SHA256:<hex>.`)
    const actual = await sha256(dest)
    if (actual !== m[1]!.toLowerCase()) {
      // Never the digest of what was fetched: it would tell what a URL serves.
      throw new SourceError('The source does not match its checksum.')
    }
  }
}
