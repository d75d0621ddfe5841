/**
 * The vici client against real charons: two of them in two namespaces, configured over vici
 * alone (load-conn, load-shared), a tunnel initiated between them, its events received, listed,
 * terminated, and the errors charon answers surfacing as ViciCommandError.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { randomBytes } from 'node:crypto'
import { run } from '../../src/exec/run.js'
import { Charon } from '../../src/vpn/charon.js'
import { kernelHasEsp } from '../../src/vpn/kernel-esp.js'
import { ViciClient, ViciCommandError, type ViciMessage } from '../../src/vpn/vici.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const A = '198.51.100.1'
const B = '198.51.100.2'
const PSK = 'x'.repeat(32)

/** A tunnel between the two addresses; `to` initiates nothing by itself. */
const connection = (local: string, remote: string, localTs: string, remoteTs: string) => ({
  version: '1',
  local_addrs: [local],
  remote_addrs: [remote],
  proposals: ['aes128-sha1-modp2048'],
  local: { auth: 'psk', id: local },
  remote: { auth: 'psk', id: remote },
  children: { net: { local_ts: [localTs], remote_ts: [remoteTs], esp_proposals: ['aes128-sha1'] } },
})

if (sandboxed(import.meta.url)) {
  describe('vici client against charon', { timeout: 120_000 }, () => {
    const suffix = randomBytes(3).toString('hex')
    const [nsA, nsB] = [`vva-${suffix}`, `vvb-${suffix}`]
    const dir = mkdtempSync(join(tmpdir(), 'lsvici-'))
    let a: Charon
    let b: Charon
    let va: ViciClient
    let vb: ViciClient

    before(async () => {
      await run('ip', ['netns', 'add', nsA])
      await run('ip', ['netns', 'add', nsB])
      await run('ip', [
        '-n',
        nsA,
        'link',
        'add',
        'eth0',
        'type',
        'veth',
        'peer',
        'eth0',
        'netns',
        nsB,
      ])
      await run('ip', ['-n', nsA, 'addr', 'add', `${A}/24`, 'dev', 'eth0'])
      await run('ip', ['-n', nsB, 'addr', 'add', `${B}/24`, 'dev', 'eth0'])
      // charon installs a route to the remote network with a source address from its local
      // traffic selector: without an address in there, installing the CHILD_SA fails.
      await run('ip', ['-n', nsA, 'addr', 'add', '10.1.0.1/32', 'dev', 'lo'])
      await run('ip', ['-n', nsB, 'addr', 'add', '10.2.0.1/32', 'dev', 'lo'])
      for (const ns of [nsA, nsB]) {
        await run('ip', ['-n', ns, 'link', 'set', 'eth0', 'up'])
        await run('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
      }
      const kernelEsp = await kernelHasEsp(run)
      a = new Charon({ spaceId: 'a', netns: nsA, dataDir: dir, kernelEsp, exec: run })
      b = new Charon({ spaceId: 'b', netns: nsB, dataDir: dir, kernelEsp, exec: run })
      await Promise.all([a.ensureRunning(), b.ensureRunning()])
      va = await a.connect()
      vb = await b.connect()
    })

    after(async () => {
      va?.close()
      vb?.close()
      await a?.stop()
      await b?.stop()
      for (const ns of [nsA, nsB]) await run('ip', ['netns', 'del', ns]).catch(() => undefined)
      rmSync(dir, { recursive: true, force: true })
    })

    test('version and stats', async () => {
      const version = await va.version()
      assert.equal(version.daemon, 'charon')
      assert.match(version.version as string, /^5\./)
      const stats = await va.stats()
      assert.ok(Array.isArray(stats.plugins) && stats.plugins.includes('vici'))
      assert.equal((stats.ikesas as ViciMessage).total, '0')
    })

    test('an unknown command and an unknown event are errors, and the connection goes on', async () => {
      await assert.rejects(va.request('no-such-command'), (e: ViciCommandError) => {
        assert.equal(e.errmsg, 'unknown command')
        return true
      })
      await assert.rejects(
        va.subscribe('no-such-event', () => undefined),
        ViciCommandError,
      )
      assert.equal((await va.version()).daemon, 'charon')
    })

    test('load-conn and load-shared; a failed command says why', async () => {
      await va.loadConn('t', connection(A, B, '10.1.0.0/16', '10.2.0.0/16'))
      await vb.loadConn('t', connection(B, A, '10.2.0.0/16', '10.1.0.0/16'))
      await va.loadShared({ id: 'k', data: PSK, owners: [A, B] })
      await vb.loadShared({ id: 'k', data: PSK, owners: [A, B] })
      assert.deepEqual(await va.getConns(), ['t'])
      await assert.rejects(
        va.loadConn('bad', { ...connection(A, B, '10.1.0.0/16', '10.2.0.0/16'), version: 'x' }),
        /invalid value for: version/,
      )
    })

    test('initiate: ike-updown and child-updown events arrive, list-sas shows the SAs', async () => {
      const events: Array<[string, ViciMessage]> = []
      // Listed the moment the CHILD_SA is announced: charon still holds that SA then.
      const listedOnEvent: Array<Promise<ViciMessage[]>> = []
      const handler = (m: ViciMessage, name: string) => {
        events.push([name, m])
        if (name === 'child-updown' && m.up === 'yes') listedOnEvent.push(va.listSas())
      }
      await va.subscribe('ike-updown', handler)
      await va.subscribe('child-updown', handler)
      await va.initiate('net', 't')
      await waitUntil('ike-updown and child-updown up', () =>
        ['ike-updown', 'child-updown'].every((n) =>
          events.some(([name, m]) => name === n && m.up === 'yes'),
        ),
      )
      // The listing includes the SA the event was about (a non-blocking one skips it).
      const [onEvent] = await Promise.all(listedOnEvent)
      assert.equal(((onEvent?.[0]?.t ?? {}) as ViciMessage).state, 'ESTABLISHED')
      const [listing] = await va.listSas()
      const sa = listing?.t as ViciMessage
      assert.equal(sa.state, 'ESTABLISHED')
      assert.equal(sa['remote-host'], B)
      const children = Object.values(sa['child-sas'] as ViciMessage) as ViciMessage[]
      assert.equal(children[0]?.state, 'INSTALLED')
      assert.deepEqual(children[0]?.['local-ts'], ['10.1.0.0/16'])

      await va.terminate({ ike: 't' })
      await waitUntil('ike-updown down', () =>
        events.some(([name, m]) => name === 'ike-updown' && m.up === undefined && 't' in m),
      )
      assert.deepEqual(await va.listSas(), [])
      await va.unsubscribe('ike-updown', handler)
      await va.unsubscribe('child-updown', handler)
    })

    test('unload-shared, clear-creds and unload-conn', async () => {
      await va.unloadShared('k')
      await vb.clearCreds()
      // Without keys the tunnel cannot authenticate.
      await assert.rejects(va.initiate('net', 't', 3000), ViciCommandError)
      await va.unloadConn('t')
      assert.deepEqual(await va.getConns(), [])
      await assert.rejects(va.unloadConn('t'), ViciCommandError)
    })

    test('the kernel ESP probe answers without leaving an SA in any namespace', async () => {
      assert.equal(typeof (await kernelHasEsp(run)), 'boolean')
      assert.equal((await run('ip', ['xfrm', 'state'])).stdout.trim(), '')
    })

    test('a closed client fails its commands at once', async () => {
      const c = await a.connect()
      c.close()
      await assert.rejects(c.version(), /closed/)
      assert.equal(c.isClosed, true)
    })
  })
}
