/**
 * Builds of an app in a space run in the space's dyno network (its outbound addresses, its
 * DNS), but private data is not reachable at build time (Heroku's rule, docs/design.md §4):
 * a build's namespace gets an `unreachable` route for its space's data network. The build
 * runs unprivileged there (no CAP_NET_ADMIN in the namespace), so it cannot take the route
 * away; the namespace, and the route with it, goes when the build ends.
 */
import type { Exec } from '../exec/run.js'
import { netnsName } from '../network/names.js'
import type { Store } from '../store/store.js'

export async function closeDataNetwork(
  exec: Exec,
  store: Store,
  spaceId: string,
  attachmentId: string,
): Promise<void> {
  const space = store.spaces.find(spaceId)
  if (!space) throw new Error(`space ${spaceId} is gone`)
  await exec('ip', [
    ...['-n', netnsName(attachmentId), 'route', 'replace', 'unreachable', space.dataCidr],
  ])
}
