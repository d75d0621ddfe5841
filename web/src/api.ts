/**
 * The page's one door to the daemon: the Platform API, as the CLI uses it, authenticated by the
 * session cookie. The CSRF token lives in this module's memory only (never in storage): it
 * goes in a header on every change, and a reload asks GET /localspace/session for it again.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
  ) {
    super(message)
  }
}

let csrfToken = ''
let onSignedOut: () => void = () => undefined

export function setCsrfToken(token: string): void {
  csrfToken = token
}

/** What to do when the API says the session is gone (401): show the sign-in form. */
export function whenSignedOut(handler: () => void): void {
  onSignedOut = handler
}

export async function api<T = unknown>(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  const res = await fetchRetryingReads(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/vnd.heroku+json; version=3',
      ...(body !== undefined && { 'content-type': 'application/json' }),
      ...(method !== 'GET' && { 'x-csrf-token': csrfToken }),
      ...headers,
    },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  })
  const text = await res.text()
  let json: unknown
  try {
    json = text === '' ? undefined : JSON.parse(text)
  } catch {
    json = undefined
  }
  if (!res.ok) {
    const e = (json ?? {}) as { id?: string; message?: string }
    if (res.status === 401 && !path.startsWith('/localspace/session')) onSignedOut()
    throw new ApiError(res.status, e.id ?? 'error', e.message ?? `${res.status} ${res.statusText}`)
  }
  return json as T
}

/**
 * A read that fails in the network (not an HTTP error) is tried again, twice: browsers abort
 * requests in flight when the machine's interfaces change, and on a localspace host they do
 * whenever a dyno starts. A change is never repeated: its failure is shown.
 */
async function fetchRetryingReads(path: string, init: RequestInit): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(path, init)
    } catch (e) {
      if (init.method !== 'GET' || attempt >= 2) throw e
      await new Promise((resolve) => setTimeout(resolve, 100 * (attempt + 1)))
    }
  }
}

/** Like `api`, but a refusal (404, 501: a part localspace lacks) is an empty list. */
export async function apiListOrNone<T>(path: string): Promise<T[]> {
  try {
    return await api<T[]>('GET', path)
  } catch (e) {
    if (e instanceof ApiError && (e.status === 404 || e.status === 501)) return []
    throw e
  }
}

export const enc = encodeURIComponent

/** `Authorization` for sign-in: Basic email:password (UTF-8) or Bearer key. */
export function credentialsHeader(
  creds: { email: string; password: string } | { key: string },
): string {
  if ('key' in creds) return `Bearer ${creds.key.trim()}`
  const bytes = new TextEncoder().encode(`${creds.email}:${creds.password}`)
  let binary = ''
  for (const b of bytes) binary += String.fromCharCode(b)
  return `Basic ${btoa(binary)}`
}

/** Streams a same-origin URL's text line by line until `signal` aborts or it ends. */
export async function streamLines(
  url: string,
  onLine: (line: string) => void,
  signal: AbortSignal,
): Promise<void> {
  // The API hands out absolute URLs built from its own address; the page may know the daemon
  // by another name (localhost vs 127.0.0.1), so only the path is used.
  const { pathname, search } = new URL(url, location.href)
  const res = await fetch(pathname + search, { signal, headers: { accept: 'text/plain' } })
  if (!res.ok || !res.body)
    throw new ApiError(res.status, 'stream', `The stream answered ${res.status}.`)
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffer += value
    let nl: number
    while ((nl = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, nl))
      buffer = buffer.slice(nl + 1)
    }
  }
  if (buffer !== '') onLine(buffer)
}
