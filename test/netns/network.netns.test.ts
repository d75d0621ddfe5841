/**
 * Host networking against the real kernel: bridges, dyno and data namespaces, real TCP between
 * them, the firewall's anti-spoofing and drift, and the four reconciler contract cases. It runs
 * inside scripts/sandbox (a private network + mount namespace, as `npm test` runs every test),
 * so nothing here touches the host's own links, namespaces or nftables.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { after, describe, test } from 'node:test'
import { run } from '../../src/exec/run.js'
import {
  applyHostActions,
  attach,
  detach,
  Firewall,
  macFor,
  NetworkConflictError,
  observeHost,
  OWNED_LINK,
  OWNED_NETNS,
  planHost,
  reconcileHost,
  type DesiredAttachment,
  type DesiredHost,
  type DesiredSpaceNetwork,
  type FirewallState,
} from '../../src/network/index.js'
import { sandboxed } from '../helpers/sandbox.js'

const space: DesiredSpaceNetwork = {
  dynoBridge: 'lsb-00000040',
  dataBridge: 'lsd-00000040',
  cidr: '10.40.0.0/16',
  dataCidr: '10.41.0.0/16',
  gateway: '10.40.0.1',
  internalRouter: '10.40.0.3',
  dataGateway: '10.41.0.1',
}

const dyno = (n: number): DesiredAttachment => ({
  id: `dyno-${n}`,
  bridge: space.dynoBridge,
  address: `10.40.128.${n}`,
  prefix: 16,
  gateway: space.gateway,
  dns: space.gateway,
  netns: `ls-000000d${n}`,
  veth: `lsv-000000d${n}`,
})

const data: DesiredAttachment = {
  id: 'postgres-1',
  bridge: space.dataBridge,
  address: '10.41.0.10',
  prefix: 16,
  gateway: space.dataGateway,
  dns: space.gateway,
  netns: 'ls-000000da',
  veth: 'lsv-000000da',
}

const firewallState = (attachments: DesiredAttachment[]): FirewallState => ({
  spaces: [{ ...space, egress: [] }],
  attachments: attachments.map((a) => ({ veth: a.veth, address: a.address })),
  routerListeners: [],
  allowedPrivate: [],
})

const json = async (args: string[]): Promise<any> => JSON.parse((await run('ip', args)).stdout)
const ipv4Of = async (ns: string | undefined, dev: string): Promise<string[]> => {
  const out = await json([...(ns ? ['-n', ns] : []), '-j', 'addr', 'show', 'dev', dev])
  const info: Array<{ family: string; local: string; prefixlen: number }> = out[0].addr_info
  return info.filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`)
}
const forwarding = (iface: string) =>
  readFileSync(`/proc/sys/net/ipv4/conf/${iface}/forwarding`, 'utf8').trim()

const SERVER = `
const net = require('node:net')
net.createServer((s) => s.end('hello ' + s.remoteAddress + '\\n'))
  .listen(Number(process.argv[1]), '0.0.0.0', () => console.log('ready'))`
const CLIENT = `
const net = require('node:net')
const [host, port, localAddress] = process.argv.slice(1)
const s = net.connect({ host, port: Number(port), ...(localAddress ? { localAddress } : {}) })
s.setTimeout(2500, () => { console.error('timeout'); process.exit(2) })
s.on('error', (e) => { console.error(e.message); process.exit(1) })
let got = ''
s.on('data', (d) => (got += d)).on('end', () => { process.stdout.write(got); process.exit(0) })`

/** A TCP server inside `ns` that greets each client with the address it came from. */
async function startServer(ns: string, port: number): Promise<() => void> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', SERVER, String(port)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve()
    })
    child.on('exit', (code) => reject(new Error(`server in ${ns} exited ${code}`)))
    setTimeout(() => reject(new Error(`server in ${ns} not listening after 10 s`)), 10_000).unref()
  })
  return () => child.kill()
}

/** What a client sees when its frames are dropped: silence, or ARP giving up. */
const DROPPED = /timeout|EHOSTUNREACH/

/** Connects from inside `ns`; resolves to the server's greeting, rejects when it cannot. */
async function connect(ns: string, host: string, port: number, from?: string): Promise<string> {
  const args = ['netns', 'exec', ns, process.execPath, '-e', CLIENT, host, String(port)]
  const { stdout } = await run('ip', from ? [...args, from] : args, { timeoutMs: 5000 })
  return stdout.trim()
}

function sandboxedTests(): void {
  describe('host networking in a sandbox', () => {
    const firewall = new Firewall(run)
    const stops: Array<() => void> = []
    after(() => stops.forEach((stop) => stop()))

    test('a space network is created with its addresses and forwarding on', async () => {
      const applied = await reconcileHost(run, { spaces: [space], attachments: [] })
      assert.ok(applied.length > 0)
      assert.deepEqual(await ipv4Of(undefined, space.dynoBridge), ['10.40.0.1/16', '10.40.0.3/16'])
      assert.deepEqual(await ipv4Of(undefined, space.dataBridge), ['10.41.0.1/16'])
      assert.equal(forwarding(space.dynoBridge), '1')
      assert.equal(forwarding(space.dataBridge), '1')
    })

    test('attach gives each namespace its address, default route and resolv.conf', async () => {
      for (const a of [dyno(1), dyno(2), data]) await attach(run, a)
      for (const a of [dyno(1), dyno(2), data]) {
        assert.deepEqual(await ipv4Of(a.netns, 'eth0'), [`${a.address}/16`])
        const routes = await json(['-n', a.netns, '-j', 'route', 'show', 'default'])
        assert.equal(routes[0].gateway, a.gateway)
        const resolv = await run('ip', ['netns', 'exec', a.netns, 'cat', '/etc/resolv.conf'])
        assert.match(resolv.stdout, /^nameserver 10\.40\.0\.1$/m)
      }
      const host = await observeHost(run)
      const veth = host.links.find((l) => l.name === dyno(1).veth)
      assert.equal(veth?.master, space.dynoBridge)
    })

    test('apply twice: the second plan is empty', async () => {
      const desired: DesiredHost = { spaces: [space], attachments: [dyno(1), dyno(2), data] }
      assert.deepEqual(planHost(desired, await observeHost(run)), [])
      assert.deepEqual(await reconcileHost(run, desired), [])
    })

    test('a bridge keeps its fixed MAC whatever its ports do; one changed by hand is put back', async () => {
      const macOf = async (dev: string): Promise<string> =>
        ((await json(['-j', 'link', 'show', 'dev', dev])) as Array<{ address: string }>)[0]!.address
      assert.equal(await macOf(space.dynoBridge), macFor(space.gateway))
      assert.equal(await macOf(space.dataBridge), macFor(space.dataGateway))
      // A port with a lower MAC than any other: a bridge left to the kernel would take it, and
      // every dyno that cached the gateway's MAC would lose its DNS server.
      const was = await macOf(dyno(1).veth)
      await run('ip', ['link', 'set', dyno(1).veth, 'address', '02:00:00:00:00:01'])
      assert.equal(await macOf(space.dynoBridge), macFor(space.gateway))
      await run('ip', ['link', 'set', dyno(1).veth, 'address', was])
      await run('ip', ['link', 'set', space.dynoBridge, 'address', '02:00:00:00:00:02'])
      const desired: DesiredHost = { spaces: [space], attachments: [dyno(1), dyno(2), data] }
      assert.deepEqual(planHost(desired, await observeHost(run)), [
        { kind: 'link.mac', name: space.dynoBridge, mac: macFor(space.gateway) },
      ])
      await reconcileHost(run, desired)
      assert.equal(await macOf(space.dynoBridge), macFor(space.gateway))
    })

    test('dynos reach each other on the bridge, and data services through the gateway', async () => {
      stops.push(await startServer(dyno(2).netns, 7000))
      stops.push(await startServer(data.netns, 5432))
      assert.equal(await connect(dyno(1).netns, '10.40.128.2', 7000), 'hello 10.40.128.1')
      assert.equal(await connect(dyno(1).netns, '10.41.0.10', 5432), 'hello 10.40.128.1')
    })

    test('with the firewall on, a dyno cannot send from an address it was not given', async () => {
      await firewall.apply(firewallState([dyno(1), dyno(2), data]))
      assert.equal(await connect(dyno(1).netns, '10.40.128.2', 7000), 'hello 10.40.128.1')
      assert.equal(await connect(dyno(1).netns, '10.41.0.10', 5432), 'hello 10.40.128.1')
      // As root inside its namespace, the dyno takes a second address and tries to use it.
      await run('ip', ['-n', dyno(1).netns, 'addr', 'add', '10.40.128.99/16', 'dev', 'eth0'])
      try {
        // Dropped at the bridge: no answer (rather than a refusal or a local error).
        await assert.rejects(connect(dyno(1).netns, '10.40.128.2', 7000, '10.40.128.99'), DROPPED)
        assert.equal(
          await connect(dyno(1).netns, '10.40.128.2', 7000, '10.40.128.1'),
          'hello 10.40.128.1',
        )
      } finally {
        await run('ip', ['-n', dyno(1).netns, 'addr', 'del', '10.40.128.99/16', 'dev', 'eth0'])
      }
    })

    test('the firewall notices hand-made changes, and not its own', async () => {
      assert.equal(await firewall.drifted(), false)
      await run('nft', ['flush', 'chain', 'inet', 'localspace', 'forward'])
      assert.equal(await firewall.drifted(), true)
      await firewall.apply(firewallState([dyno(1), dyno(2), data]))
      assert.equal(await firewall.drifted(), false)

      const chain = (
        await run('nft', ['-a', 'list', 'chain', 'bridge', 'localspace', 'prerouting'])
      ).stdout
      const handle = /ether type ip6 drop # handle (\d+)/.exec(chain)?.[1]
      assert.ok(handle, chain)
      await run('nft', ['delete', 'rule', 'bridge', 'localspace', 'prerouting', 'handle', handle])
      assert.equal(await firewall.drifted(), true)
      await firewall.apply(firewallState([dyno(1), dyno(2), data]))
      assert.equal(await firewall.drifted(), false)

      await firewall.addAttachment('lsv-000000d3', '10.40.128.3')
      assert.equal(await firewall.drifted(), false)
      await firewall.removeAttachment('lsv-000000d3', '10.40.128.3')
      await firewall.removeAttachment('lsv-000000d3', '10.40.128.3')
      assert.equal(await firewall.drifted(), false)

      await run('nft', ['delete', 'table', 'bridge', 'localspace'])
      assert.equal(await firewall.drifted(), true)
      await firewall.apply(firewallState([dyno(1), dyno(2), data]))
      assert.equal(await firewall.drifted(), false)
    })

    test('delete on nothing is fine', async () => {
      await detach(run, { netns: 'ls-0000dead', veth: 'lsv-0000dead' })
      await applyHostActions(run, [
        { kind: 'link.delete', name: 'lsb-0000dead' },
        { kind: 'netns.delete', name: 'ls-0000dead' },
        { kind: 'addr.remove', dev: space.dynoBridge, address: '10.40.7.7', prefix: 16 },
      ])
    })

    test('partial state converges: a bare bridge, a foreign address, a namespace without its veth', async () => {
      const other: DesiredSpaceNetwork = {
        dynoBridge: 'lsb-00000050',
        dataBridge: 'lsd-00000050',
        cidr: '10.50.0.0/16',
        dataCidr: '10.51.0.0/20',
        gateway: '10.50.0.1',
        internalRouter: '10.50.0.3',
        dataGateway: '10.51.0.1',
      }
      // A bridge left down, holding a foreign primary address and none of its own.
      await run('ip', ['link', 'add', 'name', other.dynoBridge, 'type', 'bridge'])
      await run('ip', ['addr', 'add', '10.50.9.9/16', 'dev', other.dynoBridge])
      await run('ip', ['addr', 'add', '10.40.7.7/16', 'dev', space.dynoBridge])
      await run('ip', ['netns', 'add', dyno(4).netns])
      const desired: DesiredHost = {
        spaces: [space, other],
        attachments: [dyno(1), dyno(2), data, dyno(4)],
      }
      const applied = await reconcileHost(run, desired)
      assert.ok(applied.some((a) => a.kind === 'detach' && a.netns === dyno(4).netns))
      assert.deepEqual(await ipv4Of(undefined, other.dynoBridge), ['10.50.0.1/16', '10.50.0.3/16'])
      assert.deepEqual(await ipv4Of(undefined, space.dynoBridge), ['10.40.0.1/16', '10.40.0.3/16'])
      assert.deepEqual(await ipv4Of(dyno(4).netns, 'eth0'), ['10.40.128.4/16'])
      assert.deepEqual(planHost(desired, await observeHost(run)), [])
      // The repaired dyno may send once the firewall knows its address; the others kept working.
      await assert.rejects(connect(dyno(4).netns, '10.40.128.2', 7000), DROPPED)
      await firewall.addAttachment(dyno(4).veth, dyno(4).address)
      await run('ip', ['-n', dyno(4).netns, 'neigh', 'flush', 'all']) // forget the failed ARP
      assert.equal(await connect(dyno(4).netns, '10.40.128.2', 7000), 'hello 10.40.128.4')
      assert.equal(await connect(dyno(1).netns, '10.40.128.2', 7000), 'hello 10.40.128.1')
    })

    test('a foreign link holding a bridge name is a conflict and stays untouched', async () => {
      await run('ip', ['link', 'add', 'lsb-000000ee', 'type', 'veth', 'peer', 'name', 'lsx-peer0'])
      try {
        const before = await json(['-j', '-d', 'link', 'show', 'dev', 'lsb-000000ee'])
        const foreign = { ...space, dynoBridge: 'lsb-000000ee', dataBridge: 'lsd-000000ee' }
        foreign.cidr = '10.60.0.0/16'
        foreign.dataCidr = '10.61.0.0/16'
        foreign.gateway = '10.60.0.1'
        foreign.internalRouter = '10.60.0.3'
        foreign.dataGateway = '10.61.0.1'
        await assert.rejects(
          reconcileHost(run, { spaces: [space, foreign], attachments: [] }),
          (e: unknown) => e instanceof NetworkConflictError && e.object === 'lsb-000000ee',
        )
        const afterwards = await json(['-j', '-d', 'link', 'show', 'dev', 'lsb-000000ee'])
        assert.deepEqual(afterwards, before)
        assert.deepEqual(await ipv4Of(undefined, 'lsb-000000ee'), [])
        // Nothing else was touched either: the dynos are still there.
        assert.ok((await observeHost(run)).netns.includes(dyno(1).netns))
      } finally {
        await run('ip', ['link', 'del', 'lsb-000000ee'])
      }
    })

    test('outbound addresses: ours are added as /32, stale ones in the pool removed, others kept', async () => {
      await run('ip', ['link', 'add', 'egress0', 'type', 'veth', 'peer', 'name', 'egress1'])
      try {
        for (const address of ['192.0.2.2/24', '198.51.100.20/32', '203.0.113.9/32']) {
          await run('ip', ['addr', 'add', address, 'dev', 'egress0'])
        }
        const desired: DesiredHost = {
          spaces: [space],
          attachments: [dyno(1), dyno(2), data],
          egress: {
            iface: 'egress0',
            addresses: ['198.51.100.10'],
            poolCidrs: ['198.51.100.0/24'],
          },
        }
        await reconcileHost(run, desired)
        assert.deepEqual((await ipv4Of(undefined, 'egress0')).sort(), [
          '192.0.2.2/24',
          '198.51.100.10/32',
          '203.0.113.9/32',
        ])
        assert.equal(forwarding('egress0'), '1')
        assert.deepEqual(await reconcileHost(run, desired), [])
      } finally {
        await run('ip', ['link', 'del', 'egress0'])
      }
    })

    test('detaching everything and an empty desired state leave nothing behind', async () => {
      stops.splice(0).forEach((stop) => stop())
      for (const a of [dyno(1), dyno(2), data, dyno(4)]) await detach(run, a)
      for (const a of [dyno(1), data]) await detach(run, a) // twice: still fine
      await reconcileHost(run, { spaces: [], attachments: [] })
      await firewall.remove()
      await firewall.remove()

      const host = await observeHost(run)
      assert.deepEqual(
        host.links.filter((l) => OWNED_LINK.test(l.name)).map((l) => l.name),
        [],
      )
      assert.deepEqual(
        host.netns.filter((n) => OWNED_NETNS.test(n)),
        [],
      )
      assert.doesNotMatch((await run('nft', ['list', 'tables'])).stdout, /localspace/)
      assert.deepEqual(
        existsSync('/etc/netns')
          ? readdirSync('/etc/netns').filter((n) => OWNED_NETNS.test(n))
          : [],
        [],
      )
      assert.equal(await firewall.drifted(), true)
    })
  })
}

// Last, so every constant above is initialised when the tests are declared.
if (sandboxed(import.meta.url)) sandboxedTests()
