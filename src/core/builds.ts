/**
 * What the API, the builder (src/builds) and the runtime share about builds, as interfaces
 * and pure helpers: the API may not import src/builds, and src/builds may not import the API,
 * so the daemon hands implementations of these to both.
 */
import { join } from 'node:path'

/** Where slugs live: `<dataDir>/slugs`. */
export const SLUGS_DIR = 'slugs'

/**
 * The directory of one slug: the built app, exactly what a dyno sees at `/app` (the runtime
 * mounts it read-only as the overlay's lower layer). Its process types are in the store
 * (`store.builds.findSlug(appId, slugId).processTypes`), not in a file inside it, so that
 * nothing of the platform shows up in the app's own directory.
 */
export const slugDir = (dataDir: string, slugId: string): string => join(dataDir, SLUGS_DIR, slugId)

/**
 * Uploaded source tarballs (`POST /sources` gives a put_url and a get_url). The token in
 * those URLs is the only credential, so it is long and random, and it expires.
 */
export interface SourceStore {
  /** Largest upload accepted, in bytes; a larger one answers 413. */
  readonly maxBytes: number
  /** Makes an empty upload slot and returns its token. */
  create(): string
  /** Whether the token names a live (not expired) slot, uploaded or not. */
  exists(token: string): boolean
  /**
   * Stores the body under the token, replacing an earlier upload. Rejects with
   * SourceTooLargeError past maxBytes (nothing is kept then) and with SourceNotFoundError for
   * an unknown or expired token.
   */
  put(token: string, body: AsyncIterable<Uint8Array>): Promise<number>
  /** The uploaded file's path, or undefined when nothing was uploaded or the token expired. */
  path(token: string): string | undefined
}

export class SourceTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`Source is larger than ${maxBytes} bytes.`)
    this.name = 'SourceTooLargeError'
  }
}

export class SourceNotFoundError extends Error {
  constructor() {
    super('This source URL does not exist or expired.')
    this.name = 'SourceNotFoundError'
  }
}

/** The path of a source blob URL (`<apiUrl>/localspace/blobs/<token>`); the token is last. */
export const SOURCE_BLOB_PATH = /\/localspace\/blobs\/([A-Za-z0-9_-]{20,100})$/

/** A build's output as the API streams it: everything so far, then each chunk, then the end. */
export interface BuildOutputView {
  /**
   * Calls `onChunk` with everything written so far (one call, maybe empty), then with each later
   * chunk, and `onEnd` once the build's output is complete (at once when it already is).
   * `finished` says the store already has the build as done, for output from before a restart.
   * Returns the unsubscribe function.
   */
  follow(
    buildId: string,
    finished: boolean,
    onChunk: (text: string) => void,
    onEnd: () => void,
  ): () => void
}

/** One command of a build, run as the build's unprivileged identity. */
export interface BuildStep {
  argv: readonly string[]
  /** Where it starts, as the build's commands see the file system (BuildSandbox.appDir). */
  cwd: string
  /** The complete environment: nothing of the daemon's leaks in. */
  env: Record<string, string>
  /** stdout and stderr, interleaved as they arrive. */
  onOutput: (text: string) => void
  /** Killed (everything it started) when it fires or after timeoutMs. */
  signal?: AbortSignal
  timeoutMs?: number
}

/** The uid and gid that own a build's work directory and run its steps. */
export interface BuildIdentity {
  uid: number
  gid: number
}

/** The build a sandbox is opened for, and where its files are on the host. */
export interface BuildTarget {
  buildId: string
  appId: string
  /** The app's space: its builds leave through the space's outbound addresses. */
  spaceId: string | null
  /** Host directories: the unpacked app (becomes the slug) and the build's HOME. */
  appDir: string
  homeDir: string
}

/** Where one build's commands run: opened before its first step, closed after its last. */
export interface BuildSandbox {
  /** The app directory and HOME as the build's commands see them. */
  readonly appDir: string
  readonly homeDir: string
  /** Runs one step to its end; resolves the exit code (128+N when killed by signal N). */
  run(step: BuildStep): Promise<number>
  /** Releases what open() took (network, cgroup); safe after a failed step. */
  close(): Promise<void>
}

/** Where build commands run: the dyno sandbox, in the app's space network (src/runtime). */
export interface BuildExecutor {
  /** Who owns the work directory and runs the steps: the app's own uid, as its dynos. */
  identity(appId: string): Promise<BuildIdentity>
  open(target: BuildTarget): Promise<BuildSandbox>
  /** Releases what a sandbox of this build held when a daemon died during it. */
  recover(buildId: string): Promise<void>
}

/** For servers built without a builder: no output is ever written. */
export const noBuildOutput = (): BuildOutputView => ({
  follow: (_buildId, finished, onChunk, onEnd) => {
    onChunk('')
    if (finished) onEnd()
    return () => undefined
  },
})
