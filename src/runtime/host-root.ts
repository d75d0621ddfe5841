/**
 * Which parts of the host's `/` a dyno (and a build) sees, read-only: the host's programs,
 * libraries and configuration ("plain Procfile apps use the host's runtimes", docs/design.md §5),
 * and nothing else — not its people (/root, /home), its state (/var, /srv), its mounts (/mnt,
 * /media), its devices (/sys) or whatever else an operator keeps at the top (a checkout under
 * /work, say). The sandbox supplies its own /app, /proc, /dev, /tmp, /run and /var/tmp.
 */
import { readdir, readlink } from 'node:fs/promises'
import type { RootEntry } from './sandbox.js'

/** The only entries of the host's `/` bound into a sandbox (those the host has). */
export const HOST_ROOT_ENTRIES: ReadonlySet<string> = new Set([
  'bin',
  'etc',
  'lib',
  'lib32',
  'lib64',
  'libx32',
  'opt',
  'sbin',
  'usr',
])

/** Those of HOST_ROOT_ENTRIES the host has; symlinks (`bin -> usr/bin`) stay symlinks. */
export async function readHostRoot(
  root = '/',
  included: ReadonlySet<string> = HOST_ROOT_ENTRIES,
): Promise<RootEntry[]> {
  const entries = await readdir(root, { withFileTypes: true })
  const out: RootEntry[] = []
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!included.has(e.name)) continue
    if (e.isSymbolicLink()) out.push({ name: e.name, symlink: await readlink(`${root}/${e.name}`) })
    else if (e.isDirectory()) out.push({ name: e.name })
  }
  return out
}
