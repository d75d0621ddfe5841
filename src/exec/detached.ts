/**
 * Long-running processes that must outlive the daemon (docs/design.md §5: dynos survive a daemon
 * restart). A process started here:
 *
 * - runs in a session of its own (`setsid`, via `detached: true`), so it receives no signal
 *   meant for the daemon's terminal or process group, and is unref'd so the daemon can exit;
 * - writes stdout and stderr straight to files (appended), which the daemon tails: no pipe ties
 *   it to the daemon, so nothing blocks or breaks when the daemon dies;
 * - runs under a tiny `/bin/sh` wrapper that waits for it and writes its exit status to a file.
 *
 * Why a wrapper: once the daemon has restarted, the process is no longer its child, and only a
 * parent can learn an exit status (`waitpid`). Polling /proc/<pid> would tell "gone" but not
 * "exited 0" from "killed by SIGKILL", which Heroku's lifecycle needs (crash vs clean exit).
 * The wrapper costs one `sh` (~1 ms, a few hundred KB) per process.
 *
 * A JSON record (`DetachedRecord`) written next to it lets a restarted daemon find the process
 * again. The pid alone is not proof (pids are reused), so the record also holds the process's
 * start time from /proc/<pid>/stat and the kernel's boot id: the same pid with the same start
 * time in the same boot is the same process.
 */
// eslint-disable-next-line no-restricted-imports -- this module is the sanctioned exception
import { spawn } from 'node:child_process'
import {
  closeSync,
  constants as fsConstants,
  openSync,
  readFileSync,
  watch,
  type FSWatcher,
} from 'node:fs'
import { Socket } from 'node:net'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { constants } from 'node:os'
import { dirname } from 'node:path'

/**
 * The wrapper: `$0` names it in `ps`, `$1` is the status file, the rest is the command.
 * - `trap :` (a no-op handler, not `trap ''`): a stray SIGTERM/SIGHUP to the wrapper must not
 *   orphan the process it watches, and handlers, unlike ignored signals, are not inherited by
 *   the command, which keeps default signal behaviour.
 * - `$?` is the exit code, or 128+N when the command was killed by signal N.
 * - One `echo` is one small write; a reader that finds the file empty simply looks again.
 */
const WRAPPER = `trap : HUP INT TERM QUIT
status_file=$1
shift
"$@"
code=$?
echo "$code" >"$status_file"`

/** What a restarted daemon needs to find a detached process again; stored as JSON. */
export interface DetachedRecord {
  version: 1
  /** The wrapper's pid (the session leader); the command is its child. */
  pid: number
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks after boot. */
  startTime: number
  /** /proc/sys/kernel/random/boot_id at launch: after a reboot every pid is someone else's. */
  bootId: string
  /** Where the wrapper writes the exit status (one decimal number and a newline). */
  statusFile: string
  stdoutFile: string
  stderrFile: string
  startedAt: string
}

export interface DetachedOptions {
  /** The complete environment of the wrapper and command: nothing of the daemon's leaks in. */
  env: Record<string, string>
  cwd?: string
  stdoutFile: string
  stderrFile: string
  statusFile: string
  /** Where to write the DetachedRecord (atomically: temp file + rename). */
  recordFile: string
  /** Shown as the wrapper's name in `ps` (`$0`). */
  name?: string
  /**
   * A FIFO to read stdin from (one-off dynos attached to a client); /dev/null otherwise.
   * Opening a FIFO for reading waits for a writer: open it first with `openFifoWriter`.
   */
  stdinFile?: string
}

export interface ExitStatus {
  /** 0–255 as a shell reports it: the exit code, or 128+N for death by signal N. */
  code: number
  /** The signal when `code` is 128+N for a known signal N (an `exit 143` reads the same). */
  signal: NodeJS.Signals | null
}

/** `running`: alive and ours. `exited`: the wrapper wrote a status. `lost`: gone without one. */
export type DetachedState =
  { state: 'running' } | { state: 'exited'; status: ExitStatus } | { state: 'lost' }

/**
 * Starts `command args…` detached, under the exit-status wrapper. Resolves once the process
 * exists and its record is written; the command itself may still be starting (or failing:
 * that shows up as an exit status).
 */
export async function startDetached(
  command: string,
  args: readonly string[],
  options: DetachedOptions,
): Promise<DetachedRecord> {
  // Opened by us and handed over as fds 1 and 2; O_APPEND so a re-run or a tailer's rotation
  // never overwrites. Closed here once the child has its own copies.
  const out = openSync(options.stdoutFile, 'a', 0o600)
  const err = openSync(options.stderrFile, 'a', 0o600)
  const input = options.stdinFile === undefined ? 'ignore' : openSync(options.stdinFile, 'r')
  let pid: number
  let startTime: number
  try {
    const child = spawn(
      '/bin/sh',
      ['-c', WRAPPER, options.name ?? 'localspace-detached', options.statusFile, command, ...args],
      {
        detached: true,
        stdio: [input, out, err],
        env: options.env,
        cwd: options.cwd ?? '/',
      },
    )
    if (child.pid === undefined) {
      // spawn reports failure asynchronously; wait for the reason.
      const reason = await new Promise<Error>((resolve) => child.once('error', resolve))
      throw new Error(`could not start ${command}: ${reason.message}`)
    }
    pid = child.pid
    // Read synchronously, before the event loop can reap the child: until it is reaped, the
    // pid cannot belong to anyone else, so this start time is certainly the wrapper's.
    startTime = readStartTimeSync(pid) ?? 0
    child.unref()
  } finally {
    closeSync(out)
    closeSync(err)
    if (typeof input === 'number') closeSync(input)
  }
  const record: DetachedRecord = {
    version: 1,
    pid,
    startTime,
    bootId: await bootId(),
    statusFile: options.statusFile,
    stdoutFile: options.stdoutFile,
    stderrFile: options.stderrFile,
    startedAt: new Date().toISOString(),
  }
  const tmp = `${options.recordFile}.tmp`
  await writeFile(tmp, JSON.stringify(record, null, 2) + '\n', { mode: 0o600 })
  await rename(tmp, options.recordFile)
  return record
}

/** Reads a record written by startDetached; undefined when there is none. */
export async function readRecord(recordFile: string): Promise<DetachedRecord | undefined> {
  const text = await readFile(recordFile, 'utf8').catch(() => undefined)
  if (text === undefined) return undefined
  const r = JSON.parse(text) as DetachedRecord
  if (r.version !== 1 || !Number.isInteger(r.pid) || typeof r.statusFile !== 'string')
    throw new Error(`${recordFile} is not a detached-process record`)
  return r
}

/**
 * Where a recorded process stands, from files only (no process is spawned). The status file
 * is read first and again after the liveness check, so a process that exits in between is
 * reported `exited`, not `lost`.
 */
export async function checkDetached(record: DetachedRecord): Promise<DetachedState> {
  const before = await readStatus(record.statusFile)
  if (before !== undefined) return { state: 'exited', status: before }
  if (await isAlive(record)) return { state: 'running' }
  const after = await readStatus(record.statusFile)
  return after === undefined ? { state: 'lost' } : { state: 'exited', status: after }
}

/** True while the recorded process (same pid, same start time, same boot) runs. */
export async function isAlive(record: DetachedRecord): Promise<boolean> {
  if (record.bootId !== (await bootId())) return false
  const stat = await readFile(`/proc/${record.pid}/stat`, 'utf8').catch(() => undefined)
  if (stat === undefined) return false
  const fields = statFields(stat)
  // A zombie has exited; it only waits for its parent to reap it.
  return fields.state !== 'Z' && fields.state !== 'X' && fields.startTime === record.startTime
}

/**
 * Resolves when the recorded process has exited (with its status) or is lost. Immediate via
 * inotify on the status file's directory (keep that directory for the status file alone, or
 * every write next to it wakes this up); `pollMs` is the fallback that also notices a wrapper
 * killed before it could write. `signal` aborts the wait (resolves `running`).
 */
export function waitForExit(
  record: DetachedRecord,
  { pollMs = 1000, signal }: { pollMs?: number; signal?: AbortSignal } = {},
): Promise<DetachedState> {
  return new Promise((resolve) => {
    let watcher: FSWatcher | undefined
    let timer: NodeJS.Timeout | undefined
    let checking = false
    let again = false
    let done = false
    const finish = (state: DetachedState) => {
      if (done) return
      done = true
      watcher?.close()
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      resolve(state)
    }
    const onAbort = () => finish({ state: 'running' })
    // One check at a time; an event during a check asks for one more.
    const check = () => {
      if (done) return
      if (checking) {
        again = true
        return
      }
      checking = true
      checkDetached(record)
        .then(
          (s) => {
            if (s.state !== 'running') finish(s)
          },
          () => undefined,
        )
        .finally(() => {
          checking = false
          if (again) {
            again = false
            check()
          }
        })
    }
    const tick = () => {
      check()
      if (!done) timer = setTimeout(tick, pollMs)
    }
    if (signal?.aborted) return onAbort()
    signal?.addEventListener('abort', onAbort)
    try {
      watcher = watch(dirname(record.statusFile), check)
      watcher.on('error', () => undefined)
    } catch {
      // No inotify (or the directory is gone): polling alone still works.
    }
    tick()
  })
}

/** The status the wrapper wrote; undefined while there is none (or it is half-written). */
async function readStatus(file: string): Promise<ExitStatus | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '')
  const m = /^(\d{1,3})\n/.exec(text)
  return m?.[1] === undefined ? undefined : exitStatus(Number(m[1]))
}

/** Interprets a shell-style status: 128+N is signal N. */
export function exitStatus(code: number): ExitStatus {
  const n = code - 128
  const name = Object.entries(constants.signals).find(([, v]) => v === n)?.[0]
  return { code, signal: n > 0 && name !== undefined ? (name as NodeJS.Signals) : null }
}

/** State and start time from /proc/<pid>/stat (the command name may contain spaces and `)`). */
export function statFields(stat: string): { state: string; startTime: number } {
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); field 22 (starttime) is rest[19].
  return { state: rest[0] ?? '', startTime: Number(rest[19]) }
}

function readStartTimeSync(pid: number): number | undefined {
  try {
    return statFields(readFileSync(`/proc/${pid}/stat`, 'utf8')).startTime
  } catch {
    return undefined
  }
}

let cachedBootId: string | undefined
async function bootId(): Promise<string> {
  cachedBootId ??= (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim()
  return cachedBootId
}

/**
 * Makes a FIFO (mode 0600) for a detached process's stdin. Node has no mkfifo, hence the
 * command.
 */
export async function makeFifo(path: string): Promise<void> {
  const child = spawn('mkfifo', ['-m', '600', '--', path], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject)
    child.once('close', resolve)
  })
  if (code !== 0) throw new Error(`mkfifo ${path}: ${stderr.trim() || `exit ${code}`}`)
}

/**
 * The daemon's end of a stdin FIFO, as a non-blocking stream. Opened read-write, which never
 * waits (Linux), so the process's read end (`stdinFile`) can then be opened at once too. The
 * process sees end-of-file once this stream ends (or the daemon dies): it only ever reads,
 * so the daemon going away never breaks it with SIGPIPE. Keep it open until startDetached has
 * returned: opening the read end waits while the FIFO has no writer.
 */
export function openFifoWriter(path: string): Socket {
  const fd = openSync(path, fsConstants.O_RDWR)
  return new Socket({ fd, readable: false, writable: true })
}
