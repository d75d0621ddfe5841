/**
 * The CLI's only way to the daemon: Platform API v3 over HTTP, as the `heroku` CLI speaks it
 * (docs/heroku-reference.md §1). Lists follow `Next-Range` until the last page.
 */

import { setFlagsFromString } from 'node:v8'

export const ACCEPT_V3 = 'application/vnd.heroku+json; version=3'
const REQUEST_TIMEOUT_MS = 60_000
/** A server that hands back the same Next-Range forever must not hang the CLI. */
const MAX_PAGES = 1000

const CONNECTION_FAILURES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host lookup failed',
  ETIMEDOUT: 'timed out',
}

/** The API answered with an error: Heroku's `{id, message}` body and the HTTP status. */
export class ApiError extends Error {
  override readonly name = 'ApiError'

  constructor(
    readonly status: number,
    readonly id: string,
    message: string,
    readonly body: unknown,
    /** What the person can do about it, e.g. how to log in again after a 401. */
    readonly hint?: string,
  ) {
    super(message)
  }
}

/** Nothing answered at the URL (refused, unknown host, reset, timeout). */
export class ConnectionError extends Error {
  override readonly name = 'ConnectionError'

  constructor(
    readonly url: string,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message)
  }
}

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>

export interface ApiClientOptions {
  url: string
  /** Sent as `Authorization: Bearer <token>` unless a request carries its own Authorization. */
  token?: string | undefined
  /** Added to 401 errors so the message says where the rejected key came from. */
  unauthorizedHint?: string | undefined
  fetch?: FetchLike
  userAgent?: string
}

export interface RequestOptions {
  body?: unknown
  headers?: Record<string, string>
}

export interface ListOptions {
  headers?: Record<string, string>
  /** The first page's Range, e.g. `version ..; max=10, order=desc`. */
  range?: string
  /** Stop after the first page, as `heroku releases` does with its Range. */
  partial?: boolean
}

export interface ApiResponse<T> {
  status: number
  headers: Headers
  body: T
}

/**
 * Builds a path with every interpolated value URL-encoded, so a name can never reach another
 * endpoint: p`/apps/${name}/config-vars`.
 */
export function p(strings: TemplateStringsArray, ...values: Array<string | number>): string {
  return strings.reduce(
    (path, part, i) => path + part + (i < values.length ? encodeURIComponent(values[i]!) : ''),
    '',
  )
}

export class ApiClient {
  readonly url: string
  private readonly token: string | undefined
  private readonly unauthorizedHint: string | undefined
  private readonly fetchImpl: FetchLike
  private readonly userAgent: string

  constructor(options: ApiClientOptions) {
    this.url = options.url.replace(/\/+$/, '')
    this.token = options.token
    this.unauthorizedHint = options.unauthorizedHint
    this.fetchImpl = options.fetch ?? cliFetch
    this.userAgent = options.userAgent ?? `localspace-cli node/${process.versions.node}`
  }

  async request<T>(
    method: string,
    path: string,
    options: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = {
      Accept: ACCEPT_V3,
      'User-Agent': this.userAgent,
      ...(this.token !== undefined && { Authorization: `Bearer ${this.token}` }),
      ...(options.body !== undefined && { 'Content-Type': 'application/json' }),
      ...options.headers,
    }
    const target = `${this.url}${path}`
    let response: Response
    try {
      response = await this.fetchImpl(target, {
        method,
        headers,
        ...(options.body !== undefined && { body: JSON.stringify(options.body) }),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      })
    } catch (e) {
      throw this.connectionError(e)
    }
    const text = await response.text()
    const body = parseJson(text)
    if (!response.ok) throw this.apiError(response, body, text)
    return { status: response.status, headers: response.headers, body: body as T }
  }

  async get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('GET', path, options)).body
  }

  async post<T>(path: string, body: unknown = {}, options: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('POST', path, { ...options, body })).body
  }

  async patch<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('PATCH', path, { ...options, body })).body
  }

  async put<T>(path: string, body: unknown, options: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('PUT', path, { ...options, body })).body
  }

  async delete<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return (await this.request<T>('DELETE', path, options)).body
  }

  /**
   * GETs a list, re-requesting with `Range: <Next-Range>` while the answer is 206 with a
   * Next-Range header, and concatenates the pages (docs/heroku-reference.md §1.4).
   */
  async list<T>(path: string, options: ListOptions = {}): Promise<T[]> {
    const items: T[] = []
    let range = options.range
    for (let page = 0; page < MAX_PAGES; page++) {
      const headers = { ...options.headers, ...(range !== undefined && { Range: range }) }
      const response = await this.request<unknown>('GET', path, { headers })
      if (!Array.isArray(response.body)) {
        throw new ApiError(
          response.status,
          'bad_response',
          `Expected a list from GET ${path}.`,
          response.body,
        )
      }
      items.push(...(response.body as T[]))
      const next = response.headers.get('next-range')
      if (options.partial || response.status !== 206 || !next) return items
      if (next === range) {
        throw new ApiError(
          206,
          'bad_response',
          `GET ${path} returned the same Next-Range twice.`,
          null,
        )
      }
      range = next
    }
    throw new ApiError(
      206,
      'bad_response',
      `GET ${path} returned more than ${MAX_PAGES} pages.`,
      null,
    )
  }

  private apiError(response: Response, body: unknown, text: string): ApiError {
    const fields = (typeof body === 'object' && body !== null ? body : {}) as {
      id?: unknown
      message?: unknown
    }
    const id = typeof fields.id === 'string' ? fields.id : `http_${response.status}`
    const message =
      typeof fields.message === 'string'
        ? fields.message
        : `The API answered ${response.status} ${response.statusText}${text ? `: ${text.slice(0, 200)}` : ''}`
    const hint = response.status === 401 ? this.unauthorizedHint : undefined
    return new ApiError(response.status, id, message, body, hint)
  }

  private connectionError(e: unknown): ConnectionError {
    const cause = (e as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause
    const timedOut = e instanceof Error && e.name === 'TimeoutError'
    const code = typeof cause?.code === 'string' ? cause.code : timedOut ? 'ETIMEDOUT' : undefined
    const why =
      (code !== undefined && CONNECTION_FAILURES[code]) ||
      code ||
      (typeof cause?.message === 'string' && cause.message) ||
      (e instanceof Error ? e.message : String(e))
    return new ConnectionError(
      this.url,
      code,
      `Could not reach the localspace API at ${this.url} (${why}).\n` +
        'Is the daemon running? Start it with `localspace daemon`, or point LOCALSPACE_API_URL at it.',
    )
  }
}

let fetchTuned = false

/**
 * Global fetch, tuned for a short-lived process. fetch parses HTTP with undici's WebAssembly
 * llhttp; V8 re-optimises that module on background threads and a process waits for them
 * before it exits, which added 0.3-0.5 s to every command. Baseline (Liftoff) code is plenty
 * for a CLI's few responses. Set on the first request, so the daemon, which shares the
 * executable but never makes one here, is unaffected.
 */
const cliFetch: FetchLike = (url, init) => {
  if (!fetchTuned) {
    setFlagsFromString('--liftoff-only')
    fetchTuned = true
  }
  return fetch(url, init)
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return text
  }
}
