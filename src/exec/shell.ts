/**
 * Long-lived `ip -batch` and `nft -i` processes that take one script at a time, for the paths
 * where starting a process is most of the cost (a dyno's attach: ~8 ms to start a process here
 * and ~2 ms for it to exit, against well under 1 ms of netlink work).
 *
 * Neither tool says when a script is done, so each script is followed by a sentinel command
 * whose output is known (`link show dev lo`, whose index is 1 in every namespace; `describe meta
 * mark`, which does not touch the kernel). The tool's stderr is merged into its stdout by the
 * shell that starts it and stdout is line-buffered (`stdbuf -oL`), so everything the script
 * printed arrives, in order, before the sentinel's line. The scripts sent here print nothing
 * when they succeed, so any line before the sentinel is an error message.
 */
// eslint-disable-next-line no-restricted-imports -- src/exec is the sanctioned spawner
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { ExecError } from './run.js'

/** Which tool, and for `ip`, which namespace it works in (the host's when absent). */
export type ShellKind = { tool: 'ip'; netns?: string } | { tool: 'nft' }

export interface Shell {
  /** Runs the script's lines; resolves when all have run, rejects with ExecError on any error. */
  run(script: string): Promise<void>
  /** Ends the process (it exits once it has read the end of its input). */
  close(): void
}

/** Opens a shell: in this process (`openLocalShell`) or in the exec runner (runner.ts). */
export type OpenShell = (kind: ShellKind) => Shell

interface Spec {
  argv: string[]
  sentinel: string
  isSentinelOutput: (line: string) => boolean
}

function specOf(kind: ShellKind): Spec {
  if (kind.tool === 'nft') {
    return {
      argv: ['nft', '-i'],
      sentinel: 'describe meta mark',
      isSentinelOutput: (line) => line.startsWith('meta expression, datatype mark'),
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
  }
}

const DEFAULT_TIMEOUT_MS = 10_000

interface Job {
  script: string
  output: string[]
  resolve: () => void
  reject: (e: Error) => void
  timer?: NodeJS.Timeout
}

/** A shell backed by a child of this process. */
export class LocalShell implements Shell {
  readonly #spec: Spec
  #child: ChildProcessWithoutNullStreams | undefined
  #pending = ''
  /** Jobs in the order they were written; the first is the one whose output is arriving. */
  readonly #jobs: Job[] = []

  constructor(
    kind: ShellKind,
    private readonly timeoutMs = DEFAULT_TIMEOUT_MS,
  ) {
    this.#spec = specOf(kind)
    this.#start()
  }

  #start(): void {
    const [cmd, ...args] = this.#spec.argv
    // `sh` merges stderr into stdout so that errors and the sentinel keep their order.
    const child = spawn('sh', ['-c', 'exec stdbuf -oL "$@" 2>&1', 'sh', cmd!, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    this.#child = child
    child.stdout.setEncoding('utf8').on('data', (d: string) => this.#onOutput(d))
    child.stdin.on('error', () => undefined) // a dead process is reported by 'exit' below
    child.on('error', (e) => this.#fail(e))
    child.on('exit', (code) => {
      if (this.#child === child) this.#child = undefined
      this.#fail(new Error(`${cmd} exited (${code ?? 'killed'}) before finishing its script`))
    })
  }

  run(script: string): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.#child) this.#start()
      const job: Job = { script, output: [], resolve, reject }
      job.timer = setTimeout(() => {
        // The process is stuck: kill it; the next script gets a fresh one.
        this.#child?.kill('SIGKILL')
      }, this.timeoutMs)
      this.#jobs.push(job)
      const body = script.endsWith('\n') || script === '' ? script : `${script}\n`
      this.#child!.stdin.write(`${body}${this.#spec.sentinel}\n`)
    })
  }

  close(): void {
    const child = this.#child
    this.#child = undefined
    child?.stdin.end()
  }

  #onOutput(data: string): void {
    this.#pending += data
    let newline: number
    while ((newline = this.#pending.indexOf('\n')) >= 0) {
      const line = this.#pending.slice(0, newline)
      this.#pending = this.#pending.slice(newline + 1)
      const job = this.#jobs[0]
      if (!job) continue
      if (!this.#spec.isSentinelOutput(line)) {
        job.output.push(line)
        continue
      }
      this.#jobs.shift()
      clearTimeout(job.timer)
      const errors = job.output.filter((l) => l.trim() !== '')
      if (errors.length === 0) job.resolve()
      else job.reject(this.#error(job, errors.join('\n')))
    }
  }

  #fail(cause: Error): void {
    for (const job of this.#jobs.splice(0)) {
      clearTimeout(job.timer)
      job.reject(this.#error(job, [...job.output, cause.message].join('\n')))
    }
  }

  #error(job: Job, stderr: string): ExecError {
    const [cmd, ...args] = this.#spec.argv
    return new ExecError(cmd!, [...args, `<<< ${job.script.trim()}`], 1, stderr)
  }
}

export const openLocalShell: OpenShell = (kind) => new LocalShell(kind)

/**
 * A shell for idempotent scripts that, when a script fails, retries it once in a fresh
 * process. `ip` caches interface indexes for its lifetime, so a long-lived one does not know a
 * bridge that was deleted and made again under the same name; a new process does.
 */
export function retryingShell(open: () => Shell): Shell {
  let shell = open()
  return {
    async run(script) {
      try {
        await shell.run(script)
      } catch {
        shell.close()
        shell = open()
        await shell.run(script)
      }
    },
    close: () => shell.close(),
  }
}
