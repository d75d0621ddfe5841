/**
 * Trusted IP ranges, the space's inbound ruleset (docs/heroku-reference.md §3.3). Add and remove
 * GET the ruleset, change its rules and PUT the whole body back, exactly as heroku does; the
 * API ignores the read-only fields that come back with it.
 */
import type { Command } from 'commander'
import { p } from '../client.js'
import { act, withJson, type CliDeps, type JsonFlag } from '../context.js'
import type { InboundRuleset } from '../wire.js'

interface SpaceFlags extends JsonFlag {
  space: string
}

const withSpace = (cmd: Command) => cmd.requiredOption('-s, --space <space>', 'space to use')

export function registerTrustedIpsCommands(program: Command, deps: CliDeps): void {
  withJson(withSpace(program.command('spaces:trusted-ips').alias('trusted-ips')))
    .description('list the IP ranges allowed to reach web dynos in a space')
    .action(
      act(deps, async (flags: SpaceFlags) => {
        const ruleset = await deps.client().get<InboundRuleset>(rulesetPath(flags.space))
        if (flags.json) return deps.out.json(ruleset)
        showRuleset(deps, flags.space, ruleset)
      }),
    )

  withJson(withSpace(program.command('spaces:trusted-ips:add <source>').alias('trusted-ips:add')))
    .description('allow an IPv4 CIDR (e.g. 203.0.113.0/24) to reach web dynos')
    .action(
      act(deps, async (source: string, flags: SpaceFlags) => {
        const ruleset = await deps.client().get<InboundRuleset>(rulesetPath(flags.space))
        if (ruleset.rules.some((r) => r.source === source)) {
          if (flags.json) return deps.out.json(ruleset)
          return deps.out.line(`A rule already exists for ${source}.`)
        }
        ruleset.rules.push({ action: 'allow', source })
        const updated = await deps.client().put<InboundRuleset>(rulesetPath(flags.space), ruleset)
        if (flags.json) return deps.out.json(updated)
        deps.out.line(`Added ${source} to trusted IP ranges on ${flags.space}`)
      }),
    )

  withJson(
    withSpace(program.command('spaces:trusted-ips:remove <source>').alias('trusted-ips:remove')),
  )
    .description('stop allowing an IP range to reach web dynos')
    .action(
      act(deps, async (source: string, flags: SpaceFlags) => {
        const ruleset = await deps.client().get<InboundRuleset>(rulesetPath(flags.space))
        const kept = ruleset.rules.filter((r) => r.source !== source)
        if (kept.length === ruleset.rules.length) {
          // Nothing to change: --json still gets the ruleset as it stands.
          if (flags.json) return deps.out.json(ruleset)
          return deps.out.line(
            ruleset.rules.length === 0
              ? 'No IP ranges are configured. Nothing to do.'
              : `No IP range matching ${source} was found.`,
          )
        }
        const updated = await deps
          .client()
          .put<InboundRuleset>(rulesetPath(flags.space), { ...ruleset, rules: kept })
        if (flags.json) return deps.out.json(updated)
        deps.out.line(`Removed ${source} from trusted IP ranges on ${flags.space}`)
      }),
    )
}

const rulesetPath = (space: string) => p`/spaces/${space}/inbound-ruleset`

function showRuleset(deps: CliDeps, space: string, ruleset: InboundRuleset): void {
  if (ruleset.rules.length === 0) {
    deps.out.heading(
      `${space} has no trusted IP ranges. All inbound web requests to dynos are blocked.`,
    )
  } else {
    deps.out.heading('Trusted IP Ranges')
    for (const rule of ruleset.rules) {
      deps.out.line(rule.action === 'deny' ? `${rule.source} (deny)` : rule.source)
    }
  }
  if (ruleset.applied === true) deps.out.line('Trusted IP rules are applied to this space.')
  if (ruleset.applied === false) {
    deps.out.line(
      'Trusted IP rules are not applied to this space. Update your Trusted IP list to trigger a re-application of the rules.',
    )
  }
}
