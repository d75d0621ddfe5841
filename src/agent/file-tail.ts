/**
 * Follows a file that another process appends to (a dyno's stdout.log and stderr.log) from a
 * given offset: inotify (`fs.watch`) for promptness, plus a slow poll because inotify can miss
 * a write that happens before the watch starts. Dynos write to files rather than to pipes of
 * the daemon so that they outlive it (docs/design.md §5); a new daemon resumes at the saved offset.
 *
 * `FileFollower` hands over raw bytes (an attached one-off's prompt has no newline);
 * `FileTail` cuts them into log lines (logs/split.ts `LineCutter`: linear, bounded).
 *
 * The file is kept small on disk: once the reader has consumed `truncateAt` bytes and caught
 * up with the writer, it truncates the file to nothing and goes on from 0. The dyno writes
 * with O_APPEND (exec/detached.ts), so its next write lands at the new end instead of leaving
 * a hole. Bytes appended between the size check and the truncation (two system calls apart)
 * would be lost; this happens at most once per `truncateAt` bytes. A dyno that writes faster
 * than the daemon reads would keep it from ever catching up: once the file holds
 * `overflowAt` bytes, it is truncated all the same and what was not read is dropped (and
 * counted), as Logplex drops lines (Error L10) rather than let a dyno's output grow without
 * bound. While no daemon reads (a restart), the file grows.
 */
import { watch, type FSWatcher } from 'node:fs'
import { open, type FileHandle } from 'node:fs/promises'
import { LineCutter } from '../logs/split.js'

const CHUNK = 64 * 1024
/** The most a dyno's output file holds on disk once read (plus what is still unread). */
export const TRUNCATE_AT = 1024 * 1024
/** The most it holds while the daemon falls behind: beyond, unread output is dropped. */
export const OVERFLOW_AT = 4 * TRUNCATE_AT

export interface FollowOptions {
  /** Where to start (a previous daemon's offset); more than the file holds means from 0. */
  offset?: number
  pollMs?: number
  truncateAt?: number
  overflowAt?: number
  /** Called just before the file is truncated: what is pending belongs before the cut. */
  beforeTruncate?: () => void
  /** Called once the file was truncated (the reader's offset is 0 again: save it), with the
   * number of bytes dropped unread. */
  truncated?: (droppedBytes: number) => void
}

export class FileFollower {
  #offset: number
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #reading: Promise<void> | undefined
  #again = false
  #closed = false
  readonly #buffer = Buffer.alloc(CHUNK)

  constructor(
    private readonly file: string,
    private readonly onData: (chunk: Buffer) => void,
    private readonly options: FollowOptions = {},
  ) {
    this.#offset = options.offset ?? 0
    try {
      this.#watcher = watch(file, () => void this.read())
      this.#watcher.on('error', () => undefined)
    } catch {
      // not there yet: the poll picks it up
    }
    this.#timer = setInterval(() => void this.read(), options.pollMs ?? 1000)
    this.#timer.unref()
    void this.read()
  }

  /** Bytes of the file consumed so far. */
  get offset(): number {
    return this.#offset
  }

  /** Reads what was appended since the last read; one read at a time. */
  read(): Promise<void> {
    if (this.#reading) {
      this.#again = true
      return this.#reading
    }
    this.#reading = (async () => {
      do {
        this.#again = false
        await this.#readOnce()
      } while (this.#again && !this.#closed)
    })().finally(() => (this.#reading = undefined))
    return this.#reading
  }

  async #readOnce(): Promise<void> {
    if (this.#closed) return
    // r+: the reader truncates what it has read. The file is root's (opened by the daemon).
    const handle = await open(this.file, 'r+').catch(() => undefined)
    if (!handle) return
    try {
      // Smaller than where we are: truncated after the offset we resumed from was saved.
      if ((await handle.stat()).size < this.#offset) this.#offset = 0
      for (;;) {
        const { bytesRead } = await handle.read(this.#buffer, 0, CHUNK, this.#offset)
        if (bytesRead === 0) break
        this.#offset += bytesRead
        this.onData(this.#buffer.subarray(0, bytesRead))
        await this.#truncateIfDue(handle)
      }
    } finally {
      await handle.close()
    }
  }

  async #truncateIfDue(handle: FileHandle): Promise<void> {
    if (this.#offset < (this.options.truncateAt ?? TRUNCATE_AT)) return
    // When nothing unread is left (the writer may have appended since the last read), or
    // when the writer is so far ahead that the file must go all the same.
    const unread = (await handle.stat()).size - this.#offset
    if (unread > 0 && this.#offset + unread < (this.options.overflowAt ?? OVERFLOW_AT)) return
    this.options.beforeTruncate?.()
    await handle.truncate(0)
    this.#offset = 0
    this.options.truncated?.(Math.max(unread, 0))
  }

  /** Reads what is left, then stops. */
  async close(): Promise<void> {
    await this.read()
    this.stop()
  }

  /** Stops without reading further (daemon shutdown: the next daemon resumes at `offset`). */
  stop(): void {
    this.#closed = true
    this.#watcher?.close()
    clearInterval(this.#timer)
  }
}

/** A FileFollower that hands over log lines, cut at Logplex's limit (logs/split.ts). */
export class FileTail {
  readonly #cutter: LineCutter
  readonly #follower: FileFollower

  constructor(
    file: string,
    onLine: (line: string) => void,
    offset = 0,
    options: Omit<FollowOptions, 'offset' | 'beforeTruncate'> = {},
  ) {
    this.#cutter = new LineCutter(onLine)
    this.#follower = new FileFollower(file, (chunk) => this.#cutter.push(chunk), {
      ...options,
      offset,
      // The line in progress goes out now, cut: its first bytes are gone from the file.
      beforeTruncate: () => this.#cutter.flush(),
    })
  }

  /** Bytes consumed so far (complete lines only): where a later tail should resume. */
  get offset(): number {
    return this.#follower.offset - this.#cutter.pendingBytes
  }

  read(): Promise<void> {
    return this.#follower.read()
  }

  /** Reads what is left (a final line without a newline included), then stops. */
  async close(): Promise<void> {
    await this.#follower.close()
    this.#cutter.flush()
  }

  /** Stops without reading further (daemon shutdown: the next daemon resumes at `offset`). */
  stop(): void {
    this.#follower.stop()
  }
}

/** Heroku's line for output dropped because the daemon fell behind (Logplex's Error L10). */
export const droppedLine = (bytes: number): string =>
  `Error L10 (output buffer overflow): ${bytes} bytes of output dropped`

/**
 * A dyno run's stdout and stderr into its app log (`line`); dropped output is reported through
 * `notice` (as heroku's own line), and a truncation asks for the offsets to be saved.
 */
export function outputTails(
  paths: { stdout: string; stderr: string },
  offsets: { stdout: number; stderr: number },
  to: { line: (text: string) => void; notice: (text: string) => void; save: () => void },
): [FileTail, FileTail] {
  const options = {
    truncated: (dropped: number) => {
      if (dropped > 0) to.notice(droppedLine(dropped))
      to.save()
    },
  }
  return [
    new FileTail(paths.stdout, to.line, offsets.stdout, options),
    new FileTail(paths.stderr, to.line, offsets.stderr, options),
  ]
}
