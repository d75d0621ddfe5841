/**
 * What the spaces' VPN connections and peerings ask of the host's networking (pure): a
 * gateway only for connections the host side took on (or is tearing down), both sides of a
 * space-to-space peering once, operator networks per space; and the replication paths of
 * Postgres followers in another space.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { Space } from '../core/types.js'
import type { VpnConnection } from '../core/vpn.js'
import { dynoBridgeName, vpnGatewayNetnsName } from '../network/names.js'
import type { DesiredSiteToSite } from '../store/site-to-site.js'
import { dataReplicationPaths, desiredSiteToSite } from './desired-network.js'

const space = (n: number): Space => ({
  id: `5a000000-0000-4000-8000-00000000000${n}`,
  name: `s${n}`,
  teamId: 't',
  teamName: 't',
  region: 'virginia',
  state: 'allocated',
  shield: false,
  cidr: `10.${10 * n}.0.0/16`,
  dataCidr: `10.${10 * n + 1}.0.0/16`,
  generation: 'cedar',
  createdAt: '',
  updatedAt: '',
})
const A = space(1)
const B = space(2)

const vpn = (status: VpnConnection['status']): VpnConnection => ({
  id: `c-${status}`,
  spaceId: A.id,
  name: status,
  publicIp: '198.51.100.50',
  routableCidrs: ['192.168.50.0/24'],
  ikeVersion: 1,
  status,
  statusMessage: '',
  tunnels: ([0, 1] as const).map((index) => ({
    index,
    ip: `203.0.113.${65 + index}`,
    customerIp: '198.51.100.50',
    preSharedKey: 'K'.repeat(32),
    status: 'DOWN' as const,
    statusMessage: '',
    lastStatusChange: '',
  })),
  createdAt: '',
  updatedAt: '',
})

const s2s = (s: Space, over: Partial<DesiredSiteToSite> = {}): DesiredSiteToSite => ({
  spaceId: s.id,
  region: s.region,
  spaceCidr: s.cidr,
  dataCidr: s.dataCidr,
  vpnConnections: [],
  deprovisioning: [],
  peerings: [],
  ...over,
})

describe('desiredSiteToSite', () => {
  test('a pending connection is not the host side’s yet: no gateway', () => {
    const r = desiredSiteToSite([A], [s2s(A, { vpnConnections: [vpn('pending')] })])
    assert.deepEqual(r.vpnGateways, [])
  })

  test('a connection taken on has a gateway with its addresses and remote CIDRs', () => {
    const r = desiredSiteToSite([A], [s2s(A, { vpnConnections: [vpn('active')] })])
    assert.equal(r.vpnGateways[0]?.netns, vpnGatewayNetnsName(A.id))
    assert.deepEqual(r.vpnGateways[0]?.tunnelAddresses, ['203.0.113.65', '203.0.113.66'])
    assert.deepEqual(r.vpnGateways[0]?.remoteCidrs, ['192.168.50.0/24'])
  })

  test('a connection being torn down keeps the gateway (charon goes first), without routes', () => {
    const r = desiredSiteToSite([A], [s2s(A, { deprovisioning: ['c-gone'] })])
    assert.equal(r.vpnGateways.length, 1)
    assert.deepEqual(r.vpnGateways[0]?.remoteCidrs, [])
  })

  test('a space-to-space peering, listed by both spaces, is one pair', () => {
    const peering = (other: Space) => ({
      pcxId: 'pcx-1',
      status: 'active' as const,
      peerCidrs: [other.cidr],
      peer: { kind: 'space' as const, spaceId: other.id },
    })
    const r = desiredSiteToSite(
      [A, B],
      [s2s(A, { peerings: [peering(B)] }), s2s(B, { peerings: [peering(A)] })],
    )
    assert.deepEqual(r.spacePeerings, [
      {
        a: { dynoBridge: dynoBridgeName(A.id), internalRouter: '10.10.0.3' },
        b: { dynoBridge: dynoBridgeName(B.id), internalRouter: '10.20.0.3' },
      },
    ])
  })
})

const addon = (id: string, spaceId: string, host: string, leaderId: string | null = null) => ({
  id,
  spaceId,
  host,
  port: 5432,
  leaderId,
  state: 'provisioned' as const,
})

describe('dataReplicationPaths', () => {
  test('a follower in another space: its server to its leader’s port, nothing else', () => {
    const leader = addon('l', 'space-a', '10.3.0.10')
    const remote = addon('f1', 'space-b', '10.5.0.10', 'l')
    const local = addon('f2', 'space-a', '10.3.0.11', 'l')
    const alone = addon('x', 'space-b', '10.5.0.11')
    assert.deepEqual(dataReplicationPaths([leader, remote, local, alone]), [
      { follower: '10.5.0.10', leader: '10.3.0.10', port: 5432 },
    ])
  })

  test('unfollowed, or either side being removed: no path', () => {
    const leader = addon('l', 'space-a', '10.3.0.10')
    assert.deepEqual(dataReplicationPaths([leader, addon('f', 'space-b', '10.5.0.10')]), [])
    const gone = { ...addon('f', 'space-b', '10.5.0.10', 'l'), state: 'deprovisioning' as const }
    assert.deepEqual(dataReplicationPaths([leader, gone]), [])
    const leaderGone = { ...leader, state: 'deprovisioning' as const }
    assert.deepEqual(
      dataReplicationPaths([leaderGone, addon('f', 'space-b', '10.5.0.10', 'l')]),
      [],
    )
  })
})
