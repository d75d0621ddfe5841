/**
 * The VPN agent with a real store and network agent over an in-memory host, and a recording
 * stand-in for VpnHost (the real one is tested on strongSwan: test/vpn, test/daemon/vpn.e2e):
 * the order the host needs (gateway before charon, charon stopped before the gateway goes),
 * and what it records (active, tunnel statuses, finished deprovisioning, active peerings).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, beforeEach, describe, test } from 'node:test'
import { MemorySpaceHost } from '../../test/helpers/memory-host.js'
import { EventBus } from '../core/events.js'
import { newId, nowIso } from '../core/ids.js'
import type { Space } from '../core/types.js'
import type { VpnConnection } from '../core/vpn.js'
import { vpnGatewayNetnsName } from '../network/names.js'
import { Store } from '../store/store.js'
import type { DesiredVpnSpace } from '../vpn/types.js'
import { NetworkAgent } from './network-agent.js'
import { VpnAgent, type CharonHost } from './vpn-agent.js'

const settings = {
  egressInterface: 'eth9',
  egressPoolCidrs: [],
  allowPrivate: [],
  routerListeners: [],
  vpnPoolCidrs: ['203.0.113.64/28'],
}

/** VpnHost's part: records each converge with the gateways the host had at that moment. */
class RecordingCharons implements CharonHost {
  calls: Array<{ spaces: DesiredVpnSpace[]; gatewaysOnHost: string[] }> = []
  fail: Error | undefined
  agent: VpnAgent | undefined
  constructor(private readonly host: MemorySpaceHost) {}
  async converge(spaces: readonly DesiredVpnSpace[]): Promise<void> {
    const gatewaysOnHost = (this.host.last?.host.vpnGateways ?? []).map((g) => g.netns)
    this.calls.push({ spaces: [...spaces], gatewaysOnHost })
    // VpnHost never rejects: it reports through onError.
    if (this.fail) this.agent!.charonFailed(this.fail)
  }
  get last() {
    return this.calls.at(-1)!
  }
}

describe('VPN agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-vpn-agent-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  let store: Store
  let events: EventBus
  let host: MemorySpaceHost
  let network: NetworkAgent
  let charons: RecordingCharons
  let agent: VpnAgent
  let space: Space
  let n = 0

  const connection = (status: VpnConnection['status']): VpnConnection => {
    const now = nowIso()
    const tunnel = (index: 0 | 1) => ({
      index,
      ip: `203.0.113.${65 + index}`,
      customerIp: '198.51.100.50',
      preSharedKey: `${'K'.repeat(31)}${index}`,
      status: 'DOWN' as const,
      statusMessage: '',
      lastStatusChange: now,
    })
    const c: VpnConnection = {
      id: newId(),
      spaceId: space.id,
      name: 'office',
      publicIp: '198.51.100.50',
      routableCidrs: ['192.168.50.0/24'],
      ikeVersion: 1,
      status,
      statusMessage: '',
      tunnels: [tunnel(0), tunnel(1)],
      createdAt: now,
      updatedAt: now,
    }
    store.vpn.insert(c)
    return c
  }

  beforeEach(async () => {
    store = Store.open(join(dir, `${++n}.db`))
    events = new EventBus()
    host = new MemorySpaceHost()
    network = new NetworkAgent(store, events, host, { settings, intervalMs: 0 })
    charons = new RecordingCharons(host)
    agent = new VpnAgent(store, events, network, charons, { intervalMs: 0 })
    charons.agent = agent
    const now = nowIso()
    const teamId = newId()
    store.teams.insert({ id: teamId, name: `team-${n}`, createdAt: now, updatedAt: now })
    space = {
      id: newId(),
      name: `space-${n}`,
      teamId,
      teamName: `team-${n}`,
      region: 'virginia',
      state: 'allocated',
      shield: false,
      cidr: '10.40.0.0/16',
      dataCidr: '10.41.0.0/16',
      generation: 'cedar',
      createdAt: now,
      updatedAt: now,
    }
    store.spaces.insert(space)
    await network.start()
    await agent.start()
  })

  const settle = async () => {
    await agent.idle()
    await network.idle()
    await agent.idle()
  }

  test('a new connection: gateway first, then charon, then active', async () => {
    const c = connection('pending')
    events.emit('vpn.changed', space.id)
    await settle()
    const gateway = vpnGatewayNetnsName(space.id)
    const g = host.last!.host.vpnGateways?.[0]
    assert.equal(g?.netns, gateway)
    assert.deepEqual(g?.tunnelAddresses, ['203.0.113.65', '203.0.113.66'])
    assert.deepEqual(g?.remoteCidrs, ['192.168.50.0/24'])
    assert.deepEqual(host.last!.host.vpnPool, { iface: 'eth9', poolCidrs: ['203.0.113.64/28'] })
    assert.equal(host.last!.firewall.vpnGateways?.length, 1)
    const call = charons.calls.find((x) => x.spaces.length > 0)!
    assert.deepEqual(
      call.gatewaysOnHost,
      [gateway],
      'the gateway existed before charon was given it',
    )
    assert.deepEqual(call.spaces[0], {
      spaceId: space.id,
      netns: gateway,
      spaceCidr: '10.40.0.0/16',
      connections: [
        {
          id: c.id,
          name: 'office',
          ikeVersion: 1,
          routableCidrs: ['192.168.50.0/24'],
          tunnels: c.tunnels.map((t) => ({
            localIp: t.ip,
            customerIp: t.customerIp,
            psk: t.preSharedKey,
          })),
        },
      ],
    })
    assert.equal(store.vpn.get(c.id)?.status, 'active')
  })

  test('a charon that fails keeps the connection provisioning; it goes active once it works', async () => {
    charons.fail = new Error('charon did not start')
    const c = connection('pending')
    events.emit('vpn.changed', space.id)
    await settle()
    assert.equal(store.vpn.get(c.id)?.status, 'provisioning')
    charons.fail = undefined
    await agent.reconcile()
    assert.equal(store.vpn.get(c.id)?.status, 'active')
  })

  test('tunnel statuses reach the store', async () => {
    const c = connection('active')
    agent.recordTunnel({
      spaceId: space.id,
      connectionId: c.id,
      tunnelIndex: 1,
      localIp: '203.0.113.66',
      customerIp: '198.51.100.50',
      status: 'UP',
      statusMessage: 'IKE_SA established, CHILD_SA installed',
      lastStatusChange: '2026-01-01T00:00:00.000Z',
    })
    const t = store.vpn.get(c.id)!.tunnels[1]!
    assert.equal(t.status, 'UP')
    assert.equal(t.statusMessage, 'IKE_SA established, CHILD_SA installed')
    assert.equal(t.lastStatusChange, '2026-01-01T00:00:00.000Z')
  })

  test('destroying: charon loses the connection while the gateway stands, then the gateway goes', async () => {
    const c = connection('pending')
    events.emit('vpn.changed', space.id)
    await settle()
    store.vpn.markDeprovisioning(c.id, nowIso())
    const before = charons.calls.length
    events.emit('vpn.changed', space.id)
    await settle()
    const stop = charons.calls.slice(before).find((x) => x.spaces.length === 0)
    assert.ok(stop, 'charon was told the space has no connection')
    assert.deepEqual(
      stop.gatewaysOnHost,
      [vpnGatewayNetnsName(space.id)],
      'while the gateway stood',
    )
    assert.equal(store.vpn.get(c.id), undefined, 'finished')
    assert.deepEqual(host.last!.host.vpnGateways, [], 'and then the gateway went')
  })

  test('an accepted peering with an operator network: routed, then active', async () => {
    const networkId = newId()
    store.peerings.insertNetwork({
      id: networkId,
      name: 'dc',
      interface: 'peer0',
      cidrs: ['10.99.0.0/16'],
      createdAt: nowIso(),
    })
    store.peerings.insert({
      id: 'pcx-0123456789abcdef0',
      accepterSpaceId: space.id,
      peerNetworkId: networkId,
      status: 'provisioning',
      expiresAt: nowIso(),
      createdAt: nowIso(),
      updatedAt: nowIso(),
    })
    events.emit('peering.changed', space.id)
    await settle()
    assert.deepEqual(host.last!.host.peerNetworks, [
      {
        dynoBridge: host.last!.host.spaces[0]!.dynoBridge,
        cidr: '10.40.0.0/16',
        internalRouter: '10.40.0.3',
        iface: 'peer0',
        cidrs: ['10.99.0.0/16'],
      },
    ])
    assert.equal(store.peerings.get('pcx-0123456789abcdef0')?.status, 'active')
  })

  test('a network that cannot be converged: no charon, the connection waits', async () => {
    host.failWith = new Error('no nft')
    const c = connection('pending')
    events.emit('vpn.changed', space.id)
    await settle()
    assert.equal(store.vpn.get(c.id)?.status, 'provisioning')
    assert.equal(
      charons.calls.some((x) => x.spaces.length > 0),
      false,
    )
  })
})
