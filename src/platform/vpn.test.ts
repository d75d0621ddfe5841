import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, test } from 'node:test'
import { parseVpnPool } from '../core/vpn.js'
import {
  assertRefused,
  makeSpace,
  startTestPlatform,
  type TestPlatform,
} from '../../test/helpers/platform.js'
import { acceptPeering, addPeerNetwork, destroyPeering, requestNetworkPeering } from './peerings.js'
import {
  createVpnConnection,
  destroyVpnConnection,
  updateVpnConnection,
  type VpnHostFacts,
} from './vpn.js'

const host: VpnHostFacts = { pools: [parseVpnPool('198.51.100.0/29')], maxPerSpace: 1 }
const OFFICE = { name: 'office', publicIp: '203.0.113.50', routableCidrs: ['172.16.0.0/16'] }

describe('platform VPN connections and peerings', () => {
  let p: TestPlatform
  beforeEach(() => {
    p = startTestPlatform()
  })
  afterEach(() => p.close())

  test('every change is followed by its event, after the commit', () => {
    const space = makeSpace(p)
    p.emitted.length = 0
    const c = createVpnConnection(p.ctx, space, OFFICE, host)
    updateVpnConnection(p.ctx, space, c, ['172.17.0.0/16'])
    destroyVpnConnection(p.ctx, space, c)
    const network = addPeerNetwork(p.ctx, {
      name: 'lan',
      interface: 'eth1',
      cidrs: ['192.168.9.0/24'],
    })
    const peering = requestNetworkPeering(p.ctx, network, space)
    acceptPeering(p.ctx, space, peering)
    destroyPeering(p.ctx, peering)
    assert.deepEqual(
      p.emitted.map((e) => [e.event, e.id, e.inTransaction]),
      [
        ...Array(3).fill(['vpn.changed', space.id, false]),
        ...Array(3).fill(['peering.changed', space.id, false]),
      ],
    )
  })

  test('a refused change stores nothing and says nothing', () => {
    const space = makeSpace(p)
    p.emitted.length = 0
    assertRefused(
      () => createVpnConnection(p.ctx, space, { ...OFFICE, publicIp: '10.0.0.1' }, host),
      /public_ip/,
    )
    assertRefused(
      () => createVpnConnection(p.ctx, space, OFFICE, { ...host, pools: [] }),
      /--vpn-pool/,
    )
    createVpnConnection(p.ctx, space, OFFICE, host)
    p.emitted.length = 0
    assertRefused(
      () => createVpnConnection(p.ctx, space, { ...OFFICE, name: 'dc' }, host),
      /--vpn-max-per-space/,
    )
    assert.equal(p.store.vpn.forSpace(space.id).length, 1)
    assert.equal(p.store.vpn.tunnelAddresses().length, 2)
    assert.deepEqual(p.emitted, [])
  })
})
