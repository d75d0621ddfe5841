/**
 * How one write becomes log lines, as Heroku's Logplex does it: one line per line of text,
 * and a line longer than 10 KB becomes several lines of at most 10 KB each
 * (docs/heroku-reference.md §8.6).
 */

export const MAX_LINE_BYTES = 10 * 1024

/**
 * Splits at every line break (`\n`, `\r\n` and a lone `\r`, which would otherwise end an
 * event early for a Server-Sent Events reader). A final line break ends the last line
 * rather than starting an empty one, so `"a\n"` is one line; `""` is none.
 */
export function splitLogText(text: string, maxBytes = MAX_LINE_BYTES): string[] {
  if (text === '') return []
  const lines = text.split(/\r\n|\r|\n/)
  if (lines.length > 1 && lines.at(-1) === '') lines.pop()
  return lines.flatMap((line) => splitLongLine(line, maxBytes))
}

/** Cuts at `maxBytes` of UTF-8, moved back so a multi-byte character is never cut in two. */
function splitLongLine(line: string, maxBytes: number): string[] {
  // A UTF-16 unit is at most 3 bytes of UTF-8: short lines need no encoding at all.
  if (line.length * 3 <= maxBytes) return [line]
  const bytes = Buffer.from(line, 'utf8')
  if (bytes.length <= maxBytes) return [line]
  const parts: string[] = []
  let start = 0
  while (start < bytes.length) {
    let end = Math.min(start + maxBytes, bytes.length)
    // 0b10xxxxxx is a continuation byte: the cut would land inside a character.
    while (end < bytes.length && end > start && (bytes[end]! & 0xc0) === 0x80) end--
    parts.push(bytes.toString('utf8', start, end))
    start = end
  }
  return parts
}

/**
 * The streaming form of the same rule, for bytes as they arrive from a dyno's output file:
 * a line ends at `\n` or, without one, once it holds `maxBytes`, where it is cut (moved back
 * so a UTF-8 character is not cut in two, as above) and the rest continues as the next line.
 *
 * Linear in its input whatever it is, because it is fed by untrusted dynos (issue 15 B4: a
 * dyno that wrote 24 MB without a newline cost the daemon 24 s of CPU re-scanning a growing
 * string, and past V8's string limit an unhandled rejection): each byte is searched once
 * (a search never looks further than the room left in the line) and copied at most twice,
 * and what is held back between chunks is at most `maxBytes`. `\r` is left in the line:
 * `splitLogText` (LogStore.append) splits at it, since `\r\n` may arrive in two chunks.
 */
export class LineCutter {
  /** The start of the current line: whole chunks' tails, copied (the reader reuses its buffer). */
  #pending: Buffer[] = []
  #pendingBytes = 0

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {
    // A cut moves back at most 3 bytes (a UTF-8 character is at most 4), so a line is never empty.
    if (!Number.isInteger(maxBytes) || maxBytes < 4) throw new RangeError('maxBytes must be ≥ 4')
  }

  /** Bytes received but not yet given out as a line. */
  get pendingBytes(): number {
    return this.#pendingBytes
  }

  push(chunk: Buffer): void {
    let start = 0
    while (start < chunk.length) {
      const room = this.maxBytes - this.#pendingBytes
      // One byte past the room: a `\n` right at the limit still ends a full line.
      const window = chunk.subarray(start, start + room + 1)
      const newline = window.indexOf(0x0a)
      if (newline !== -1) {
        this.#emit(this.#take(window.subarray(0, newline)))
        start += newline + 1
      } else if (window.length <= room) {
        this.#keep(window)
        start = chunk.length
      } else {
        this.#cut(this.#take(window.subarray(0, room)), window[room]!)
        start += room
      }
    }
  }

  /** The line in progress, if any, as it is (the writer is done, or its file is truncated). */
  flush(): void {
    if (this.#pendingBytes > 0) this.#emit(this.#take(Buffer.alloc(0)))
  }

  /** The pending bytes followed by `tail`, as one buffer; nothing stays pending. */
  #take(tail: Buffer): Buffer {
    const line = this.#pendingBytes === 0 ? tail : Buffer.concat([...this.#pending, tail])
    this.#pending = []
    this.#pendingBytes = 0
    return line
  }

  #keep(bytes: Buffer): void {
    this.#pending.push(Buffer.from(bytes))
    this.#pendingBytes += bytes.length
  }

  /** A full line (`maxBytes`), `next` the byte after it: cut before a character's start. */
  #cut(line: Buffer, next: number): void {
    let end = line.length
    // 0b10xxxxxx is a continuation byte: the cut would land inside a character, which starts
    // at most 3 bytes back (0b11xxxxxx). Invalid input, with no such start, is cut at the limit.
    if (isContinuation(next)) {
      let start = end - 1
      while (start > end - 4 && isContinuation(line[start]!)) start--
      if ((line[start]! & 0xc0) === 0xc0) end = start
    }
    this.#emit(line.subarray(0, end))
    if (end < line.length) this.#keep(line.subarray(end))
  }

  #emit(bytes: Buffer): void {
    this.onLine(bytes.toString('utf8'))
  }
}

const isContinuation = (byte: number): boolean => (byte & 0xc0) === 0x80
