/**
 * What the CLI prints, in the heroku CLI's shapes: `=== heading` lines, aligned `Key: value`
 * blocks, tables, ` ▸    ` for errors and warnings, and `Doing something... done` action
 * lines. Data goes to stdout; actions, warnings and errors go to stderr, so `--json` output and
 * `localspace config --shell` stay clean for scripts.
 */

/** The part of a stream the CLI writes to; process.stdout and a test's buffer both fit. */
export interface TextSink {
  write(text: string): unknown
  isTTY?: boolean
}

export type Cell = string | number | boolean | null | undefined

export interface Column<T> {
  header: string
  get: (row: T) => Cell
}

export const ERROR_PREFIX = ' ▸    '
const SPINNER = ['⣾', '⣽', '⣻', '⢿', '⡿', '⣟', '⣯', '⣷']

const STYLES = { bold: [1, 22], red: [31, 39], yellow: [33, 39], green: [32, 39], dim: [2, 22] }
export type Style = keyof typeof STYLES

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g

/** Colour only for a person at a terminal, and never when NO_COLOR is set (no-color.org). */
export function colorEnabled(sink: TextSink, env: Record<string, string | undefined>): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false
  if (env.TERM === 'dumb') return false
  return sink.isTTY === true
}

export function paint(style: Style, text: string, color: boolean): string {
  if (!color) return text
  const [on, off] = STYLES[style]
  return `\u001b[${on}m${text}\u001b[${off}m`
}

/** Printed width: escape codes take no room, and each code point is one column. */
export function visibleWidth(text: string): number {
  return [...stripAnsi(text)].length
}

export const stripAnsi = (text: string) => text.replace(ANSI, '')

const padEnd = (text: string, width: number) =>
  text + ' '.repeat(Math.max(0, width - visibleWidth(text)))

export function cellText(value: Cell): string {
  if (value === null || value === undefined) return ''
  return String(value)
}

/**
 * A table: a header row, an underline, then one line per row, each indented by one space and
 * columns two spaces apart. Trailing spaces are trimmed so output diffs cleanly.
 *
 * @example
 * renderTable([{ name: 'prod' }], [{ header: 'Name', get: (s) => s.name }])
 * // ' Name\n ────\n prod\n'
 */
export function renderTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  { color = false } = {},
): string {
  // A cell is one line; a newline inside one would break the alignment of every row after it.
  const cells = rows.map((row) => columns.map((c) => cellText(c.get(row)).replace(/\r?\n/g, ' ')))
  const widths = columns.map((c, i) =>
    Math.max(visibleWidth(c.header), ...cells.map((r) => visibleWidth(r[i]!))),
  )
  const line = (values: string[]) =>
    ` ${values.map((v, i) => padEnd(v, widths[i]!)).join('  ')}`.trimEnd()
  const header = line(columns.map((c) => paint('bold', c.header, color)))
  const total = widths.reduce((sum, w) => sum + w, 0) + 2 * (widths.length - 1)
  const underline = ` ${'─'.repeat(total)}`
  return [header, underline, ...cells.map(line)].map((l) => `${l}\n`).join('')
}

export type KeyValues = ReadonlyArray<readonly [string, Cell | readonly string[]]>

/**
 * Heroku's styled object: `Key: value` with the values aligned. Undefined values are left out;
 * lists are joined with `, `; continuation lines of multi-line values are indented.
 */
export function renderKeyValues(pairs: KeyValues, { color = false } = {}): string {
  const shown = pairs.filter(([, v]) => v !== undefined)
  const width = Math.max(0, ...shown.map(([k]) => visibleWidth(k) + 1))
  return shown
    .map(([key, value]) => {
      const text = Array.isArray(value)
        ? value.join(', ')
        : cellText(value as Cell).replace(/\n/g, `\n${' '.repeat(width + 1)}`)
      return `${padEnd(paint('bold', `${key}:`, color), width)} ${text}`.trimEnd() + '\n'
    })
    .join('')
}

export const renderHeading = (text: string, color = false) =>
  `${paint('bold', `=== ${text}`, color)}\n`

/** Writes to stdout and stderr with colour decided per stream. */
export class Output {
  readonly stdoutColor: boolean
  readonly stderrColor: boolean

  constructor(
    readonly stdout: TextSink,
    readonly stderr: TextSink,
    env: Record<string, string | undefined>,
  ) {
    this.stdoutColor = colorEnabled(stdout, env)
    this.stderrColor = colorEnabled(stderr, env)
  }

  line(text = ''): void {
    this.stdout.write(`${text}\n`)
  }

  json(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
  }

  heading(text: string): void {
    this.stdout.write(renderHeading(text, this.stdoutColor))
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    this.stdout.write(renderTable(rows, columns, { color: this.stdoutColor }))
  }

  keyValues(pairs: KeyValues): void {
    this.stdout.write(renderKeyValues(pairs, { color: this.stdoutColor }))
  }

  /** A one-line note for a person, on stderr: ` ▸    text`. */
  warn(text: string): void {
    this.prefixed(text, 'yellow')
  }

  error(text: string): void {
    this.prefixed(text, 'red')
  }

  private prefixed(text: string, style: Style): void {
    const prefix = paint(style, ERROR_PREFIX, this.stderrColor)
    this.stderr.write(
      text
        .split('\n')
        .map((l) => `${prefix}${l}\n`)
        .join(''),
    )
  }

  /**
   * Shows that something is under way: on a terminal a spinner before the message, redrawn
   * until `stop`; elsewhere just `message... ` and then the result, so logs stay readable.
   */
  progress(message: string): { stop(result: string): void } {
    if (this.stderr.isTTY !== true) {
      this.stderr.write(`${message}... `)
      return { stop: (result) => void this.stderr.write(`${result}\n`) }
    }
    let frame = 0
    const draw = () =>
      this.stderr.write(
        `\r${paint('dim', SPINNER[frame++ % SPINNER.length]!, this.stderrColor)} ${message}...`,
      )
    draw()
    const timer = setInterval(draw, 100)
    return {
      stop: (result) => {
        clearInterval(timer)
        this.stderr.write(`\r\u001b[K${message}... ${result}\n`)
      },
    }
  }

  /**
   * `message... done` on stderr around a piece of work, as `heroku` prints it. `finish` turns
   * the result into the text after the dots, e.g. `done, v3`. On failure the line ends in `!`
   * and the error goes on to be reported by the caller.
   */
  async action<T>(message: string, work: () => Promise<T>, finish?: (r: T) => string): Promise<T> {
    const shown = this.progress(message)
    try {
      const result = await work()
      shown.stop(finish ? finish(result) : 'done')
      return result
    } catch (e) {
      shown.stop('!')
      throw e
    }
  }
}
