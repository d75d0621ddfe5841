/**
 * Site-to-site VPN connections (`heroku spaces:vpn:*`, issue 16), with the same output as the
 * heroku CLI's, and one thing beyond it: `vpn:config --format swanctl` prints a whole
 * swanctl.conf for a strongSwan customer gateway (core/vpn-config.ts).
 */
import { InvalidArgumentError, type Command } from 'commander'
import { renderCustomerSwanctl } from '../../core/vpn-config.js'
import { p } from '../client.js'
import {
  act,
  confirmDestruction,
  pollUntil,
  UserError,
  withJson,
  type CliDeps,
  type JsonFlag,
  type PollFlags,
} from '../context.js'
import type { VpnConnection } from '../wire.js'
import { parseSeconds } from './spaces.js'

interface SpaceFlags extends JsonFlag {
  space: string
}

const withSpace = (cmd: Command) =>
  cmd.requiredOption('-s, --space <space>', 'space the VPN connection belongs to')

/** `--cidrs a,b`: the heroku CLI's splitCsv (trimmed, empty parts dropped). */
export const splitCsv = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')

function parseFormat(value: string): 'table' | 'swanctl' {
  if (value === 'table' || value === 'swanctl') return value
  throw new InvalidArgumentError('expected table or swanctl.')
}

function parseIkeVersion(value: string): number {
  if (value === '1' || value === '2') return Number(value)
  throw new InvalidArgumentError('expected 1 or 2.')
}

const connectionPath = (space: string, name: string) => p`/spaces/${space}/vpn-connections/${name}`

/** What the customer gateway needs, per tunnel (heroku's displayVPNConfigInfo). */
function showConfig(deps: CliDeps, name: string, c: VpnConnection): void {
  deps.out.heading(`${name} VPN Tunnels`)
  deps.out.table(
    c.tunnels.map((t, i) => ({ ...t, n: i + 1 })),
    [
      { header: 'VPN Tunnel', get: (t) => `Tunnel ${t.n}` },
      { header: 'Customer Gateway', get: (t) => t.customer_ip },
      { header: 'VPN Gateway', get: (t) => t.ip },
      { header: 'Pre-shared Key', get: (t) => t.pre_shared_key },
      { header: 'Routable Subnets', get: () => c.space_cidr_block },
      { header: 'IKE Version', get: () => c.ike_version },
    ],
  )
}

function showInfo(deps: CliDeps, c: VpnConnection): void {
  deps.out.heading(`${c.name} VPN Info`)
  deps.out.keyValues([
    ['Name', c.name],
    ['ID', c.id],
    ['Public IP', c.public_ip],
    ['Routable CIDRs', c.routable_cidrs.join(', ')],
    ['Status', c.status],
    ['Status Message', c.status_message],
  ])
  deps.out.heading(`${c.name} VPN Tunnel Info`)
  deps.out.table(
    c.tunnels.map((t, i) => ({ ...t, n: i + 1 })),
    [
      { header: 'VPN Tunnel', get: (t) => `Tunnel ${t.n}` },
      { header: 'IP Address', get: (t) => t.ip },
      { header: 'Status', get: (t) => t.status },
      { header: 'Status Last Changed', get: (t) => t.last_status_change },
      { header: 'Details', get: (t) => t.status_message },
    ],
  )
}

export function registerVpnCommands(program: Command, deps: CliDeps): void {
  withJson(withSpace(program.command('spaces:vpn:connect <name>').alias('vpn:connect')))
    .description('create a site-to-site VPN connection to a gateway of yours')
    .requiredOption('-i, --ip <ip>', 'public IP address of your VPN gateway')
    .requiredOption('-c, --cidrs <cidrs>', 'your networks to route through it, comma-separated')
    .option('--ike-version <1|2>', 'IKE version (default 1, as Heroku)', parseIkeVersion)
    .action(
      act(
        deps,
        async (
          name: string,
          flags: SpaceFlags & { ip: string; cidrs: string; ikeVersion?: number },
        ) => {
          const body = {
            name,
            public_ip: flags.ip,
            routable_cidrs: splitCsv(flags.cidrs),
            ...(flags.ikeVersion !== undefined && { ike_version: flags.ikeVersion }),
          }
          const created = await deps.out.action(
            `Creating VPN Connection in space ${flags.space}`,
            () =>
              deps.client().post<VpnConnection>(p`/spaces/${flags.space}/vpn-connections`, body),
          )
          if (flags.json) return deps.out.json(created)
          deps.out.warn(
            `Use localspace vpn:wait ${name} --space ${flags.space} to track allocation.`,
          )
        },
      ),
    )

  withJson(withSpace(program.command('spaces:vpn:connections').alias('vpn:connections')))
    .description("list a space's VPN connections")
    .action(
      act(deps, async (flags: SpaceFlags) => {
        const list = await deps
          .client()
          .list<VpnConnection>(p`/spaces/${flags.space}/vpn-connections`)
        if (flags.json) return deps.out.json(list)
        if (list.length === 0) return deps.out.line('No VPN Connections have been created yet')
        deps.out.heading(`${flags.space} VPN Connections`)
        deps.out.table(list, [
          { header: 'Name', get: (c) => c.name },
          { header: 'Status', get: (c) => c.status },
          { header: 'Tunnels', get: (c) => c.tunnels.map((t) => t.status).join('/') },
        ])
      }),
    )

  withJson(withSpace(program.command('spaces:vpn:info <name>').alias('vpn:info')))
    .description('show a VPN connection and its tunnels')
    .action(
      act(deps, async (name: string, flags: SpaceFlags) => {
        const c = await deps.client().get<VpnConnection>(connectionPath(flags.space, name))
        if (flags.json) return deps.out.json(c)
        showInfo(deps, c)
      }),
    )

  withJson(withSpace(program.command('spaces:vpn:config <name>').alias('vpn:config')))
    .description(
      'show what your VPN gateway needs; --format swanctl: a swanctl.conf for strongSwan',
    )
    .option('--format <table|swanctl>', 'output format', parseFormat, 'table')
    .action(
      act(deps, async (name: string, flags: SpaceFlags & { format: 'table' | 'swanctl' }) => {
        const c = await deps.client().get<VpnConnection>(connectionPath(flags.space, name))
        if (flags.format === 'swanctl') {
          deps.out.stdout.write(renderCustomerSwanctl(c))
          return
        }
        if (flags.json) return deps.out.json(c)
        showConfig(deps, c.name, c)
      }),
    )

  withJson(withSpace(program.command('spaces:vpn:update <name>').alias('vpn:update')))
    .description('replace the networks routed through a VPN connection')
    .requiredOption('-c, --cidrs <cidrs>', 'your networks, comma-separated')
    .action(
      act(deps, async (name: string, flags: SpaceFlags & { cidrs: string }) => {
        const updated = await deps.out.action(
          `Updating VPN Connection in space ${flags.space}`,
          () =>
            deps.client().patch<VpnConnection>(connectionPath(flags.space, name), {
              routable_cidrs: splitCsv(flags.cidrs),
            }),
        )
        if (flags.json) deps.out.json(updated)
      }),
    )

  withJson(withSpace(program.command('spaces:vpn:destroy <name>').alias('vpn:destroy')))
    .description('tear down a VPN connection')
    .option('--confirm <name>', 'the connection name again, to confirm without a prompt')
    .action(
      act(deps, async (name: string, flags: SpaceFlags & { confirm?: string }) => {
        await confirmDestruction(deps, 'VPN connection', [name], flags.confirm)
        const deleted = await deps.out.action(
          `Tearing down VPN Connection ${name} in space ${flags.space}`,
          () => deps.client().delete<VpnConnection>(connectionPath(flags.space, name)),
        )
        if (flags.json) deps.out.json(deleted)
      }),
    )

  withJson(withSpace(program.command('spaces:vpn:wait <name>').alias('vpn:wait')))
    .description('wait until a VPN connection is active, then show its configuration')
    .option('-i, --interval <seconds>', 'seconds between checks', parseSeconds, 2)
    .option('-t, --timeout <seconds>', 'give up after this many seconds', parseSeconds, 20 * 60)
    .action(
      act(deps, async (name: string, flags: SpaceFlags & PollFlags) => {
        const c = await pollUntil(deps, flags, {
          label: `Waiting for VPN Connection ${name} to allocate`,
          fetch: () => deps.client().get<VpnConnection>(connectionPath(flags.space, name)),
          waiting: (v) => v.status !== 'active' && v.status !== 'failed',
          timedOut: `waiting for VPN connection ${name} to become active`,
          outcome: (v) => (v.status === 'active' ? 'done' : v.status),
        })
        if (c.status === 'failed') throw new UserError(c.status_message || 'VPN connection failed.')
        if (flags.json) return deps.out.json(c)
        deps.out.line('VPN has been allocated.')
        showConfig(deps, c.name, c)
      }),
    )
}
