/**
 * Procfile parsing, as Heroku reads it: one `<type>: <command>` per line; blank lines and
 * `#` comments are skipped. A line that is neither is an error (Heroku ignores it silently,
 * which hides typos; saying so costs a deploy less).
 */
import type { ProcessTypes } from '../core/types.js'

/** Heroku's process type names (slug schema: `^[-\w]{1,128}$`). */
const LINE = /^([-\w]{1,128})\s*:\s*(.+)$/

export class ProcfileError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ProcfileError'
  }
}

export function parseProcfile(text: string): ProcessTypes {
  const types: ProcessTypes = Object.create(null) as ProcessTypes
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const m = LINE.exec(line)
    if (!m) throw new ProcfileError(`Procfile line ${i + 1} is not "<type>: <command>": ${line}`)
    types[m[1]!] = m[2]!.trim()
  })
  return { ...types }
}
