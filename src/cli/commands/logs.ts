/**
 * `logs`: an app's recent log lines, and with --tail every new one until Ctrl-C. As `heroku
 * logs` does, it makes a log session (POST /apps/{app}/log-sessions) and reads its
 * `logplex_url`; localspace serves that URL as plain text too, which is what this reads.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { p } from '../client.js'
import { act, UserError, withApp, type AppFlags, type CliDeps } from '../context.js'
import type { TextSink } from '../output.js'

/** Heroku's ceiling for `-n`: the log store keeps 1,500 lines per app. */
export const MAX_LINES = 1500
export const SOURCES = ['app', 'heroku'] as const

interface LogsFlags extends AppFlags {
  num: number
  dyno?: string
  source?: string
  tail?: boolean
}

interface LogSession {
  id: string
  logplex_url: string
}

function parseLines(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > MAX_LINES) {
    throw new InvalidArgumentError(`expected a whole number from 1 to ${MAX_LINES}.`)
  }
  return n
}

function parseSource(value: string): string {
  if (!(SOURCES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`expected ${SOURCES.join(' or ')}.`)
  }
  return value
}

/**
 * Copies the session's lines to `out` as they arrive. Without tail the server ends the
 * response after the recent lines; with tail it ends only if the daemon goes away.
 */
export async function printLogStream(url: string, out: TextSink): Promise<void> {
  let response: Response
  try {
    response = await fetch(url, { headers: { Accept: 'text/plain' } })
  } catch (e) {
    throw new UserError(`Could not open the log stream at ${url} (${(e as Error).message}).`)
  }
  if (!response.ok || !response.body) {
    const text = await response.text()
    let message = `The log stream answered ${response.status}.`
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message
    } catch {
      // not JSON: keep the status message
    }
    throw new UserError(message)
  }
  const decoder = new TextDecoder()
  const reader = (response.body as ReadableStream<Uint8Array>).getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    out.write(decoder.decode(value, { stream: true }))
  }
  const rest = decoder.decode()
  if (rest) out.write(rest)
}

export function registerLogsCommands(program: Command, deps: CliDeps): void {
  withApp(program.command('logs'))
    .description('display recent log output (add --tail to keep streaming)')
    .option(
      '-n, --num <lines>',
      `number of lines to display (at most ${MAX_LINES})`,
      parseLines,
      100,
    )
    .option('-d, --dyno <dyno>', 'only show output from this dyno or process type (web.1, web)')
    .option(
      '-s, --source <source>',
      'only show output from this source (app or heroku)',
      parseSource,
    )
    .option('-t, --tail', 'continually stream logs')
    .action(
      act(deps, async (flags: LogsFlags) => {
        const session = await deps.client().post<LogSession>(p`/apps/${flags.app}/log-sessions`, {
          lines: flags.num,
          tail: flags.tail === true,
          ...(flags.dyno !== undefined && { dyno: flags.dyno }),
          ...(flags.source !== undefined && { source: flags.source }),
        })
        await printLogStream(session.logplex_url, deps.out.stdout)
      }),
    )
}
