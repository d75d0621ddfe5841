/** App features: `features`, `features:enable`, `features:disable` (docs/heroku-reference.md §8.8). */
import type { Command } from 'commander'
import { p } from '../client.js'
import { act, UserError, withApp, withJson, type AppFlags, type CliDeps } from '../context.js'
import type { Feature } from '../wire.js'

export function registerFeaturesCommands(program: Command, deps: CliDeps): void {
  withJson(withApp(program.command('features')))
    .description("list an app's features; [+] marks enabled ones")
    .action(
      act(deps, async (flags: AppFlags) => {
        const features = await deps.client().list<Feature>(p`/apps/${flags.app}/features`)
        if (flags.json) return deps.out.json(features)
        deps.out.heading(`App Features ${flags.app}`)
        deps.out.table(features, [
          { header: '', get: (f) => (f.enabled ? '[+]' : '[ ]') },
          { header: 'Name', get: (f) => f.name },
          { header: 'Description', get: (f) => f.description },
        ])
      }),
    )

  for (const enabled of [true, false]) {
    const verb = enabled ? 'enable' : 'disable'
    withJson(withApp(program.command(`features:${verb} <feature>`)))
      .description(`${verb} an app feature`)
      .action(
        act(deps, async (name: string, flags: AppFlags) => {
          const client = deps.client()
          const path = p`/apps/${flags.app}/features/${name}`
          // heroku reads the feature first so "already enabled" is an error, not a silent no-op.
          const current = await client.get<Feature>(path)
          if (current.enabled === enabled) throw new UserError(`${name} is already ${verb}d.`)
          const feature = await deps.out.action(
            `${enabled ? 'Enabling' : 'Disabling'} ${name} for ${flags.app}`,
            () => client.patch<Feature>(path, { enabled }),
          )
          if (flags.json) deps.out.json(feature)
        }),
      )
  }
}
