/**
 * Does this kernel do ESP itself (xfrm), or must charon do it in userspace (kernel-libipsec)?
 *
 * The test is the real thing, not a guess from files: add one ESP security association in a
 * throw-away network namespace (`unshare --net`, so nothing is left behind and no other
 * namespace sees it) and see whether the kernel takes it. The kernel loads esp4 on demand
 * for that request where it is a module, so no modprobe is needed, and a kernel without XFRM
 * at all, or with XFRM but no ESP (this project's CI machine: "Requested type not found"),
 * refuses. /proc/net/xfrm_stat alone is not enough: it exists whenever XFRM does, ESP or not.
 */
import { ExecError, isCommandMissing, type Exec } from '../exec/run.js'

/** One SA with documentation addresses and fixed test keys: it only has to be accepted. */
const PROBE_ARGS = [
  '--net',
  '--',
  'ip',
  'xfrm',
  'state',
  'add',
  'src',
  '192.0.2.1',
  'dst',
  '192.0.2.2',
  'proto',
  'esp',
  'spi',
  '0x100',
  'mode',
  'tunnel',
  'enc',
  'cbc(aes)',
  '0x00112233445566778899aabbccddeeff',
  'auth-trunc',
  'hmac(sha1)',
  '0x00112233445566778899aabbccddeeff00112233',
  '96',
] as const

/** What the kernel (via `ip`) says when it has no ESP, or no XFRM at all. */
export function isNoEspAnswer(stderr: string): boolean {
  return /Requested type not found|Protocol not supported|Function not implemented|Operation not supported|Address family not supported/i.test(
    stderr,
  )
}

/** True when the kernel accepts an ESP state; false when it lacks ESP; throws otherwise. */
export async function kernelHasEsp(exec: Exec): Promise<boolean> {
  try {
    await exec('unshare', PROBE_ARGS)
    return true
  } catch (e) {
    if (e instanceof ExecError && !isCommandMissing(e) && isNoEspAnswer(e.stderr)) return false
    throw e
  }
}
