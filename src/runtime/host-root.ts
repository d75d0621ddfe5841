/**
 * Which parts of the host's `/` a dyno sees (read-only). A dyno gets the host's programs and
 * libraries ("plain Procfile apps use the host's runtimes", design.md §5) but not its people,
 * its state or its mounts: those entries are left out, and the sandbox supplies its own /app,
 * /proc, /dev, /tmp and /run.
 */
import { readdir, readlink } from 'node:fs/promises'
import type { RootEntry } from './sandbox.js'

/** Never bound from the host: made fresh by the sandbox, or private to the host. */
export const EXCLUDED_ROOT_ENTRIES: ReadonlySet<string> = new Set([
  'app', // the dyno's own, from the slug
  'proc', // a new one for the dyno's pid namespace
  'dev', // a minimal one (null, zero, random, tty, pts, shm)
  'tmp', // private tmpfs
  'run', // private tmpfs: host sockets (docker.sock, dbus) stay out of reach
  'root', // people's homes and keys
  'home',
  'lost+found',
  'mnt', // other filesystems mounted by the admin
  'media',
  'boot',
])

/** The host's `/`, minus EXCLUDED_ROOT_ENTRIES; symlinks (`bin -> usr/bin`) stay symlinks. */
export async function readHostRoot(
  root = '/',
  excluded: ReadonlySet<string> = EXCLUDED_ROOT_ENTRIES,
): Promise<RootEntry[]> {
  const entries = await readdir(root, { withFileTypes: true })
  const out: RootEntry[] = []
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (excluded.has(e.name)) continue
    if (e.isSymbolicLink()) out.push({ name: e.name, symlink: await readlink(`${root}/${e.name}`) })
    else if (e.isDirectory() || e.isFile()) out.push({ name: e.name })
  }
  return out
}
