/**
 * Dynos outlive the daemon by design, so a test whose daemon died (or that failed before
 * scaling to zero) would leave them running on the host. Tests call this in `after` to kill
 * every dyno started under their data dir and remove its cgroup, whatever state they are in.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync } from 'node:fs'
import { join } from 'node:path'
import { waitUntil } from './wait.js'

export async function killDynosUnder(dataDir: string): Promise<void> {
  const dynos = join(dataDir, 'dynos')
  if (!existsSync(dynos)) return
  const cgroups: string[] = []
  for (const dyno of readdirSync(dynos)) {
    for (const run of readdirSync(join(dynos, dyno)).filter((n) => n.startsWith('run-'))) {
      const meta = join(dynos, dyno, run, 'dyno.json')
      if (!existsSync(meta)) continue
      const { cgroup } = JSON.parse(readFileSync(meta, 'utf8')) as { cgroup: string }
      if (existsSync(cgroup)) cgroups.push(cgroup)
    }
  }
  const members = (cgroup: string) =>
    readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number)
  for (const cgroup of cgroups) {
    await waitUntil(`${cgroup} to empty`, () => {
      const pids = members(cgroup)
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL')
        } catch {
          // gone meanwhile
        }
      }
      return pids.length === 0
    })
    rmdirSync(cgroup)
  }
}

/** The add-ons whose servers have files under the daemon's `dataDir/data`. */
export const dataServersUnder = (dataDir: string): string[] =>
  existsSync(join(dataDir, 'data')) ? readdirSync(join(dataDir, 'data')) : []

/**
 * Data servers outlive the daemon too: kills the servers of these add-ons (their cgroups
 * `data-<add-on id>`) and removes the cgroups, for tests whose daemon could not destroy them.
 */
export async function killDataServers(
  addonIds: readonly string[],
  cgroupRoot: string,
): Promise<void> {
  for (const id of addonIds) {
    const cgroup = join(cgroupRoot, `data-${id}`)
    if (!existsSync(cgroup)) continue
    await waitUntil(`${cgroup} to empty`, () => {
      const pids = readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL')
        } catch {
          // gone meanwhile
        }
      }
      return pids.length === 0
    })
    rmdirSync(cgroup)
  }
}
