/**
 * The dashboard's built files (`npm run build` writes them to dist/web), read once at start
 * into memory with a gzip copy each: a handful of small files, served without touching the
 * disk, and looked up by exact name, so no request path can reach any other file.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { extname, join } from 'node:path'
import { gzipSync } from 'node:zlib'

export interface StaticFile {
  body: Buffer
  gzip: Buffer
  contentType: string
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
}

/** Every regular file at the top of `dir` by name; empty when the dashboard is not built. */
export function loadStaticFiles(dir: string | undefined): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>()
  if (dir === undefined || !existsSync(dir)) return files
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    const contentType = TYPES[extname(name)]
    if (!contentType || !statSync(path).isFile()) continue
    const body = readFileSync(path)
    files.set(name, { body, gzip: gzipSync(body, { level: 9 }), contentType })
  }
  return files
}

/** Whether the client takes gzip (a plain token scan: the header is short and bounded). */
export function acceptsGzip(header: string | string[] | undefined): boolean {
  const value = Array.isArray(header) ? header.join(',') : (header ?? '')
  return value
    .split(',')
    .some(
      (part) => part.split(';')[0]!.trim().toLowerCase() === 'gzip' && !/q=0(\.0*)?\s*$/.test(part),
    )
}
