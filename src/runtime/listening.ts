/**
 * "Is anything listening on port P inside this network namespace?" without spawning `ss`:
 * /proc/<pid>/net/tcp and tcp6 list the sockets of the network namespace of <pid>, so reading
 * them for any process of the dyno answers for the dyno's namespace. One line per socket:
 *
 *   sl  local_address rem_address   st ...
 *    0: 00000000:1F90 00000000:0000 0A ...      (0.0.0.0:8080, state 0A = LISTEN)
 */
import { readFile } from 'node:fs/promises'

const LISTEN = '0A'

/** True when `table` (the text of a /proc net/tcp or net/tcp6 file) has a LISTEN socket on `port`. */
export function hasListener(table: string, port: number): boolean {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0')
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/)
    // f[1] is local_address "ADDR:PORT", f[3] the state.
    if (f[3] === LISTEN && f[1]?.endsWith(`:${hexPort}`)) return true
  }
  return false
}

/** Reads both tables of the namespace of `pid`; undefined when the process is gone. */
export async function listensOn(pid: number, port: number): Promise<boolean | undefined> {
  const read = (f: string) => readFile(`/proc/${pid}/net/${f}`, 'utf8')
  try {
    const v4 = await read('tcp')
    if (hasListener(v4, port)) return true
    // tcp6 is absent when IPv6 is disabled; then only IPv4 counts.
    const v6 = await read('tcp6').catch(() => '')
    return hasListener(v6, port)
  } catch {
    return undefined
  }
}
