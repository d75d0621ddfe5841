/**
 * The `localspace` CLI: Heroku's command vocabulary, spoken to the daemon over HTTP only.
 * Each group of commands lives in commands/<group>.ts and registers itself here.
 */
import { Command, type CommanderError } from 'commander'
import { registerAccountsCommands } from './commands/accounts.js'
import { registerAddonsCommands } from './commands/addons.js'
import { registerAppsCommands } from './commands/apps.js'
import { registerAuthCommands } from './commands/auth.js'
import { registerConfigCommands } from './commands/config.js'
import { registerDeployCommands } from './commands/deploy.js'
import { registerDoctorCommands } from './commands/doctor.js'
import { registerDomainsCommands } from './commands/domains.js'
import { registerFeaturesCommands } from './commands/features.js'
import { registerLogsCommands } from './commands/logs.js'
import { registerPsCommands } from './commands/ps.js'
import { registerRegionsCommands } from './commands/regions.js'
import { registerReleasesCommands } from './commands/releases.js'
import { registerRunCommands } from './commands/run.js'
import { registerSpacesCommands } from './commands/spaces.js'
import { registerTeamsCommands } from './commands/teams.js'
import { registerTrustedIpsCommands } from './commands/trusted-ips.js'
import { registerPeeringCommands } from './commands/peerings.js'
import { registerVpnCommands } from './commands/vpn.js'
import { defaultDeps, type CliDeps } from './context.js'

/** Usage mistakes (unknown flag, missing argument) exit 2, apart from API failures' 1. */
export const USAGE_EXIT_CODE = 2

const HELP_CODES = new Set(['commander.help', 'commander.helpDisplayed', 'commander.version'])

/** Commander's exit code for its own outcomes: help and version as they are, usage errors 2. */
export function exitCodeFor(error: CommanderError): number {
  if (HELP_CODES.has(error.code) || error.exitCode === 0) return error.exitCode
  return USAGE_EXIT_CODE
}

export function buildProgram(deps: CliDeps = defaultDeps()): Command {
  const program = new Command('localspace')
    .description('Heroku-style Private Spaces on your own servers')
    .showHelpAfterError('(add --help for usage)')
    // Subcommands copy this setting when they are created, so it must come first.
    .exitOverride((error) => process.exit(exitCodeFor(error)))

  registerAuthCommands(program, deps)
  registerAccountsCommands(program, deps)
  registerTeamsCommands(program, deps)
  registerRegionsCommands(program, deps)
  registerSpacesCommands(program, deps)
  registerTrustedIpsCommands(program, deps)
  registerVpnCommands(program, deps)
  registerPeeringCommands(program, deps)
  registerAppsCommands(program, deps)
  registerConfigCommands(program, deps)
  registerReleasesCommands(program, deps)
  registerDeployCommands(program, deps)
  registerPsCommands(program, deps)
  registerRunCommands(program, deps)
  registerLogsCommands(program, deps)
  registerFeaturesCommands(program, deps)
  registerDomainsCommands(program, deps)
  registerAddonsCommands(program, deps)
  registerDoctorCommands(program, deps)
  return program
}
