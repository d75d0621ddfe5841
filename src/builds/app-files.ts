/**
 * Reading files of an app under build. The daemon (root) reads what an untrusted tarball
 * put there, so a file must be a regular file in the app directory itself: `Procfile` as a
 * symlink to /etc/shadow would otherwise leak the host's secrets into the build output.
 */
import { constants } from 'node:fs'
import { lstat, open } from 'node:fs/promises'
import { join } from 'node:path'

/** Larger is not a Procfile or package.json anyone meant. */
const MAX_BYTES = 1024 * 1024

/** The text of `<dir>/<name>`, or undefined when there is no such regular file. */
export async function readAppFile(dir: string, name: string): Promise<string | undefined> {
  let handle
  try {
    // O_NOFOLLOW: a symlink fails to open (ELOOP) instead of being followed.
    handle = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW)
  } catch {
    return undefined
  }
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) return undefined
    if (stat.size > MAX_BYTES) throw new Error(`${name} is larger than ${MAX_BYTES} bytes.`)
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}

/** Whether `<dir>/<name>` is a regular file (not a symlink, not a directory). */
export async function hasAppFile(dir: string, name: string): Promise<boolean> {
  try {
    return (await lstat(join(dir, name))).isFile()
  } catch {
    return false
  }
}
