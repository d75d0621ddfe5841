/**
 * `localspace vpn:*`, `peerings*` and `peer-networks*` against the in-process API listening
 * on a free loopback port: what they print, `--json` for scripts, and `vpn:config --format
 * swanctl` giving the same file renderCustomerSwanctl makes from the API's answer.
 */
import assert from 'node:assert/strict'
import { Writable } from 'node:stream'
import { after, before, describe, test } from 'node:test'
import { buildProgram } from '../../src/cli/program.js'
import { defaultDeps } from '../../src/cli/context.js'
import { renderCustomerSwanctl } from '../../src/core/vpn-config.js'
import { parseVpnPool } from '../../src/core/vpn.js'
import type { VpnConnection } from '../../src/cli/wire.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

class Buffer extends Writable {
  text = ''
  override _write(chunk: unknown, _enc: string, done: () => void) {
    this.text += String(chunk)
    done()
  }
}

describe('localspace vpn and peering commands', () => {
  let api: TestApi
  let url = ''

  /** Runs one command in process; the exit code is what `act` leaves in process.exitCode. */
  async function run(args: string[]) {
    const stdout = new Buffer()
    const stderr = new Buffer()
    const deps = defaultDeps({
      env: { LOCALSPACE_API_URL: url, LOCALSPACE_API_KEY: api.adminKey, NO_COLOR: '1' },
      stdout,
      stderr,
    })
    process.exitCode = 0
    await buildProgram(deps).parseAsync(['node', 'localspace', ...args])
    const code = process.exitCode
    process.exitCode = 0
    return { code, stdout: stdout.text, stderr: stderr.text }
  }

  before(async () => {
    api = await startTestApi({ vpnPools: [parseVpnPool('198.51.100.0/29')] })
    url = await api.server.listen({ host: '127.0.0.1', port: 0 })
    await api.call('POST', '/teams', { name: 'acme' })
    await api.call('POST', '/spaces', { name: 'prod', team: 'acme' })
  })
  after(() => api.close())

  test('vpn:connect, vpn:connections and vpn:info', async () => {
    const connect = await run(
      ['vpn:connect', 'office', '--space', 'prod', '--ip', '203.0.113.50'].concat([
        '--cidrs',
        '172.16.0.0/16, 192.168.50.0/24',
      ]),
    )
    assert.equal(connect.code, 0, connect.stderr)
    assert.match(connect.stderr, /vpn:wait office --space prod/)
    const list = await run(['vpn:connections', '--space', 'prod'])
    assert.match(list.stdout, /=== prod VPN Connections/)
    assert.match(list.stdout, /office\s+pending\s+DOWN\/DOWN/)
    const info = await run(['vpn:info', 'office', '--space', 'prod'])
    assert.match(info.stdout, /Routable CIDRs:\s+172\.16\.0\.0\/16, 192\.168\.50\.0\/24/)
    assert.match(info.stdout, /Tunnel 1\s+198\.51\.100\.1\s+DOWN/)
    assert.match(info.stdout, /Tunnel 2\s+198\.51\.100\.2\s+DOWN/)
  })

  test('vpn:config prints each tunnel, --json the connection, --format swanctl the file', async () => {
    const out = await run(['vpn:config', 'office', '-s', 'prod', '--json'])
    const json = JSON.parse(out.stdout) as VpnConnection
    assert.equal(json.tunnels.length, 2)
    const table = await run(['vpn:config', 'office', '--space', 'prod'])
    for (const [i, t] of json.tunnels.entries()) {
      const row = new RegExp(
        `Tunnel ${i + 1}\\s+203\\.0\\.113\\.50\\s+${t.ip.replaceAll('.', '\\.')}\\s+${t.pre_shared_key.replaceAll('.', '\\.')}\\s+10\\.0\\.0\\.0/16\\s+1`,
      )
      assert.match(table.stdout, row)
    }
    const swanctl = await run(['vpn:config', 'office', '--space', 'prod', '--format', 'swanctl'])
    assert.equal(swanctl.code, 0, swanctl.stderr)
    assert.equal(swanctl.stdout, renderCustomerSwanctl(json))
    assert.match(swanctl.stdout, /remote_addrs = 198\.51\.100\.1/)
  })

  test('vpn:update, vpn:wait on a failed connection, vpn:destroy', async () => {
    const update = await run(['vpn:update', 'office', '-s', 'prod', '--cidrs', '10.0.5.0/24'])
    assert.equal(update.code, 0, update.stderr)
    const wait = await run(['vpn:wait', 'office', '-s', 'prod', '--interval', '0'])
    assert.equal(wait.code, 1)
    assert.match(wait.stderr, /supplied CIDR block already in use/)
    const refused = await run(['vpn:destroy', 'office', '-s', 'prod'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /--confirm office/)
    const destroy = await run(['vpn:destroy', 'office', '-s', 'prod', '--confirm', 'office'])
    assert.equal(destroy.code, 0, destroy.stderr)
    const none = await run(['vpn:connections', '-s', 'prod'])
    assert.match(none.stdout, /No VPN Connections have been created yet/)
  })

  test('vpn:wait shows the configuration once the connection is active', async () => {
    await run([
      'vpn:connect',
      'office',
      '-s',
      'prod',
      '--ip',
      '203.0.113.50',
      '--cidrs',
      '172.16.0.0/16',
    ])
    const space = api.store.spaces.find('prod')!
    const id = api.store.vpn.find(space.id, 'office')!.id
    api.store.vpn.setConnectionStatus(id, 'active', '', '2026-01-01T00:00:00Z')
    const wait = await run(['vpn:wait', 'office', '-s', 'prod'])
    assert.equal(wait.code, 0, wait.stderr)
    assert.match(wait.stdout, /VPN has been allocated\./)
    assert.match(wait.stdout, /=== office VPN Tunnels/)
  })

  test('peer-networks, peerings:request, peerings, peerings:accept, peering:info, peerings:destroy', async () => {
    const add = await run([
      'peer-networks:add',
      'office-lan',
      '--interface',
      'eth1',
      '--cidrs',
      '192.168.60.0/24',
    ])
    assert.equal(add.code, 0, add.stderr)
    assert.match((await run(['peer-networks'])).stdout, /office-lan\s+eth1\s+192\.168\.60\.0\/24/)
    const req = await run([
      'peerings:request',
      '-s',
      'prod',
      '--peer-network',
      'office-lan',
      '--json',
    ])
    const pcx = JSON.parse(req.stdout).pcx_id as string
    assert.match(
      (await run(['peerings', 'prod'])).stdout,
      new RegExp(`${pcx}\\s+customer-managed\\s+192\\.168\\.60\\.0/24\\s+pending-acceptance`),
    )
    const accept = await run(['peerings:accept', pcx, '--space', 'prod'])
    assert.equal(accept.stdout.trim(), `Accepting and configuring peering connection ${pcx}`)
    const info = await run(['peering:info', 'prod'])
    assert.match(info.stdout, /Space CIDRs:\s+10\.0\.0\.0\/16, 10\.1\.0\.0\/16/)
    assert.match(info.stdout, /Unavailable CIDRs:\s+172\.16\.0\.0\/16, 192\.168\.60\.0\/24/)
    const destroy = await run(['peerings:destroy', pcx, '-s', 'prod', '--confirm', pcx])
    assert.equal(destroy.code, 0, destroy.stderr)
    assert.match((await run(['peerings', 'prod'])).stdout, /deleted/)
    const remove = await run(['peer-networks:remove', 'office-lan', '--confirm', 'office-lan'])
    assert.equal(remove.code, 0, remove.stderr)
    assert.match((await run(['peer-networks'])).stdout, /No peer networks\./)
  })
})
