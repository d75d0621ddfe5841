/**
 * Heroku's router conventions, pure: error codes and pages, request ids and the router log
 * line (docs/heroku-reference.md §8.5). Nothing here does I/O.
 */
import { randomUUID } from 'node:crypto'

export type RouterErrorCode = 'H10' | 'H11' | 'H12' | 'H13' | 'H14' | 'H15' | 'H25' | 'H27'

/** Heroku's `desc=` text and the status the client gets for each code. */
export const ROUTER_ERRORS: Record<RouterErrorCode, { desc: string; status: number }> = {
  H10: { desc: 'App crashed', status: 503 },
  H11: { desc: 'Backlog too deep', status: 503 },
  H12: { desc: 'Request timeout', status: 503 },
  H13: { desc: 'Connection closed without response', status: 503 },
  H14: { desc: 'No web processes running', status: 503 },
  H15: { desc: 'Idle connection', status: 503 },
  H25: { desc: 'HTTP Restriction', status: 400 },
  // The client is gone: nothing is sent; Heroku logs 499.
  H27: { desc: 'Client Request Interrupted', status: 499 },
}

/** Heroku's plain error page (its real one is a styled "Application error" page). */
export function errorPage(title: string, detail: string): string {
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${title}</title></head>
<body><h1>${title}</h1><p>${detail}</p></body></html>
`
}

export const APPLICATION_ERROR_PAGE = errorPage(
  'Application error',
  'An error occurred in the application and your page could not be served. If you are the application owner, check your logs for details.',
)

export const NO_SUCH_APP_PAGE = errorPage(
  'No such app',
  'There is no app configured at that hostname.',
)

export const FORBIDDEN_PAGE = errorPage(
  'Forbidden',
  'Your address is not in the trusted IP ranges of this app.',
)

export const BAD_REQUEST_PAGE = errorPage('Bad request', 'The request could not be understood.')

// Heroku: 20–200 characters of letters, digits, `+`, `/`, `=` and `-`; anything else is
// replaced by a generated id.
const VALID_REQUEST_ID = /^[A-Za-z0-9+/=-]{20,200}$/

export const requestIdFor = (given: string | undefined): string =>
  given !== undefined && VALID_REQUEST_ID.test(given) ? given : randomUUID()

export interface RouterLogFields {
  /** Present for errors. */
  code?: RouterErrorCode | undefined
  /** Error description; also for refusals that have no Heroku code (403 untrusted). */
  desc?: string | undefined
  method: string
  path: string
  host: string
  requestId: string
  fwd: string
  dyno: string
  connectMs: number
  serviceMs: number
  status: number
  bytes: number
  protocol: 'http' | 'https'
}

const ESCAPED = /["\\]/g
/** `"…"` with `"` and `\` escaped; most paths and addresses have neither (no replace then). */
const quote = (s: string): string =>
  s.indexOf('"') < 0 && s.indexOf('\\') < 0 ? `"${s}"` : `"${s.replace(ESCAPED, '\\$&')}"`

/**
 * `at=info method=GET path="/" host=… request_id=… fwd="…" dyno=web.1 connect=0ms
 * service=1ms status=200 bytes=13 protocol=https`, and for errors `at=error code=H12
 * desc="Request timeout" …`, in Heroku's field order.
 */
export function routerLogLine(f: RouterLogFields): string {
  const head =
    f.code !== undefined
      ? `at=error code=${f.code} desc=${quote(f.desc ?? ROUTER_ERRORS[f.code].desc)} `
      : f.desc !== undefined
        ? `at=error desc=${quote(f.desc)} `
        : 'at=info '
  return (
    `${head}method=${f.method} path=${quote(f.path)} host=${f.host} request_id=${f.requestId}` +
    ` fwd=${quote(f.fwd)} dyno=${f.dyno} connect=${f.connectMs}ms service=${f.serviceMs}ms` +
    ` status=${f.status} bytes=${f.bytes} protocol=${f.protocol}`
  )
}
