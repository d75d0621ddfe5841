/** Config vars: `config`, `config:get`, `config:set`, `config:unset`. Every change is a release. */
import type { Command } from 'commander'
import { p, type ApiClient } from '../client.js'
import { act, UserError, withApp, withJson, type AppFlags, type CliDeps } from '../context.js'
import type { ConfigVars, Release } from '../wire.js'

interface ShellFlag extends AppFlags {
  shell?: boolean
}

/** `KEY=value` arguments; the value is everything after the first `=`, and may be empty. */
export function parseConfigAssignments(args: readonly string[]): ConfigVars {
  if (args.length === 0) {
    throw new UserError('Usage: localspace config:set KEY1=VALUE1 [KEY2=VALUE2 ...] -a APP')
  }
  const vars: ConfigVars = {}
  for (const arg of args) {
    const eq = arg.indexOf('=')
    if (eq <= 0) throw new UserError(`${arg} is invalid. Must be in the format FOO=bar.`)
    vars[arg.slice(0, eq)] = arg.slice(eq + 1)
  }
  return vars
}

/** Quotes a value for a POSIX shell only when it needs it, so `eval $(… --shell)` is safe. */
export function shellQuote(value: string): string {
  if (/^[\w@%+=:,./-]+$/.test(value)) return value
  return `'${value.replaceAll("'", `'\\''`)}'`
}

const sortedEntries = (config: ConfigVars) =>
  Object.entries(config).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))

/** The version the last change made: the newest release, one item from a descending Range. */
async function latestVersion(client: ApiClient, app: string): Promise<number | undefined> {
  const [latest] = await client.list<Release>(p`/apps/${app}/releases`, {
    range: 'version ..; max=1, order=desc',
    partial: true,
  })
  return latest?.version
}

const doneWithVersion = (version: number | undefined) =>
  version === undefined ? 'done' : `done, v${version}`

export function registerConfigCommands(program: Command, deps: CliDeps): void {
  withJson(withApp(program.command('config')))
    .description("show an app's config vars")
    .option('-s, --shell', 'output as KEY=value lines for a shell')
    .action(
      act(deps, async (flags: ShellFlag) => {
        const config = await deps.client().get<ConfigVars>(p`/apps/${flags.app}/config-vars`)
        if (flags.json) return deps.out.json(config)
        if (flags.shell) {
          for (const [key, value] of sortedEntries(config)) {
            deps.out.line(`${key}=${shellQuote(value)}`)
          }
          return
        }
        if (Object.keys(config).length === 0) {
          return deps.out.line(`${flags.app} has no config vars.`)
        }
        deps.out.heading(`${flags.app} Config Vars`)
        deps.out.keyValues(sortedEntries(config))
      }),
    )

  withJson(withApp(program.command('config:get <key>')))
    .description('print one config var (an empty line when it is not set)')
    .option('-s, --shell', 'output as KEY=value')
    .action(
      act(deps, async (key: string, flags: ShellFlag) => {
        const config = await deps.client().get<ConfigVars>(p`/apps/${flags.app}/config-vars`)
        const value = config[key]
        if (flags.json) return deps.out.json(value ?? null)
        deps.out.line(flags.shell ? `${key}=${shellQuote(value ?? '')}` : (value ?? ''))
      }),
    )

  withJson(withApp(program.command('config:set <assignments...>').alias('config:add')))
    .description('set config vars (KEY=value ...); makes a new release')
    .action(
      act(deps, async (args: string[], flags: AppFlags) => {
        const vars = parseConfigAssignments(args)
        const client = deps.client()
        let config: ConfigVars = {}
        await deps.out.action(
          `Setting ${Object.keys(vars).join(', ')} and restarting ${flags.app}`,
          async () => {
            config = await client.patch<ConfigVars>(p`/apps/${flags.app}/config-vars`, vars)
            return latestVersion(client, flags.app)
          },
          doneWithVersion,
        )
        if (flags.json) return deps.out.json(config)
        deps.out.keyValues(sortedEntries(config).filter(([k]) => k in vars))
      }),
    )

  withJson(withApp(program.command('config:unset <keys...>').alias('config:remove')))
    .description('remove config vars; makes a new release')
    .action(
      act(deps, async (keys: string[], flags: AppFlags) => {
        const client = deps.client()
        const patch = Object.fromEntries(keys.map((k) => [k, null]))
        let config: ConfigVars = {}
        await deps.out.action(
          `Unsetting ${keys.join(', ')} and restarting ${flags.app}`,
          async () => {
            config = await client.patch<ConfigVars>(p`/apps/${flags.app}/config-vars`, patch)
            return latestVersion(client, flags.app)
          },
          doneWithVersion,
        )
        if (flags.json) deps.out.json(config)
      }),
    )
}
