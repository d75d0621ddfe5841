/**
 * Dyno sandbox primitives (docs/design.md §5): start, watch and stop one dyno process. The runtime
 * that turns formation into dynos builds on these.
 */
export { BUILD_MEMORY_MB, SandboxBuildExecutor } from './build-sandbox.js'
export { DEFAULT_CGROUP_ROOT, type MemoryStats } from './cgroup.js'
export {
  DEFAULT_GRACE_MS,
  defaultHost,
  DynoExistsError,
  DynoProcess,
  type DynoExit,
  type DynoMeta,
  type ListenResult,
} from './dyno-process.js'
export { HOST_ROOT_ENTRIES, readHostRoot } from './host-root.js'
export { hasListener } from './listening.js'
export {
  DEFAULT_TOOLS,
  dynoEnv,
  dynoPaths,
  sandboxCommand,
  SandboxError,
  type DynoPaths,
  type DynoSpec,
  type RootEntry,
  type SandboxHost,
} from './sandbox.js'
