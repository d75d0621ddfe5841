/**
 * The official `heroku` CLI (11.x) for site-to-site VPN connections and peering (issue 16):
 * spaces:vpn:connect/connections/info/config/update/wait/destroy, spaces:peering:info,
 * spaces:peerings, spaces:peerings:accept (the CLI's own accept form, version=3.dogwood) and
 * spaces:peerings:destroy, against a real daemon through the proxy that checks every body
 * against Heroku's schema.
 *
 * The daemon's host side is real: a connection goes `active` once its charon has the
 * configuration, with both tunnels `DOWN` (no customer gateway answers here, as on Heroku
 * until the office's side is up); tunnels coming `UP` with a real customer gateway are
 * test/daemon/vpn.e2e.test.ts's. A peering's `active` is written through the daemon's store
 * file (its peer interface does not exist in this sandbox).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { run } from '../../src/exec/run.js'
import { Store } from '../../src/store/store.js'
import { VpnHost } from '../../src/vpn/vpn-host.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { fails, fields, ok, startCompat, tableRows, type Compat } from './harness.js'

if (sandboxed(import.meta.url)) {
  describe('heroku spaces:vpn:* and spaces:peering* against localspace', () => {
    const sfx = randomBytes(3).toString('hex')
    const team = `vpn-team-${sfx}`
    const space = `vpn-space-${sfx}`
    let c: Compat
    let store: Store
    let spaceId = ''
    let spaceCidr = ''

    before(async () => {
      c = await startCompat({ daemonArgs: ['--vpn-pool', '198.51.100.0/28'] })
      store = Store.open(join(c.dataDir, 'localspace.db'))
      assert.equal((await c.api('POST', '/teams', { name: team })).status, 201)
      const made = await c.api('POST', '/spaces', { name: space, team })
      assert.equal(made.status, 201)
      spaceId = made.body.id
      spaceCidr = made.body.cidr
    })
    after(async () => {
      store?.close()
      await c?.stop()
      // A charon a failed test left running (they outlive the daemon).
      if (c)
        await new VpnHost({ dataDir: c.dataDir, exec: run, onTunnelStatus: () => undefined })
          .stopAll()
          .catch(() => undefined)
    })
    const listed = async () =>
      tableRows(ok(await c.heroku(['spaces:vpn:connections', '--space', space])).stdout)
    /** The office connection's status in `spaces:vpn:connections`; undefined once gone. */
    const officeStatus = async () => (await listed()).find((row) => row[0] === 'office')?.[1]

    test('spaces:vpn:connect creates a connection the host makes active, its tunnels DOWN', async () => {
      const r = ok(
        await c.heroku([
          'spaces:vpn:connect',
          'office',
          '--ip',
          '203.0.113.50',
          '--cidrs',
          '172.16.0.0/16,192.168.50.0/24',
          '--space',
          space,
        ]),
      )
      assert.match(r.stderr, /Creating VPN Connection in space .*done/)
      assert.match(r.stderr, /spaces:vpn:wait/)
      // pending → provisioning → active, as the host side takes it on.
      await waitUntil('the connection active', async () => (await officeStatus()) === 'active', {
        timeoutMs: 30_000,
      })
      assert.deepEqual(await listed(), [['office', 'active', 'DOWN/DOWN']])
      assert.deepEqual(c.proxy.failures, [])
    })

    test('a second connection is refused with the limit named', async () => {
      const r = await c.heroku([
        ...['spaces:vpn:connect', 'dc', '--ip', '203.0.113.51', '--cidrs', '172.20.0.0/16'],
        ...['--space', space],
      ])
      fails(r, '--vpn-max-per-space')
    })

    test('spaces:vpn:config prints both tunnels as the gateway needs them', async () => {
      const r = ok(await c.heroku(['spaces:vpn:config', 'office', '--space', space]))
      const rows = tableRows(r.stdout)
      assert.equal(rows.length, 2)
      const connection = store.vpn.find(spaceId, 'office')!
      rows.forEach((row, i) => {
        const t = connection.tunnels[i]!
        assert.deepEqual(row, [
          `Tunnel ${i + 1}`,
          '203.0.113.50',
          t.ip,
          t.preSharedKey,
          spaceCidr,
          '1',
        ])
      })
      assert.match(r.stdout, /=== office VPN Tunnels/)
    })

    test('spaces:vpn:info and spaces:vpn:wait show what the host side reports', async () => {
      const wait = ok(await c.heroku(['spaces:vpn:wait', 'office', '--space', space]))
      assert.match(wait.stdout, /VPN has been allocated\./)
      const active = ok(await c.heroku(['spaces:vpn:info', 'office', '--space', space]))
      const info = fields(active.stdout)
      assert.equal(info['Public IP'], '203.0.113.50')
      assert.equal(info['Routable CIDRs'], '172.16.0.0/16, 192.168.50.0/24')
      assert.equal(info.Status, 'active')
      // Each tunnel: our address, DOWN (no one answers at 203.0.113.50 here), when, and why.
      assert.match(active.stdout, /Tunnel 1\s+198\.51\.100\.\d+\s+DOWN\s+\d{4}-\d\d-\d\dT/)
      assert.match(active.stdout, /Tunnel 2\s+198\.51\.100\.\d+\s+DOWN\s+\d{4}-\d\d-\d\dT/)
    })

    test('spaces:vpn:update replaces the routable CIDRs; a malformed one is refused', async () => {
      ok(
        await c.heroku([
          'spaces:vpn:update',
          'office',
          '--cidrs',
          '172.16.0.0/16',
          '--space',
          space,
        ]),
      )
      const info = ok(await c.heroku(['spaces:vpn:info', 'office', '--space', space, '--json']))
      assert.deepEqual(JSON.parse(info.stdout).routable_cidrs, ['172.16.0.0/16'])
      const bad = await c.heroku([
        'spaces:vpn:update',
        'office',
        '--cidrs',
        '8.8.8.0/24',
        '--space',
        space,
      ])
      fails(bad, 'routable_cidrs')
    })

    test('spaces:vpn:destroy: deprovisioning until the host side is done, then not found', async () => {
      const r = ok(
        await c.heroku(['spaces:vpn:destroy', 'office', '--space', space, '--confirm', 'office']),
      )
      assert.match(r.stderr, /Tearing down VPN Connection office in space .*done/)
      // The host side may be done already: deprovisioning, or gone.
      assert.ok(['deprovisioning', undefined].includes(await officeStatus()))
      await waitUntil('the host side done', async () => (await officeStatus()) === undefined, {
        timeoutMs: 30_000,
      })
      fails(await c.heroku(['spaces:vpn:info', 'office', '--space', space]), 'VPN is not found.')
      const none = ok(await c.heroku(['spaces:vpn:connections', '--space', space]))
      assert.match(none.stdout, /No VPN Connections have been created yet/)
      assert.deepEqual(c.proxy.failures, [])
    })

    test('spaces:peering:info shows the installation, region, VPC and CIDRs', async () => {
      const r = ok(await c.heroku(['spaces:peering:info', space]))
      const info = fields(r.stdout)
      assert.match(info['AWS Account ID']!, /^\d{12}$/)
      assert.equal(info['AWS Region'], 'us-east-1')
      assert.match(info['AWS VPC ID']!, /^vpc-[0-9a-f]{17}$/)
      assert.equal(info['AWS VPC CIDR'], spaceCidr)
      assert.match(info['Space CIDRs']!, new RegExp(`^${spaceCidr.replaceAll('.', '\\.')}, `))
    })

    test('spaces:peerings, spaces:peerings:accept and spaces:peerings:destroy', async () => {
      const net = await c.api('POST', '/localspace/peer-networks', {
        name: `lan-${sfx}`,
        interface: 'eth1',
        cidrs: ['192.168.60.0/24'],
      })
      assert.equal(net.status, 201)
      const offer = await c.api('POST', `/localspace/peer-networks/lan-${sfx}/peerings`, { space })
      assert.equal(offer.status, 201)
      const pcx = offer.body.pcx_id as string
      const listed = ok(await c.heroku(['spaces:peerings', space]))
      const row = tableRows(listed.stdout)[0]!
      assert.deepEqual(row.slice(0, 4), [
        pcx,
        'customer-managed',
        '192.168.60.0/24',
        'pending-acceptance',
      ])

      const accept = ok(await c.heroku(['spaces:peerings:accept', pcx, '--space', space]))
      assert.equal(accept.stdout.trim(), `Accepting and configuring peering connection ${pcx}`)
      const accepted = c.proxy.exchanges.find(
        (e) => e.method === 'POST' && e.path === `/spaces/${space}/peerings`,
      )
      assert.equal(accepted?.status, 200, 'the CLI accepts by POST /spaces/{s}/peerings')
      assert.equal(
        tableRows(ok(await c.heroku(['spaces:peerings', space])).stdout)[0]?.[3],
        'provisioning',
      )
      assert.ok(store.peerings.setObservedStatus(pcx, 'active', '2026-01-01T00:00:00Z'))
      assert.equal(
        tableRows(ok(await c.heroku(['spaces:peerings', space])).stdout)[0]?.[3],
        'active',
      )
      const again = await c.heroku(['spaces:peerings:accept', pcx, '--space', space])
      fails(again, 'cannot be accepted')

      const destroy = ok(
        await c.heroku(['spaces:peerings:destroy', pcx, '--space', space, '--confirm', pcx]),
      )
      assert.match(destroy.stderr, new RegExp(`Tearing down peering connection ${pcx}.*done`))
      assert.equal(
        tableRows(ok(await c.heroku(['spaces:peerings', space])).stdout)[0]?.[3],
        'deleted',
      )
      assert.deepEqual(c.proxy.failures, [])
    })
  })
}
