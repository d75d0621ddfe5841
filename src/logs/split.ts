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
