/**
 * What a deleted app leaves on disk goes with it: its git repository, its slugs and its builds'
 * output. They are found by comparing the directories with the store, which is the truth, so a
 * daemon that was down when an app was deleted removes them at its next start.
 */
import { readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { SLUGS_DIR } from '../core/builds.js'
import { REPOS_DIR } from '../core/git.js'
import type { Store } from '../store/store.js'
import { BUILD_OUTPUT_DIR } from './output.js'

const entries = (dir: string) => readdir(dir).catch(() => [] as string[])

/**
 * Removes what no app, slug or build in the store owns; `creating` names slugs a running build
 * is writing (their rows come once they are complete). Returns the paths it removed.
 */
export async function removeLeftovers(
  store: Store,
  dataDir: string,
  creating: ReadonlySet<string>,
): Promise<string[]> {
  const removed: string[] = []
  const remove = async (path: string) => {
    await rm(path, { recursive: true, force: true })
    removed.push(path)
  }
  const repos = join(dataDir, REPOS_DIR)
  for (const name of await entries(repos)) {
    const appId = /^(.+)\.git$/.exec(name)?.[1]
    if (appId && !store.apps.find(appId)) await remove(join(repos, name))
  }
  const slugs = join(dataDir, SLUGS_DIR)
  for (const slugId of await entries(slugs)) {
    if (!creating.has(slugId) && !store.builds.hasSlug(slugId)) await remove(join(slugs, slugId))
  }
  const outputs = join(dataDir, BUILD_OUTPUT_DIR)
  for (const name of await entries(outputs)) {
    const buildId = /^(.+)\.log$/.exec(name)?.[1]
    if (buildId && !store.builds.find(buildId)) await remove(join(outputs, name))
  }
  return removed
}
