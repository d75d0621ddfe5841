/**
 * Heroku's memory errors for one run of a dyno (docs/heroku-reference.md §8.3): its cgroup is read
 * every few seconds while it runs, and once more when it has ended.
 *
 * - R14 (Memory quota exceeded), after a `Process running mem=…M(…%)` line: the run reached
 *   its quota (the cgroup's failcnt grew: the kernel had to reclaim to stay under it). Private
 *   dynos have no swap, so the quota is also the limit.
 * - R15 (Memory quota vastly exceeded), then `Stopping process with SIGKILL`: the kernel killed
 *   a process of the run for it (oom_kill grew). The run may live on if that was a child.
 *
 * A run that grows and is killed between two reads still gets both errors, from the final read.
 */
import type { DynoProcess, MemoryStats } from '../runtime/index.js'

/** Counters already reported. */
interface Seen {
  failcnt: number
  oomKills: number
}

const MB = 1024 * 1024

/** The lines for what the cgroup counted since `seen`; `usageBytes` goes in the mem= line. */
export function memoryLines(seen: Seen, now: MemoryStats, usageBytes: number): string[] {
  const killed = now.oomKills > seen.oomKills
  if (!killed && now.failcnt <= seen.failcnt) return []
  const percent = ((usageBytes / now.limitBytes) * 100).toFixed(1)
  return [
    `Process running mem=${Math.round(usageBytes / MB)}M(${percent}%)`,
    'Error R14 (Memory quota exceeded)',
    ...(killed
      ? ['Error R15 (Memory quota vastly exceeded)', 'Stopping process with SIGKILL']
      : []),
  ]
}

export class MemoryWatch {
  private seen: Seen = { failcnt: 0, oomKills: 0 }
  /** The next read only sets `seen` (an adopted run: its earlier daemon reported the rest). */
  private baseline = false
  private timer: NodeJS.Timeout | undefined
  private reading: Promise<void> | undefined

  constructor(
    private readonly process: DynoProcess,
    private readonly log: (line: string) => void,
    private readonly intervalMs: number,
  ) {}

  start({ adopted }: { adopted: boolean }): void {
    this.timer = setInterval(() => void this.read(), this.intervalMs)
    this.timer.unref()
    if (adopted) {
      this.baseline = true
      void this.read()
    }
  }

  private read(): Promise<void> {
    this.reading ??= this.process
      .memory()
      .then((now) => {
        if (!now) return
        if (this.baseline) this.seen = { failcnt: now.failcnt, oomKills: now.oomKills }
        else this.report(now, now.usageBytes)
        this.baseline = false
      })
      .finally(() => (this.reading = undefined))
    return this.reading
  }

  private report(now: MemoryStats, usageBytes: number): void {
    for (const line of memoryLines(this.seen, now, usageBytes)) this.log(line)
    this.seen = { failcnt: now.failcnt, oomKills: now.oomKills }
  }

  /** Stops reading; then says what the run's final counters add (its peak as the usage). */
  async finish(final: MemoryStats | undefined): Promise<void> {
    clearInterval(this.timer)
    await this.reading
    if (final) this.report(final, final.maxUsageBytes)
  }

  /** Stops reading without a word (daemon shutdown: the run goes on). */
  stop(): void {
    clearInterval(this.timer)
  }
}
