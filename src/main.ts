/** The `localspace` executable: the CLI commands plus `localspace daemon`. */
import { buildProgram } from './cli/program.js'
import { addDaemonCommand } from './daemon/command.js'

const program = buildProgram()
addDaemonCommand(program)
try {
  await program.parseAsync(process.argv)
} catch (e) {
  // Anything a command did not report itself: one line for a person, not a stack trace.
  console.error(`localspace: ${e instanceof Error ? e.message : String(e)}`)
  process.exitCode = 1
}
