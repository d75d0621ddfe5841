/**
 * bench.ts's view of dns-poller.ts: a name asked over and over from inside a namespace, and
 * when its answer last changed. Times are CLOCK_MONOTONIC ms, the clock of
 * `process.hrtime` here and in every dyno (bwrap makes no time namespace).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const POLLER = join(dirname(fileURLToPath(import.meta.url)), 'dns-poller.ts')

export class NamePoller {
  private state = ''
  /** When the current state began (the first answer that gave it). */
  private since = 0
  private waiters = new Set<() => void>()
  private readonly child: ChildProcess

  /** Starts polling `name` at `server` from `netns`, pinned to `cpu`. */
  constructor(netns: string, cpu: string, server: string, name: string) {
    this.child = spawn(
      'taskset',
      [
        '-c',
        cpu,
        'ip',
        'netns',
        'exec',
        netns,
        process.execPath,
        '--import',
        'tsx',
        POLLER,
        server,
        name,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      const space = line.indexOf(' ')
      this.since = Number(BigInt(line.slice(0, space))) / 1e6
      this.state = line.slice(space + 1)
      for (const w of this.waiters) w()
    })
  }

  get pid(): number | undefined {
    return this.child.pid
  }

  /**
   * Resolves with the time at which the answer became one that `wanted` accepts (at once if
   * it already is); rejects after `timeoutMs` with the state it was stuck in.
   */
  when(wanted: (state: string) => boolean, what: string, timeoutMs = 10_000): Promise<number> {
    return new Promise((resolve, reject) => {
      const done = () => {
        if (!wanted(this.state)) return
        this.waiters.delete(done)
        clearTimeout(timer)
        resolve(this.since)
      }
      const timer = setTimeout(() => {
        this.waiters.delete(done)
        reject(
          new Error(`DNS: ${what} not after ${timeoutMs} ms (answer: ${this.state || 'none'})`),
        )
      }, timeoutMs)
      this.waiters.add(done)
      done()
    })
  }

  stop(): void {
    this.child.kill('SIGTERM')
  }
}
