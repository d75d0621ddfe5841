/** Teams and their members: `teams`, `teams:create`, `members`, `members:add`, `members:remove`. */
import type { Command } from 'commander'
import { p } from '../client.js'
import { act, withJson, type CliDeps, type JsonFlag } from '../context.js'
import type { Team, TeamMember } from '../wire.js'

interface TeamFlags extends JsonFlag {
  team: string
}

const withTeam = (cmd: Command) => cmd.requiredOption('-t, --team <team>', 'team to use')

export function registerTeamsCommands(program: Command, deps: CliDeps): void {
  withJson(program.command('teams'))
    .description('list the teams you belong to')
    .action(
      act(deps, async (flags: JsonFlag) => {
        const teams = await deps.client().list<Team>('/teams')
        if (flags.json) return deps.out.json(teams)
        if (teams.length === 0) return deps.out.line('You are not a member of any teams.')
        deps.out.table(teams, [
          { header: 'Team', get: (t) => t.name },
          { header: 'Role', get: (t) => t.role },
        ])
      }),
    )

  withJson(program.command('teams:create <name>'))
    .description('create a team; you become its admin')
    .action(
      act(deps, async (name: string, flags: JsonFlag) => {
        const team = await deps.out.action(`Creating team ${name}`, () =>
          deps.client().post<Team>('/teams', { name }),
        )
        if (flags.json) deps.out.json(team)
      }),
    )

  withJson(withTeam(program.command('members')))
    .description('list the members of a team')
    .action(
      act(deps, async (flags: TeamFlags) => {
        const members = await deps.client().list<TeamMember>(p`/teams/${flags.team}/members`)
        if (flags.json) return deps.out.json(members)
        if (members.length === 0) return deps.out.line(`No members in ${flags.team}.`)
        deps.out.table(members, [
          { header: 'Email', get: (m) => m.email },
          { header: 'Role', get: (m) => m.role },
        ])
      }),
    )

  withJson(withTeam(program.command('members:add <email>')))
    .description('add an account to a team, or change its role (team admins only)')
    .option('-r, --role <role>', 'admin or member', 'member')
    .action(
      act(deps, async (email: string, flags: TeamFlags & { role: string }) => {
        const member = await deps.out.action(
          `Adding ${email} to ${flags.team} as ${flags.role}`,
          () =>
            deps
              .client()
              .put<TeamMember>(p`/teams/${flags.team}/members`, { email, role: flags.role }),
        )
        if (flags.json) deps.out.json(member)
      }),
    )

  withJson(withTeam(program.command('members:remove <email>')))
    .description('remove an account from a team (team admins only)')
    .action(
      act(deps, async (email: string, flags: TeamFlags) => {
        const member = await deps.out.action(`Removing ${email} from ${flags.team}`, () =>
          deps.client().delete<TeamMember>(p`/teams/${flags.team}/members/${email}`),
        )
        if (flags.json) deps.out.json(member)
      }),
    )
}
