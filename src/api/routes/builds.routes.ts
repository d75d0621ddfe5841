/**
 * Builds and slugs (Heroku's builds API). `POST /apps/{app}/builds` only records a `pending`
 * build (src/platform/builds.ts, as `git push` does): the builder (src/builds, wired by the
 * daemon) fetches the source, builds it and makes the release. The API never runs anything on the host.
 *
 * A build's output_stream_url is served here, under /localspace/builds/<token>/output: plain
 * text, written as it comes, open until the build ends; a late reader gets it from the start.
 * Like log sessions, it carries an unguessable token instead of needing an API key.
 */
import type { ServerResponse } from 'node:http'
import type { FastifyInstance } from 'fastify'
import { PlatformError } from '../../core/errors.js'
import { stableId } from '../../core/ids.js'
import type { App, Build, Slug } from '../../core/types.js'
import { createBuild } from '../../platform/builds.js'
import { findApp } from '../access.js'
import type { ApiContext } from '../context.js'
import { sendList } from '../plugins/pagination.js'

const STACK = 'heroku-24'

const notFound = (resource: 'build' | 'slug') =>
  new PlatformError('not_found', 404, `Couldn't find that ${resource}.`, { resource })

const outputUrl = (ctx: ApiContext, build: Build) =>
  `${ctx.apiUrl.replace(/\/+$/, '')}/localspace/builds/${build.outputToken}/output`

export const buildJson = (b: Build, app: App, ctx: ApiContext) => ({
  id: b.id,
  app: { id: app.id },
  buildpacks: null,
  source_blob: {
    url: b.sourceUrl,
    version: b.sourceVersion,
    checksum: b.sourceChecksum,
    version_description: b.sourceVersionDescription,
  },
  output_stream_url: outputUrl(ctx, b),
  release: b.releaseId ? { id: b.releaseId } : null,
  slug: b.slugId ? { id: b.slugId } : null,
  stack: STACK,
  status: b.status,
  user: { id: b.userId, email: b.userEmail },
  created_at: b.createdAt,
  updated_at: b.updatedAt,
})

export const slugJson = (s: Slug) => ({
  id: s.id,
  process_types: s.processTypes,
  size: s.size,
  checksum: s.checksum,
  commit: s.commit,
  commit_description: s.commitDescription,
  buildpack_provided_description: s.buildpackProvidedDescription,
  stack: { id: stableId('stack', s.stack), name: s.stack },
  created_at: s.createdAt,
  updated_at: s.updatedAt,
})

interface BuildBody {
  source_blob: {
    url: string
    version?: string | null
    checksum?: string | null
    version_description?: string | null
  }
}

const optionalText = (max: number) => ({ type: ['string', 'null'], maxLength: max })

export function buildRoutes(app: FastifyInstance): void {
  const { store } = app.ctx
  /** Output streams in flight: ended when the server closes, which would otherwise wait. */
  const open = new Set<ServerResponse>()
  app.addHook('preClose', async () => {
    for (const res of open) res.end()
  })

  app.post<{ Params: { app: string }; Body: BuildBody }>(
    '/apps/:app/builds',
    {
      schema: {
        body: {
          type: 'object',
          required: ['source_blob'],
          properties: {
            source_blob: {
              type: 'object',
              required: ['url'],
              properties: {
                url: { type: 'string', minLength: 1, maxLength: 4096 },
                version: optionalText(255),
                checksum: optionalText(200),
                version_description: optionalText(1000),
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const target = findApp(store, request.account, request.params.app)
      const blob = request.body.source_blob
      const build = createBuild(app.ctx, target, request.account, {
        url: blob.url,
        version: blob.version ?? null,
        checksum: blob.checksum ?? null,
        versionDescription: blob.version_description ?? null,
      })
      return reply.code(201).send(buildJson(build, target, app.ctx))
    },
  )

  app.get<{ Params: { app: string } }>('/apps/:app/builds', async (request, reply) => {
    const target = findApp(store, request.account, request.params.app)
    // Heroku ranges builds by id or started_at; a build starts when it is created here.
    const list = store.builds
      .list(target.id)
      .map((b) => ({ ...buildJson(b, target, app.ctx), started_at: b.createdAt }))
    return sendList(request, reply, list, ['id', 'started_at']).map(
      ({ started_at: _started, ...json }) => json,
    )
  })

  app.get<{ Params: { app: string; build: string } }>(
    '/apps/:app/builds/:build',
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const build = store.builds.find(request.params.build)
      if (!build || build.appId !== target.id) throw notFound('build')
      return buildJson(build, target, app.ctx)
    },
  )

  app.get<{ Params: { app: string; slug: string } }>('/apps/:app/slugs/:slug', async (request) => {
    const target = findApp(store, request.account, request.params.app)
    const slug = store.builds.findSlug(target.id, request.params.slug)
    if (!slug) throw notFound('slug')
    return slugJson(slug)
  })

  app.get<{ Params: { token: string } }>(
    '/localspace/builds/:token/output',
    { config: { public: true } },
    async (request, reply) => {
      const build = store.builds.findByOutputToken(request.params.token)
      if (!build) throw new PlatformError('not_found', 404, 'This build output does not exist.')
      const res = reply.raw
      void reply.hijack()
      res.writeHead(200, {
        'content-type': 'text/plain; charset=utf-8',
        'cache-control': 'no-cache',
        'request-id': request.id,
      })
      res.flushHeaders()
      open.add(res)
      const stop = app.ctx.buildOutput.follow(
        build.id,
        build.status !== 'pending',
        (text) => {
          if (text !== '') res.write(text)
        },
        () => res.end(),
      )
      res.once('close', () => {
        stop()
        open.delete(res)
      })
      return reply
    },
  )
}
