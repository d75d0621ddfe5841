/** Deploy from source (docs/design.md §5): source uploads, builds, slugs. The daemon wires these. */
export { Builder, BUILD_TIMEOUT_MS, type BuilderOptions } from './builder.js'
export { BuildOutputs, MAX_OUTPUT_BYTES } from './output.js'
export { removeLeftovers } from './leftovers.js'
export { DEFAULT_MAX_SOURCE_BYTES, FileSourceStore, SOURCE_TTL_MS } from './sources.js'

import { join } from 'node:path'
import type { AddressPolicy } from '../core/address-policy.js'
import type { BuildExecutor } from '../core/builds.js'
import type { EventBus } from '../core/events.js'
import type { LogView } from '../core/log-view.js'
import type { Store } from '../store/store.js'
import { Builder } from './builder.js'
import { BUILD_OUTPUT_DIR, BuildOutputs } from './output.js'
import { FileSourceStore } from './sources.js'

/** What the daemon wires: the source store and build output go to the API too. */
export interface Builds {
  sources: FileSourceStore
  output: BuildOutputs
  builder: Builder
}

/**
 * The daemon's builds: uploads in <dataDir>/blobs, output in <dataDir>/build-output, slugs in
 * <dataDir>/slugs, commands run by `executor` (the dyno sandbox, src/runtime/build-sandbox.ts).
 * Call `builder.start()` before the API listens and `builder.stop()` on shutdown.
 */
export function createBuilds(deps: {
  store: Store
  events: EventBus
  dataDir: string
  executor: BuildExecutor
  /** Where source URLs may be fetched from (core/address-policy.ts). */
  addressPolicy?: AddressPolicy
  logs?: LogView
  log?: (line: string) => void
}): Builds {
  const sources = new FileSourceStore(join(deps.dataDir, 'blobs'))
  const output = new BuildOutputs(join(deps.dataDir, BUILD_OUTPUT_DIR))
  const builder = new Builder({
    store: deps.store,
    events: deps.events,
    executor: deps.executor,
    output,
    sources,
    dataDir: deps.dataDir,
    ...(deps.addressPolicy && { addressPolicy: deps.addressPolicy }),
    ...(deps.logs && { logs: deps.logs }),
    ...(deps.log && { log: deps.log }),
  })
  return { sources, output, builder }
}
