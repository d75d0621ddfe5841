/**
 * Build output: what the build's output_stream_url serves. While a build runs its output is
 * kept in memory and handed to every reader as it arrives; it is also written to
 * `<dataDir>/build-output/<build-id>.log`, from where readers get it once the build is over
 * (and after a daemon restart).
 */
import { createWriteStream, existsSync, mkdirSync, readFileSync, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import type { BuildOutputView } from '../core/builds.js'

/** Where the daemon keeps build output: `<dataDir>/build-output`. */
export const BUILD_OUTPUT_DIR = 'build-output'

/** A runaway build (a loop printing) must not fill memory or the disk. */
export const MAX_OUTPUT_BYTES = 16 * 1024 * 1024

interface Reader {
  onChunk: (text: string) => void
  onEnd: () => void
}

interface Live {
  text: string
  bytes: number
  truncated: boolean
  readers: Set<Reader>
  file?: WriteStream
  begun: boolean
  ended: boolean
}

/** The builder's handle on one build's output. */
export interface BuildOutputWriter {
  write(text: string): void
  /** Ends the output; resolves once it is on disk. */
  end(): Promise<void>
}

export class BuildOutputs implements BuildOutputView {
  private readonly live = new Map<string, Live>()

  constructor(private readonly dir: string) {}

  private fileOf(buildId: string): string {
    return join(this.dir, `${buildId}.log`)
  }

  /** Starts a build's output (readers already waiting for it get everything from here on). */
  begin(buildId: string): BuildOutputWriter {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 })
    const entry = this.entry(buildId)
    entry.begun = true
    entry.file = createWriteStream(this.fileOf(buildId), { mode: 0o600 })
    entry.file.on('error', () => undefined) // a full disk must not crash the daemon
    return {
      write: (text) => this.write(entry, text),
      end: () => this.end(buildId, entry),
    }
  }

  follow(
    buildId: string,
    finished: boolean,
    onChunk: (text: string) => void,
    onEnd: () => void,
  ): () => void {
    const existing = this.live.get(buildId)
    if (!existing && finished) {
      const file = this.fileOf(buildId)
      onChunk(existsSync(file) ? readFileSync(file, 'utf8') : '')
      onEnd()
      return () => undefined
    }
    // Not begun yet (the builder has not picked the build up): wait for it.
    const entry = existing ?? this.entry(buildId)
    onChunk(entry.text)
    if (entry.ended) {
      onEnd()
      return () => undefined
    }
    const reader = { onChunk, onEnd }
    entry.readers.add(reader)
    return () => {
      entry.readers.delete(reader)
      if (!entry.begun && entry.readers.size === 0) this.live.delete(buildId)
    }
  }

  private entry(buildId: string): Live {
    let entry = this.live.get(buildId)
    if (!entry) {
      entry = {
        text: '',
        bytes: 0,
        truncated: false,
        readers: new Set(),
        begun: false,
        ended: false,
      }
      this.live.set(buildId, entry)
    }
    return entry
  }

  private write(entry: Live, text: string): void {
    if (entry.ended || entry.truncated || text === '') return
    const bytes = Buffer.byteLength(text)
    if (entry.bytes + bytes > MAX_OUTPUT_BYTES) {
      entry.truncated = true
      text = `\n !     Output truncated after ${MAX_OUTPUT_BYTES} bytes.\n`
    }
    entry.bytes += bytes
    entry.text += text
    entry.file?.write(text)
    for (const r of entry.readers) r.onChunk(text)
  }

  private async end(buildId: string, entry: Live): Promise<void> {
    if (entry.ended) return
    entry.ended = true
    const file = entry.file
    if (file) await new Promise<void>((resolve) => file.end(resolve))
    for (const r of entry.readers) r.onEnd()
    entry.readers.clear()
    // From now on readers get the file; the memory goes.
    this.live.delete(buildId)
  }
}
