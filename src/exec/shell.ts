/**
 * Long-lived `ip -batch` and `nft -i` processes that take one script at a time, for the paths
 * where starting a process is most of the cost (a dyno's attach: ~8 ms to start a process here
 * and ~2 ms for it to exit, against well under 1 ms of netlink work).
 *
 * Neither tool says when a script is done, so each script is followed by a sentinel command
 * whose output is known (`link show dev lo`, whose index is 1 in every namespace; `describe meta
 * mark`, which does not touch the kernel). The tool's stderr is merged into its stdout by the
 * shell that starts it and stdout is line-buffered (`stdbuf -oL`), so everything the script
 * printed arrives, in order, before the sentinel's line. Scripts given to `run` print nothing
 * when they succeed, so any line before the sentinel is an error message. `read` is for the
 * JSON `nft` shell, whose listings are one line of JSON each (`{"nftables": …}`): those lines
 * are the result, any other line an error message.
 */
// eslint-disable-next-line no-restricted-imports -- src/exec is the sanctioned spawner
import { spawn } from 'node:child_process'
import type { Readable, Writable } from 'node:stream'
import { ExecError } from './run.js'

/**
 * Which tool, and for `ip`, which namespace it works in (the host's when absent); `nft-json`
 * is `nft -j -s`, for listings (`read`).
 */
export type ShellKind = { tool: 'ip'; netns?: string } | { tool: 'nft' } | { tool: 'nft-json' }

export interface Shell {
  /** Runs the script's lines; resolves when all have run, rejects with ExecError on any error. */
  run(script: string): Promise<void>
  /**
   * Runs the script's lines and resolves with what they printed (the JSON `nft` shell's
   * listings, one line each); rejects with ExecError on any error message.
   */
  read(script: string): Promise<string[]>
  /** Ends the process (it exits once it has read the end of its input). */
  close(): void
}

/**
 * Opens a shell whose tool is a child of this process (`openLocalShell`) or of the exec runner
 * (runner.ts), which hands the tool's pipes over: either way scripts go straight to the tool.
 */
export type OpenShell = (kind: ShellKind) => Shell

interface Spec {
  argv: string[]
  sentinel: string
  isSentinelOutput: (line: string) => boolean
  /** Lines `read` returns; every other line is an error message. */
  isResult: (line: string) => boolean
}

const NFT_SENTINEL = {
  sentinel: 'describe meta mark',
  isSentinelOutput: (line: string) => line.startsWith('meta expression, datatype mark'),
}

function specOf(kind: ShellKind): Spec {
  if (kind.tool === 'nft') return { argv: ['nft', '-i'], ...NFT_SENTINEL, isResult: () => false }
  if (kind.tool === 'nft-json') {
    return {
      argv: ['nft', '-j', '-s', '-i'],
      ...NFT_SENTINEL,
      isResult: (line) => line.startsWith('{"nftables"'),
    }
  }
  return {
    // -force: a failed line must not end the process; -o: one line per link, the sentinel's.
    argv: [
      'ip',
      ...(kind.netns === undefined ? [] : ['-n', kind.netns]),
      '-o',
      '-force',
      '-batch',
      '-',
    ],
    sentinel: 'link show dev lo',
    isSentinelOutput: (line) => line.startsWith('1: lo:'),
    isResult: () => false,
  }
}

const DEFAULT_TIMEOUT_MS = 10_000

interface Job {
  script: string
  output: string[]
  resolve: (results: string[]) => void
  reject: (e: Error) => void
  timer?: NodeJS.Timeout
}

/** A tool started for a shell: its stdin, its stdout (stderr merged in), and how to end it. */
export interface ToolPipes {
  stdin: Writable
  stdout: Readable
  /** Kills the tool (a stuck script); its stdout then ends. */
  kill(): void
}

/**
 * Starts a shell's tool (`argv`, to be run as `sh -c 'exec stdbuf -oL "$@" 2>&1'`): in this
 * process (`spawnTool`), or in the exec runner, which hands the pipes over (runner.ts).
 */
export type StartTool = (argv: readonly string[]) => ToolPipes | Promise<ToolPipes>

/**
 * A shell's tool as a child of this process. `sh` merges stderr into stdout so that errors
 * and the sentinel keep their order. The tool leads a process group of its own, out of reach
 * of signals sent to the daemon's (a terminal's Ctrl-C): it ends when its stdin closes, that
 * is when the shell is closed or the process holding the pipe (the daemon) is gone.
 */
export function spawnToolProcess(argv: readonly string[]) {
  const child = spawn('sh', ['-c', 'exec stdbuf -oL "$@" 2>&1', 'sh', ...argv], {
    stdio: ['pipe', 'pipe', 'ignore'],
    detached: true,
  })
  // A tool that cannot start ends its stdout, which fails the scripts waiting on it.
  child.on('error', () => undefined)
  return child
}

export const spawnTool: StartTool = (argv) => {
  const child = spawnToolProcess(argv)
  return { stdin: child.stdin, stdout: child.stdout, kill: () => child.kill('SIGKILL') }
}

/** One started tool and the scripts written to it, oldest first. */
interface Session {
  tool: Promise<ToolPipes>
  /** The same, once it has started, so a script reaches it in the caller's tick. */
  running?: ToolPipes
  /** The first job is the one whose output is arriving. */
  jobs: Job[]
  /** Output after the last complete line. */
  partial: string
}

/**
 * A shell over a tool's pipes, wherever the tool runs. The tool is started at once (so the
 * first script does not wait for a process), and again after it ended (killed when a script
 * got stuck, or exited) or was closed.
 */
export class PipeShell implements Shell {
  readonly #spec: Spec
  #session: Session | undefined

  constructor(
    kind: ShellKind,
    private readonly start: StartTool,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.#spec = specOf(kind)
    this.#session = this.#open()
  }

  #open(): Session {
    const session: Session = {
      tool: Promise.resolve().then(() => this.start(this.#spec.argv)),
      jobs: [],
      partial: '',
    }
    session.tool.then(
      (tool) => {
        session.running = tool
        tool.stdin.on('error', () => undefined) // a dead tool is reported by its stdout's end
        tool.stdout.setEncoding('utf8')
        tool.stdout.on('data', (d: string) => this.#onOutput(session, d))
        tool.stdout.on('close', () => this.#ended(session, 'exited'))
      },
      (e: Error) => this.#ended(session, `could not start (${e.message})`),
    )
    return session
  }

  /** The session's tool is gone: the scripts still waiting on it fail. */
  #ended(session: Session, how: string): void {
    if (this.#session === session) this.#session = undefined
    const cause = `${this.#spec.argv[0]} ${how} before finishing its script`
    for (const job of session.jobs.splice(0)) {
      clearTimeout(job.timer)
      job.reject(this.#error(job.script, [...job.output, cause].join('\n')))
    }
  }

  async run(script: string): Promise<void> {
    const printed = await this.read(script)
    if (printed.length > 0) throw this.#error(script, printed.join('\n'))
  }

  read(script: string): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const session = (this.#session ??= this.#open())
      const job: Job = { script, output: [], resolve, reject }
      // The process is stuck (or never started): kill it; the next script gets a fresh one.
      job.timer = setTimeout(() => {
        if (session.running) session.running.kill()
        else this.#ended(session, 'did not start in time')
      }, this.timeoutMs)
      session.jobs.push(job)
      const body = script.endsWith('\n') || script === '' ? script : `${script}\n`
      const line = `${body}${this.#spec.sentinel}\n`
      // A running tool gets it in this tick (a caller may overlap it with work of its own).
      if (session.running) session.running.stdin.write(line)
      else session.tool.then((t) => t.stdin.write(line)).catch(() => undefined)
    })
  }

  /** Ends the tool once it has run what it was given (it exits at the end of its input). */
  close(): void {
    const session = this.#session
    this.#session = undefined
    session?.tool.then((t) => t.stdin.end()).catch(() => undefined)
  }

  #onOutput(session: Session, data: string): void {
    session.partial += data
    let newline: number
    while ((newline = session.partial.indexOf('\n')) >= 0) {
      const line = session.partial.slice(0, newline)
      session.partial = session.partial.slice(newline + 1)
      const job = session.jobs[0]
      if (!job) continue
      if (!this.#spec.isSentinelOutput(line)) {
        job.output.push(line)
        continue
      }
      session.jobs.shift()
      clearTimeout(job.timer)
      const printed = job.output.filter((l) => l.trim() !== '')
      const errors = printed.filter((l) => !this.#spec.isResult(l))
      if (errors.length === 0) job.resolve(printed)
      else job.reject(this.#error(job.script, errors.join('\n')))
    }
  }

  #error(script: string, stderr: string): ExecError {
    const [cmd, ...args] = this.#spec.argv
    return new ExecError(cmd!, [...args, `<<< ${script.trim()}`], 1, stderr)
  }
}

export const openLocalShell: OpenShell = (kind) => new PipeShell(kind, spawnTool)

/**
 * A shell for idempotent scripts that, when a script fails, retries it once in a fresh
 * process. `ip` caches interface indexes for its lifetime, so a long-lived one does not know a
 * bridge that was deleted and made again under the same name; a new process does.
 */
export function retryingShell(open: () => Shell): Shell {
  let shell = open()
  async function retried<T>(use: (s: Shell) => Promise<T>): Promise<T> {
    try {
      return await use(shell)
    } catch {
      shell.close()
      shell = open()
      return use(shell)
    }
  }
  return {
    run: (script) => retried((s) => s.run(script)),
    read: (script) => retried((s) => s.read(script)),
    close: () => shell.close(),
  }
}
