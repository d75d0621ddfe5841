/**
 * Carries out vpn-gateway.ts's plans (see applyVpnActions), and the sysctls the plan does not
 * observe.
 */
import type { Exec } from '../exec/run.js'
import { vethIntoLine } from './attach.js'
import { runIpBatch, type BatchLine, type Tolerate } from './batch.js'
import { ensureForwarding, ensureProxyArpAtOnce } from './host-files.js'
import { macFor, ROUTE_PROTO, SPACE_RULE_PRIORITY } from './names.js'
import { renderGatewayFirewall } from './nft/render.js'
import type { DesiredHost, DesiredVpnGateway, HostPaths, ObservedAddress } from './types.js'
import { checkVpnGateway } from './validate.js'
import { GATEWAY_LINK_ADDRESS, type GatewayFirewalls, type VpnAction } from './vpn-gateway.js'
import { readGatewayFirewall, type OwnedRoute, type OwnedRule } from './vpn-observe.js'

const line = (command: string, tolerate: Tolerate): BatchLine => ({ command, tolerate })
const table = (r: OwnedRoute) => `table ${r.table}`
const via = (r: OwnedRoute) => (r.via === undefined ? '' : ` via ${r.via}`)
const rule = (verb: string, r: OwnedRule) =>
  `rule ${verb} from ${r.from} table ${r.table} priority ${SPACE_RULE_PRIORITY} protocol ${ROUTE_PROTO}`

function teardownLines(a: VpnAction): BatchLine[] {
  switch (a.kind) {
    case 'route.delete':
      return [
        line(
          `route del ${a.route.dst}${via(a.route)} dev ${a.route.dev} ${table(a.route)}`,
          'gone',
        ),
      ]
    case 'rule.delete':
      return [line(rule('del', a.rule), 'gone')]
    case 'proxy.delete':
      return [line(`neigh del proxy ${a.proxy.address} dev ${a.proxy.dev}`, 'gone')]
    default:
      return []
  }
}

function buildLines(a: VpnAction): BatchLine[] {
  if (a.kind === 'gateway.make') {
    const g = a.gateway
    return [
      ...a.stale.map((name) => line(`link del ${name}`, 'gone')),
      ...(a.netns ? [line(`netns add ${g.netns}`, 'exists')] : []),
      ...(a.port ? [line(vethIntoLine(g.port, 'eth0', g.netns), 'nothing')] : []),
      ...(a.ext ? [line(vethIntoLine(g.ext, 'ext0', g.netns), 'nothing')] : []),
    ]
  }
  if (a.kind === 'gateway.plug') {
    const g = a.gateway
    return [
      line(`link set ${g.port} master ${g.dynoBridge} up`, 'nothing'),
      line(`addr replace ${GATEWAY_LINK_ADDRESS}/32 dev ${g.ext}`, 'nothing'),
      line(`link set ${g.ext} up`, 'nothing'),
    ]
  }
  return []
}

function addLines(a: VpnAction): BatchLine[] {
  switch (a.kind) {
    case 'route.add':
      return [
        line(
          `route replace ${a.route.dst}${via(a.route)} dev ${a.route.dev} ${table(a.route)} proto ${ROUTE_PROTO}`,
          'nothing',
        ),
      ]
    case 'rule.add':
      return [line(rule('add', a.rule), 'exists')]
    case 'proxy.add':
      return [line(`neigh replace proxy ${a.proxy.address} dev ${a.proxy.dev}`, 'nothing')]
    default:
      return []
  }
}

/** The lines run inside a gateway (`ip -n <ns> -force -batch -`); each may run again. */
export function gatewayInsideLines(
  g: DesiredVpnGateway,
  remove: ReadonlyArray<ObservedAddress & { dev: string }> = [],
): BatchLine[] {
  const prefix = checkVpnGateway(g).prefix
  return [
    ...remove.map((a) => line(`addr del ${a.address}/${a.prefix} dev ${a.dev}`, 'gone')),
    line(`addr replace ${g.address}/${prefix} dev eth0`, 'nothing'),
    line(`link set eth0 address ${macFor(g.address)} up`, 'nothing'),
    line('link set lo up', 'nothing'),
    ...g.tunnelAddresses.map((t) => line(`addr replace ${t}/32 dev ext0`, 'nothing')),
    line('link set ext0 up', 'nothing'),
    line(`route replace default via ${GATEWAY_LINK_ADDRESS} dev ext0 onlink`, 'nothing'),
  ]
}

/**
 * A gateway's firewall, then forwarding: nothing is forwarded before the rules are in. The
 * listing read back becomes the reference for drift.
 */
async function applyGatewayFirewall(
  exec: Exec,
  g: DesiredVpnGateway,
  firewalls: GatewayFirewalls,
): Promise<void> {
  const rendered = renderGatewayFirewall(g)
  const inNetns = ['netns', 'exec', g.netns]
  await exec('ip', [...inNetns, 'nft', '-f', '-'], { input: rendered })
  await exec('ip', [...inNetns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
  const listing = await readGatewayFirewall(exec, g.netns)
  if (listing === undefined) throw new Error(`the firewall of ${g.netns} vanished`)
  firewalls.set(g.netns, { rendered, listing })
}

/**
 * Carries out a plan from planVpn, in stages: stale routes, rules and proxy entries out (one
 * `ip` process); gateways made and plugged (one); each changed gateway's firewall, before its
 * addresses, so no tunnel address is ever up unguarded; the insides (one per gateway); then
 * routes, rules and proxy entries in (one). Every step tolerates having been done already.
 */
export async function applyVpnActions(
  exec: Exec,
  actions: readonly VpnAction[],
  firewalls: GatewayFirewalls,
): Promise<void> {
  await runIpBatch(exec, actions.flatMap(teardownLines), { force: true })
  await runIpBatch(exec, actions.flatMap(buildLines), { force: true })
  for (const a of actions) {
    if (a.kind === 'gateway.firewall') await applyGatewayFirewall(exec, a.gateway, firewalls)
  }
  for (const a of actions) {
    if (a.kind !== 'gateway.inside') continue
    await runIpBatch(exec, gatewayInsideLines(a.gateway, a.remove), {
      netns: a.gateway.netns,
      force: true,
    })
  }
  await runIpBatch(exec, actions.flatMap(addLines), { force: true })
}

/**
 * The sysctls the plan does not observe, asserted on every reconcile: forwarding on each
 * gateway's outer veth and each peer interface (the peers' answers to the spaces are
 * forwarded), and prompt proxy ARP on the interface that answers for the tunnels.
 */
export async function ensureVpnSettings(
  desired: DesiredHost,
  paths: HostPaths = {},
): Promise<void> {
  for (const g of desired.vpnGateways ?? []) await ensureForwarding(g.ext, paths)
  for (const p of desired.peerNetworks ?? []) await ensureForwarding(p.iface, paths)
  const iface = desired.vpnPool?.iface
  if (iface !== undefined && (desired.vpnGateways ?? []).length > 0) {
    await ensureForwarding(iface, paths)
    await ensureProxyArpAtOnce(iface, paths)
  }
}
