/**
 * The host-network planner: desired state + observed host → the actions between them. Pure,
 * and empty when the host already matches, so "apply, then plan again" proves convergence.
 *
 * Ownership is proved from names alone (names.ts). An owned name holding the wrong kind of
 * object is a conflict the planner refuses to plan around; a name that is not ours is never in
 * a plan, whatever it is called otherwise.
 */
import { containsAddress, parseIpv4, type Cidr } from '../core/cidr.js'
import { InvalidNetworkStateError, NetworkConflictError } from './errors.js'
import { GATEWAY_NETNS, macFor, OWNED_LINK, OWNED_NETNS } from './names.js'
import type {
  DesiredAttachment,
  DesiredEgress,
  DesiredHost,
  HostAction,
  ObservedAddress,
  ObservedHost,
  ObservedLink,
} from './types.js'
import { checkAttachment, checkBuildNetwork, checkEgress, checkSpace } from './validate.js'

interface WantedBridge {
  name: string
  /** Fixed, from the gateway address: a bridge left to the kernel changes MAC with its ports. */
  mac: string
  addresses: ObservedAddress[]
}

const describeLink = (l: ObservedLink) => (l.kind ? `is a ${l.kind}` : 'is a plain device')
const sameAddress = (a: ObservedAddress) => (b: ObservedAddress) =>
  a.address === b.address && a.prefix === b.prefix

/**
 * The bridges of every desired space and of the build network, with the addresses each
 * carries; checks the state.
 */
function wantedBridges(desired: DesiredHost): WantedBridge[] {
  const bridges: WantedBridge[] = []
  const build = desired.buildNetwork
  if (build) {
    const { prefix } = checkBuildNetwork(build)
    bridges.push({
      name: build.bridge,
      mac: macFor(build.gateway),
      addresses: [{ address: build.gateway, prefix }],
    })
  }
  for (const space of desired.spaces) {
    const { cidr, dataCidr } = checkSpace(space)
    bridges.push(
      {
        name: space.dynoBridge,
        mac: macFor(space.gateway),
        addresses: [
          { address: space.gateway, prefix: cidr.prefix },
          { address: space.internalRouter, prefix: cidr.prefix },
        ],
      },
      {
        name: space.dataBridge,
        mac: macFor(space.dataGateway),
        addresses: [{ address: space.dataGateway, prefix: dataCidr.prefix }],
      },
    )
  }
  const seen = new Set<string>()
  for (const { name } of bridges) {
    if (seen.has(name)) throw new InvalidNetworkStateError(`bridge ${name} is desired twice`)
    seen.add(name)
  }
  return bridges
}

function checkAttachments(attachments: readonly DesiredAttachment[], bridges: Set<string>): void {
  const seen = new Set<string>()
  for (const a of attachments) {
    checkAttachment(a)
    if (!bridges.has(a.bridge)) {
      throw new InvalidNetworkStateError(`${a.id} joins ${a.bridge}, which no desired space has`)
    }
    for (const name of [a.netns, a.veth]) {
      if (seen.has(name)) throw new InvalidNetworkStateError(`${name} is desired twice`)
      seen.add(name)
    }
  }
}

/** Why an attachment that lacks a half must be rebuilt; undefined when nothing is there. */
function attachmentDamage(
  hostEnd: ObservedLink | undefined,
  hasNetns: boolean,
): string | undefined {
  if (!hasNetns) return hostEnd ? 'namespace missing' : undefined
  return hostEnd ? undefined : 'host veth missing'
}

function planEgress(
  egress: DesiredEgress,
  links: ReadonlyMap<string, ObservedLink>,
): { remove: HostAction[]; add: HostAction[] } {
  const pools = checkEgress(egress)
  if (OWNED_LINK.test(egress.iface)) {
    throw new InvalidNetworkStateError(`egress interface ${egress.iface} is one of localspace's`)
  }
  const iface = links.get(egress.iface)
  if (!iface) throw new InvalidNetworkStateError(`egress interface ${egress.iface} not found`)
  const wanted = new Set(egress.addresses)
  const inPool = (address: string) => {
    const n = parseIpv4(address)
    return n !== undefined && pools.some((p: Cidr) => containsAddress(p, n))
  }
  // Only /32s can be ours: that is all we ever add, so the host's own address stays put even
  // when an operator's pool happens to cover it.
  const remove: HostAction[] = iface.addresses
    .filter((a) => a.prefix === 32 && inPool(a.address) && !wanted.has(a.address))
    .map((a) => ({ kind: 'addr.remove', dev: egress.iface, ...a }))
  const add: HostAction[] = [...wanted]
    .filter((address) => !iface.addresses.some((a) => a.address === address))
    .map((address) => ({ kind: 'addr.add', dev: egress.iface, address, prefix: 32 }))
  return { remove, add }
}

/**
 * Plans the host's space bridges, dyno/data attachments, outbound addresses and the removal of
 * owned leftovers. Throws NetworkConflictError when a desired name is held by a foreign object
 * (nothing is planned then), InvalidNetworkStateError on desired state it will not act on.
 *
 * @example
 * const actions = planHost(desired, await observeHost(run))
 * await applyHostActions(run, actions)
 * assert.deepEqual(planHost(desired, await observeHost(run)), [])
 */
export function planHost(desired: DesiredHost, observed: ObservedHost): HostAction[] {
  const bridges = wantedBridges(desired)
  const bridgeNames = new Set(bridges.map((b) => b.name))
  checkAttachments(desired.attachments, bridgeNames)
  const links = new Map(observed.links.map((l) => [l.name, l]))
  const netns = new Set(observed.netns)

  // 1. Conflicts first: while a foreign object holds one of our names nothing is planned.
  for (const { name } of bridges) {
    const link = links.get(name)
    if (link && link.kind !== 'bridge') {
      throw new NetworkConflictError(name, `${describeLink(link)}, not a bridge`)
    }
  }
  for (const { veth } of desired.attachments) {
    const link = links.get(veth)
    if (link && link.kind !== 'veth') {
      throw new NetworkConflictError(veth, `${describeLink(link)}, not a veth`)
    }
  }

  const detaches: HostAction[] = []
  const linkDeletes: HostAction[] = []
  const netnsDeletes: HostAction[] = []
  const addrRemoves: HostAction[] = []
  const builds: HostAction[] = []
  const attaches: HostAction[] = []

  // 2. Bridges: exist, carry their fixed MAC, up, exactly the wanted addresses.
  for (const bridge of bridges) {
    const link = links.get(bridge.name)
    const add = (a: ObservedAddress): HostAction => ({ kind: 'addr.add', dev: bridge.name, ...a })
    if (!link) {
      builds.push(
        { kind: 'bridge.create', name: bridge.name, mac: bridge.mac },
        { kind: 'link.up', name: bridge.name },
      )
      builds.push(...bridge.addresses.map(add))
      continue
    }
    if (link.mac !== bridge.mac)
      builds.push({ kind: 'link.mac', name: bridge.name, mac: bridge.mac })
    if (!link.up) builds.push({ kind: 'link.up', name: bridge.name })
    const extra = link.addresses.filter((a) => !bridge.addresses.some(sameAddress(a)))
    const missing = bridge.addresses.filter((a) => !link.addresses.some(sameAddress(a)))
    addrRemoves.push(
      ...extra.map((a): HostAction => ({ kind: 'addr.remove', dev: bridge.name, ...a })),
    )
    // Deleting a primary address takes the secondaries of its subnet with it, so after any
    // removal every wanted address is added again (apply accepts "already assigned").
    builds.push(...(extra.length > 0 ? bridge.addresses : missing).map(add))
  }

  // 3. Attachments: a namespace with its veth on the right bridge. When both halves exist the
  // veth is only plugged back in: the namespace may hold a running dyno, which a rebuild would
  // leave behind in the old, unconnected namespace. Anything less is rebuilt.
  for (const a of desired.attachments) {
    const hostEnd = links.get(a.veth)
    const hasNetns = netns.has(a.netns)
    if (hasNetns && hostEnd && hostEnd.master === a.bridge && hostEnd.up) continue
    if (hasNetns && hostEnd) {
      builds.push({ kind: 'veth.plug', veth: a.veth, bridge: a.bridge })
      continue
    }
    const reason = attachmentDamage(hostEnd, hasNetns)
    if (reason) detaches.push({ kind: 'detach', netns: a.netns, veth: a.veth, reason })
    attaches.push({ kind: 'attach', attachment: a })
  }

  // 4. Owned leftovers; sorted so the same host gives the same plan. VPN gateways are made
  // and repaired by vpn-gateway.ts; what is left of one no longer desired goes here.
  const gateways = desired.vpnGateways ?? []
  const desiredLinks = new Set([
    ...bridgeNames,
    ...desired.attachments.map((a) => a.veth),
    ...(desired.prepared?.links ?? []),
    ...gateways.flatMap((g) => [g.port, g.ext]),
  ])
  const desiredNetns = new Set([
    ...desired.attachments.map((a) => a.netns),
    ...(desired.prepared?.netns ?? []),
    ...gateways.map((g) => g.netns),
  ])
  for (const link of [...observed.links].sort((x, y) => x.name.localeCompare(y.name))) {
    if (link.owned && OWNED_LINK.test(link.name) && !desiredLinks.has(link.name)) {
      linkDeletes.push({ kind: 'link.delete', name: link.name })
    }
  }
  for (const name of [...observed.netns].sort()) {
    if ((OWNED_NETNS.test(name) || GATEWAY_NETNS.test(name)) && !desiredNetns.has(name)) {
      netnsDeletes.push({ kind: 'netns.delete', name })
    }
  }

  // 5. Outbound addresses on the egress interface: add ours, remove stale ones from the pool.
  if (desired.egress) {
    const { remove, add } = planEgress(desired.egress, links)
    addrRemoves.push(...remove)
    builds.push(...add)
  }

  return [...detaches, ...linkDeletes, ...netnsDeletes, ...addrRemoves, ...builds, ...attaches]
}
