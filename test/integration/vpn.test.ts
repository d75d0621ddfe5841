/**
 * Site-to-site VPN connections through the API (issue 16): Heroku's paths and shapes (every
 * success body is checked against the schema by `call`), the states, validation that changes
 * nothing, overlap → `failed`, the tunnel address pool, roles, and the seam the host side
 * uses (the store's status writers and `readSiteToSite`).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { PSK_PATTERN, parseVpnPool } from '../../src/core/vpn.js'
import { readSiteToSite } from '../../src/store/site-to-site.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

const OFFICE = {
  name: 'office',
  public_ip: '203.0.113.50',
  routable_cidrs: ['172.16.0.0/16', '192.168.50.0/24'],
}

/** Team `acme` (the admin's) with a member, and an outsider; spaces are made by each test. */
async function acme(api: TestApi) {
  const member = api.user('member@example.com')
  const outsider = api.user('outsider@example.com')
  assert.equal((await api.call('POST', '/teams', { name: 'acme' })).status, 201)
  const put = await api.call('PUT', '/teams/acme/members', {
    email: 'member@example.com',
    role: 'member',
  })
  assert.equal(put.status, 200)
  return { member, outsider }
}

const space = async (api: TestApi, name: string, extra: Record<string, unknown> = {}) => {
  const res = await api.call('POST', '/spaces', { name, team: 'acme', ...extra })
  assert.equal(res.status, 201, JSON.stringify(res.body))
  return res.body as { id: string; cidr: string; data_cidr: string }
}

describe('VPN connections', () => {
  let api: TestApi
  let member: string
  let outsider: string
  let prod: { id: string; cidr: string; data_cidr: string }
  before(async () => {
    // A /29: six tunnel addresses, three connections.
    api = await startTestApi({ vpnPools: [parseVpnPool('198.51.100.0/29')] })
    ;({ member, outsider } = await acme(api))
    prod = await space(api, 'prod')
  })
  after(() => api.close())

  test('a new connection is pending, with two tunnels from the pool and fresh keys', async () => {
    const changed: string[] = []
    const off = api.events.on('vpn.changed', (id) => changed.push(id))
    const res = await api.call('POST', '/spaces/prod/vpn-connections', OFFICE)
    off()
    assert.equal(res.status, 201)
    const c = res.body
    assert.equal(c.name, 'office')
    assert.equal(c.public_ip, '203.0.113.50')
    assert.deepEqual(c.routable_cidrs, OFFICE.routable_cidrs)
    assert.equal(c.space_cidr_block, prod.cidr)
    assert.equal(c.ike_version, 1)
    assert.equal(c.status, 'pending')
    assert.equal(c.tunnels.length, 2)
    assert.deepEqual(
      (c.tunnels as Array<{ ip: string }>).map((t) => t.ip),
      ['198.51.100.1', '198.51.100.2'],
    )
    for (const t of c.tunnels) {
      assert.equal(t.customer_ip, '203.0.113.50')
      assert.match(t.pre_shared_key, PSK_PATTERN)
      assert.notEqual(t.pre_shared_key[0], '0')
      assert.equal(t.status, 'DOWN')
    }
    assert.notEqual(c.tunnels[0].pre_shared_key, c.tunnels[1].pre_shared_key)
    assert.deepEqual(changed, [prod.id], 'vpn.changed names the space, after the commit')
  })

  test('it is listed and found by name and by id; members read it, keys included', async () => {
    const list = await api.call('GET', '/spaces/prod/vpn-connections')
    assert.equal(list.status, 200)
    assert.deepEqual(
      (list.body as Array<{ name: string }>).map((c) => c.name),
      ['office'],
    )
    const byId = await api.call('GET', `/spaces/prod/vpn-connections/${list.body[0].id}`)
    assert.equal(byId.body.name, 'office')
    const asMember = await api.call('GET', '/spaces/prod/vpn-connections/office', undefined, {
      key: member,
    })
    assert.equal(asMember.status, 200)
    assert.match(asMember.body.tunnels[0].pre_shared_key, PSK_PATTERN)
  })

  test('only team admins change connections; outsiders do not see them', async () => {
    const asMember = { key: member }
    const post = await api.call('POST', '/spaces/prod/vpn-connections', OFFICE, asMember)
    assert.equal(post.status, 403)
    const patch = await api.call(
      'PATCH',
      '/spaces/prod/vpn-connections/office',
      { routable_cidrs: ['172.16.0.0/16'] },
      asMember,
    )
    assert.equal(patch.status, 403)
    const del = await api.call('DELETE', '/spaces/prod/vpn-connections/office', undefined, asMember)
    assert.equal(del.status, 403)
    const outside = await api.call('GET', '/spaces/prod/vpn-connections/office', undefined, {
      key: outsider,
    })
    assert.equal(outside.status, 404)
    assert.equal(
      (await api.call('GET', '/spaces/prod/vpn-connections/office')).body.routable_cidrs.length,
      2,
    )
  })

  test('one connection per space by default: a second is a 422 naming the flag', async () => {
    const res = await api.call('POST', '/spaces/prod/vpn-connections', { ...OFFICE, name: 'dc' })
    assert.equal(res.status, 422)
    assert.match(res.body.message, /--vpn-max-per-space/)
  })

  test('malformed input is a 422 that changes nothing', async () => {
    const lab = await space(api, 'lab')
    const bad: Array<[Record<string, unknown>, RegExp]> = [
      [{ routable_cidrs: ['8.8.8.0/24'] }, /10\.0\.0\.0\/8/],
      [{ routable_cidrs: ['nope'] }, /routable_cidrs/],
      [{ routable_cidrs: ['172.16.0.1/16'] }, /routable_cidrs/],
      [{ routable_cidrs: [] }, /non-empty/],
      [{ routable_cidrs: '172.16.0.0/16' }, /non-empty list/],
      [{ routable_cidrs: ['172.16.0.0/16', '172.16.5.0/24'] }, /overlaps/],
      [{ public_ip: '10.9.9.9' }, /public_ip/],
      [{ public_ip: '192.168.1.1' }, /public_ip/],
      [{ public_ip: 'gateway.example.com' }, /public_ip/],
      [{ public_ip: '203.0.113.256' }, /public_ip/],
      [{ ike_version: 3 }, /ike_version/],
      [{ name: 'bad name!' }, /name/],
      [{ name: undefined }, /name/],
    ]
    for (const [change, message] of bad) {
      const res = await api.call('POST', '/spaces/lab/vpn-connections', { ...OFFICE, ...change })
      assert.equal(res.status, 422, JSON.stringify(change))
      assert.equal(res.body.id, 'invalid_params')
      assert.match(res.body.message, message, JSON.stringify(change))
    }
    assert.deepEqual((await api.call('GET', '/spaces/lab/vpn-connections')).body, [])
    assert.equal(api.store.vpn.tunnelAddresses().length, 2, 'no address was taken')
    const patch = await api.call('PATCH', '/spaces/prod/vpn-connections/office', {
      routable_cidrs: ['1.2.3.0/24'],
    })
    assert.equal(patch.status, 422)
    const office = (await api.call('GET', '/spaces/prod/vpn-connections/office')).body
    assert.deepEqual(office.routable_cidrs, OFFICE.routable_cidrs)
    assert.equal(lab.cidr, '10.2.0.0/16')
  })

  test("CIDRs that overlap the space's networks make the connection failed, and an update can fix it", async () => {
    const lab = (await api.call('GET', '/spaces/lab')).body
    for (const clash of [lab.cidr, '10.3.128.0/24']) {
      // 10.3.128.0/24 is inside lab's data network (10.3.0.0/16).
      const res = await api.call('POST', '/spaces/lab/vpn-connections', {
        ...OFFICE,
        routable_cidrs: ['172.20.0.0/16', clash],
      })
      assert.equal(res.status, 201)
      assert.equal(res.body.status, 'failed')
      assert.equal(res.body.status_message, 'supplied CIDR block already in use')
      assert.equal(res.body.tunnels.length, 2)
      // A failed connection was never on the host: destroyed at once, addresses freed.
      const del = await api.call('DELETE', '/spaces/lab/vpn-connections/office')
      assert.equal(del.status, 200)
      assert.equal(del.body.status, 'deprovisioning')
      const gone = await api.call('GET', '/spaces/lab/vpn-connections/office')
      assert.equal(gone.status, 404)
      assert.equal(gone.body.message, 'VPN is not found.')
    }
    const failed = await api.call('POST', '/spaces/lab/vpn-connections', {
      ...OFFICE,
      routable_cidrs: [lab.cidr],
    })
    assert.equal(failed.body.status, 'failed')
    const fixed = await api.call('PATCH', '/spaces/lab/vpn-connections/office', {
      routable_cidrs: ['172.20.0.0/16'],
    })
    assert.equal(fixed.status, 200)
    assert.equal(fixed.body.status, 'pending')
    assert.equal(fixed.body.status_message, '')
    assert.deepEqual(fixed.body.routable_cidrs, ['172.20.0.0/16'])
  })

  test('the host side reports status; a delete waits for it to finish deprovisioning', async () => {
    const office = api.store.vpn.find(prod.id, 'office')!
    assert.equal(
      api.store.vpn.setConnectionStatus(office.id, 'active', '', '2026-01-01T00:00:00Z'),
      true,
    )
    assert.equal(
      api.store.vpn.setTunnelStatus(
        office.id,
        0,
        'UP',
        'IKE_SA established',
        '2026-01-01T00:00:01Z',
      ),
      true,
    )
    // Same status again: the message changes, the time of the last change does not.
    api.store.vpn.setTunnelStatus(office.id, 0, 'UP', 'CHILD_SA rekeyed', '2026-01-01T00:05:00Z')
    const active = (await api.call('GET', '/spaces/prod/vpn-connections/office')).body
    assert.equal(active.status, 'active')
    assert.equal(active.tunnels[0].status, 'UP')
    assert.equal(active.tunnels[0].status_message, 'CHILD_SA rekeyed')
    assert.equal(active.tunnels[0].last_status_change, '2026-01-01T00:00:01Z')
    assert.equal(active.tunnels[1].status, 'DOWN')

    const desired = readSiteToSite(api.store, prod.id)!
    assert.equal(desired.spaceCidr, prod.cidr)
    assert.deepEqual(
      desired.vpnConnections.map((c) => [c.name, c.tunnels.map((t) => t.preSharedKey)]),
      [
        [
          'office',
          (active.tunnels as Array<{ pre_shared_key: string }>).map((t) => t.pre_shared_key),
        ],
      ],
    )

    const del = await api.call('DELETE', '/spaces/prod/vpn-connections/office')
    assert.equal(del.status, 200)
    assert.equal(del.body.status, 'deprovisioning')
    const still = await api.call('GET', '/spaces/prod/vpn-connections/office')
    assert.equal(still.body.status, 'deprovisioning')
    // A late report from the host never revives it.
    assert.equal(
      api.store.vpn.setConnectionStatus(office.id, 'active', '', '2026-01-01T00:06:00Z'),
      false,
    )
    const after = readSiteToSite(api.store, prod.id)!
    assert.deepEqual(after.vpnConnections, [])
    assert.deepEqual(after.deprovisioning, [office.id])

    assert.equal(api.store.vpn.finishDeprovisioning(office.id), true)
    const gone = await api.call('GET', '/spaces/prod/vpn-connections/office')
    assert.equal(gone.status, 404)
    assert.ok(!api.store.vpn.tunnelAddresses().includes('198.51.100.1'), 'addresses freed')
  })

  test('a full pool is a 422 naming the flag; a destroyed connection gives its addresses back', async () => {
    // lab holds .3 and .4 now; two more spaces take .5/.6, then the pool is empty.
    await space(api, 'east')
    await space(api, 'west')
    const first = await api.call('POST', '/spaces/east/vpn-connections', OFFICE)
    assert.equal(first.status, 201)
    const second = await api.call('POST', '/spaces/west/vpn-connections', OFFICE)
    assert.equal(second.status, 201)
    const third = await api.call('POST', '/spaces/prod/vpn-connections', OFFICE)
    assert.equal(third.status, 422)
    assert.match(third.body.message, /--vpn-pool/)
    assert.deepEqual((await api.call('GET', '/spaces/prod/vpn-connections')).body, [])
    assert.equal((await api.call('DELETE', '/spaces/east/vpn-connections/office')).status, 200)
    const again = await api.call('POST', '/spaces/prod/vpn-connections', OFFICE)
    assert.equal(again.status, 201)
    assert.deepEqual(
      (again.body.tunnels as Array<{ ip: string }>).map((t) => t.ip).sort(),
      (first.body.tunnels as Array<{ ip: string }>).map((t) => t.ip).sort(),
    )
  })
})

describe('VPN connections: pools per region, more per space, IKEv2', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi({
      vpnPools: [parseVpnPool('tokyo=198.51.100.0/28')],
      vpnMaxPerSpace: 2,
    })
    await acme(api)
    await space(api, 'tokyo-prod', { region: 'tokyo' })
    await space(api, 'virginia-prod', { region: 'virginia' })
  })
  after(() => api.close())

  test('a space in a region without a pool gets a 422 that says which flag to set', async () => {
    const res = await api.call('POST', '/spaces/virginia-prod/vpn-connections', OFFICE)
    assert.equal(res.status, 422)
    assert.match(res.body.message, /--vpn-pool virginia=CIDR/)
    assert.equal(api.store.vpn.tunnelAddresses().length, 0)
  })

  test("a second connection may not overlap the first's CIDRs: failed", async () => {
    const a = await api.call('POST', '/spaces/tokyo-prod/vpn-connections', {
      ...OFFICE,
      ike_version: 2,
    })
    assert.equal(a.body.status, 'pending')
    assert.equal(a.body.ike_version, 2)
    const b = await api.call('POST', '/spaces/tokyo-prod/vpn-connections', {
      ...OFFICE,
      name: 'dc',
      routable_cidrs: ['192.168.50.128/25'],
    })
    assert.equal(b.status, 201)
    assert.equal(b.body.status, 'failed')
    assert.equal(b.body.status_message, 'supplied CIDR block already in use')
    const dup = await api.call('POST', '/spaces/tokyo-prod/vpn-connections', OFFICE)
    assert.equal(dup.status, 422, 'two is the most here')
  })
})
