/**
 * The one error catalogue. Every error the API returns is a PlatformError, written on the wire
 * as Heroku does: `{ id, message }` with the matching HTTP status (docs/heroku-reference.md §1.3).
 */
export class PlatformError extends Error {
  readonly id: string
  readonly statusCode: number
  /** Extra fields Heroku adds to some errors, e.g. `{ resource: 'space' }`. */
  readonly extra: Record<string, unknown>

  constructor(
    id: string,
    statusCode: number,
    message: string,
    extra: Record<string, unknown> = {},
    options?: ErrorOptions,
  ) {
    super(message, options)
    this.name = 'PlatformError'
    this.id = id
    this.statusCode = statusCode
    this.extra = extra
  }

  toJSON(): Record<string, unknown> {
    return { id: this.id, message: this.message, ...this.extra }
  }
}

/** Resource names as they appear in "Couldn't find that <resource>." */
export type ResourceKind =
  | 'account'
  | 'app'
  | 'attachment'
  | 'authorization'
  | 'feature'
  | 'formation'
  | 'domain'
  | 'dyno'
  | 'inbound-ruleset'
  | 'log drain'
  | 'process type'
  | 'region'
  | 'release'
  | 'sni-endpoint'
  | 'space'
  | 'team'
  | 'team member'
  | 'route'
  | 'collaborator'
  | 'app-transfer'
  | 'stack'
  | 'vpn-connection'
  | 'peering'
  | 'peer-network'
  | 'add_on'
  | 'add_on attachment'
  | 'add_on service'
  | 'plan'

export const errors = {
  badRequest: (message: string) => new PlatformError('bad_request', 400, message),
  unauthorized: (message = 'Invalid credentials provided.') =>
    new PlatformError('unauthorized', 401, message),
  forbidden: (message = 'You do not have access to this resource.') =>
    new PlatformError('forbidden', 403, message),
  notTeamAdmin: () =>
    new PlatformError('forbidden', 403, 'You must be a team admin to perform this action.'),
  notFound: (resource: ResourceKind, message = `Couldn't find that ${resource}.`) =>
    new PlatformError('not_found', 404, message, { resource }),
  notAcceptable: (message: string) => new PlatformError('not_acceptable', 406, message),
  conflict: (message: string) => new PlatformError('conflict', 409, message),
  payloadTooLarge: (limit: number) =>
    new PlatformError('payload_too_large', 413, `Request body is larger than ${limit} bytes.`),
  unsupportedMediaType: (message: string) =>
    new PlatformError('unsupported_media_type', 415, message),
  badRange: (message: string) => new PlatformError('requested_range_not_satisfiable', 416, message),
  invalidParams: (message: string) => new PlatformError('invalid_params', 422, message),
  /** The CLI asks the user to confirm with the app's name and repeats the request with `confirm`. */
  confirmationRequired: (message: string) =>
    new PlatformError('confirmation_required', 422, message),
  /** A part of Heroku localspace does not have (yet): the message names it. */
  notImplemented: (message: string) => new PlatformError('not_implemented', 501, message),
  rateLimit: (message: string) => new PlatformError('rate_limit', 429, message),
  internal: (cause?: unknown) =>
    new PlatformError(
      'internal_server_error',
      500,
      'Internal server error.',
      {},
      cause === undefined ? undefined : { cause },
    ),
} as const

export const isPlatformError = (e: unknown): e is PlatformError => e instanceof PlatformError
