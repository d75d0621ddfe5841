/**
 * Build commands as plain host processes, run as an unprivileged user (`localspace-build`,
 * made on first use when missing). The implementation of core/builds.ts BuildExecutor until
 * builds run in the dyno sandbox.
 *
 * The uid and gid are switched by the kernel's spawn (Node's `uid`/`gid` options: libuv calls
 * setgroups(0) then setgid and setuid in the child before exec), so no root process ever runs
 * with the build's environment; a config var such as LD_PRELOAD reaches only the build user.
 * Each step runs in a process group of its own, so a timeout kills what it started too.
 */
// eslint-disable-next-line no-restricted-imports -- src/exec is the sanctioned spawner
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { constants } from 'node:os'
import type { BuildExecutor, BuildIdentity, BuildStep } from '../core/builds.js'
import { run } from './run.js'

export const BUILD_USER = 'localspace-build'

/** uid and gid of `name` from /etc/passwd, or undefined when there is no such user. */
export function lookupUser(name: string, passwd = '/etc/passwd'): BuildIdentity | undefined {
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const [user, , uid, gid] = line.split(':')
    if (user === name && uid && gid) return { uid: Number(uid), gid: Number(gid) }
  }
  return undefined
}

export interface ProcessBuildExecutorOptions {
  user?: string
}

export class ProcessBuildExecutor implements BuildExecutor {
  private identityPromise: Promise<BuildIdentity | undefined> | undefined
  private readonly user: string

  constructor(options: ProcessBuildExecutorOptions = {}) {
    this.user = options.user ?? BUILD_USER
  }

  /** Root builds as the build user; anyone else (a developer's test run) builds as itself. */
  identity(): Promise<BuildIdentity | undefined> {
    this.identityPromise ??= this.resolveIdentity()
    return this.identityPromise
  }

  private async resolveIdentity(): Promise<BuildIdentity | undefined> {
    if (process.getuid?.() !== 0) return undefined
    const existing = lookupUser(this.user)
    if (existing) return existing
    await run('useradd', [
      ...['--system', '--user-group', '--no-create-home'],
      ...['--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', this.user],
    ])
    const made = lookupUser(this.user)
    if (!made) throw new Error(`useradd did not make the user ${this.user}`)
    return made
  }

  async run(step: BuildStep): Promise<number> {
    const identity = await this.identity()
    const [cmd, ...args] = step.argv
    if (!cmd) throw new Error('empty build command')
    return new Promise((resolve) => {
      const child = spawn(cmd, args, {
        cwd: step.cwd,
        env: step.env,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: killed as a whole
        ...(identity && { uid: identity.uid, gid: identity.gid }),
      })
      const kill = () => {
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
      const timer = step.timeoutMs ? setTimeout(kill, step.timeoutMs) : undefined
      step.signal?.addEventListener('abort', kill, { once: true })
      if (step.signal?.aborted) kill()
      child.stdout.setEncoding('utf8').on('data', step.onOutput)
      child.stderr.setEncoding('utf8').on('data', step.onOutput)
      let settled = false
      const finish = (code: number) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        step.signal?.removeEventListener('abort', kill)
        resolve(code)
      }
      child.on('error', (e: NodeJS.ErrnoException) => {
        step.onOutput(e.code === 'ENOENT' ? `${cmd}: command not found\n` : `${e.message}\n`)
        finish(127)
      })
      child.on('close', (code, signal) =>
        finish(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)),
      )
    })
  }
}
