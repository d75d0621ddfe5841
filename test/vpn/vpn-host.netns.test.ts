/**
 * The VPN host on real strongSwan: a space gateway namespace whose charon VpnHost runs, and a
 * customer gateway whose charon is configured only from renderCustomerSwanctl (what
 * `heroku spaces:vpn:config` shows). Both tunnels come up, traffic crosses with its real
 * addresses, the first tunnel's address going away leaves traffic on the second, a killed
 * charon comes back with its tunnels within 10 s, a new VpnHost (the next daemon) adopts the
 * running charon, and stopping leaves nothing.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { checkDetached, readRecord } from '../../src/exec/detached.js'
import { run } from '../../src/exec/run.js'
import { Charon } from '../../src/vpn/charon.js'
import { kernelHasEsp } from '../../src/vpn/kernel-esp.js'
import { renderCustomerSwanctl, type CustomerVpnConfig } from '../../src/core/vpn-config.js'
import { tunnelsFromListing } from '../../src/vpn/tunnel-status.js'
import type { ViciMessage } from '../../src/vpn/vici.js'
import type { DesiredVpnSpace, DpdTimers, TunnelStatus } from '../../src/vpn/types.js'
import { VpnHost } from '../../src/vpn/vpn-host.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import {
  makeVpnWorld,
  officeVpnSpace,
  probeTcp,
  startEchoServer,
  type VpnWorld,
} from './vpn-world.js'

/** Short DPD so a dead tunnel is noticed within seconds (the defaults take 30 s). */
const FAST_DPD: DpdTimers = { delaySeconds: 1, timeoutSeconds: 3 }
const PORT = 7100

if (sandboxed(import.meta.url)) {
  describe('VPN host on real strongSwan', { timeout: 240_000 }, () => {
    let world: VpnWorld
    let dataDir: string
    let customerDir: string
    let host: VpnHost
    let customer: Charon
    let desired: DesiredVpnSpace
    /** What `heroku spaces:vpn:config` shows for the connection. */
    let printed: CustomerVpnConfig
    const echoes: ChildProcess[] = []
    const statuses = new Map<string, TunnelStatus>()
    const errors: Error[] = []
    const key = (s: TunnelStatus) => `${s.connectionId}/${s.tunnelIndex}`
    const bothUp = () => [...statuses.values()].filter((s) => s.status === 'UP').length === 2

    const newHost = () =>
      new VpnHost({
        dataDir,
        exec: run,
        dpd: FAST_DPD,
        intervalMs: 0,
        onTunnelStatus: (s) => statuses.set(key(s), s),
        onError: (e) => errors.push(e),
      })

    /** A handle on the gateway's charon, for vici only (VpnHost owns the process). */
    const gatewayCharon = () =>
      new Charon({
        spaceId: desired.spaceId,
        netns: world.gateway,
        dataDir,
        kernelEsp: false,
        exec: run,
      })

    const gatewaySas = async () => {
      const client = await gatewayCharon().connect()
      try {
        return await client.listSas()
      } finally {
        client.close()
      }
    }

    before(async () => {
      world = await makeVpnWorld()
      dataDir = mkdtempSync(join(tmpdir(), 'lsvpn-'))
      customerDir = mkdtempSync(join(tmpdir(), 'lsvpc-'))
      desired = officeVpnSpace(world, `space-${world.suffix}`)
      // The customer's gateway, from what `heroku spaces:vpn:config` prints and nothing else.
      const c = desired.connections[0]!
      printed = {
        name: c.name,
        space_cidr_block: desired.spaceCidr,
        ike_version: c.ikeVersion,
        routable_cidrs: c.routableCidrs,
        tunnels: c.tunnels.map((t) => ({
          ip: t.localIp,
          customer_ip: t.customerIp,
          pre_shared_key: t.psk,
        })),
      }
      customer = new Charon({
        spaceId: 'customer',
        netns: world.customer,
        dataDir: customerDir,
        kernelEsp: await kernelHasEsp(run),
        exec: run,
      })
      await customer.ensureRunning()
      await customer.loadSwanctl(renderCustomerSwanctl(printed, FAST_DPD))
      echoes.push(await startEchoServer(world.server, world.serverIp, PORT))
      echoes.push(await startEchoServer(world.remoteServer, world.remoteServerIp, PORT))
      host = newHost()
    })

    after(async () => {
      for (const e of echoes) e.kill('SIGKILL')
      await host?.stopAll()
      await customer?.stop()
      await world?.destroy()
      rmSync(dataDir, { recursive: true, force: true })
      rmSync(customerDir, { recursive: true, force: true })
    })

    test('both tunnels come UP, read from the IKE and CHILD SAs', async () => {
      const started = performance.now()
      await host.converge([desired])
      await waitUntil('both tunnels UP', bothUp, { timeoutMs: 15_000 })
      const ms = performance.now() - started
      for (const s of statuses.values()) {
        assert.equal(s.statusMessage, 'IKE_SA established, CHILD_SA installed')
        assert.ok(!Number.isNaN(Date.parse(s.lastStatusChange)))
      }
      assert.deepEqual(
        [...statuses.values()].map((s) => s.localIp).sort(),
        [...world.tunnelIps].sort(),
      )
      assert.ok(ms < 10_000, `${ms} ms`)
    })

    test('a connection removed and added five times: both tunnels UP every time', async () => {
      // Catches a status read while charon still holds the SA an event is about (a listing
      // that skipped it left the tunnel DOWN for good).
      for (let i = 0; i < 5; i++) {
        await host.converge([{ ...desired, connections: [] }])
        statuses.clear()
        await waitUntil('no SAs', async () => (await gatewaySas()).length === 0, {
          timeoutMs: 10_000,
        })
        await host.converge([desired])
        await waitUntil(`both tunnels UP (round ${i + 1})`, bothUp, { timeoutMs: 10_000 })
      }
    })

    test('IKEv2 when the connection asks for it, on both ends', async () => {
      const v2 = {
        ...desired,
        connections: desired.connections.map((c) => ({ ...c, ikeVersion: 2 as const })),
      }
      await customer.loadSwanctl(renderCustomerSwanctl({ ...printed, ike_version: 2 }, FAST_DPD))
      await host.converge([{ ...desired, connections: [] }])
      statuses.clear()
      await host.converge([v2])
      await waitUntil('both tunnels UP over IKEv2', bothUp, { timeoutMs: 10_000 })
      const versions = (await gatewaySas()).flatMap((e) =>
        Object.values(e).map((sa) => (sa as ViciMessage).version),
      )
      assert.deepEqual(versions, ['2', '2'])
      assert.equal(await probeTcp(world.remoteServer, world.serverIp, PORT), world.remoteServerIp)
      // Back to IKEv1 for the rest.
      await customer.loadSwanctl(renderCustomerSwanctl(printed, FAST_DPD))
      await host.converge([{ ...desired, connections: [] }])
      statuses.clear()
      await host.converge([desired])
      await waitUntil('both tunnels UP over IKEv1', bothUp, { timeoutMs: 10_000 })
    })

    test('traffic crosses both ways with its real addresses (no SNAT)', async () => {
      assert.equal(await probeTcp(world.remoteServer, world.serverIp, PORT), world.remoteServerIp)
      assert.equal(await probeTcp(world.server, world.remoteServerIp, PORT), world.serverIp)
    })

    test('the local traffic selector is the space CIDR only: other sources do not cross', async () => {
      // The gateway's LAN address is in the space CIDR; its public address is not.
      await assert.rejects(
        run('ip', [
          'netns',
          'exec',
          world.gateway,
          'ip',
          'route',
          'get',
          world.remoteServerIp,
          'from',
          world.tunnelIps[0],
        ]).then(async () => probeTcpFrom(world.gateway, world.tunnelIps[0], world.remoteServerIp)),
      )
    })

    test('a killed charon is restarted and its tunnels are UP again within 10 s', async () => {
      const record = (await readRecord(join(dataDir, 'vpn', desired.spaceId, 'charon.json')))!
      process.kill(-record.pid, 'SIGKILL')
      await waitUntil('a tunnel reported DOWN', () => !bothUp(), { timeoutMs: 5000 })
      const killedAt = performance.now()
      await waitUntil('both tunnels UP again', bothUp, { timeoutMs: 10_000 })
      const ms = performance.now() - killedAt
      const again = (await readRecord(join(dataDir, 'vpn', desired.spaceId, 'charon.json')))!
      assert.notEqual(again.pid, record.pid)
      assert.equal(
        await probeTcp(world.remoteServer, world.serverIp, PORT, 5000),
        world.remoteServerIp,
      )
      assert.ok(ms < 10_000, `${ms} ms`)
    })

    test('killed while a pass runs: restarted once, never two charons', async () => {
      const record = (await readRecord(join(dataDir, 'vpn', desired.spaceId, 'charon.json')))!
      process.kill(-record.pid, 'SIGKILL')
      // The supervisor and this pass both find it dead; only one may start a new one.
      await host.converge([desired])
      await waitUntil('both tunnels UP again', bothUp, { timeoutMs: 10_000 })
      await waitUntil('one charon', () => charonProcesses(dataDir).length === 1, {
        timeoutMs: 3000,
      })
    })

    test('the next daemon adopts the running charon: same process, tunnels stay UP', async () => {
      const recordFile = join(dataDir, 'vpn', desired.spaceId, 'charon.json')
      const before = (await readRecord(recordFile))!
      await host.release()
      assert.equal((await checkDetached(before)).state, 'running')
      statuses.clear()
      host = newHost()
      await host.converge([desired])
      await waitUntil('both tunnels UP', bothUp, { timeoutMs: 5000 })
      assert.equal((await readRecord(recordFile))!.pid, before.pid)
    })

    test("the first tunnel's address goes away: traffic continues on the second", async () => {
      const first = `${desired.connections[0]!.id}/0`
      const second = `${desired.connections[0]!.id}/1`
      await run('ip', [
        '-n',
        world.gateway,
        'addr',
        'del',
        `${world.tunnelIps[0]}/32`,
        'dev',
        'eth0',
      ])
      const started = performance.now()
      // DPD (1 s, dead after 3 s here) takes the first tunnel's SAs down on both ends.
      await waitUntil('tunnel 1 DOWN', () => statuses.get(first)?.status === 'DOWN', {
        timeoutMs: 15_000,
      })
      // With tunnel 1 holding no CHILD_SA at all, whatever crosses now crosses tunnel 2.
      const client = await gatewayCharon().connect()
      try {
        const installed = tunnelsFromListing(await client.listSas())
        assert.equal(installed.get(`${desired.connections[0]!.id}-t1`)?.status ?? 'DOWN', 'DOWN')
        assert.equal(installed.get(`${desired.connections[0]!.id}-t2`)?.status, 'UP')
      } finally {
        client.close()
      }
      await waitUntil(
        'traffic through the second tunnel, both ways',
        async () =>
          (await probeTcp(world.remoteServer, world.serverIp, PORT, 1000).catch(() => '')) ===
            world.remoteServerIp &&
          (await probeTcp(world.server, world.remoteServerIp, PORT, 1000).catch(() => '')) ===
            world.serverIp,
        { timeoutMs: 15_000 },
      )
      assert.equal(statuses.get(second)?.status, 'UP')
      const ms = Math.round(performance.now() - started)
      console.log(`failover: tunnel 1 DOWN and traffic on tunnel 2 after ${ms} ms`)
      await run('ip', [
        '-n',
        world.gateway,
        'addr',
        'add',
        `${world.tunnelIps[0]}/32`,
        'dev',
        'eth0',
      ])
      await waitUntil('both tunnels UP again', bothUp, { timeoutMs: 20_000 })
    })

    test('a connection removed: unloaded and its SAs terminated', async () => {
      await host.converge([{ ...desired, connections: [] }])
      const client = await new Charon({
        spaceId: desired.spaceId,
        netns: world.gateway,
        dataDir,
        kernelEsp: false,
        exec: run,
      }).connect()
      try {
        await waitUntil('no SAs', async () => (await client.listSas()).length === 0, {
          timeoutMs: 10_000,
        })
        assert.deepEqual(await client.getConns(), [])
      } finally {
        client.close()
      }
      await host.converge([desired])
      await waitUntil('both tunnels UP', bothUp, { timeoutMs: 15_000 })
    })

    test('stopping leaves no process, directory or interface behind', async () => {
      const dir = join(dataDir, 'vpn', desired.spaceId)
      const record = (await readRecord(join(dir, 'charon.json')))!
      await host.converge([])
      assert.equal(existsSync(dir), false)
      assert.deepEqual(readdirSync(join(dataDir, 'vpn')), [])
      assert.notEqual((await checkDetached(record)).state, 'running')
      const links = await run('ip', ['-n', world.gateway, '-o', 'link'])
      assert.doesNotMatch(links.stdout, /ipsec0/)
      assert.deepEqual(charonProcesses(dataDir), [])
      assert.deepEqual(
        errors.filter((e) => !/closed/.test(e.message)),
        [],
      )
    })
  })
}

/** charon processes started for a data dir (their STRONGSWAN_CONF lies in it). */
function charonProcesses(dataDir: string): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return (
          readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith('/usr/lib/ipsec/charon') &&
          readFileSync(`/proc/${p}/environ`, 'utf8').includes(`STRONGSWAN_CONF=${dataDir}/`)
        )
      } catch {
        return false
      }
    })
}

/** TCP from a given source address (the probe's bind); rejects when it cannot connect. */
async function probeTcpFrom(netns: string, from: string, host: string): Promise<string> {
  const code = `
    const s = require('node:net').connect({ port: ${PORT}, host: ${JSON.stringify(host)}, localAddress: ${JSON.stringify(from)} })
    s.setTimeout(1000, () => process.exit(2))
    s.once('data', (d) => { process.stdout.write(String(d)); process.exit(0) })
    s.once('error', () => process.exit(1))`
  return (await run('ip', ['netns', 'exec', netns, process.execPath, '-e', code])).stdout
}
