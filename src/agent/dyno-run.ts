/**
 * One run of a dyno's process, from the moment it exists to the moment nothing of it is left;
 * the same for formation dynos (dyno.ts) and one-offs (one-off.ts):
 *
 *   follow   its output (into the app log as lines, or to an attached client as raw bytes)
 *            and its memory (R14/R15: memory-watch.ts)
 *   exit     read what is left of its output, the last memory read, `Process exited with
 *            status N`, then `exited` (the dyno reports its new state), then the cleanup
 *            (cgroup, mounts, the run directory)
 *   stop     SIGTERM, the grace period, SIGKILL, and the exit above
 *   release  daemon shutdown: stop watching, leave the process running for the next daemon
 *
 * The state is reported before the cleanup because the cleanup takes tens of ms and a stopped
 * or crashed dyno's DNS names and routes must go at once (issue 5: within 100 ms).
 * What a dyno does between runs (restart, back-off, going away) is the dyno's business.
 */
import type { DynoExit, DynoProcess } from '../runtime/index.js'
import { FileFollower, outputTails, type FileTail } from './file-tail.js'
import { MemoryWatch } from './memory-watch.js'

/** How far the log tails of a run had got (saved, so a new daemon resumes there). */
export interface Offsets {
  stdout: number
  stderr: number
}

/** Where a run's output goes. */
export type RunOutput =
  /** The app log, cut into lines (formation dynos, detached one-offs). */
  | { to: 'log'; offsets: Offsets }
  /** Raw bytes, promptly (an attached one-off: a prompt without a newline must reach it). */
  | { to: 'client'; send: (chunk: Buffer) => void }
  /** Nowhere (an attached one-off whose client went with the previous daemon). */
  | { to: 'nowhere' }

/** What a run reports to its dyno. */
export interface RunReports {
  /** A `heroku[web.1]` line. */
  heroku(text: string): void
  /** An `app[web.1]` line (the app's own output). */
  app(text: string): void
  /** The tails' offsets changed in a way worth saving (a truncated output file). */
  save(): void
  /** The process has ended and all its output is out; the cleanup comes next. */
  exited(exit: DynoExit): void
  memoryCheckMs: number
}

export const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** Heroku's line for a process that ended (its memory errors come first: memory-watch.ts). */
export function exitLine(exit: DynoExit): string {
  return exit.code === null
    ? 'Process exited (its status was lost)'
    : `Process exited with status ${exit.code}`
}

/** The raw followers' poll: an interactive client waits on it when inotify misses a write. */
const CLIENT_POLL_MS = 250

export class DynoRun {
  /** Resolves once the process has ended and its run is cleaned up; never rejects. */
  readonly ended: Promise<DynoExit>
  private readonly memory: MemoryWatch
  private readonly logTails: FileTail[] = []
  private readonly rawTails: FileFollower[] = []

  /** `adopted`: the process was started by an earlier daemon (its memory errors are told). */
  constructor(
    readonly process: DynoProcess,
    output: RunOutput,
    private readonly reports: RunReports,
    { adopted }: { adopted: boolean },
  ) {
    this.memory = new MemoryWatch(process, (line) => reports.heroku(line), reports.memoryCheckMs)
    this.memory.start({ adopted })
    if (output.to === 'log') {
      this.logTails = outputTails(process.paths, output.offsets, {
        line: (text) => reports.app(text),
        notice: (text) => reports.heroku(text),
        save: () => reports.save(),
      })
    } else if (output.to === 'client') {
      const options = { pollMs: CLIENT_POLL_MS }
      this.rawTails = [
        new FileFollower(process.paths.stdout, output.send, options),
        new FileFollower(process.paths.stderr, output.send, options),
      ]
    }
    this.ended = process.exited.then((exit) => this.onExit(exit))
  }

  /** Where the log tails had got to (0 for output that does not go to the log). */
  get offsets(): Offsets {
    return { stdout: this.logTails[0]?.offset ?? 0, stderr: this.logTails[1]?.offset ?? 0 }
  }

  private async onExit(exit: DynoExit): Promise<DynoExit> {
    await Promise.all([...this.logTails, ...this.rawTails].map((t) => t.close()))
    await this.memory.finish(exit.memory)
    this.reports.heroku(exitLine(exit))
    this.reports.exited(exit)
    await this.process
      .cleanup()
      .catch((e: unknown) => this.reports.heroku(`cleanup: ${errorText(e)}`))
    return exit
  }

  /** SIGTERM, `graceMs`, SIGKILL; resolves once the run has ended and is cleaned up. */
  async stop(graceMs: number): Promise<DynoExit> {
    this.reports.heroku('Stopping all processes with SIGTERM')
    await this.process.stop({ graceMs })
    return this.ended
  }

  /** Daemon shutdown: the process runs on; a new daemon adopts it and resumes at `offsets`. */
  release(): void {
    for (const tail of [...this.logTails, ...this.rawTails]) tail.stop()
    this.memory.stop()
    this.process.release()
  }
}
