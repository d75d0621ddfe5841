/**
 * Builds: `POST /apps/{app}/builds` and `git push` both record a `pending` build here, the same
 * way, and emit `build.created`; the builder (src/builds) picks it up, and ends it with
 * releases.ts releaseBuild or with failBuild below. Also the app's buildpacks, which its
 * builds detect with.
 */
import { randomBytes } from 'node:crypto'
import { knownBuildpack, MAX_BUILDPACKS, unknownBuildpackMessage } from '../core/buildpacks.js'
import { errors } from '../core/errors.js'
import { newId, nowIso } from '../core/ids.js'
import type { App, Build } from '../core/types.js'
import type { Actor, PlatformContext } from './context.js'

/** Where the build's gzipped tarball is fetched from, and what the client says it is. */
export interface BuildSource {
  url: string
  version?: string | null
  /** `SHA256:<64 hex digits>`; the fetched tarball must match it. */
  checksum?: string | null
  versionDescription?: string | null
}

/** Checks the source now, so a typo is a 422 and not a failed build. */
function checkSource(source: BuildSource): void {
  let url: URL | undefined
  try {
    url = new URL(source.url)
  } catch {
    // reported below
  }
  if (url?.protocol !== 'http:' && url?.protocol !== 'https:') {
    throw errors.invalidParams('source_blob.url must be an http or https URL.')
  }
  if (source.checksum && !/^SHA256:[0-9a-f]{64}$/i.test(source.checksum)) {
    throw errors.invalidParams('source_blob.checksum must be SHA256:<64 hex digits>.')
  }
}

/** Records a pending build of `source` for the app, then emits `build.created`. */
export function createBuild(
  { store, events }: PlatformContext,
  app: Pick<App, 'id'>,
  actor: Actor,
  source: BuildSource,
): Build {
  checkSource(source)
  const now = nowIso()
  const id = newId()
  store.builds.insert({
    id,
    appId: app.id,
    status: 'pending',
    sourceUrl: source.url,
    sourceVersion: source.version ?? null,
    sourceChecksum: source.checksum ?? null,
    sourceVersionDescription: source.versionDescription ?? null,
    userId: actor.id,
    // Unguessable: the output stream URL carries it instead of an API key.
    outputToken: randomBytes(32).toString('base64url'),
    slugId: null,
    releaseId: null,
    createdAt: now,
    updatedAt: now,
  })
  events.emit('build.created', id)
  return store.builds.find(id)!
}

/** A build that made no release ends `failed`; nothing follows it on the host. */
export function failBuild({ store }: PlatformContext, build: Build): void {
  store.builds.finish(build.id, { status: 'failed' }, nowIso())
}

/**
 * `heroku buildpacks:set`: the buildpacks the app's next builds detect with, replacing the list
 * ([] clears it). Only buildpacks localspace has an equivalent of, each once; then
 * `app.changed`.
 */
export function setBuildpacks(
  { store, events }: PlatformContext,
  app: App,
  urls: readonly string[],
): void {
  if (urls.length > MAX_BUILDPACKS) {
    throw errors.invalidParams(`An app can have at most ${MAX_BUILDPACKS} buildpacks.`)
  }
  const kinds = new Set<string>()
  for (const url of urls) {
    const known = knownBuildpack(url)
    if (!known) throw errors.invalidParams(unknownBuildpackMessage(url))
    if (kinds.has(known.name)) {
      throw errors.invalidParams(`${known.name} is listed twice: list each buildpack once.`)
    }
    kinds.add(known.name)
  }
  store.apps.setBuildpacks(app.id, urls)
  events.emit('app.changed', app.id)
}
