/**
 * The attach fast path as the daemon runs it: host commands in the exec runner, namespaces
 * prepared ahead of need, long-lived `ip` shells. An attach takes a prepared namespace and
 * leaves it exactly as a cold attach would; the reconciler leaves prepared namespaces alone
 * while their owner lives and removes them after it died.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { LinuxSpaceHost } from '../../src/agent/linux-space-host.js'
import { NetworkAgent } from '../../src/agent/network-agent.js'
import { EventBus } from '../../src/core/events.js'
import { newId, nowIso } from '../../src/core/ids.js'
import { run } from '../../src/exec/run.js'
import { startExecRunner } from '../../src/exec/runner.js'
import { macFor } from '../../src/network/index.js'
import { DEFAULT_POOL_SIZE as POOL } from '../../src/network/warm-pool.js'
import { dynoBridgeName, netnsName, vethName } from '../../src/network/names.js'
import { Store } from '../../src/store/store.js'
import { sandboxed } from '../helpers/sandbox.js'

const settings = { egressPoolCidrs: [], allowPrivate: [], routerListeners: [] }

const ownedNetns = async () =>
  (await run('ip', ['netns', 'list'])).stdout
    .split('\n')
    .map((l) => l.split(' ')[0]!)
    .filter((n) => /^ls-/.test(n))
    .sort()

const ownedLinks = async () =>
  (JSON.parse((await run('ip', ['-j', 'link', 'show'])).stdout) as Array<{ ifname: string }>)
    .map((l) => l.ifname)
    .filter((n) => /^ls[bdv]-/.test(n))
    .sort()

/** Accepts one TCP connection on `address:port` inside `netns` and answers `hello`. */
const serveOnce = (netns: string, address: string, port: number) =>
  run('ip', [
    'netns',
    'exec',
    netns,
    'python3',
    '-c',
    `import socket\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('${address}',${port}))\ns.listen()\nprint('listening',flush=True)\nc,_=s.accept()\nc.sendall(b'hello')\nc.close()`,
  ])

const connect = (netns: string, address: string, port: number) =>
  run('ip', [
    'netns',
    'exec',
    netns,
    'python3',
    '-c',
    `import socket,sys,time\nfor i in range(200):\n  try:\n    c=socket.create_connection(('${address}',${port}),timeout=2);break\n  except ConnectionRefusedError: time.sleep(0.02)\nsys.stdout.write(c.recv(10).decode())`,
  ])

if (sandboxed(import.meta.url)) {
  describe('attach with prepared namespaces', () => {
    const dir = mkdtempSync(join(tmpdir(), 'localspace-warm-'))
    const store = Store.open(join(dir, 'localspace.db'))
    const runner = startExecRunner()
    const host = new LinuxSpaceHost(runner.exec, { openShell: runner.openShell })
    const agent = new NetworkAgent(store, new EventBus(), host, { settings, intervalMs: 0 })
    const spaceId = newId()
    after(async () => {
      await agent.stop()
      await runner.close()
      store.close()
      rmSync(dir, { recursive: true, force: true })
    })

    test('namespaces are prepared after the first reconcile and survive later ones', async () => {
      const now = nowIso()
      store.teams.insert({ id: 'team', name: 'team-w', createdAt: now, updatedAt: now })
      store.spaces.insert({
        id: spaceId,
        name: 'space-w',
        teamId: 'team',
        teamName: 'team-w',
        region: 'virginia',
        state: 'allocating',
        shield: false,
        cidr: '10.62.0.0/16',
        dataCidr: '10.63.0.0/16',
        generation: 'cedar',
        createdAt: now,
        updatedAt: now,
      })
      await agent.reconcile()
      assert.equal(store.spaces.find(spaceId)?.state, 'allocated')
      await host.warmed()
      const prepared = await ownedNetns()
      assert.equal(prepared.length, POOL, `${POOL} prepared namespaces, saw ${prepared.join(', ')}`)
      await agent.reconcile()
      assert.deepEqual(await ownedNetns(), prepared, 'a reconcile leaves prepared namespaces alone')
      const unhealthy = (await agent.doctor()).filter((c) => !c.ok)
      assert.deepEqual(unhealthy, [], 'prepared namespaces are not drift')
    })

    test('an attach takes a prepared namespace and configures it fully', async () => {
      await host.warmed()
      const expectedId = host.preparedId()
      assert.ok(expectedId)
      const a = await agent.attach(spaceId, 'dyno', 'web.1')
      assert.equal(a.id, expectedId, 'the attachment is named for the prepared namespace')
      assert.equal(a.state, 'ready')
      const netns = netnsName(a.id)
      const addr = (await run('ip', ['-n', netns, '-j', 'addr', 'show', 'dev', 'eth0'])).stdout
      assert.match(addr, new RegExp(`"local":"${a.address.replace(/\./g, '\\.')}","prefixlen":16`))
      const route = (await run('ip', ['-n', netns, 'route', 'show', 'default'])).stdout
      assert.match(route, /default via 10\.62\.0\.1 dev eth0/)
      const lo = (await run('ip', ['-n', netns, '-j', 'link', 'show', 'dev', 'lo'])).stdout
      assert.match(lo, /"operstate":"UNKNOWN"|"UP"/)
      const veth = JSON.parse(
        (await run('ip', ['-j', 'link', 'show', 'dev', vethName(a.id)])).stdout,
      ) as Array<{ master?: string; flags: string[] }>
      assert.equal(veth[0]?.master, dynoBridgeName(spaceId))
      assert.ok(veth[0]?.flags.includes('UP'))
      assert.equal(
        readFileSync(`/etc/netns/${netns}/resolv.conf`, 'utf8'),
        '# written by localspace\nnameserver 10.62.0.1\n',
      )
      const unhealthy = (await agent.doctor()).filter((c) => !c.ok)
      assert.deepEqual(unhealthy, [])
    })

    test('two dynos attached from prepared namespaces reach each other over TCP', async () => {
      await host.warmed()
      const b = await agent.attach(spaceId, 'dyno', 'web.2')
      await host.warmed()
      const c = await agent.attach(spaceId, 'dyno', 'web.3')
      const server = serveOnce(netnsName(b.id), b.address, 5005)
      const reply = await connect(netnsName(c.id), b.address, 5005)
      await server
      assert.equal(reply.stdout, 'hello')
    })

    test('a reused address keeps its MAC, so a neighbour reaches the new holder at once', async () => {
      const server = await agent.attach(spaceId, 'dyno', 'mac-1')
      const client = await agent.attach(spaceId, 'dyno', 'mac-client')
      const mac = JSON.parse(
        (await run('ip', ['-n', netnsName(server.id), '-j', 'link', 'show', 'dev', 'eth0'])).stdout,
      ) as Array<{ address: string }>
      assert.equal(mac[0]?.address, macFor(server.address))
      const first = serveOnce(netnsName(server.id), server.address, 5006)
      assert.equal((await connect(netnsName(client.id), server.address, 5006)).stdout, 'hello')
      await first
      await agent.detach(server.id)
      // The next dyno takes the freed address; the client's ARP entry for it is still fresh.
      const next = await agent.attach(spaceId, 'dyno', 'mac-2')
      assert.equal(next.address, server.address)
      const second = serveOnce(netnsName(next.id), next.address, 5006)
      assert.equal((await connect(netnsName(client.id), next.address, 5006)).stdout, 'hello')
      await second
      await agent.detach(next.id)
      await agent.detach(client.id)
    })

    test('the pool refills with fresh names, and detach leaves no trace', async () => {
      await host.warmed()
      const before = host.preparedId()
      const a = await agent.attach(spaceId, 'dyno', 'web.4')
      await host.warmed()
      assert.notEqual(host.preparedId(), before)
      assert.equal((await ownedNetns()).length, POOL + store.network.attachments().length)
      for (const x of store.network.attachments()) await agent.detach(x.id)
      assert.equal((await ownedNetns()).length, POOL, 'only the prepared ones remain')
      assert.ok(!(await ownedNetns()).includes(netnsName(a.id)))
    })

    test('stopping the host removes every prepared namespace', async () => {
      await agent.stop()
      await host.stop()
      assert.deepEqual(await ownedNetns(), [])
      const links = await ownedLinks()
      assert.ok(
        links.every((l) => !l.startsWith('lsv-')),
        `no veth remains: ${links.join(', ')}`,
      )
    })
    test('prepared namespaces left by a dead daemon are removed by the next one', async () => {
      // A daemon that prepares namespaces and dies without stopping (kill -9): its shells die
      // with its runner, its namespaces stay behind.
      const dead = startExecRunner()
      const deadHost = new LinuxSpaceHost(dead.exec, { openShell: dead.openShell })
      await new NetworkAgent(store, new EventBus(), deadHost, {
        settings,
        intervalMs: 0,
      }).reconcile()
      await deadHost.warmed()
      await dead.close()
      const leftovers = await ownedNetns()
      assert.equal(leftovers.length, POOL)
      // The next daemon's first reconcile removes them, then prepares its own.
      const next = startExecRunner()
      const nextHost = new LinuxSpaceHost(next.exec, { openShell: next.openShell })
      const nextAgent = new NetworkAgent(store, new EventBus(), nextHost, {
        settings,
        intervalMs: 0,
      })
      try {
        await nextAgent.reconcile()
        await nextHost.warmed()
        const now = await ownedNetns()
        assert.equal(now.length, POOL)
        assert.ok(
          leftovers.every((n) => !now.includes(n)),
          "the dead daemon's are gone",
        )
      } finally {
        await nextAgent.stop()
        await next.close()
      }
      assert.deepEqual(await ownedNetns(), [])
    })
  })
}
