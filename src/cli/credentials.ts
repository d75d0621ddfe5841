/**
 * Where the CLI finds the API and its key. Precedence, field by field:
 *   1. LOCALSPACE_API_URL / LOCALSPACE_API_KEY
 *   2. HEROKU_HOST / HEROKU_API_KEY (what the daemon prints, shared with the `heroku` CLI)
 *   3. the file `localspace login` writes ($XDG_CONFIG_HOME/localspace/credentials.json)
 *   4. http://127.0.0.1:5000 and no key
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join } from 'node:path'

export const DEFAULT_API_URL = 'http://127.0.0.1:5000'

type Env = Record<string, string | undefined>

/** The file's contents: one login, for one API. */
export interface StoredCredentials {
  url: string
  email: string
  token: string
}

export type KeySource = 'LOCALSPACE_API_KEY' | 'HEROKU_API_KEY' | 'credentials file' | 'none'

export interface Credentials {
  url: string
  token: string | undefined
  source: KeySource
  /** Known when the key came from the file. */
  email?: string
}

const set = (value: string | undefined): value is string => value !== undefined && value !== ''

export const sameUrl = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '')

export function credentialsPath(env: Env = process.env, home: string = homedir()): string {
  const base = set(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : join(home, '.config')
  return join(base, 'localspace', 'credentials.json')
}

/**
 * The API URL named by the environment, if any. HEROKU_HOST without a scheme means
 * `https://api.<host>`, as the heroku CLI reads it (docs/heroku-reference.md §1.1).
 */
export function apiUrlFromEnv(env: Env): string | undefined {
  if (set(env.LOCALSPACE_API_URL)) return env.LOCALSPACE_API_URL
  if (set(env.HEROKU_HOST)) {
    return env.HEROKU_HOST.startsWith('http') ? env.HEROKU_HOST : `https://api.${env.HEROKU_HOST}`
  }
  return undefined
}

/** Pure, so the precedence is tested without touching the file system. */
export function resolveCredentials(env: Env, stored: StoredCredentials | undefined): Credentials {
  const url = (apiUrlFromEnv(env) ?? stored?.url ?? DEFAULT_API_URL).replace(/\/+$/, '')
  if (set(env.LOCALSPACE_API_KEY)) {
    return { url, token: env.LOCALSPACE_API_KEY, source: 'LOCALSPACE_API_KEY' }
  }
  if (set(env.HEROKU_API_KEY)) return { url, token: env.HEROKU_API_KEY, source: 'HEROKU_API_KEY' }
  // A login is for one API: never send its token to a different URL named by the environment.
  if (stored && sameUrl(stored.url, url)) {
    return { url, token: stored.token, source: 'credentials file', email: stored.email }
  }
  return { url, token: undefined, source: 'none' }
}

/** Reads the login file; a missing or unreadable file means "not logged in". */
export function readCredentialsFile(path: string): StoredCredentials | undefined {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
  try {
    const data = JSON.parse(text) as Partial<StoredCredentials>
    if (typeof data.url === 'string' && typeof data.token === 'string') {
      return { url: data.url, token: data.token, email: String(data.email ?? '') }
    }
  } catch {
    // A corrupt file is the same as none: `localspace login` writes a fresh one.
  }
  return undefined
}

/**
 * Writes the login file with mode 0600 in a 0700 directory. It is written to a temporary
 * file and renamed, so a crash never leaves half a token behind.
 */
export function writeCredentialsFile(path: string, credentials: StoredCredentials): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const temporary = `${path}.${process.pid}.tmp`
  writeFileSync(temporary, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600 })
  // The mode given to writeFileSync is masked by the umask, and ignored if the file existed.
  chmodSync(temporary, 0o600)
  renameSync(temporary, path)
}

/** Removes the login file; true when there was one. */
export function deleteCredentialsFile(path: string): boolean {
  if (!existsSync(path)) return false
  rmSync(path, { force: true })
  return true
}

/** What to tell someone whose key was refused, depending on where the key came from. */
export function unauthorizedHint(credentials: Credentials): string {
  switch (credentials.source) {
    case 'LOCALSPACE_API_KEY':
    case 'HEROKU_API_KEY':
      return `The key in ${credentials.source} was not accepted by ${credentials.url}. Check it, or unset it and run \`localspace login\`.`
    case 'credentials file':
      return 'Your login has expired or was revoked. Run `localspace login` again.'
    case 'none':
      return 'You are not logged in. Run `localspace login`, or set LOCALSPACE_API_KEY.'
  }
}
