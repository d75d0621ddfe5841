/**
 * What the daemon does with an error nobody caught, decided once for the whole process
 * (issue 15 B4: a dyno's output once made a rejection that Node's default turns into a
 * silent-looking exit, taking the API, the router and DNS of every space with it).
 *
 * - A rejected promise nobody awaited is one failed operation (a log read, a cleanup), not a
 *   broken process: no synchronous code was cut short by it. It is logged, loudly and with
 *   its stack, as the bug it is, and the daemon keeps serving everyone else.
 * - An exception thrown out to the event loop left some callback half done, and Node cannot
 *   say what state it left behind. The daemon says what happened and exits non-zero at once,
 *   without a graceful shutdown that would run on that state; dynos keep running (they
 *   outlive the daemon), and the next daemon (systemd restarts it) adopts them.
 */

interface CrashTarget {
  on(event: 'unhandledRejection', listener: (reason: unknown) => void): unknown
  on(event: 'uncaughtException', listener: (error: Error) => void): unknown
  exit(code: number): never
}

export const UNCAUGHT_EXIT_CODE = 70 // EX_SOFTWARE: an internal error

export function installCrashHandlers(
  target: CrashTarget = process,
  log: (message: string) => void = (message) => console.error(message),
): void {
  target.on('unhandledRejection', (reason) => {
    log(
      `localspace daemon: BUG: a promise was rejected and nobody handled it (the daemon keeps running): ${describe(reason)}`,
    )
  })
  target.on('uncaughtException', (error) => {
    log(
      `localspace daemon: BUG: uncaught exception, exiting (dynos keep running; a restarted daemon adopts them): ${describe(error)}`,
    )
    target.exit(UNCAUGHT_EXIT_CODE)
  })
}

const describe = (e: unknown): string =>
  e instanceof Error ? (e.stack ?? `${e.name}: ${e.message}`) : String(e)
