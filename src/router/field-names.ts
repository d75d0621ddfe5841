/**
 * Header field names compared without regard to case, and without toLowerCase: that makes a
 * new string (through ICU) for every field of every message, and most fields only need to be
 * told apart from a handful of names.
 */

/**
 * Whether `name` is `lower` (written in lower case) in any case. ASCII folding by `| 0x20` is
 * exact for field names: among token characters only letters fold onto letters. So it is for
 * the values it is used on (`chunked`, `100-continue`): what else folds onto their letters,
 * digits and `-` are control characters, which the parser refused before.
 */
export function isField(name: string, lower: string): boolean {
  const n = lower.length
  if (name.length !== n) return false
  for (let i = 0; i < n; i++) if ((name.charCodeAt(i) | 0x20) !== lower.charCodeAt(i)) return false
  return true
}

/** A set of lower-case field names, looked up by length first. */
export class FieldNames {
  private readonly byLength: string[][] = []

  constructor(names: readonly string[]) {
    for (const name of names) (this.byLength[name.length] ??= []).push(name)
  }

  /** The name of the set that `name` is, in any case; undefined for a name not in it. */
  match(name: string): string | undefined {
    const candidates = this.byLength[name.length]
    if (candidates === undefined) return undefined
    for (const candidate of candidates) if (isField(name, candidate)) return candidate
    return undefined
  }
}
