/**
 * A part of an HTTP/1 message that ends at a line break — a head, a trailer section, a chunk
 * line — when it arrives over several reads. The reads are kept as they came (joined once, when
 * the part is complete) and every byte is looked at once, where the scan of the last read
 * stopped: a head sent in many small pieces costs time in proportion to its size, never to its
 * size times the number of pieces (a 1 MiB head in 64-byte reads used to cost seconds).
 *
 * The scan also enforces the line rules of http1-parser.ts as bytes arrive (every CR is part
 * of a CRLF, there is no other LF), so a client cannot hold a connection with a head that could
 * never be valid. The parser checks the complete part again with its field rules.
 */

/** Where a part ends. */
export type SectionKind =
  /** A head: at the empty line after its start line and fields; empty lines before it skipped. */
  | 'head'
  /** A trailer section (after the last chunk): at the first empty line. */
  | 'trailers'
  /** A chunk line (size and extensions): at its CRLF. */
  | 'line'

/** What `scan` found. */
export const MORE = -1
export const MALFORMED = -2
export const TOO_MANY_EMPTY_LINES = -3

export class SectionBuffer {
  private pieces: Buffer[] = []
  /** Bytes kept in `pieces`. */
  kept = 0
  private kind: SectionKind = 'head'
  /** The last byte scanned was a CR (the next one must be LF). */
  private cr = false
  /** Bytes of the current line before its CR (0: at the start of a line). */
  private lineLength = 0
  /** Non-empty lines so far. */
  private lines = 0
  /** Empty lines before a head's start line (they are not part of it). */
  leadingEmpty = 0
  /** Bytes of those empty lines (the head's text begins after them). */
  private skipped = 0

  /** Starts a new part; `leadingEmpty`: empty lines already skipped before it. */
  begin(kind: SectionKind, leadingEmpty = 0): void {
    this.pieces = []
    this.kept = 0
    this.kind = kind
    this.cr = false
    this.lineLength = 0
    this.lines = 0
    this.leadingEmpty = leadingEmpty
    this.skipped = 0
  }

  /** Bytes of the part so far (kept ones, and `data` from `from` to `to`). */
  size(from: number, to: number): number {
    return this.kept + to - from - this.skipped
  }

  /**
   * Scans `data` from `from`: the index just past the part's last byte when the part ends in
   * it, else MORE (then `keep` the bytes), MALFORMED (a bare CR or LF) or, for a head,
   * TOO_MANY_EMPTY_LINES beyond `maxLeadingEmpty`.
   */
  scan(data: Buffer, from: number, maxLeadingEmpty: number): number {
    const n = data.length
    for (let i = from; i < n; i++) {
      const c = data[i]!
      if (this.cr) {
        if (c !== 10) return MALFORMED
        this.cr = false
        if (this.lineLength === 0) {
          if (this.kind !== 'head' || this.lines > 0) return i + 1
          // An empty line before a head's start line (RFC 9112 §2.2): skipped.
          if (++this.leadingEmpty > maxLeadingEmpty) return TOO_MANY_EMPTY_LINES
          this.skipped += 2
          continue
        }
        if (this.kind === 'line') return i + 1
        this.lines++
        this.lineLength = 0
      } else if (c === 13) {
        this.cr = true
      } else if (c === 10) {
        return MALFORMED
      } else {
        this.lineLength++
      }
    }
    return MORE
  }

  /** Keeps `data` from `from` (after `scan` said MORE). */
  keep(data: Buffer, from: number): void {
    const piece = from === 0 ? data : data.subarray(from)
    if (piece.length === 0) return
    this.pieces.push(piece)
    this.kept += piece.length
  }

  /**
   * The complete part as text (latin1: a character per byte), without skipped empty lines and
   * without the last `dropEnd` bytes (its final line break): kept bytes and `data[from, to)`.
   */
  text(data: Buffer, from: number, to: number, dropEnd: number): string {
    const last = data.subarray(from, to)
    const all = this.kept === 0 ? last : Buffer.concat([...this.pieces, last])
    this.pieces = []
    this.kept = 0
    return all.toString('latin1', this.skipped, all.length - dropEnd)
  }

  /** The kept bytes and `data[from, to)` as text, at most `max` characters (a refused head). */
  preview(data: Buffer, from: number, to: number, max: number): string {
    const all = Buffer.concat([...this.pieces, data.subarray(from, to)])
    return all.toString('latin1', this.skipped, Math.min(all.length, this.skipped + max))
  }

  /** Forgets the part (after an error). */
  clear(): void {
    if (this.kept === 0) return // nothing to drop (the usual case, once per message)
    this.pieces = []
    this.kept = 0
  }
}
