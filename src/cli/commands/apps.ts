/** Apps: `apps`, `apps:create`, `apps:info`, `apps:destroy` (docs/heroku-reference.md §8.1). */
import type { Command } from 'commander'
import { p } from '../client.js'
import {
  act,
  confirmDestruction,
  UserError,
  withJson,
  type CliDeps,
  type JsonFlag,
} from '../context.js'
import type { App, Space } from '../wire.js'

interface ListFlags extends JsonFlag {
  space?: string
  team?: string
  internalRouting?: boolean
}

interface CreateFlags extends JsonFlag {
  space?: string
  team?: string
  region?: string
  stack?: string
  internalRouting?: boolean
}

interface AppFlags extends JsonFlag {
  app?: string
}

/** heroku takes the app as `-a APP` everywhere, and positionally for apps:info and apps:destroy. */
function appName(cmd: Command, positional: string | undefined, flag: string | undefined): string {
  const name = flag ?? positional
  if (!name) cmd.error("error: missing app: pass it as an argument or with '-a, --app <app>'")
  return name
}

export function registerAppsCommands(program: Command, deps: CliDeps): void {
  withJson(program.command('apps').alias('apps:list'))
    .description('list apps, all you can see or those of a space or team')
    .option('-s, --space <space>', 'only apps in this space')
    .option('-t, --team <team>', 'only apps of this team')
    .option('--internal-routing', 'only apps with internal routing')
    .action(
      act(deps, async (flags: ListFlags) => {
        const apps = (await listApps(deps, flags)).filter(
          (a) => !flags.internalRouting || a.internal_routing === true,
        )
        if (flags.json) return deps.out.json(apps)
        const where = flags.space
          ? `in space ${flags.space}`
          : flags.team
            ? `in team ${flags.team}`
            : ''
        if (apps.length === 0) {
          return deps.out.line(where ? `There are no apps ${where}.` : 'You have no apps.')
        }
        deps.out.heading(where ? `Apps ${where}` : 'Apps')
        deps.out.table(apps, [
          { header: 'Name', get: (a) => a.name },
          { header: 'Team', get: (a) => a.team?.name ?? a.owner.email },
          { header: 'Space', get: (a) => a.space?.name ?? '' },
          { header: 'Region', get: (a) => a.region.name },
          { header: 'Internal', get: (a) => (a.internal_routing ? 'yes' : '') },
        ])
      }),
    )

  withJson(program.command('apps:create [app]').alias('create'))
    .description('create an app, in a space with --space')
    .option('-s, --space <space>', 'Private Space to create the app in')
    .option('-t, --team <team>', 'team that owns the app')
    .option('--region <region>', 'region (apps in a space run in its region)')
    .option('--stack <stack>', 'stack, e.g. heroku-24')
    .option('--internal-routing', 'reachable only from the space network (spaces only)')
    .action(
      act(deps, async (name: string | undefined, flags: CreateFlags) => {
        if (flags.internalRouting && !flags.space) {
          throw new UserError(
            'Space name required.\nInternal Web Apps are only available for Private Spaces.',
          )
        }
        const body = {
          ...(name !== undefined && { name }),
          ...(flags.space !== undefined && { space: flags.space }),
          ...(flags.team !== undefined && { team: flags.team }),
          ...(flags.region !== undefined && { region: flags.region }),
          ...(flags.stack !== undefined && { stack: flags.stack }),
          ...(flags.internalRouting && { internal_routing: true }),
        }
        // heroku uses the team endpoint whenever a space or team is involved.
        const path = flags.space || flags.team ? '/teams/apps' : '/apps'
        const where = flags.space ? ` in space ${flags.space}` : ''
        const app = await deps.out.action(
          `Creating ${name ?? 'app'}${where}`,
          () => deps.client().post<App>(path, body),
          (created) => (name ? 'done' : `done, ${created.name}`),
        )
        if (flags.json) return deps.out.json(app)
        deps.out.line(`${app.web_url} | ${app.git_url}`)
      }),
    )

  const info = withJson(program.command('apps:info [app]').alias('info'))
    .description('show an app')
    .option('-a, --app <app>', 'app to show')
  info.action(
    act(deps, async (positional: string | undefined, flags: AppFlags) => {
      const app = await deps.client().get<App>(p`/apps/${appName(info, positional, flags.app)}`)
      if (flags.json) return deps.out.json(app)
      deps.out.heading(app.name)
      deps.out.keyValues([
        ['Git URL', app.git_url],
        ['Internal Routing', app.internal_routing ? 'true' : undefined],
        ['Maintenance', app.maintenance ? 'on' : undefined],
        ['Owner', app.owner.email],
        ['Region', app.region.name],
        ['Space', app.space?.name],
        ['Stack', app.stack.name],
        ['Team', app.team?.name],
        ['Web URL', app.web_url],
        ['Created at', app.created_at],
        ['Released at', app.released_at ?? undefined],
      ])
    }),
  )

  const destroy = withJson(program.command('apps:destroy [app]').alias('destroy'))
    .description('destroy an app, its config and releases')
    .option('-a, --app <app>', 'app to destroy')
    .option('--confirm <app>', 'the app name again, to confirm without a prompt')
  destroy.action(
    act(deps, async (positional: string | undefined, flags: AppFlags & { confirm?: string }) => {
      const name = appName(destroy, positional, flags.app)
      const app = await deps.client().get<App>(p`/apps/${name}`)
      await confirmDestruction(deps, 'app', [app.name, name], flags.confirm)
      const deleted = await deps.out.action(`Destroying app ${app.name}`, () =>
        deps.client().delete<App>(p`/apps/${app.id}`),
      )
      if (flags.json) deps.out.json(deleted)
    }),
  )
}

/** `--space` lists the space's team's apps and keeps the space's, as heroku does. */
async function listApps(deps: CliDeps, flags: ListFlags): Promise<App[]> {
  const client = deps.client()
  if (flags.space) {
    const space = await client.get<Space>(p`/spaces/${flags.space}`)
    const apps = await client.list<App>(p`/teams/${space.team.name}/apps`)
    return apps.filter((a) => a.space?.id === space.id)
  }
  if (flags.team) return client.list<App>(p`/teams/${flags.team}/apps`)
  return client.list<App>('/apps')
}
