/**
 * Unpacking an untrusted source tarball with node-tar. First a listing pass refuses the
 * archive outright (build fails, nothing written) when an entry would land outside the app
 * directory: absolute paths and `..` (node-tar would strip or skip them with a warning, but a
 * deploy that silently loses files is worse than one that says why), hard links out of the
 * archive, entries under an earlier symlink, and devices or FIFOs. Then node-tar extracts,
 * with owner and set-id bits taken away: files belong to the build user.
 */
import { lstat, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { extract, list, type ReadEntry } from 'tar'
import type { BuildIdentity } from '../core/builds.js'

export class SourceError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'SourceError'
  }
}

const KINDS = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link'])

const escapes = (path: string) =>
  path.startsWith('/') || path.split('/').some((part) => part === '..')

/** Why the entry may not be unpacked, or undefined when it may. */
function problemOf(entry: ReadEntry, symlinks: readonly string[]): string | undefined {
  const path = entry.path.replace(/^\.\//, '')
  if (escapes(path)) return `path leaves the app directory: ${entry.path}`
  if (!KINDS.has(entry.type)) return `unsupported entry type ${entry.type}: ${entry.path}`
  if (entry.type === 'Link' && (!entry.linkpath || escapes(entry.linkpath))) {
    return `hard link leaves the app directory: ${entry.path} -> ${entry.linkpath ?? ''}`
  }
  const under = symlinks.find((s) => path.startsWith(`${s}/`))
  if (under) return `entry is under a symbolic link (${under}): ${entry.path}`
  return undefined
}

/** Checks every entry; throws SourceError for a corrupt archive or a refused entry. */
async function check(file: string): Promise<number> {
  const symlinks: string[] = []
  const problems: string[] = []
  let entries = 0
  try {
    await list({
      file,
      strict: true,
      onReadEntry: (entry) => {
        entries++
        const problem = problemOf(entry, symlinks)
        if (problem) problems.push(problem)
        if (entry.type === 'SymbolicLink') symlinks.push(entry.path.replace(/^\.\/|\/$/g, ''))
      },
    })
  } catch (e) {
    throw new SourceError(
      `The source is not a valid gzipped tarball (${e instanceof Error ? e.message : String(e)}).`,
    )
  }
  if (problems.length > 0) {
    const shown = problems.slice(0, 5).join('; ')
    throw new SourceError(`The source tarball was refused: ${shown}`)
  }
  if (entries === 0) throw new SourceError('The source tarball is empty.')
  return entries
}

/**
 * Unpacks `file` into the empty directory `dir` and returns the app's root: `dir` itself, or
 * the one directory it holds (tarballs made with `tar czf app.tgz app/` or GitHub's archives).
 */
export async function unpackSource(
  file: string,
  dir: string,
  owner: BuildIdentity | undefined,
): Promise<string> {
  await check(file)
  try {
    await extract({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      ...(owner && { uid: owner.uid, gid: owner.gid }),
      filter: (_path, entry) => {
        // No set-uid, set-gid or sticky bits from a tarball.
        if ('mode' in entry && typeof entry.mode === 'number') entry.mode &= 0o777
        return true
      },
    })
  } catch (e) {
    throw new SourceError(
      `The source tarball could not be unpacked (${e instanceof Error ? e.message : String(e)}).`,
    )
  }
  const names = await readdir(dir)
  if (names.length === 1) {
    const only = join(dir, names[0]!)
    if ((await lstat(only)).isDirectory()) return only
  }
  return dir
}
