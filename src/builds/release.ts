/**
 * A finished build becomes the app's new release, in one transaction: the slug row, release
 * v N+1 (the slug and the app's current config), formation for the slug's process types, and
 * the build marked succeeded. Either all of it lands or none does.
 */
import { newId, nowIso } from '../core/ids.js'
import { DEFAULT_COMMON_SIZE, DEFAULT_SPACE_SIZE } from '../core/sizes.js'
import type { App, Build, Release, Slug } from '../core/types.js'
import type { Store } from '../store/store.js'

/** `Deploy 1a2b3c4d`: the source version when there is one, as Heroku describes deploys. */
export const deployDescription = (build: Build): string =>
  `Deploy ${(build.sourceVersion ?? build.id).slice(0, 8)}`

/**
 * Formation follows the process types, as on Heroku: a type seen for the first time is added
 * (`web` with one dyno, others with none); a known type keeps its quantity and size and takes
 * the new command.
 */
function updateFormation(store: Store, app: App, slug: Slug, now: string): void {
  const existing = new Map(store.releases.formation(app.id).map((f) => [f.type, f]))
  for (const [type, command] of Object.entries(slug.processTypes)) {
    const current = existing.get(type)
    store.releases.upsertFormation({
      id: current?.id ?? newId(),
      appId: app.id,
      type,
      command,
      quantity: current?.quantity ?? (type === 'web' ? 1 : 0),
      size: current?.size ?? (app.spaceId ? DEFAULT_SPACE_SIZE : DEFAULT_COMMON_SIZE),
      createdAt: current?.createdAt ?? now,
      updatedAt: now,
    })
  }
}

export function releaseBuild(store: Store, build: Build, slug: Slug): Release {
  return store.transaction(() => {
    const app = store.apps.find(build.appId)
    if (!app) throw new Error('The app was deleted during the build.')
    const now = nowIso()
    store.builds.insertSlug(slug)
    const current = store.releases.current(app.id)
    const release = {
      id: newId(),
      appId: app.id,
      version: (current?.version ?? 0) + 1,
      description: deployDescription(build),
      config: current?.config ?? {},
      slugId: slug.id,
      userId: build.userId,
      status: 'succeeded' as const,
      createdAt: now,
      updatedAt: now,
    }
    store.releases.insert(release)
    store.apps.setReleasedAt(app.id, now)
    updateFormation(store, app, slug, now)
    store.builds.finish(
      build.id,
      { status: 'succeeded', slugId: slug.id, releaseId: release.id },
      now,
    )
    return store.releases.find(app.id, release.id)!
  })
}
