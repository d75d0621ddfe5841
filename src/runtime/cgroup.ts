/**
 * The dyno's memory cgroup (cgroup v1, /sys/fs/cgroup/memory/localspace/<dyno-id>): its
 * limit, its members (every process of the dyno, whatever its pid namespace) and what the
 * kernel counted when the limit was hit (for R14/R15). Plain file reads and writes.
 *
 * The parent (`localspace`) exists only while it has children: the last child to go takes
 * it along, so a host with no dyno and no build has no trace of localspace in its cgroups
 * (issue 15 E). Without a lock, because the kernel decides: rmdir of a cgroup that has a
 * child fails (EBUSY), so the parent goes only when empty; and a child made just after the
 * parent went finds no parent (ENOENT) and makes it again.
 */
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export const DEFAULT_CGROUP_ROOT = '/sys/fs/cgroup/memory/localspace'

export interface MemoryStats {
  limitBytes: number
  /** Peak usage since the dyno started. */
  maxUsageBytes: number
  usageBytes: number
  /** How often an allocation hit the limit (reclaim followed; not necessarily a kill). */
  failcnt: number
  /** Processes the kernel's OOM killer killed in this cgroup (memory.oom_control). */
  oomKills: number
}

/**
 * Makes the cgroup with its limit, for RAM and RAM+swap alike (Private dynos have no swap,
 * heroku-reference §8.3). A leftover empty cgroup of the same name (an aborted run) is
 * replaced, so its counters start at zero; one with processes in it is an error.
 */
export async function createCgroup(dir: string, memoryBytes: number): Promise<void> {
  try {
    await makeChild(dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
    if ((await members(dir)).length > 0) throw new Error(`cgroup ${dir} still has processes`)
    await rmdir(dir)
    await makeChild(dir)
  }
  const limit = String(Math.floor(memoryBytes))
  await writeFile(join(dir, 'memory.limit_in_bytes'), limit)
  // Only present when the kernel accounts swap; it must be written after the RAM limit.
  await writeFile(join(dir, 'memory.memsw.limit_in_bytes'), limit).catch(ignoreMissing)
  // Where swap is not accounted, at least do not prefer swapping this dyno out.
  await writeFile(join(dir, 'memory.swappiness'), '0').catch(() => undefined)
}

/** mkdir of a child cgroup, and of its parent as often as another's removal takes it away. */
async function makeChild(dir: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Either may find the parent gone (even mkdir -p, between its EEXIST and its stat).
      await mkdir(dirname(dir), { recursive: true })
      await mkdir(dir)
      return
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || attempt === 100) throw e
    }
  }
}

/** Pids of every process in the cgroup (empty when it is gone). */
export async function members(dir: string): Promise<number[]> {
  const text = await readFile(join(dir, 'cgroup.procs'), 'utf8').catch(() => '')
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map(Number)
}

export async function memoryStats(dir: string): Promise<MemoryStats | undefined> {
  const num = async (file: string) => Number((await readFile(join(dir, file), 'utf8')).trim())
  try {
    const oom = await readFile(join(dir, 'memory.oom_control'), 'utf8')
    return {
      limitBytes: await num('memory.limit_in_bytes'),
      maxUsageBytes: await num('memory.max_usage_in_bytes'),
      usageBytes: await num('memory.usage_in_bytes'),
      failcnt: await num('memory.failcnt'),
      oomKills: Number(/^oom_kill (\d+)$/m.exec(oom)?.[1] ?? 0),
    }
  } catch {
    return undefined
  }
}

/**
 * Removes the cgroup once its processes are gone, then its parent if that was its last
 * child. The kernel refuses (EBUSY) while a dying process is still being torn down, so this
 * retries briefly. Fine when already removed.
 */
export async function removeCgroup(dir: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await rmdir(dir)
      break
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'ENOENT') break
      if (code !== 'EBUSY' || Date.now() > deadline) throw e
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
  }
  await removeIfEmpty(dirname(dir))
}

/** rmdir of a parent cgroup: refused (EBUSY) while another dyno or build has a child in it. */
async function removeIfEmpty(parent: string): Promise<void> {
  try {
    await rmdir(parent)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'EBUSY' && code !== 'ENOENT' && code !== 'ENOTEMPTY') throw e
  }
}

function ignoreMissing(e: unknown): void {
  if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
}
