/**
 * One-off dynos: `run` (interactive: this terminal's stdin and stdout are the dyno's, and
 * the exit code is the dyno's) and `run:detached` (output goes to the app log), as `heroku
 * run` has them. Both POST /apps/{app}/dynos; `run` then connects to the dyno's `attach_url`
 * with an HTTP Upgrade and speaks the raw stream the daemon serves there (see
 * src/api/routes/dynos-run.routes.ts): bytes both ways, then one last line
 * `\uFFFF heroku-command-exit-status: N` before the close.
 */
import http from 'node:http'
import https from 'node:https'
import type { Duplex } from 'node:stream'
import type { Command } from 'commander'
import { p } from '../client.js'
import { act, UserError, withApp, type AppFlags, type CliDeps } from '../context.js'

interface RunFlags extends AppFlags {
  size?: string
  env: string[]
  type?: string
}

interface DynoCreated {
  name: string
  state: string
  attach_url: string | null
}

const SAFE_WORD = /^[\w@%+=:,./-]+$/

/**
 * The command line the dyno runs (`/bin/sh -c`). One argument is taken as it is, so
 * `run "rake db:migrate && echo ok"` works as on Heroku; several are shell-quoted as needed,
 * so `run -- sh -c 'echo $HOME'` reaches the dyno's shell unchanged.
 */
export function buildCommand(args: readonly string[]): string {
  if (args.length === 1) return args[0]!
  return args.map((a) => (SAFE_WORD.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
}

/** `-e 'A=1;B=2' -e C=3` → {A: '1', B: '2', C: '3'} (`;` separates, as heroku's does). */
export function parseEnv(values: readonly string[]): Record<string, string> {
  const env: Record<string, string> = {}
  for (const value of values) {
    for (const part of value.split(';')) {
      if (part.trim() === '') continue
      const m = /^\s*(\w+)=(.*)$/s.exec(part)
      if (!m) throw new UserError(`${part} is not a valid environment variable (use NAME=value).`)
      env[m[1]!] = m[2]!
    }
  }
  return env
}

const MARK = Buffer.from('\uFFFF', 'utf8')
/** Longest tail the final status line can have: `\uFFFF heroku-command-exit-status: 255\n`. */
const MAX_STATUS_LINE = 64
const STATUS_LINE = /^\uFFFF heroku-command-exit-status: (\d{1,3})\n?$/

/**
 * Passes a session's output through, holding back only what may be its final status line,
 * so a process that prints `\uFFFF…` itself is never mistaken for its end: only the line
 * the stream ends with counts.
 */
export class ExitStatusFilter {
  private held: Buffer = Buffer.alloc(0)

  /** What may be written out now. */
  push(chunk: Buffer): Buffer {
    const all = this.held.length === 0 ? chunk : Buffer.concat([this.held, chunk])
    let keepFrom = all.lastIndexOf(MARK)
    if (keepFrom < 0 || all.length - keepFrom > MAX_STATUS_LINE) {
      keepFrom = all.length
      // A mark split across two chunks: keep its first byte(s) back.
      for (const k of [2, 1]) {
        if (all.length >= k && all.subarray(all.length - k).equals(MARK.subarray(0, k))) {
          keepFrom = all.length - k
          break
        }
      }
    }
    this.held = all.subarray(keepFrom)
    return all.subarray(0, keepFrom)
  }

  /** At the end of the stream: the exit status (null if none came) and what is left to print. */
  end(): { code: number | null; rest: Buffer } {
    const m = STATUS_LINE.exec(this.held.toString('utf8'))
    if (m) return { code: Number(m[1]), rest: Buffer.alloc(0) }
    return { code: null, rest: this.held }
  }
}

/** Upgrades a request to the attach URL into a raw stream; an HTTP answer is an error. */
function connect(url: string): Promise<{ socket: Duplex; head: Buffer }> {
  const target = new URL(url)
  const request = (target.protocol === 'https:' ? https : http).request(target, {
    method: 'GET',
    headers: { Connection: 'Upgrade', Upgrade: 'tcp' },
  })
  return new Promise((resolve, reject) => {
    request.on('upgrade', (_res, socket, head) => resolve({ socket, head }))
    request.on('response', (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (text += d))
      res.on('end', () => {
        let message = `The dyno's rendezvous answered ${res.statusCode}.`
        try {
          message = (JSON.parse(text) as { message?: string }).message ?? message
        } catch {
          // not JSON: keep the status
        }
        reject(new UserError(message))
      })
    })
    request.on('error', (e) =>
      reject(new UserError(`Could not connect to the dyno at ${target.host} (${e.message}).`)),
    )
    request.end()
  })
}

/**
 * Carries the session: this process's stdin to the dyno (its end is the dyno's end-of-file),
 * the dyno's output to stdout. Resolves with the dyno's exit status, null when none came.
 */
export async function attach(
  socket: Duplex,
  head: Buffer,
  stdin: NodeJS.ReadableStream,
  stdout: NodeJS.WritableStream,
): Promise<number | null> {
  const filter = new ExitStatusFilter()
  const write = (chunk: Buffer) => {
    const out = filter.push(chunk)
    if (out.length > 0) stdout.write(out)
  }
  if (head.length > 0) write(head)
  socket.on('data', write)
  socket.on('error', () => undefined)
  stdin.pipe(socket)
  await new Promise<void>((resolve) => socket.once('close', () => resolve()))
  stdin.unpipe(socket)
  const { code, rest } = filter.end()
  if (rest.length > 0) stdout.write(rest)
  return code
}

export function registerRunCommands(program: Command, deps: CliDeps): void {
  const collect = (value: string, previous: string[]) => [...previous, value]
  const common = (cmd: Command) =>
    withApp(cmd)
      .option('-s, --size <size>', 'dyno size (Private-S, Private-M, …)')
      .option(
        '-e, --env <vars>',
        "environment variables to set, NAME=value (';' separates several; may repeat)",
        collect,
        [],
      )
      .option('--type <type>', 'process type of the dyno (run)')

  const create = async (flags: RunFlags, command: string, attachIt: boolean) =>
    deps.client().post<DynoCreated>(p`/apps/${flags.app}/dynos`, {
      command,
      attach: attachIt,
      env: parseEnv(flags.env),
      force_no_tty: true,
      ...(flags.size !== undefined && { size: flags.size }),
      ...(flags.type !== undefined && { type: flags.type }),
    })

  common(program.command('run').argument('<command...>', 'the command (put -- before it)'))
    .description(
      "run a one-off process in a dyno, attached to this terminal; exits with the process's code",
    )
    .option('-x, --exit-code', 'pass the exit code through (always done; for heroku parity)')
    .option('--no-tty', 'do not allocate a TTY (none is; for heroku parity)')
    .action(
      act(deps, async (args: string[], flags: RunFlags) => {
        const command = buildCommand(args)
        const progress = deps.out.progress(`Running ${command} on ${flags.app}`)
        let dyno: DynoCreated
        let stream: { socket: Duplex; head: Buffer }
        try {
          dyno = await create(flags, command, true)
          if (!dyno.attach_url) throw new UserError('The API gave the dyno no attach URL.')
          stream = await connect(dyno.attach_url)
        } catch (e) {
          progress.stop('!')
          throw e
        }
        progress.stop(`up, ${dyno.name}`)
        const code = await attach(stream.socket, stream.head, process.stdin, process.stdout)
        if (typeof process.stdin.unref === 'function') process.stdin.unref()
        process.stdin.pause()
        if (code === null)
          throw new UserError(`The connection to ${dyno.name} ended without an exit status.`)
        process.exitCode = code
      }),
    )

  common(program.command('run:detached').argument('<command...>', 'the command (put -- before it)'))
    .description('run a one-off process in a dyno; its output goes to the app log')
    .action(
      act(deps, async (args: string[], flags: RunFlags) => {
        const command = buildCommand(args)
        const dyno = await deps.out.action(
          `Running ${command} on ${flags.app}`,
          () => create(flags, command, false),
          (d) => `up, ${d.name}`,
        )
        deps.out.line(`Run localspace logs -a ${flags.app} --dyno ${dyno.name} to view the output.`)
      }),
    )
}
