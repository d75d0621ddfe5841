/**
 * The client end of an attached one-off dyno (`localspace run`): a raw byte stream the API
 * upgraded from `GET /localspace/rendezvous/<token>`. Bytes from the client go to the dyno's
 * stdin (a FIFO; the client's half-close is the dyno's end-of-file); the dyno's stdout and
 * stderr, as the daemon reads them from its output files, go back; once the process has
 * exited and its output is all sent, one last line `\uFFFF heroku-command-exit-status: N`
 * (as Heroku's rendezvous ends) and the end of the stream. A client that goes away before
 * that hangs up the dyno.
 */
import { watch, type FSWatcher } from 'node:fs'
import { open } from 'node:fs/promises'
import type { Duplex, Writable } from 'node:stream'

/** The last line of a session; nothing follows it. */
export const exitStatusLine = (code: number): string =>
  `\uFFFF heroku-command-exit-status: ${code}\n`

export class AttachSession {
  private over = false
  private stdin: Writable | undefined

  constructor(
    private readonly socket: Duplex,
    /** The client went away before the process ended. */
    private readonly onHangup: () => void,
  ) {
    socket.on('error', () => undefined)
    socket.on('close', () => {
      this.stdin?.end()
      if (!this.over) {
        this.over = true
        this.onHangup()
      }
    })
  }

  /** Client bytes go to the dyno's stdin; the client's end of input ends it. */
  connectStdin(stdin: Writable): void {
    this.stdin = stdin
    stdin.on('error', () => undefined)
    this.socket.pipe(stdin)
  }

  output(chunk: Buffer): void {
    if (!this.over) this.socket.write(chunk)
  }

  /** All output is sent: the status line (unless it was lost), then the end. */
  exit(code: number | null): void {
    if (this.over) return
    this.over = true
    this.stdin?.end()
    this.socket.end(code === null ? undefined : exitStatusLine(code))
  }

  /** The dyno could not start: say why and end, without a status line. */
  fail(message: string): void {
    if (this.over) return
    this.over = true
    this.stdin?.end()
    this.socket.end(`localspace: ${message}\n`)
  }

  /** Daemon shutdown: the connection goes (the dyno is left to the next daemon). */
  drop(): void {
    this.over = true
    this.stdin?.destroy()
    this.socket.destroy()
  }
}

const POLL_MS = 250
const CHUNK = 64 * 1024

/**
 * Follows a file another process appends to and hands over raw bytes as they come (a prompt
 * without a newline must reach the client too, so this is not line-based like FileTail).
 */
export class RawTail {
  private offset = 0
  private watcher: FSWatcher | undefined
  private readonly timer: NodeJS.Timeout
  private reading: Promise<void> | undefined
  private again = false
  private closed = false

  constructor(
    private readonly file: string,
    private readonly onData: (chunk: Buffer) => void,
  ) {
    try {
      this.watcher = watch(file, () => void this.read())
      this.watcher.on('error', () => undefined)
    } catch {
      // not there yet: the poll picks it up
    }
    this.timer = setInterval(() => void this.read(), POLL_MS)
    this.timer.unref()
    void this.read()
  }

  read(): Promise<void> {
    if (this.reading) {
      this.again = true
      return this.reading
    }
    this.reading = (async () => {
      do {
        this.again = false
        await this.readOnce()
      } while (this.again && !this.closed)
    })().finally(() => (this.reading = undefined))
    return this.reading
  }

  private async readOnce(): Promise<void> {
    if (this.closed) return
    const handle = await open(this.file, 'r').catch(() => undefined)
    if (!handle) return
    try {
      for (;;) {
        const buffer = Buffer.alloc(CHUNK)
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, this.offset)
        if (bytesRead === 0) break
        this.offset += bytesRead
        this.onData(buffer.subarray(0, bytesRead))
      }
    } finally {
      await handle.close()
    }
  }

  /** Reads what is left, then stops. */
  async close(): Promise<void> {
    await this.read()
    this.stop()
  }

  stop(): void {
    this.closed = true
    this.watcher?.close()
    clearInterval(this.timer)
  }
}
