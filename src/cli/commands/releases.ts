/** Releases: `releases`, `releases:info`, `releases:rollback` (a rollback is a new release). */
import { InvalidArgumentError, type Command } from 'commander'
import { p, type ApiClient } from '../client.js'
import { act, UserError, withApp, withJson, type AppFlags, type CliDeps } from '../context.js'
import type { Release } from '../wire.js'

/** `v3`, `V3` and `3` all name release 3. */
export const versionNumber = (text: string) => text.replace(/^v/i, '')

function parseCount(value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1 || n > 1000) {
    throw new InvalidArgumentError('expected a whole number from 1 to 1000.')
  }
  return n
}

/** The newest releases first: one page of a descending Range, as heroku asks for them. */
const newestReleases = (client: ApiClient, app: string, count: number) =>
  client.list<Release>(p`/apps/${app}/releases`, {
    range: `version ..; max=${count}, order=desc`,
    partial: true,
  })

export function registerReleasesCommands(program: Command, deps: CliDeps): void {
  withJson(withApp(program.command('releases')))
    .description("list an app's releases, newest first")
    .option('-n, --num <count>', 'how many to show', parseCount, 15)
    .action(
      act(deps, async (flags: AppFlags & { num: number }) => {
        const releases = await newestReleases(deps.client(), flags.app, flags.num)
        if (flags.json) return deps.out.json(releases)
        if (releases.length === 0) return deps.out.line(`${flags.app} has no releases.`)
        const current = releases.find((r) => r.current)
        deps.out.heading(`${flags.app} Releases${current ? ` - Current: v${current.version}` : ''}`)
        deps.out.table(releases, [
          { header: 'Version', get: (r) => `v${r.version}` },
          { header: 'Description', get: (r) => r.description },
          { header: 'User', get: (r) => r.user.email },
          { header: 'Created At', get: (r) => r.created_at },
          { header: 'Status', get: (r) => (r.status === 'succeeded' ? '' : r.status) },
        ])
      }),
    )

  withJson(withApp(program.command('releases:info [version]')))
    .description('show one release (default: the current one)')
    .action(
      act(deps, async (version: string | undefined, flags: AppFlags) => {
        const client = deps.client()
        const release = version
          ? await client.get<Release>(p`/apps/${flags.app}/releases/${versionNumber(version)}`)
          : (await newestReleases(client, flags.app, 1))[0]
        if (!release) throw new UserError(`${flags.app} has no releases.`)
        if (flags.json) return deps.out.json(release)
        deps.out.heading(`Release v${release.version}`)
        deps.out.keyValues([
          ['Change', release.description],
          ['By', release.user.email],
          ['Status', release.status],
          ['Current', release.current ? 'yes' : 'no'],
          ['When', release.created_at],
        ])
      }),
    )

  withJson(withApp(program.command('releases:rollback [version]').alias('rollback')))
    .description('roll back code and config to an earlier release (default: the one before now)')
    .action(
      act(deps, async (version: string | undefined, flags: AppFlags) => {
        const client = deps.client()
        const target = version
          ? await client.get<Release>(p`/apps/${flags.app}/releases/${versionNumber(version)}`)
          : await previousRelease(client, flags.app)
        const created = await deps.out.action(
          `Rolling back ${flags.app} to v${target.version}`,
          () => client.post<Release>(p`/apps/${flags.app}/releases`, { release: target.id }),
          (r) => `done, v${r.version}`,
        )
        if (flags.json) return deps.out.json(created)
        deps.out.warn("Rollback affects code and config vars; it doesn't add or remove add-ons.")
        deps.out.warn(
          `To undo, run: localspace releases:rollback v${created.version - 1} -a ${flags.app}`,
        )
      }),
    )
}

/** The release before the current one, among those that can be rolled back to. */
async function previousRelease(client: ApiClient, app: string): Promise<Release> {
  const eligible = (await newestReleases(client, app, 10)).filter(
    (r) => r.eligible_for_rollback !== false,
  )
  const previous = eligible[1]
  if (!previous) throw new UserError(`No eligible release found for ${app} to roll back to.`)
  return previous
}
