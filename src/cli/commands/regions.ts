/** `regions`: where spaces and apps can run. */
import type { Command } from 'commander'
import { act, withJson, type CliDeps, type JsonFlag } from '../context.js'
import type { Region } from '../wire.js'

export function registerRegionsCommands(program: Command, deps: CliDeps): void {
  withJson(program.command('regions'))
    .description('list regions')
    .option('--private', 'only regions Private Spaces can use')
    .option('--common', 'only Common Runtime regions')
    .action(
      act(deps, async (flags: JsonFlag & { private?: boolean; common?: boolean }) => {
        const regions = (await deps.client().list<Region>('/regions')).filter(
          (r) => (!flags.private || r.private_capable) && (!flags.common || !r.private_capable),
        )
        if (flags.json) return deps.out.json(regions)
        deps.out.table(regions, [
          { header: 'ID', get: (r) => r.name },
          { header: 'Location', get: (r) => r.description },
          {
            header: 'Runtime',
            get: (r) => (r.private_capable ? 'Private Spaces' : 'Common Runtime'),
          },
        ])
      }),
    )
}
