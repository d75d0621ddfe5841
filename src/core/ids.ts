import { createHash, randomBytes, randomUUID } from 'node:crypto'

export const newId = (): string => randomUUID()

/** A stable UUID derived from a name, for catalogue entries (regions, sizes, features). */
export function stableId(namespace: string, name: string): string {
  const h = createHash('sha1').update(`${namespace}:${name}`).digest('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`
}

/** A new API token. Only its SHA-256 is stored, so a stolen database yields no tokens. */
export const newToken = (): string => `HRKU-${randomBytes(30).toString('base64url')}`

export const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex')

export const nowIso = (): string => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z')

/**
 * The first 8 hex digits of a UUID. Host objects are named by it (interface names are
 * limited to 15 characters), so the API keeps it unique among spaces.
 */
export const shortId = (uuid: string): string => uuid.replace(/-/g, '').slice(0, 8).toLowerCase()
