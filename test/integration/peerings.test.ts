/**
 * Peering through the API (issue 16): peering-info, peer networks (installation admin),
 * requests from a peer network and from another space, accept in both of Heroku's forms,
 * expiry, destroy, overlap → `failed`, roles, and the host side's seam (`readSiteToSite`,
 * `setObservedStatus`). Every success body of a Heroku path is checked against the schema.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { vpcIdFor } from '../../src/core/peering.js'
import { parseVpnPool } from '../../src/core/vpn.js'
import { readSiteToSite } from '../../src/store/site-to-site.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

const DOGWOOD = { headers: { accept: 'application/vnd.heroku+json; version=3.dogwood' } }
const OFFICE_LAN = { name: 'office-lan', interface: 'eth1', cidrs: ['192.168.60.0/24'] }

describe('peering', () => {
  let api: TestApi
  let member: string
  let prod: { id: string; cidr: string; data_cidr: string }
  let lab: { id: string; cidr: string; data_cidr: string }
  before(async () => {
    api = await startTestApi({ vpnPools: [parseVpnPool('198.51.100.0/28')] })
    member = api.user('member@example.com')
    await api.call('POST', '/teams', { name: 'acme' })
    await api.call('PUT', '/teams/acme/members', { email: 'member@example.com', role: 'member' })
    prod = (await api.call('POST', '/spaces', { name: 'prod', team: 'acme', region: 'oregon' }))
      .body
    lab = (await api.call('POST', '/spaces', { name: 'lab', team: 'acme' })).body
  })
  after(() => api.close())

  test('peering-info says what a peer needs: installation id, region, a stable VPC id, the networks', async () => {
    const res = await api.call('GET', '/spaces/prod/peering-info', undefined, { key: member })
    assert.equal(res.status, 200)
    const info = res.body
    assert.match(info.aws_account_id, /^\d{12}$/)
    assert.equal(info.aws_region, 'us-west-2')
    assert.equal(info.vpc_id, vpcIdFor(prod.id))
    assert.match(info.vpc_id, /^vpc-[0-9a-f]{17}$/)
    assert.equal(info.vpc_cidr, prod.cidr)
    assert.deepEqual(info.space_cidr_blocks, [prod.cidr, prod.data_cidr])
    assert.deepEqual(info.dyno_cidr_blocks, ['10.0.128.0/20', '10.0.144.0/20', '10.0.160.0/20'])
    assert.deepEqual(info.unavailable_cidr_blocks, [])
    const again = (await api.call('GET', '/spaces/prod/peering-info')).body
    assert.equal(again.vpc_id, info.vpc_id)
    assert.equal(again.aws_account_id, info.aws_account_id)
    assert.deepEqual((await api.call('GET', '/spaces/prod/peerings')).body, [])
  })

  test('peer networks: the installation admin adds them; bad input is a 422 that changes nothing', async () => {
    const asMember = await api.call('POST', '/localspace/peer-networks', OFFICE_LAN, {
      key: member,
    })
    assert.equal(asMember.status, 403)
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ cidrs: ['8.8.8.0/24'] }, /cidrs/],
      [{ cidrs: [] }, /non-empty/],
      [{ cidrs: [prod.cidr] }, /overlaps a space/],
      [{ interface: 'eth0; reboot' }, /interface/],
      [{ name: 'Office LAN' }, /name/],
      [{ gateway: 'router.local' }, /gateway/],
    ]
    for (const [change, message] of bad) {
      const res = await api.call('POST', '/localspace/peer-networks', { ...OFFICE_LAN, ...change })
      assert.equal(res.status, 422, JSON.stringify(change))
      assert.match(res.body.message, message)
    }
    assert.deepEqual((await api.call('GET', '/localspace/peer-networks')).body, [])
    const made = await api.call('POST', '/localspace/peer-networks', {
      ...OFFICE_LAN,
      gateway: '192.0.2.1',
    })
    assert.equal(made.status, 201)
    assert.equal(made.body.interface, 'eth1')
    assert.equal(made.body.gateway, '192.0.2.1')
    const dup = await api.call('POST', '/localspace/peer-networks', OFFICE_LAN)
    assert.equal(dup.status, 422)
    assert.deepEqual(
      ((await api.call('GET', '/localspace/peer-networks')).body as Array<{ name: string }>).map(
        (n) => n.name,
      ),
      ['office-lan'],
    )
  })

  let pcx = ''
  test('a peer network offered to a space waits for its acceptance; members cannot accept', async () => {
    const changed: string[] = []
    const off = api.events.on('peering.changed', (id) => changed.push(id))
    const res = await api.call('POST', '/localspace/peer-networks/office-lan/peerings', {
      space: 'prod',
    })
    off()
    assert.equal(res.status, 201)
    pcx = res.body.pcx_id
    assert.match(pcx, /^pcx-[0-9a-f]{17}$/)
    assert.deepEqual(changed, [prod.id])
    const list = (await api.call('GET', '/spaces/prod/peerings')).body
    assert.equal(list.length, 1)
    const p = list[0]
    assert.equal(p.status, 'pending-acceptance')
    assert.equal(p.type, 'customer-managed')
    assert.deepEqual(p.cidr_blocks, ['192.168.60.0/24'])
    const info = (await api.call('GET', '/spaces/prod/peering-info')).body
    assert.equal(p.aws_account_id, info.aws_account_id)
    const expires = Date.parse(p.expires) - Date.now()
    assert.ok(expires > 6.9 * 86400_000 && expires <= 7 * 86400_000, p.expires)
    const asMember = await api.call(
      'POST',
      '/spaces/prod/peerings',
      { pcx_id: pcx },
      {
        ...DOGWOOD,
        key: member,
      },
    )
    assert.equal(asMember.status, 403)
    assert.equal(
      (await api.call('GET', `/spaces/prod/peerings/${pcx}`)).body.status,
      'pending-acceptance',
    )
    assert.equal((await api.call('GET', `/spaces/lab/peerings/${pcx}`)).status, 404)
    // A peer network with live peerings stays.
    const remove = await api.call('DELETE', '/localspace/peer-networks/office-lan')
    assert.equal(remove.status, 422)
  })

  test('accepting (the CLI form) makes it provisioning; the host side makes it active', async () => {
    assert.deepEqual(readSiteToSite(api.store, prod.id)!.peerings, [])
    const res = await api.call('POST', '/spaces/prod/peerings', { pcx_id: pcx }, DOGWOOD)
    assert.equal(res.status, 200)
    assert.equal(res.body.status, 'provisioning')
    const again = await api.call('POST', `/spaces/prod/peerings/${pcx}/actions/accept`)
    assert.equal(again.status, 422)
    assert.match(again.body.message, /provisioning and cannot be accepted/)
    assert.deepEqual(readSiteToSite(api.store, prod.id)!.peerings, [
      {
        pcxId: pcx,
        status: 'provisioning',
        peerCidrs: ['192.168.60.0/24'],
        peer: { kind: 'network', name: 'office-lan', interface: 'eth1', gateway: '192.0.2.1' },
      },
    ])
    assert.equal(api.store.peerings.setObservedStatus(pcx, 'active', '2026-01-01T00:00:00Z'), true)
    assert.equal((await api.call('GET', `/spaces/prod/peerings/${pcx}`)).body.status, 'active')
    const info = (await api.call('GET', '/spaces/prod/peering-info')).body
    assert.deepEqual(info.unavailable_cidr_blocks, ['192.168.60.0/24'])
  })

  test("a VPN whose CIDRs a peering routes already is failed, and so is a peering over a VPN's", async () => {
    const vpn = await api.call('POST', '/spaces/prod/vpn-connections', {
      name: 'office',
      public_ip: '203.0.113.50',
      routable_cidrs: ['192.168.60.128/25'],
    })
    assert.equal(vpn.status, 201)
    assert.equal(vpn.body.status, 'failed')
    assert.equal(vpn.body.status_message, 'supplied CIDR block already in use')
    assert.equal((await api.call('DELETE', '/spaces/lab/vpn-connections/office')).status, 404)
    assert.equal((await api.call('DELETE', '/spaces/prod/vpn-connections/office')).status, 200)

    // lab routes 192.168.70.0/24 to its office; a peer network bringing it is failed there.
    const labVpn = await api.call('POST', '/spaces/lab/vpn-connections', {
      name: 'office',
      public_ip: '203.0.113.51',
      routable_cidrs: ['192.168.70.0/24'],
    })
    assert.equal(labVpn.body.status, 'pending')
    await api.call('POST', '/localspace/peer-networks', {
      name: 'branch',
      interface: 'vlan70',
      cidrs: ['192.168.70.0/24'],
    })
    const offer = await api.call('POST', '/localspace/peer-networks/branch/peerings', {
      space: 'lab',
    })
    assert.equal(offer.status, 201)
    assert.equal(offer.body.status, 'failed')
    const accept = await api.call(
      'POST',
      '/spaces/lab/peerings',
      { pcx_id: offer.body.pcx_id },
      DOGWOOD,
    )
    assert.equal(accept.status, 422)
  })

  test('space to space: the asker sees initiating-request, the space asked accepts', async () => {
    const labVpc = (await api.call('GET', '/spaces/lab/peering-info')).body.vpc_id
    const asMember = await api.call(
      'POST',
      '/localspace/spaces/prod/peering-requests',
      { vpc_id: labVpc },
      { key: member },
    )
    assert.equal(asMember.status, 403)
    const unknown = await api.call('POST', '/localspace/spaces/prod/peering-requests', {
      vpc_id: 'vpc-00000000000000000',
    })
    assert.equal(unknown.status, 404)
    const req = await api.call('POST', '/localspace/spaces/prod/peering-requests', {
      vpc_id: labVpc,
    })
    assert.equal(req.status, 201)
    const id = req.body.pcx_id
    assert.equal(req.body.status, 'initiating-request')
    const fromLab = (await api.call('GET', `/spaces/lab/peerings/${id}`)).body
    assert.equal(fromLab.status, 'pending-acceptance')
    assert.equal(fromLab.type, 'heroku-managed')
    assert.deepEqual(fromLab.cidr_blocks, [prod.cidr])
    assert.equal(fromLab.aws_vpc_id, vpcIdFor(prod.id))
    assert.equal(fromLab.aws_region, 'us-west-2', "the peer's region: prod is in oregon")
    const fromProd = (await api.call('GET', `/spaces/prod/peerings/${id}`)).body
    assert.deepEqual(fromProd.cidr_blocks, [lab.cidr])
    assert.equal(fromProd.aws_vpc_id, labVpc)

    const byAsker = await api.call('POST', `/spaces/prod/peerings/${id}/actions/accept`)
    assert.equal(byAsker.status, 422)
    const accepted = await api.call('POST', `/spaces/lab/peerings/${id}/actions/accept`)
    assert.equal(accepted.status, 200)
    assert.equal(accepted.body.status, 'provisioning')
    assert.equal((await api.call('GET', `/spaces/prod/peerings/${id}`)).body.status, 'provisioning')
    const prodSide = readSiteToSite(api.store, prod.id)!.peerings.find((p) => p.pcxId === id)
    assert.deepEqual(prodSide?.peer, { kind: 'space', spaceId: lab.id })
    assert.deepEqual(prodSide?.peerCidrs, [lab.cidr])

    const del = await api.call('DELETE', `/spaces/prod/peerings/${id}`)
    assert.equal(del.status, 200)
    assert.equal(del.body.status, 'deleted')
    assert.equal((await api.call('GET', `/spaces/lab/peerings/${id}`)).body.status, 'deleted')
    assert.equal(readSiteToSite(api.store, lab.id)!.peerings.length, 0)
  })

  test('a request not accepted in 7 days is expired and cannot be accepted', async () => {
    const req = await api.call('POST', '/localspace/spaces/lab/peering-requests', {
      vpc_id: vpcIdFor(prod.id),
    })
    const id = req.body.pcx_id
    api.store.db
      .prepare('UPDATE peerings SET expires_at = ? WHERE id = ?')
      .run('2020-01-01T00:00:00Z', id)
    assert.equal((await api.call('GET', `/spaces/prod/peerings/${id}`)).body.status, 'expired')
    assert.equal((await api.call('GET', `/spaces/lab/peerings/${id}`)).body.status, 'expired')
    const accept = await api.call('POST', '/spaces/prod/peerings', { pcx_id: id }, DOGWOOD)
    assert.equal(accept.status, 422)
    assert.match(accept.body.message, /expired/)
  })

  test('destroying the peering lets the operator remove the peer network', async () => {
    const member403 = await api.call('DELETE', `/spaces/prod/peerings/${pcx}`, undefined, {
      key: member,
    })
    assert.equal(member403.status, 403)
    const del = await api.call('DELETE', `/spaces/prod/peerings/${pcx}`)
    assert.equal(del.body.status, 'deleted')
    assert.equal(api.store.peerings.setObservedStatus(pcx, 'active', '2026-01-01T00:00:00Z'), false)
    assert.equal(readSiteToSite(api.store, prod.id)!.peerings.length, 0)
    const remove = await api.call('DELETE', '/localspace/peer-networks/office-lan')
    assert.equal(remove.status, 200)
    assert.equal((await api.call('GET', `/spaces/prod/peerings/${pcx}`)).status, 404)
  })
})
