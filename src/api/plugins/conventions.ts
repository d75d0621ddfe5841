/**
 * Cross-cutting Heroku conventions (docs/heroku-reference.md §1): the Accept version check,
 * Request-Id, JSON bodies and the `{id, message}` error shape.
 */
import { randomUUID } from 'node:crypto'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { errors, isPlatformError, PlatformError } from '../../core/errors.js'

const HEROKU_MEDIA = /application\/vnd\.heroku\+json\s*;\s*version\s*=\s*([^\s,;]+)/i
const REQUEST_ID = /^[\w.:-]{1,200}$/

/** The id to log and echo: the first one the client sent, if it is sane, else a new one. */
export function requestIdFrom(header: string | string[] | undefined): string {
  const first = (Array.isArray(header) ? header[0] : header)?.split(',')[0]?.trim()
  return first && REQUEST_ID.test(first) ? first : randomUUID()
}

/** Any `version=3` or `version=3.<variant>` is v3; no Heroku media type at all is v3 too. */
export function checkAccept(accept: string | undefined): void {
  const m = accept === undefined ? null : HEROKU_MEDIA.exec(accept)
  if (m && !/^3(\.[\w-]+)?$/.test(m[1]!)) {
    throw errors.notAcceptable(
      `Unsupported API version ${m[1]}. Please use Accept: application/vnd.heroku+json; version=3.`,
    )
  }
}

export function registerConventions(app: FastifyInstance): void {
  app.addHook('onRequest', async (request, reply) => {
    void reply.header('Request-Id', request.id)
    checkAccept(request.headers.accept)
  })

  // JSON bodies; an empty body (the CLI sends Content-Type on DELETE too) means "no fields".
  app.removeContentTypeParser('application/json')
  app.addContentTypeParser(
    ['application/json', 'application/vnd.heroku+json'],
    { parseAs: 'string' },
    (_request, body, done) => {
      const text = (body as string).trim()
      if (text === '') return done(null, undefined)
      try {
        done(null, JSON.parse(text) as unknown)
      } catch {
        done(errors.badRequest('Request body is not valid JSON.'), undefined)
      }
    },
  )
  // …so body schemas see `{}` for it (their required fields still apply), not `undefined`.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {}
  })

  app.setNotFoundHandler((_request, reply) => {
    void reply
      .code(404)
      .send(
        new PlatformError(
          'not_found',
          404,
          'The requested API endpoint was not found. Are you using the right HTTP verb (i.e. `GET` vs. `POST`), and did you specify your intended version with the `Accept` header?',
        ).toJSON(),
      )
  })

  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    const e = toPlatformError(error)
    if (e.statusCode >= 500) request.log.error({ err: error }, 'request failed')
    void reply.code(e.statusCode).send(e.toJSON())
  })
}

/** Maps Fastify's own errors (validation, body parsing, limits) onto the catalogue. */
export function toPlatformError(error: FastifyError | PlatformError): PlatformError {
  if (isPlatformError(error)) return error
  if (error.validation) {
    const v = error.validation[0]
    const field =
      (v?.params as { missingProperty?: string } | undefined)?.missingProperty ??
      v?.instancePath.replace(/^\//, '').replaceAll('/', '.') ??
      ''
    const what = v?.keyword === 'required' ? 'is required' : (v?.message ?? 'is invalid')
    return errors.invalidParams(field ? `${field} ${what}.` : `Request body ${what}.`)
  }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return errors.payloadTooLarge(Number(/\d+/.exec(error.message)?.[0] ?? 0))
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return errors.unsupportedMediaType('Request bodies must be application/json.')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return errors.badRequest(error.message)
  }
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return errors.badRequest(error.message)
  }
  return errors.internal(error)
}
