/**
 * Builds run as dynos do (issue: "builds run sandboxed as an unprivileged user, reach package
 * registries through the space's outbound IPs"): each build gets, for its whole life,
 *
 * - a network namespace behind the firewall (an attachment like a dyno's): on its space's
 *   bridge, so whatever it downloads leaves with the space's outbound addresses; for an app
 *   outside a space, on the common build network, which reaches the internet (and DNS on its
 *   gateway) and nothing else: not the host, its API or router, a space, another build or a
 *   private range (issue 15, B1). No build runs on the host's network;
 * - a memory cgroup (BUILD_MEMORY_MB), so one build cannot starve the host;
 * - for each step, the bwrap sandbox of a dyno as the app's own uid: the host's programs
 *   read-only, the app directory at /app (so paths written during the build, such as a
 *   virtualenv's, are the ones the slug runs at), a HOME of its own, nothing else writable.
 */
import { shortId } from '../core/ids.js'
import type {
  BuildExecutor,
  BuildIdentity,
  BuildSandbox,
  BuildStep,
  BuildTarget,
} from '../core/builds.js'
import { runToEnd } from '../exec/build-process.js'
import { netnsName } from '../network/names.js'
import { createCgroup, removeCgroup } from './cgroup.js'
import {
  BUILD_APP_DIR,
  BUILD_HOME_DIR,
  buildCommand,
  cgroupDir,
  envArgsFile,
  LAUNCH_ENV,
  type SandboxHost,
} from './sandbox.js'

/** Memory of one build (Heroku's build dynos are large: the biggest installs need it). */
export const BUILD_MEMORY_MB = 2560

export interface SandboxBuildExecutorOptions {
  host: SandboxHost
  /** The app's unprivileged uid (store: app_uids); its gid is the same number. */
  uidFor: (appId: string) => number
  /**
   * Gives a build its own namespace (the network agent): on its space's bridge, or on the
   * common build network when `spaceId` is null. The daemon always gives one; without it
   * builds use the host's network (in-process tests that make no host networks).
   */
  network?: {
    attach(spaceId: string | null, owner: string): Promise<{ id: string }>
    detach(attachmentId: string): Promise<void>
    /** Every attachment `owner` holds (a build's, left by a daemon that died during it). */
    ownedBy(owner: string): Array<{ id: string }>
  }
  memoryMb?: number
}

/** Names the build's cgroup and its sandbox's hostname. */
const sandboxId = (buildId: string) => `build-${shortId(buildId)}`

export class SandboxBuildExecutor implements BuildExecutor {
  constructor(private readonly options: SandboxBuildExecutorOptions) {}

  identity(appId: string): Promise<BuildIdentity> {
    const uid = this.options.uidFor(appId)
    return Promise.resolve({ uid, gid: uid })
  }

  async recover(buildId: string): Promise<void> {
    const { host, network } = this.options
    for (const a of network?.ownedBy(buildId) ?? []) await network!.detach(a.id)
    await removeCgroup(cgroupDir(host, sandboxId(buildId)))
  }

  async open(target: BuildTarget): Promise<BuildSandbox> {
    const { host, network } = this.options
    const { uid, gid } = await this.identity(target.appId)
    const id = sandboxId(target.buildId)
    const cgroup = cgroupDir(host, id)
    await createCgroup(cgroup, (this.options.memoryMb ?? BUILD_MEMORY_MB) * 1024 * 1024)
    let attachment: { id: string } | undefined
    try {
      if (network) attachment = await network.attach(target.spaceId, target.buildId)
    } catch (e) {
      await removeCgroup(cgroup).catch(() => undefined)
      throw e
    }
    const netns = attachment && netnsName(attachment.id)
    return {
      appDir: BUILD_APP_DIR,
      homeDir: BUILD_HOME_DIR,
      run: (step: BuildStep) =>
        runToEnd(
          buildCommand(
            {
              id,
              uid,
              gid,
              netns,
              appDir: target.appDir,
              homeDir: target.homeDir,
              cwd: step.cwd,
              argv: step.argv,
            },
            host,
          ),
          {
            env: { ...LAUNCH_ENV },
            input3: envArgsFile(step.env),
            onOutput: step.onOutput,
            ...(step.signal && { signal: step.signal }),
            ...(step.timeoutMs !== undefined && { timeoutMs: step.timeoutMs }),
          },
        ),
      close: async () => {
        // A step's processes die with its sandbox (bwrap's pid namespace), so the cgroup is
        // empty by now; the namespace goes only after them.
        await removeCgroup(cgroup)
        if (attachment && network) await network.detach(attachment.id)
      },
    }
  }
}
