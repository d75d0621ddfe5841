/**
 * `ip -batch -`: many link/addr/netns commands in one process. iproute2 reports each failed
 * line as its message followed by `Command failed -:<line>`; this module turns that into
 * per-line results, so one process can carry commands that may meet "File exists" or
 * "Cannot find device" and still say exactly which line failed and why.
 */
import { ExecError, type Exec } from '../exec/run.js'

/** What a line may meet without it being a failure. */
export type Tolerate = 'exists' | 'gone' | 'nothing'

export interface BatchLine {
  command: string
  tolerate: Tolerate
}

export interface LineFailure {
  /** 1-based, as iproute2 counts. */
  line: number
  command: string
  message: string
}

// The kernel's and iproute2's words for EEXIST, and for ENODEV/ENOENT/EADDRNOTAVAIL on delete.
const EXISTS = /File exists|already exists|Address already assigned/i
const GONE =
  /Cannot find device|does not exist|No such device|No such file or directory|Address not found|Cannot assign requested address/i

export const tolerated = (tolerate: Tolerate, message: string): boolean =>
  (tolerate === 'exists' && EXISTS.test(message)) || (tolerate === 'gone' && GONE.test(message))

/** Splits iproute2's batch stderr into the message of each failed line. */
export function parseBatchFailures(stderr: string): Map<number, string> {
  const failures = new Map<number, string>()
  let message: string[] = []
  for (const text of stderr.split('\n')) {
    const failed = /^Command failed .*:(\d+)$/.exec(text.trim())
    if (failed) {
      failures.set(Number(failed[1]), message.join(' ').trim())
      message = []
    } else if (text.trim() !== '') {
      message.push(text.trim())
    }
  }
  return failures
}

export class BatchError extends Error {
  constructor(
    readonly failures: readonly LineFailure[],
    options?: ErrorOptions,
  ) {
    super(failures.map((f) => `ip ${f.command}: ${f.message}`).join('; '), options)
    this.name = 'BatchError'
  }
}

export interface BatchResult {
  /** Lines that failed in a tolerated way (e.g. a create that met "File exists"). */
  tolerated: LineFailure[]
}

/**
 * Runs the lines in one `ip -batch -` process (inside `netns` when given). With `force`, ip
 * goes on after a failed line and every line gets its chance; without it, ip stops at the
 * first failure, so the lines before it are known to have taken effect. Rejects with a
 * BatchError naming every failed line that was not tolerated.
 */
export async function runIpBatch(
  exec: Exec,
  lines: readonly BatchLine[],
  options: { netns?: string; force?: boolean } = {},
): Promise<BatchResult> {
  if (lines.length === 0) return { tolerated: [] }
  const args = [
    ...(options.netns === undefined ? [] : ['-n', options.netns]),
    ...(options.force ? ['-force'] : []),
    '-batch',
    '-',
  ]
  try {
    await exec('ip', args, { input: lines.map((l) => `${l.command}\n`).join('') })
    return { tolerated: [] }
  } catch (e) {
    if (!(e instanceof ExecError)) throw e
    const parsed = parseBatchFailures(e.stderr)
    if (parsed.size === 0) throw e
    const failures: LineFailure[] = [...parsed].map(([line, message]) => ({
      line,
      command: lines[line - 1]?.command ?? '?',
      message,
    }))
    // Without force, ip stopped at the failed line: the lines after it never ran, so even a
    // tolerable failure leaves the batch unfinished.
    const fatal = options.force
      ? failures.filter((f) => !tolerated(lines[f.line - 1]?.tolerate ?? 'nothing', f.message))
      : failures
    if (fatal.length > 0) throw new BatchError(fatal, { cause: e })
    return { tolerated: failures }
  }
}
