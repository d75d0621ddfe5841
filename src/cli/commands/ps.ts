/** Dynos: `ps` (formation and dynos) and `ps:scale` (docs/heroku-reference.md §8.4). */
import type { Command } from 'commander'
import { p } from '../client.js'
import { act, UserError, withApp, withJson, type AppFlags, type CliDeps } from '../context.js'
import type { App, Dyno, Formation } from '../wire.js'

/** One entry of PATCH /apps/{app}/formation's `updates`; quantity stays a string (`+1`). */
export interface FormationUpdate {
  type: string
  quantity: string
  size?: string
}

const SCALE_ARG = /^([\w-]+)([=+-])(\d+)(?::([\w-]+))?$/

/**
 * Parses `web=2`, `web=2:Private-M`, `worker+1`, `worker-1`. `Shield-X` becomes `Private-X`,
 * the name the API knows. Unlike heroku, which silently drops what it cannot parse, a bad
 * argument is an error: scaling something other than what was typed is worse than stopping.
 */
export function parseScaleArgs(args: readonly string[]): FormationUpdate[] {
  return args.map((arg) => {
    const m = SCALE_ARG.exec(arg)
    if (!m) {
      throw new UserError(
        `${arg} is not a valid scale argument. Use TYPE=N[:SIZE], TYPE+N or TYPE-N, e.g. web=2:Private-M worker+1.`,
      )
    }
    const [, type, op, count, size] = m
    return {
      type: type!,
      quantity: op === '=' ? count! : `${op}${count}`,
      ...(size !== undefined && { size: size.replace(/^shield-/i, 'Private-') }),
    }
  })
}

const byType = (formation: Formation[]) =>
  [...formation].sort((a, b) => (a.type < b.type ? -1 : a.type > b.type ? 1 : 0))

/** The API reports Private-* sizes; a Shield space's apps show them as Shield-*, as heroku does. */
const displaySize = (size: string, shield: boolean) =>
  shield ? size.replace(/^Private-/, 'Shield-') : size

export function registerPsCommands(program: Command, deps: CliDeps): void {
  withJson(withApp(program.command('ps')))
    .description("show an app's formation and its dynos")
    .action(
      act(deps, async (flags: AppFlags) => {
        const client = deps.client()
        const [app, formation, dynos] = await Promise.all([
          client.get<App>(p`/apps/${flags.app}`),
          client.list<Formation>(p`/apps/${flags.app}/formation`).then(byType),
          client.list<Dyno>(p`/apps/${flags.app}/dynos`),
        ])
        if (flags.json) return deps.out.json({ formation, dynos })
        showPs(deps, app, formation, dynos)
      }),
    )

  withJson(withApp(program.command('ps:scale [changes...]').alias('scale')))
    .description('scale dynos: web=2:Private-M worker+1; with no changes, print the formation')
    .action(
      act(deps, async (args: string[], flags: AppFlags) => {
        const client = deps.client()
        const updates = parseScaleArgs(args)
        const app = await client.get<App>(p`/apps/${flags.app}`)
        const shield = app.space?.shield === true
        const describe = (f: Formation) => `${f.type}=${f.quantity}:${displaySize(f.size, shield)}`
        if (updates.length === 0) {
          const formation = await client.list<Formation>(p`/apps/${flags.app}/formation`)
          if (flags.json) return deps.out.json(formation)
          if (formation.length === 0) throw new UserError(`No process types on ${flags.app}.`)
          return deps.out.line(formation.map(describe).sort().join(' '))
        }
        const changed = await deps.out.action(
          'Scaling dynos',
          () => client.patch<Formation[]>(p`/apps/${flags.app}/formation`, { updates }),
          (formation) =>
            `done, now running ${formation
              .filter((f) => updates.some((u) => u.type === f.type))
              .map((f) => `${f.type} at ${f.quantity}:${displaySize(f.size, shield)}`)
              .join(', ')}`,
        )
        if (flags.json) deps.out.json(changed)
      }),
    )
}

function showPs(deps: CliDeps, app: App, formation: Formation[], dynos: Dyno[]): void {
  const shield = app.space?.shield === true
  if (formation.length === 0) {
    deps.out.line(`No process types on ${app.name}.`)
  } else {
    deps.out.heading('Formation')
    deps.out.table(formation, [
      { header: 'Type', get: (f) => f.type },
      { header: 'Size', get: (f) => displaySize(f.size, shield) },
      { header: 'Quantity', get: (f) => f.quantity },
      { header: 'Command', get: (f) => f.command },
    ])
  }
  deps.out.line()
  if (dynos.length === 0) return deps.out.line(`No dynos running on ${app.name}.`)
  const types = [...new Set(dynos.map((d) => d.type))].sort()
  for (const type of types) {
    const group = dynos
      .filter((d) => d.type === type)
      .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }))
    const first = group[0]!
    deps.out.heading(
      `${type} (${displaySize(first.size, shield)}): ${first.command} (${group.length})`,
    )
    for (const d of group) deps.out.line(`${d.name}: ${d.state} ${d.updated_at}`)
    deps.out.line()
  }
}
