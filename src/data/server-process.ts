/**
 * One data server's process: started detached (src/exec/detached) so it outlives the daemon
 * and is adopted by the next one, in its memory cgroup, its network namespace and as the data
 * user. The chain, every step `exec`ing the next so the server is the wrapper's only child:
 *
 *   sh (joins the cgroup) → ip netns exec <ns> → setpriv (data user, no capabilities) → server
 *
 * The wrapper (root, outside the cgroup) records the exit status; everything the server
 * forks (Postgres's backends) stays in the cgroup, so `killMembers` ends all of it.
 */
import { mkdir, readFile, rm } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  checkDetached,
  isAlive,
  readRecord,
  startDetached,
  waitForExit,
  type DetachedRecord,
} from '../exec/detached.js'
import { createCgroup, DEFAULT_CGROUP_ROOT, members, removeCgroup } from '../runtime/cgroup.js'
import { LAUNCH_ENV } from '../runtime/sandbox.js'
import type { DataLayout } from './layout.js'
import type { DataUser } from './system-user.js'

// `$1` is cgroup.procs; the rest is the command (as the dyno sandbox's first step).
const JOIN_CGROUP = 'echo $$ >"$1" && shift && exec "$@"'

export interface ServerLaunch {
  /** Names the cgroup and the process (`localspace-data:<name>` in ps). */
  name: string
  netns: string
  memoryMb: number
  user: DataUser
  argv: readonly string[]
  layout: DataLayout
  cgroupRoot?: string
}

export const cgroupOf = (name: string, root = DEFAULT_CGROUP_ROOT): string => `${root}/${name}`

/**
 * Starts the server. Leftovers of an earlier run in its cgroup (Postgres backends whose
 * postmaster was killed) are killed first: they hold the old shared memory, and a new
 * postmaster refuses to start beside them.
 */
export async function launchServer(launch: ServerLaunch): Promise<DetachedRecord> {
  const cgroup = cgroupOf(launch.name, launch.cgroupRoot)
  await killMembers(cgroup)
  await createCgroup(cgroup, launch.memoryMb * 1024 * 1024)
  await mkdir(launch.layout.statusDir, { recursive: true, mode: 0o700 })
  // The last run's exit status would read as this run's.
  await rm(launch.layout.status, { force: true })
  const { user, layout } = launch
  return startDetached(
    '/bin/sh',
    [
      ...['-c', JOIN_CGROUP, 'localspace-join', `${cgroup}/cgroup.procs`],
      ...['ip', 'netns', 'exec', launch.netns],
      ...['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups'],
      ...['--no-new-privs', '--inh-caps=-all', '--bounding-set=-all', '--'],
      ...launch.argv,
    ],
    {
      // HOME: Redis and libpq look for dot files there; the data user has none.
      env: { ...LAUNCH_ENV, HOME: layout.root, LANG: 'C.UTF-8' },
      cwd: layout.root,
      stdoutFile: layout.stdout,
      stderrFile: layout.stderr,
      statusFile: layout.status,
      recordFile: layout.record,
      name: `localspace-data:${launch.name}`,
    },
  )
}

/** The record of a server started earlier, when its process still runs; else undefined. */
export async function adoptServer(layout: DataLayout): Promise<DetachedRecord | undefined> {
  const record = await readRecord(layout.record).catch(() => undefined)
  if (!record) return undefined
  return (await checkDetached(record)).state === 'running' ? record : undefined
}

/** The server's own pid: the wrapper's only child (every step of the chain `exec`s). */
export async function serverPid(record: DetachedRecord): Promise<number | undefined> {
  if (!(await isAlive(record))) return undefined
  const text = await readFile(`/proc/${record.pid}/task/${record.pid}/children`, 'utf8').catch(
    () => '',
  )
  const pid = Number(text.trim().split(' ')[0])
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

/**
 * Asks the server to stop (`signal`: Postgres's fast shutdown is SIGINT, Redis's SIGTERM),
 * waits up to `graceMs` for the wrapper to record its exit, then kills whatever is left in
 * its cgroup.
 */
export async function stopServer(
  record: DetachedRecord,
  name: string,
  { signal, graceMs, cgroupRoot }: { signal: NodeJS.Signals; graceMs: number; cgroupRoot?: string },
): Promise<void> {
  const pid = await serverPid(record)
  if (pid !== undefined) {
    try {
      process.kill(pid, signal)
    } catch {
      // Gone meanwhile.
    }
  }
  await waitForExit(record, { pollMs: 100, signal: AbortSignal.timeout(graceMs) })
  await killMembers(cgroupOf(name, cgroupRoot))
}

/** SIGKILL to every process in the cgroup, until it is empty (fine when it does not exist). */
export async function killMembers(cgroup: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const pids = await members(cgroup)
    if (pids.length === 0) return
    if (Date.now() > deadline) throw new Error(`${cgroup}: processes ${pids.join(' ')} survive`)
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {
        // Already gone.
      }
    }
    await sleep(10)
  }
}

/** Removes the cgroup once its processes are gone (and the parent with the last child). */
export async function removeServerCgroup(name: string, cgroupRoot?: string): Promise<void> {
  const cgroup = cgroupOf(name, cgroupRoot)
  await killMembers(cgroup)
  await removeCgroup(cgroup)
}
