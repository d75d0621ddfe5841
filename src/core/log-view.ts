/**
 * What the API and the runtime need from the logs data plane (docs/design.md §2): write a line,
 * read the recent ones, follow new ones. src/logs implements it; the API only sees this
 * interface, so it never imports the data plane itself.
 */

/** Who wrote a line: the app's own output, or the platform (state changes, router, api). */
export type LogSource = 'app' | 'heroku'

export const LOG_SOURCES: readonly LogSource[] = ['app', 'heroku']

/** Heroku keeps the last 1,500 lines of an app; `heroku logs -n` may ask for at most that. */
export const MAX_LOG_LINES = 1500

/** One thing to log. `text` may hold several lines; each becomes a line of its own. */
export interface LogEntry {
  source: LogSource
  /** `web.1`, `worker.2`, `run.1234`, or a platform component: `router`, `api`. */
  dyno: string
  text: string
  /** When it happened; now when absent. */
  time?: Date
}

/** One stored line, already split. */
export interface LogLine {
  /** Increases by one per line of an app, so a reconnecting reader can skip what it has. */
  seq: number
  /** Heroku's timestamp: `2026-01-01T00:00:00.000000+00:00`. */
  time: string
  source: LogSource
  dyno: string
  text: string
}

/** Heroku's filters: `dyno` is a process type (`web`) or one dyno (`web.1`). */
export interface LogFilter {
  dyno?: string
  source?: LogSource
}

export interface LogView {
  append(appId: string, entry: LogEntry): void
  /** The newest `lines` lines that pass the filter, oldest first. */
  recent(appId: string, options: LogFilter & { lines: number }): LogLine[]
  /** Calls `onLine` for every later line that passes the filter until unsubscribed. */
  follow(appId: string, filter: LogFilter, onLine: (line: LogLine) => void): () => void
}

/** A line as `heroku logs` prints it: `<time> app[web.1]: text`. */
export const formatLogLine = (line: LogLine): string =>
  `${line.time} ${line.source}[${line.dyno}]: ${line.text}`

/** `2026-01-01T00:00:00.000Z` → `2026-01-01T00:00:00.000000+00:00`, Heroku's spelling. */
export const logTime = (date: Date): string => date.toISOString().replace(/Z$/, '000+00:00')

export function matchesLogFilter(line: LogLine, filter: LogFilter): boolean {
  if (filter.source !== undefined && line.source !== filter.source) return false
  if (filter.dyno !== undefined) {
    return line.dyno === filter.dyno || line.dyno.startsWith(`${filter.dyno}.`)
  }
  return true
}

/** For servers built without a log store (most API tests): nothing kept, nothing streamed. */
export const noLogView = (): LogView => ({
  append: () => undefined,
  recent: () => [],
  follow: () => () => undefined,
})

/**
 * What the API logs when it makes a release, as Heroku does:
 * `heroku[api]: Set FOO config vars by user@example.com`, then
 * `heroku[api]: Release v3 created by user@example.com`.
 */
export function logRelease(
  logs: LogView,
  appId: string,
  release: { version: number; description: string },
  email: string,
): void {
  logs.append(appId, {
    source: 'heroku',
    dyno: 'api',
    text: `${release.description} by ${email}\nRelease v${release.version} created by ${email}`,
  })
}
