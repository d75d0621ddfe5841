/** The `localspace` executable: the CLI commands plus `localspace daemon`. */
import { buildProgram } from './cli/program.js'
import { addDaemonCommand } from './daemon/command.js'

const program = buildProgram()
addDaemonCommand(program)
await program.parseAsync(process.argv)
