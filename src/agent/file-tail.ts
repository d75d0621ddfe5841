/**
 * Follows a file that another process appends to (a dyno's stdout.log), line by line, from a
 * given offset: inotify (`fs.watch`) for promptness, plus a slow poll because inotify can miss
 * a write that happens before the watch starts. Dynos write to files rather than to pipes of
 * the daemon so that they outlive it (docs/design.md §5); a new daemon resumes at the saved offset.
 */
import { watch, type FSWatcher } from 'node:fs'
import { open } from 'node:fs/promises'
import { StringDecoder } from 'node:string_decoder'

const POLL_MS = 1000
const CHUNK = 64 * 1024

export class FileTail {
  #offset: number
  #partial = ''
  /** Keeps a character split across two reads whole. */
  readonly #decoder = new StringDecoder('utf8')
  #watcher: FSWatcher | undefined
  #timer: NodeJS.Timeout | undefined
  #reading: Promise<void> | undefined
  #again = false
  #closed = false

  constructor(
    private readonly file: string,
    private readonly onLine: (line: string) => void,
    offset = 0,
  ) {
    this.#offset = offset
    try {
      this.#watcher = watch(file, () => void this.read())
      this.#watcher.on('error', () => undefined)
    } catch {
      // not there yet: the poll picks it up
    }
    this.#timer = setInterval(() => void this.read(), POLL_MS)
    this.#timer.unref()
    void this.read()
  }

  /** Bytes consumed so far (complete lines only): where a later tail should resume. */
  get offset(): number {
    return this.#offset - Buffer.byteLength(this.#partial)
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
    const handle = await open(this.file, 'r').catch(() => undefined)
    if (!handle) return
    try {
      const buffer = Buffer.alloc(CHUNK)
      for (;;) {
        const { bytesRead } = await handle.read(buffer, 0, CHUNK, this.#offset)
        if (bytesRead === 0) break
        this.#offset += bytesRead
        const text = this.#partial + this.#decoder.write(buffer.subarray(0, bytesRead))
        const lines = text.split('\n')
        this.#partial = lines.pop() ?? ''
        for (const line of lines) this.onLine(line)
      }
    } finally {
      await handle.close()
    }
  }

  /** Reads what is left (a final line without a newline included), then stops. */
  async close(): Promise<void> {
    await this.read()
    this.#closed = true
    this.#watcher?.close()
    clearInterval(this.#timer)
    if (this.#partial !== '') {
      this.onLine(this.#partial)
      this.#partial = ''
    }
  }

  /** Stops without reading further (daemon shutdown: the next daemon resumes at `offset`). */
  stop(): void {
    this.#closed = true
    this.#watcher?.close()
    clearInterval(this.#timer)
  }
}
