/**
 * Spaces (docs/heroku-reference.md §2, §10): list, create, info, wait, rename, destroy, topology.
 * Output follows the heroku CLI's `renderInfo`.
 */
import { InvalidArgumentError, type Command } from 'commander'
import { p } from '../client.js'
import {
  act,
  confirmDestruction,
  pollUntil,
  spaceName,
  withJson,
  type CliDeps,
  type JsonFlag,
  type PollFlags,
} from '../context.js'
import type { KeyValues } from '../output.js'
import type { App, Nat, Space, Topology } from '../wire.js'

const withSpace = (cmd: Command) => cmd.option('-s, --space <space>', 'space to use')

/** `spaces:info` prints the region's description, which needs the expanded region object. */
const EXPAND_REGION = { 'Accept-Expansion': 'region' }

interface SpaceFlags extends JsonFlag {
  space?: string
}

interface CreateFlags extends SpaceFlags {
  team: string
  region?: string
  cidr?: string
  dataCidr?: string
  shield?: boolean
}

interface WaitFlags extends SpaceFlags, PollFlags {}

const generationName = (g: Space['generation']) => (typeof g === 'string' ? g : g.name)

export function spaceInfo(space: Space, nat?: Nat): KeyValues {
  return [
    ['ID', space.id],
    ['Team', space.team.name],
    ['Region', space.region.description ?? space.region.name],
    ['CIDR', space.cidr],
    ['Data CIDR', space.data_cidr],
    ['State', space.state],
    ['Shield', space.shield ? 'on' : 'off'],
    [
      'Outbound IPs',
      nat && (nat.state === 'enabled' ? nat.sources.join(', ') || 'none' : nat.state),
    ],
    ['Generation', generationName(space.generation)],
    ['Created at', space.created_at],
  ]
}

/** NAT exists once a space is allocated; like heroku, a failure here only drops one line. */
async function natOf(deps: CliDeps, space: Space): Promise<Nat | undefined> {
  if (space.state !== 'allocated') return undefined
  try {
    return await deps.client().get<Nat>(p`/spaces/${space.name}/nat`)
  } catch {
    return undefined
  }
}

function showSpace(deps: CliDeps, space: Space, nat: Nat | undefined, json: boolean | undefined) {
  // `--json` is the space with the NAT merged in as `outbound_ips`, as `heroku spaces:info` does.
  if (json) return deps.out.json(nat ? { ...space, outbound_ips: nat } : space)
  deps.out.heading(space.name)
  deps.out.keyValues(spaceInfo(space, nat))
}

/** Seconds, fractions allowed: `--interval 0.5`. */
export function parseSeconds(value: string): number {
  const n = Number(value)
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError('expected a number of seconds.')
  }
  return n
}

export function registerSpacesCommands(program: Command, deps: CliDeps): void {
  withJson(program.command('spaces'))
    .description('list the spaces you can see')
    .option('-t, --team <team>', 'only spaces of this team')
    .action(
      act(deps, async (flags: JsonFlag & { team?: string }) => {
        const spaces = (await deps.client().list<Space>('/spaces')).filter(
          (s) => !flags.team || s.team.name === flags.team,
        )
        if (flags.json) return deps.out.json(spaces)
        if (spaces.length === 0) {
          return deps.out.line(
            flags.team ? `No spaces in ${flags.team}.` : 'You do not have access to any spaces.',
          )
        }
        deps.out.table(spaces, [
          { header: 'Name', get: (s) => s.name },
          { header: 'Team', get: (s) => s.team.name },
          { header: 'Region', get: (s) => s.region.name },
          { header: 'State', get: (s) => s.state },
          { header: 'Generation', get: (s) => generationName(s.generation) },
          { header: 'Created At', get: (s) => s.created_at },
        ])
      }),
    )

  const create = withJson(withSpace(program.command('spaces:create [space]')))
    .description('create a Private Space')
    .requiredOption('-t, --team <team>', 'team that owns the space')
    .option('--region <region>', 'region name (see `localspace regions --private`)')
    .option('--cidr <cidr>', 'RFC 1918 /16 for the dynos (default 10.0.0.0/16 or the next free)')
    .option('--data-cidr <cidr>', 'network between /16 and /20 for data services')
    .option('--shield', 'create a Shield space')
  create.action(
    act(deps, async (positional: string | undefined, flags: CreateFlags) => {
      const name = spaceName(create, positional, flags.space)
      const body = {
        name,
        team: flags.team,
        ...(flags.region !== undefined && { region: flags.region }),
        ...(flags.cidr !== undefined && { cidr: flags.cidr }),
        ...(flags.dataCidr !== undefined && { data_cidr: flags.dataCidr }),
        ...(flags.shield && { shield: true }),
      }
      const space = await deps.out.action(`Creating space ${name} in team ${flags.team}`, () =>
        deps.client().post<Space>('/spaces', body),
      )
      showSpace(deps, space, undefined, flags.json)
      if (!flags.json && space.state === 'allocating') {
        deps.out.warn(`Use localspace spaces:wait ${name} to track allocation.`)
      }
    }),
  )

  const info = withJson(withSpace(program.command('spaces:info [space]'))).description(
    'show a space: networks, state, outbound IPs',
  )
  info.action(
    act(deps, async (positional: string | undefined, flags: SpaceFlags) => {
      const name = spaceName(info, positional, flags.space)
      const space = await deps.client().get<Space>(p`/spaces/${name}`, { headers: EXPAND_REGION })
      showSpace(deps, space, await natOf(deps, space), flags.json)
    }),
  )

  const wait = withJson(withSpace(program.command('spaces:wait [space]')))
    .description('wait until a new space is allocated, then show it')
    .option('-i, --interval <seconds>', 'seconds between checks', parseSeconds, 2)
    .option('-t, --timeout <seconds>', 'give up after this many seconds', parseSeconds, 25 * 60)
  wait.action(
    act(deps, async (positional: string | undefined, flags: WaitFlags) => {
      const name = spaceName(wait, positional, flags.space)
      const space = await waitForAllocation(deps, name, flags)
      showSpace(deps, space, await natOf(deps, space), flags.json)
    }),
  )

  withJson(program.command('spaces:rename'))
    .description('rename a space')
    .requiredOption('--from <space>', 'current name')
    .requiredOption('--to <name>', 'new name')
    .action(
      act(deps, async (flags: JsonFlag & { from: string; to: string }) => {
        const space = await deps.out.action(`Renaming space ${flags.from} to ${flags.to}`, () =>
          deps.client().patch<Space>(p`/spaces/${flags.from}`, { name: flags.to }),
        )
        if (flags.json) deps.out.json(space)
        else deps.out.line(`Renamed space from ${flags.from} to ${flags.to}.`)
      }),
    )

  const destroy = withJson(withSpace(program.command('spaces:destroy [space]')))
    .description('destroy a space; it must have no apps')
    .option('--confirm <space>', 'the space name again, to confirm without a prompt')
  destroy.action(
    act(deps, async (positional: string | undefined, flags: SpaceFlags & { confirm?: string }) => {
      const name = spaceName(destroy, positional, flags.space)
      const space = await deps.client().get<Space>(p`/spaces/${name}`)
      const nat = await natOf(deps, space)
      if (nat?.state === 'enabled' && nat.sources.length > 0) {
        deps.out.warn(
          `Destroying this space frees up the following outbound IPs for reuse: ${nat.sources.join(', ')}`,
        )
      }
      await confirmDestruction(deps, 'space', [space.name, name], flags.confirm)
      const deleted = await deps.out.action(`Destroying space ${space.name}`, () =>
        deps.client().delete<Space>(p`/spaces/${space.id}`),
      )
      if (flags.json) deps.out.json(deleted)
    }),
  )

  const topology = withJson(withSpace(program.command('spaces:topology [space]'))).description(
    'show the apps, process types and dyno addresses of a space',
  )
  topology.action(
    act(deps, async (positional: string | undefined, flags: SpaceFlags) => {
      const name = spaceName(topology, positional, flags.space)
      const result = await deps.client().get<Topology>(p`/spaces/${name}/topology`)
      if (flags.json) return deps.out.json(result)
      await showTopology(deps, name, result)
    }),
  )
}

async function waitForAllocation(deps: CliDeps, name: string, flags: WaitFlags): Promise<Space> {
  const space = await pollUntil(deps, flags, {
    label: `Waiting for space ${name} to allocate`,
    fetch: () => deps.client().get<Space>(p`/spaces/${name}`, { headers: EXPAND_REGION }),
    // Only `allocating` means "keep waiting", as in heroku: any other state ends the wait.
    waiting: (s) => s.state === 'allocating',
    timedOut: `waiting for space ${name} to allocate`,
    outcome: (s) => (s.state === 'allocated' ? 'done' : s.state),
  })
  return space
}

async function showTopology(deps: CliDeps, space: string, topology: Topology): Promise<void> {
  if (topology.apps.length === 0) return deps.out.line(`Space ${space} has no apps.`)
  // The topology names apps only by id; the names come from one GET each, as heroku does.
  const names = await Promise.all(
    topology.apps.map((a) =>
      deps
        .client()
        .get<App>(p`/apps/${a.id}`)
        .then((app) => app.name),
    ),
  )
  topology.apps.forEach((app, i) => {
    const formations = app.formations ?? app.formation ?? []
    const dynos = formations.flatMap((f) =>
      f.dynos.map((d) => `${f.process_type}.${d.number} - ${d.private_ip} - ${d.hostname}`),
    )
    if (i > 0) deps.out.line()
    const types = formations.map((f) => f.process_type).join(', ')
    deps.out.heading(types ? `${names[i]} (${types})` : names[i]!)
    deps.out.keyValues([
      ['Domains', [...app.domains].sort().join('\n')],
      ['Dynos', dynos.length > 0 ? dynos.join('\n') : 'none running'],
    ])
  })
}
