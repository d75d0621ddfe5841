/**
 * The client end of an attached one-off dyno (`localspace run`): a raw byte stream the API
 * upgraded from `GET /localspace/rendezvous/<token>`. Bytes from the client go to the dyno's
 * stdin (a FIFO; the client's half-close is the dyno's end-of-file); the dyno's stdout and
 * stderr, as the daemon reads them from its output files, go back; once the process has
 * exited and its output is all sent, one last line `\uFFFF heroku-command-exit-status: N`
 * (as Heroku's rendezvous ends) and the end of the stream. A client that goes away before
 * that hangs up the dyno.
 */
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
