/**
 * Source uploads, as Heroku's sources API: `POST /sources` answers a put_url and a get_url;
 * the client PUTs a gzipped tarball to the first and hands the second to `POST .../builds`.
 *
 * Both URLs are served here, under /localspace/blobs/<token>. They need no API key (curl and
 * Heroku's tools PUT to them as they would to S3), so the token is the credential: 256 random
 * bits, expiring after an hour (builds/sources.ts).
 */
import type { FastifyInstance, FastifyReply } from 'fastify'
import { createReadStream } from 'node:fs'
import { SourceNotFoundError, SourceTooLargeError, type SourceStore } from '../../core/builds.js'
import { errors, PlatformError } from '../../core/errors.js'
import { findApp } from '../access.js'

const notFound = () =>
  new PlatformError('not_found', 404, 'This source URL does not exist or expired.')

export function sourceRoutes(app: FastifyInstance): void {
  const sources = (): SourceStore => {
    const s = app.ctx.sources
    if (!s) {
      throw new PlatformError('service_unavailable', 503, 'Source uploads are not enabled here.')
    }
    return s
  }

  const create = (reply: FastifyReply) => {
    const token = sources().create()
    // Read now, not at start-up: the daemon learns its own port only after listening.
    const url = `${app.ctx.apiUrl.replace(/\/+$/, '')}/localspace/blobs/${token}`
    return reply.code(201).send({ source_blob: { get_url: url, put_url: url } })
  }

  app.post('/sources', async (_request, reply) => create(reply))
  // The older, app-scoped form (deprecated by Heroku, still used by some scripts).
  app.post<{ Params: { app: string } }>('/apps/:app/sources', async (request, reply) => {
    findApp(app.ctx.store, request.account, request.params.app)
    return create(reply)
  })

  // The blob URLs take any body (curl sends none or application/octet-stream; S3 clients an
  // empty Content-Type), so they live in a scope whose only parser hands on the raw stream.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers()
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload))

    scope.put<{ Params: { token: string } }>(
      '/localspace/blobs/:token',
      { config: { public: true } },
      async (request, reply) => {
        const store = sources()
        if (!store.exists(request.params.token)) throw notFound()
        const declared = Number(request.headers['content-length'] ?? 0)
        if (declared > store.maxBytes) {
          void reply.header('connection', 'close')
          throw errors.payloadTooLarge(store.maxBytes)
        }
        try {
          await store.put(request.params.token, request.raw)
        } catch (e) {
          if (e instanceof SourceTooLargeError) {
            void reply.header('connection', 'close')
            throw errors.payloadTooLarge(e.maxBytes)
          }
          if (e instanceof SourceNotFoundError) throw notFound()
          throw e
        }
        return reply.code(200).send('')
      },
    )

    scope.get<{ Params: { token: string } }>(
      '/localspace/blobs/:token',
      { config: { public: true } },
      async (request, reply) => {
        const path = sources().path(request.params.token)
        if (!path) throw notFound()
        return reply.type('application/octet-stream').send(createReadStream(path))
      },
    )
  })
}
