/**
 * The unprivileged system user every data server runs as (`localspace-data`). One user, not
 * one per add-on like apps have: initdb and postgres look their own uid up in the passwd
 * database, so a per-add-on uid would mean a passwd entry per add-on. Each server still has a
 * namespace, a cgroup and a 0700 data directory of its own. scripts/install-deps makes the
 * user; `ensureDataUser` makes it where it is missing (idempotent).
 */
import type { Exec } from '../exec/run.js'

export const DATA_USER = 'localspace-data'

export interface DataUser {
  name: string
  uid: number
  gid: number
}

export async function ensureDataUser(exec: Exec, name = DATA_USER): Promise<DataUser> {
  const found = await lookUp(exec, name)
  if (found) return found
  await exec('useradd', [
    ...['--system', '--user-group', '--no-create-home'],
    ...['--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name],
  ]).catch(async (e) => {
    // Another caller made it meanwhile.
    if (!(await lookUp(exec, name))) throw e
  })
  const made = await lookUp(exec, name)
  if (!made) throw new Error(`could not create the system user ${name}`)
  return made
}

async function lookUp(exec: Exec, name: string): Promise<DataUser | undefined> {
  const line = await exec('getent', ['passwd', name]).then(
    (r) => r.stdout.trim(),
    () => '',
  )
  const [, , uid, gid] = line.split(':')
  if (uid === undefined || gid === undefined) return undefined
  return { name, uid: Number(uid), gid: Number(gid) }
}
