/**
 * Heroku's list pagination (docs/heroku-reference.md §1.4):
 *   Range: <field> [start]..[end]; max=N[, order=asc|desc]
 * A `]` before start makes it exclusive (what Next-Range uses). The CLI echoes Next-Range
 * back verbatim, so the last page must never carry one, or `heroku` loops forever.
 */
import { errors } from './errors.js'

export const DEFAULT_PAGE_SIZE = 200
export const MAX_PAGE_SIZE = 1000

export interface RangeSpec {
  field: string
  start?: string
  startExclusive: boolean
  end?: string
  max: number
  order: 'asc' | 'desc'
}

export interface Page<T> {
  items: T[]
  /** Present only when more items follow. */
  nextRange?: string
  contentRange?: string
}

// The start ends at the first `..`, so it may hold single dots (emails); Next-Range encodes
// its dots, so a start of our own making is never ambiguous.
const RANGE = /^\s*([a-z_]+)\s+(\]?)([^\s;]*?)\.\.([^\s;]*)\s*(?:;\s*(.*))?$/

/** Parses a Range header; throws 416 `requested_range_not_satisfiable` on anything malformed. */
export function parseRange(
  header: string | undefined,
  fields: readonly string[],
  defaultField: string,
): RangeSpec {
  const spec: RangeSpec = {
    field: defaultField,
    startExclusive: false,
    max: DEFAULT_PAGE_SIZE,
    order: 'asc',
  }
  if (header === undefined || header.trim() === '') return spec
  const m = RANGE.exec(header)
  if (!m) throw errors.badRange(`Invalid Range header: ${JSON.stringify(header)}.`)
  const [, field, exclusive, start, end, options] = m
  if (!fields.includes(field!)) {
    throw errors.badRange(`Range is only supported on ${fields.join(', ')}.`)
  }
  spec.field = field!
  spec.startExclusive = exclusive === ']'
  if (start) spec.start = decodeBound(start, header)
  if (end) spec.end = decodeBound(end, header)
  for (const part of (options ?? '').split(/[;,]/)) {
    const opt = part.trim()
    if (opt === '') continue
    const [key, value] = opt.split('=').map((s) => s.trim())
    if (key === 'max' && value !== undefined && /^\d+$/.test(value) && +value >= 1) {
      spec.max = Math.min(+value, MAX_PAGE_SIZE)
    } else if (key === 'order' && (value === 'asc' || value === 'desc')) {
      spec.order = value
    } else {
      throw errors.badRange(`Invalid Range option: ${JSON.stringify(opt)}.`)
    }
  }
  return spec
}

function decodeBound(text: string, header: string): string {
  try {
    return decodeURIComponent(text)
  } catch {
    throw errors.badRange(`Invalid Range header: ${JSON.stringify(header)}.`)
  }
}

type Key = string | number

function compare(a: Key, b: Key): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b
  return String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0
}

/** Orders, bounds and cuts a list by the range; `keyOf` gives the value of the range field. */
export function paginate<T>(
  all: readonly T[],
  spec: RangeSpec,
  keyOf: (item: T, field: string) => Key,
): Page<T> {
  const coerce = (text: string, sample: Key): Key => (typeof sample === 'number' ? +text : text)
  const dir = spec.order === 'asc' ? 1 : -1
  const sorted = [...all].sort((a, b) => dir * compare(keyOf(a, spec.field), keyOf(b, spec.field)))
  const inRange = sorted.filter((item) => {
    const k = keyOf(item, spec.field)
    if (spec.start !== undefined) {
      const c = dir * compare(k, coerce(spec.start, k))
      if (c < 0 || (c === 0 && spec.startExclusive)) return false
    }
    if (spec.end !== undefined && dir * compare(k, coerce(spec.end, k)) > 0) return false
    return true
  })
  const items = inRange.slice(0, spec.max)
  const page: Page<T> = { items }
  const first = items[0]
  const last = items[items.length - 1]
  if (first !== undefined && last !== undefined) {
    const opts = `max=${spec.max}${spec.order === 'desc' ? ', order=desc' : ''}`
    page.contentRange = `${spec.field} ${keyOf(first, spec.field)}..${keyOf(last, spec.field)}; ${opts}`
    if (inRange.length > items.length) {
      const start = encodeURIComponent(String(keyOf(last, spec.field))).replaceAll('.', '%2E')
      page.nextRange = `${spec.field} ]${start}..; ${opts}`
    }
  }
  return page
}
