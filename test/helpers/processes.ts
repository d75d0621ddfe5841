/** The processes below one process, read from /proc, to check that none is left behind. */
import { readdirSync, readFileSync } from 'node:fs'

export interface ProcessId {
  pid: number
  /** Start time in clock ticks since boot: with the pid, one process even if the pid is reused. */
  start: string
  cmdline: string
}

interface Stat {
  state: string
  ppid: number
  start: string
}

function statOf(pid: number): Stat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which may hold spaces: state, ppid, …, starttime (22nd).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return { state: fields[0]!, ppid: Number(fields[1]), start: fields[19]! }
  } catch {
    return undefined // gone meanwhile
  }
}

/** Every process below `root` now: its children, their children, and so on. */
export function descendantsOf(root: number): ProcessId[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const stat = statOf(Number(entry))
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)])
  }
  const found: ProcessId[] = []
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      const stat = statOf(child)
      if (!stat) continue
      let cmdline = ''
      try {
        cmdline = readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ').trim()
      } catch {
        continue
      }
      found.push({ pid: child, start: stat.start, cmdline })
      visit(child)
    }
  }
  visit(root)
  return found
}

/** Still running: the same process (pid and start time), and not a zombie. */
export function isRunning(p: ProcessId): boolean {
  const stat = statOf(p.pid)
  return stat !== undefined && stat.start === p.start && stat.state !== 'Z'
}
