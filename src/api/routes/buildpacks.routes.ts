/**
 * `heroku buildpacks` (schema buildpack-installation): the buildpacks an app chose, which pick
 * the detections its builds use (core/buildpacks.ts, builds/detect.ts). localspace runs no
 * buildpacks, so only those it has an equivalent of are accepted; others get a 422 naming them.
 *
 * `heroku buildpacks:set heroku/nodejs` first asks the buildpack registry for the buildpack's
 * URL. `GET /buildpacks/{name}` answers as the registry does for the buildpacks known here, so
 * pointing the CLI at the daemon (HEROKU_BUILDPACK_REGISTRY_URL=$HEROKU_HOST) makes the
 * command work on a machine without internet access.
 */
import type { FastifyInstance } from 'fastify'
import {
  knownBuildpack,
  unknownBuildpackMessage,
  type KnownBuildpack,
} from '../../core/buildpacks.js'
import { errors } from '../../core/errors.js'
import { stableId } from '../../core/ids.js'
import { setBuildpacks } from '../../platform/builds.js'
import { findApp } from '../access.js'
import { buildpackInstallationJson } from '../serializers.js'

const updateBody = {
  type: 'object',
  required: ['updates'],
  properties: {
    updates: {
      type: 'array',
      maxItems: 100,
      items: {
        type: 'object',
        required: ['buildpack'],
        properties: { buildpack: { type: 'string', maxLength: 2048 } },
      },
    },
  },
} as const

export function buildpackRoutes(app: FastifyInstance): void {
  const { store } = app.ctx

  const installations = (appId: string) =>
    store.apps.buildpacks(appId).flatMap((url, i) => {
      const known = knownBuildpack(url)
      return known ? [buildpackInstallationJson(url, i, known)] : []
    })

  app.get<{ Params: { app: string } }>('/apps/:app/buildpack-installations', async (request) =>
    installations(findApp(store, request.account, request.params.app).id),
  )

  // Replaces the whole list, as Heroku does; [] clears it (detection as usual).
  app.put<{ Params: { app: string }; Body: { updates: Array<{ buildpack: string }> } }>(
    '/apps/:app/buildpack-installations',
    { schema: { body: updateBody } },
    async (request) => {
      const target = findApp(store, request.account, request.params.app)
      const urls = request.body.updates.map((u) => u.buildpack.trim())
      setBuildpacks(app.ctx, target, urls)
      return installations(target.id)
    },
  )

  // The buildpack registry's answer for a known buildpack (its `blob_url` is what the CLI then
  // sets); public, as the registry is, and it tells only the fixed catalogue above.
  app.get<{ Params: { name: string } }>(
    '/buildpacks/:name',
    { config: { public: true } },
    async (request) => {
      const name = request.params.name
      const known: KnownBuildpack | undefined = name.includes('/')
        ? knownBuildpack(name)
        : undefined
      if (!known) throw errors.notFound('route', unknownBuildpackMessage(name))
      const [namespace, short] = known.name.split('/')
      return {
        id: stableId('buildpack', known.name),
        namespace,
        name: short,
        blob_url: known.name,
        description: `${known.kind} detection built into localspace`,
      }
    },
  )
}
