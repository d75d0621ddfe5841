/**
 * Peering (`heroku spaces:peering:info`, `spaces:peerings*`, issue 16) with the heroku CLI's
 * output, and localspace's own side of it: asking for a peering (`peerings:request`) and the
 * networks the operator attached to the host (`peer-networks*`, installation admin).
 */
import type { Command } from 'commander'
import { p } from '../client.js'
import {
  act,
  confirmDestruction,
  spaceName,
  UserError,
  withJson,
  type CliDeps,
  type JsonFlag,
} from '../context.js'
import type { PeerNetwork, Peering, PeeringInfo } from '../wire.js'
import { splitCsv } from './vpn.js'

interface SpaceFlags extends JsonFlag {
  space?: string
}

const withSpace = (cmd: Command) => cmd.option('-s, --space <space>', 'space to use')

function showPeerings(deps: CliDeps, space: string, list: readonly Peering[]): void {
  deps.out.heading(`${space} Peerings`)
  deps.out.table(list, [
    { header: 'PCX ID', get: (x) => x.pcx_id },
    { header: 'Type', get: (x) => x.type },
    { header: 'CIDR Blocks', get: (x) => x.cidr_blocks.join(', ') },
    { header: 'Status', get: (x) => x.status },
    { header: 'VPC ID', get: (x) => x.aws_vpc_id },
    { header: 'AWS Region', get: (x) => x.aws_region },
    { header: 'AWS Account ID', get: (x) => x.aws_account_id },
    { header: 'Expires', get: (x) => x.expires },
  ])
}

export function registerPeeringCommands(program: Command, deps: CliDeps): void {
  const info = withJson(withSpace(program.command('spaces:peering:info [space]')))
    .alias('peering:info')
    .description('show what a peer needs to peer with a space')
  info.action(
    act(deps, async (positional: string | undefined, flags: SpaceFlags) => {
      const name = spaceName(info, positional, flags.space)
      const i = await deps.client().get<PeeringInfo>(p`/spaces/${name}/peering-info`)
      if (flags.json) return deps.out.json(i)
      deps.out.heading(`${name} Peering Info`)
      deps.out.keyValues([
        ['AWS Account ID', i.aws_account_id],
        ['AWS Region', i.aws_region],
        ['AWS VPC ID', i.vpc_id],
        ['AWS VPC CIDR', i.vpc_cidr],
        ['Space CIDRs', i.space_cidr_blocks.join(', ')],
        ['Unavailable CIDRs', i.unavailable_cidr_blocks.join(', ')],
      ])
    }),
  )

  const list = withJson(withSpace(program.command('spaces:peerings [space]')))
    .alias('peerings')
    .description("list a space's peerings")
  list.action(
    act(deps, async (positional: string | undefined, flags: SpaceFlags) => {
      const name = spaceName(list, positional, flags.space)
      const peerings = await deps.client().list<Peering>(p`/spaces/${name}/peerings`)
      if (flags.json) return deps.out.json(peerings)
      showPeerings(deps, name, peerings)
    }),
  )

  const accept = withJson(withSpace(program.command('spaces:peerings:accept <pcx-id> [space]')))
    .alias('peerings:accept')
    .description('accept a peering request made to a space')
  accept.action(
    act(deps, async (pcx: string, positional: string | undefined, flags: SpaceFlags) => {
      const name = spaceName(accept, positional, flags.space)
      const peering = await deps
        .client()
        .post<Peering>(p`/spaces/${name}/peerings/${pcx}/actions/accept`)
      if (flags.json) return deps.out.json(peering)
      deps.out.line(`Accepting and configuring peering connection ${pcx}`)
    }),
  )

  const destroy = withJson(withSpace(program.command('spaces:peerings:destroy <pcx-id>')))
    .alias('peerings:destroy')
    .description('tear down a peering')
    .option('--confirm <pcx-id>', 'the peering id again, to confirm without a prompt')
  destroy.action(
    act(deps, async (pcx: string, flags: SpaceFlags & { confirm?: string }) => {
      const name = spaceName(destroy, undefined, flags.space)
      await confirmDestruction(deps, 'peering connection', [pcx], flags.confirm)
      const peering = await deps.out.action(`Tearing down peering connection ${pcx}`, () =>
        deps.client().delete<Peering>(p`/spaces/${name}/peerings/${pcx}`),
      )
      if (flags.json) deps.out.json(peering)
    }),
  )

  const request = withJson(withSpace(program.command('spaces:peerings:request')))
    .alias('peerings:request')
    .description(
      'ask for a peering: of a space with another (--vpc-id from its peering:info), or of a peer network with a space (installation admin)',
    )
    .option('--vpc-id <vpc-id>', 'the VPC id of the space to peer with')
    .option('--peer-network <name>', 'a peer network to offer to the space')
  request.action(
    act(deps, async (flags: SpaceFlags & { vpcId?: string; peerNetwork?: string }) => {
      const name = spaceName(request, undefined, flags.space)
      if ((flags.vpcId === undefined) === (flags.peerNetwork === undefined)) {
        throw new UserError('Give one of --vpc-id (another space) or --peer-network (a network).')
      }
      const peering =
        flags.vpcId !== undefined
          ? await deps.client().post<Peering>(p`/localspace/spaces/${name}/peering-requests`, {
              vpc_id: flags.vpcId,
            })
          : await deps
              .client()
              .post<Peering>(p`/localspace/peer-networks/${flags.peerNetwork!}/peerings`, {
                space: name,
              })
      if (flags.json) return deps.out.json(peering)
      deps.out.line(`Requested peering connection ${peering.pcx_id} (${peering.status})`)
    }),
  )

  withJson(program.command('peer-networks'))
    .description('list the networks attached to this host for peering (installation admin)')
    .action(
      act(deps, async (flags: JsonFlag) => {
        const networks = await deps.client().get<PeerNetwork[]>('/localspace/peer-networks')
        if (flags.json) return deps.out.json(networks)
        if (networks.length === 0) return deps.out.line('No peer networks.')
        deps.out.table(networks, [
          { header: 'Name', get: (n) => n.name },
          { header: 'Interface', get: (n) => n.interface },
          { header: 'CIDRs', get: (n) => n.cidrs.join(', ') },
          { header: 'Gateway', get: (n) => n.gateway ?? '' },
          { header: 'VPC ID', get: (n) => n.vpc_id },
        ])
      }),
    )

  withJson(program.command('peer-networks:add <name>'))
    .description('attach a network reached by a host interface, for peering (installation admin)')
    .requiredOption('--interface <iface>', 'the interface it is reached by (NIC, VLAN, bridge, …)')
    .requiredOption('--cidrs <cidrs>', 'its networks, comma-separated')
    .option('--gateway <ip>', 'next hop on the interface (default: the networks are on the link)')
    .action(
      act(
        deps,
        async (
          name: string,
          flags: JsonFlag & { interface: string; cidrs: string; gateway?: string },
        ) => {
          const network = await deps.client().post<PeerNetwork>('/localspace/peer-networks', {
            name,
            interface: flags.interface,
            cidrs: splitCsv(flags.cidrs),
            ...(flags.gateway !== undefined && { gateway: flags.gateway }),
          })
          if (flags.json) return deps.out.json(network)
          deps.out.line(
            `Added peer network ${network.name} (${network.cidrs.join(', ')} via ${network.interface})`,
          )
        },
      ),
    )

  withJson(program.command('peer-networks:remove <name>'))
    .description('remove a peer network; its peerings must be destroyed first')
    .option('--confirm <name>', 'the name again, to confirm without a prompt')
    .action(
      act(deps, async (name: string, flags: JsonFlag & { confirm?: string }) => {
        await confirmDestruction(deps, 'peer network', [name], flags.confirm)
        const removed = await deps.out.action(`Removing peer network ${name}`, () =>
          deps.client().delete<PeerNetwork>(p`/localspace/peer-networks/${name}`),
        )
        if (flags.json) deps.out.json(removed)
      }),
    )
}
