/**
 * The builder: turns `pending` builds into slugs and releases (docs/design.md §5). The API and
 * git push record a pending build (src/platform/builds.ts), which emits `build.created`; the
 * builder, constructed by the daemon, runs it:
 *
 *   fetch the tarball → unpack (as the app's uid) → detect → run the build commands in the
 *   BuildExecutor's sandbox (the app's space network) → copy the app directory to
 *   <dataDir>/slugs/<slug-id> → release v N+1 (src/platform/releases.ts releaseBuild).
 *
 * Every step writes to the build's output (what output_stream_url serves). A failed build
 * says why in its output, is marked `failed` and makes no release: the app keeps running what
 * it ran. Builds of one app run one after another, so releases keep the order of the builds.
 */
import { chmod, chown, cp, lstat, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { knownBuildpack } from '../core/buildpacks.js'
import { slugDir, type BuildExecutor, type SourceStore } from '../core/builds.js'
import type { EventBus } from '../core/events.js'
import { newId, nowIso } from '../core/ids.js'
import type { LogView } from '../core/log-view.js'
import type { Build, ConfigVars, Slug } from '../core/types.js'
import type { Store } from '../store/store.js'
import { detect, DetectError, type BuildPlan } from './detect.js'
import { fetchSource } from './fetch-source.js'
import { AddressPolicy } from '../core/address-policy.js'
import type { BuildOutputs, BuildOutputWriter } from './output.js'
import { ProcfileError } from './procfile.js'
import { DEFAULT_MAX_SOURCE_BYTES } from './sources.js'
import { SourceError, unpackSource } from './unpack.js'
import { failBuild } from '../platform/builds.js'
import { currentConfig, releaseBuild } from '../platform/releases.js'

/** Heroku's limit for one build. */
export const BUILD_TIMEOUT_MS = 15 * 60_000
export const STACK = 'heroku-24'
/** Builds' work directories: `<dataDir>/build-work`. */
export const BUILD_WORK_DIR = 'build-work'
/** The host's programs, for build commands; the app's own bin/ comes first. */
export const HOST_PATH = '/usr/local/bin:/usr/bin:/bin'

export interface BuilderOptions {
  store: Store
  events: EventBus
  executor: BuildExecutor
  output: BuildOutputs
  /** Slugs go to `<dataDir>/slugs/<slug-id>` (core/builds.ts slugDir). */
  dataDir: string
  /** Uploaded sources, read from disk instead of over HTTP. */
  sources?: SourceStore
  /** Where other source URLs may be fetched from; default: public addresses only. */
  addressPolicy?: AddressPolicy
  /**
   * Where work directories are made (default `<dataDir>/build-work`, emptied at start: what a
   * build killed with its daemon left). The apps' uids must be able to pass through it.
   */
  workRoot?: string
  maxSourceBytes?: number
  timeoutMs?: number
  /** When given, a release is logged as the API logs one (`heroku[api]: Deploy … by …`). */
  logs?: LogView
  log?: (line: string) => void
}

const PUBLIC_ONLY = new AddressPolicy()

/** A failure whose message is the whole story (no stack needed in the output). */
class BuildFailure extends Error {}

const EXPECTED = [BuildFailure, SourceError, DetectError, ProcfileError]

/** A build stopped (timeout, daemon shutdown) ends with the reason it was stopped for. */
function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return
  throw signal.reason instanceof Error ? signal.reason : new BuildFailure('Build stopped.')
}

/** Heroku's look: `-----> step`, command output indented by seven spaces. */
function indenter(write: (text: string) => void): (text: string) => void {
  let atLineStart = true
  return (text) => {
    let out = ''
    for (const ch of text) {
      if (atLineStart && ch !== '\n') out += '       '
      out += ch
      atLineStart = ch === '\n'
    }
    write(out)
  }
}

async function diskUsage(path: string): Promise<number> {
  const st = await lstat(path)
  if (!st.isDirectory()) return st.size
  let total = st.size
  for (const name of await readdir(path)) total += await diskUsage(join(path, name))
  return total
}

/**
 * The build's environment: the app's config vars (buildpacks get them too), then ours. Paths
 * are the sandbox's (BuildSandbox.appDir, .homeDir).
 */
function buildEnv(config: ConfigVars, appDir: string, home: string, build: Build) {
  return {
    ...config,
    PATH: `${appDir}/bin:${appDir}/node_modules/.bin:${HOST_PATH}`,
    HOME: home,
    LANG: 'C.UTF-8',
    CI: 'true',
    STACK,
    SOURCE_VERSION: build.sourceVersion ?? '',
    npm_config_cache: join(home, '.npm'),
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
    PIP_DISABLE_PIP_VERSION_CHECK: '1',
  }
}

export class Builder {
  /** The tail of each app's queue: a build starts when the app's previous one ended. */
  private readonly queues = new Map<string, Promise<void>>()
  private readonly running = new Set<AbortController>()
  /** Slugs being written: on disk before their rows are (leftovers.ts must not take them). */
  readonly creatingSlugs = new Set<string>()
  private unsubscribe: (() => void) | undefined
  private stopped = false

  constructor(private readonly options: BuilderOptions) {}

  private get workRoot(): string {
    return this.options.workRoot ?? join(this.options.dataDir, BUILD_WORK_DIR)
  }

  /** Fails builds a previous daemon left unfinished, then takes new ones. */
  async start(): Promise<void> {
    await rm(this.workRoot, { recursive: true, force: true })
    await mkdir(this.workRoot, { recursive: true, mode: 0o711 })
    for (const build of this.options.store.builds.pending()) {
      await this.options.executor.recover(build.id)
      const out = this.options.output.begin(build.id)
      out.write(' !     Build interrupted: the daemon restarted. Push or deploy again.\n')
      failBuild(this.options, build)
      await out.end()
    }
    this.unsubscribe = this.options.events.on('build.created', (id) => this.enqueue(id))
  }

  /** Stops taking builds, kills the running ones (they end `failed`) and waits for them. */
  async stop(): Promise<void> {
    this.stopped = true
    this.unsubscribe?.()
    for (const c of this.running) c.abort()
    await this.idle()
  }

  /** Resolves once every queued build has ended. */
  async idle(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()])
  }

  private enqueue(buildId: string): void {
    const build = this.options.store.builds.find(buildId)
    if (!build || this.stopped) return
    const previous = this.queues.get(build.appId) ?? Promise.resolve()
    const next = previous
      .then(() => this.run(buildId))
      .catch((e: unknown) => this.options.log?.(`build ${buildId}: ${String(e)}`))
      .finally(() => {
        if (this.queues.get(build.appId) === next) this.queues.delete(build.appId)
      })
    this.queues.set(build.appId, next)
  }

  private async run(buildId: string): Promise<void> {
    const { store } = this.options
    const build = store.builds.find(buildId)
    if (!build || build.status !== 'pending') return
    const out = this.options.output.begin(build.id)
    const controller = new AbortController()
    const timer = setTimeout(
      () => controller.abort(new BuildFailure('The build took too long and was stopped.')),
      this.options.timeoutMs ?? BUILD_TIMEOUT_MS,
    )
    this.running.add(controller)
    const work = await mkdtemp(join(this.workRoot, 'build-'))
    let slugPath: string | undefined
    let slugId: string | undefined
    try {
      const slug = await this.build(build, work, out, controller.signal)
      slugId = slug.id
      slugPath = slugDir(this.options.dataDir, slug.id)
      const release = releaseBuild(this.options, build, slug)
      out.write(`-----> Released v${release.version}\n`)
    } catch (e) {
      const expected = EXPECTED.some((kind) => e instanceof kind)
      const message = e instanceof Error ? e.message : String(e)
      if (!expected) this.options.log?.(`build ${build.id} failed: ${message}`)
      out.write(` !     ${expected ? message : `Internal error: ${message}`}\n`)
      out.write(' !     Build failed\n')
      failBuild(this.options, build)
      if (slugPath) await rm(slugPath, { recursive: true, force: true })
    } finally {
      clearTimeout(timer)
      this.running.delete(controller)
      if (slugId) this.creatingSlugs.delete(slugId)
      await rm(work, { recursive: true, force: true })
      await out.end()
    }
  }

  /** Everything up to a slug on disk; the caller makes the release. */
  private async build(
    build: Build,
    work: string,
    out: BuildOutputWriter,
    signal: AbortSignal,
  ): Promise<Slug> {
    const { executor } = this.options
    const say = (line: string) => out.write(`-----> ${line}\n`)

    say('Fetching source')
    const tarball = join(work, 'source.tgz')
    await fetchSource(build.sourceUrl, build.sourceChecksum, tarball, {
      sources: this.options.sources,
      policy: this.options.addressPolicy ?? PUBLIC_ONLY,
      maxBytes: this.options.maxSourceBytes ?? DEFAULT_MAX_SOURCE_BYTES,
      signal,
    })

    // The work dir stays root's (the tarball is in it); the app's uid may pass through it to
    // its own app and home directories.
    const identity = await executor.identity(build.appId)
    const appDir = join(work, 'app')
    const home = join(work, 'home')
    await mkdir(appDir)
    await mkdir(home)
    await chmod(work, 0o711)
    for (const dir of [appDir, home]) await chown(dir, identity.uid, identity.gid)
    const root = await unpackSource(tarball, appDir, identity)
    await rm(tarball)
    throwIfAborted(signal)

    // The app's buildpacks, when it chose any, say which detections apply (core/buildpacks.ts).
    const chosen = this.options.store.apps
      .buildpacks(build.appId)
      .map((url) => knownBuildpack(url)?.kind)
      .filter((kind) => kind !== undefined)
    const plan = await detect(root, HOST_PATH, chosen)
    say(`${plan.name} app detected`)
    for (const w of plan.warnings) out.write(` !     ${w}\n`)
    if (plan.steps.length > 0) await this.runSteps(build, plan, { root, home }, out, signal)
    return this.makeSlug(build, root, plan, out)
  }

  /** The plan's commands, one after another, in one sandbox for the whole build. */
  private async runSteps(
    build: Build,
    plan: BuildPlan,
    dirs: { root: string; home: string },
    out: BuildOutputWriter,
    signal: AbortSignal,
  ): Promise<void> {
    const { store, executor } = this.options
    const sandbox = await executor
      .open({
        buildId: build.id,
        appId: build.appId,
        spaceId: store.apps.find(build.appId)?.spaceId ?? null,
        appDir: dirs.root,
        homeDir: dirs.home,
      })
      .catch((e: unknown) => {
        throw new BuildFailure(
          `The build sandbox could not be made: ${e instanceof Error ? e.message : String(e)}`,
        )
      })
    try {
      const config = currentConfig(store, build.appId)
      const env = buildEnv(config, sandbox.appDir, sandbox.homeDir, build)
      for (const step of plan.steps) {
        out.write(`-----> ${step.label}\n`)
        const code = await sandbox.run({
          argv: step.argv,
          cwd: sandbox.appDir,
          env: { ...env, ...step.env },
          onOutput: indenter((text) => out.write(text)),
          signal,
        })
        throwIfAborted(signal)
        if (code !== 0) {
          throw new BuildFailure(`${step.argv.slice(0, 3).join(' ')} failed (exit code ${code}).`)
        }
      }
    } finally {
      await sandbox.close()
    }
  }

  /** Copies the built app to its slug directory (the daemon's, not the app's) and describes it. */
  private async makeSlug(
    build: Build,
    root: string,
    plan: BuildPlan,
    out: BuildOutputWriter,
  ): Promise<Slug> {
    const say = (line: string) => out.write(`-----> ${line}\n`)

    say('Discovering process types')
    const types = Object.keys(plan.processTypes)
    out.write(`       Process types -> ${types.length ? types.join(', ') : '(none)'}\n`)

    say('Creating slug')
    const slugId = newId()
    this.creatingSlugs.add(slugId) // run() lets go once the slug's row exists (or it is gone)
    const dest = slugDir(this.options.dataDir, slugId)
    await mkdir(join(this.options.dataDir, 'slugs'), { recursive: true, mode: 0o711 })
    let size: number
    try {
      // A copy made by the daemon: the slug belongs to root, not to the app's uid.
      await cp(root, dest, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true })
      await chmod(dest, 0o755)
      size = await diskUsage(dest)
    } catch (e) {
      await rm(dest, { recursive: true, force: true })
      this.creatingSlugs.delete(slugId)
      throw e
    }
    out.write(`       Done: ${(size / 1024 / 1024).toFixed(1)} MB\n`)
    const now = nowIso()
    return {
      id: slugId,
      appId: build.appId,
      processTypes: plan.processTypes,
      size,
      checksum: null,
      commit: build.sourceVersion,
      commitDescription: build.sourceVersionDescription,
      buildpackProvidedDescription: plan.name,
      stack: STACK,
      createdAt: now,
      updatedAt: now,
    }
  }
}
