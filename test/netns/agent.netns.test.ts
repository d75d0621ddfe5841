/**
 * The network agent on the real kernel: a space becomes allocated only once its host objects
 * exist, and the runtime's attach/detach fast path leaves nothing that doctor calls drift.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { LinuxSpaceHost } from '../../src/agent/linux-space-host.js'
import { NetworkAgent } from '../../src/agent/network-agent.js'
import { EventBus } from '../../src/core/events.js'
import { newId, nowIso } from '../../src/core/ids.js'
import { run } from '../../src/exec/run.js'
import { Store } from '../../src/store/store.js'
import { sandboxed } from '../helpers/sandbox.js'

if (sandboxed(import.meta.url)) {
  describe('network agent on the kernel', () => {
    const dir = mkdtempSync(join(tmpdir(), 'localspace-agent-netns-'))
    const store = Store.open(join(dir, 'localspace.db'))
    const agent = new NetworkAgent(store, new EventBus(), new LinuxSpaceHost(run), {
      settings: { egressPoolCidrs: [], allowPrivate: [], routerListeners: [] },
      intervalMs: 0,
    })
    const spaceId = newId()
    after(async () => {
      await agent.stop()
      store.close()
      rmSync(dir, { recursive: true, force: true })
    })

    test('a space is allocated once its bridges exist', async () => {
      const now = nowIso()
      store.teams.insert({ id: 'team', name: 'team-x', createdAt: now, updatedAt: now })
      store.spaces.insert({
        id: spaceId,
        name: 'space-x',
        teamId: 'team',
        teamName: 'team-x',
        region: 'virginia',
        state: 'allocating',
        shield: false,
        cidr: '10.60.0.0/16',
        dataCidr: '10.61.0.0/16',
        generation: 'cedar',
        createdAt: now,
        updatedAt: now,
      })
      await agent.reconcile()
      assert.equal(store.spaces.find(spaceId)?.state, 'allocated')
      const bridge = `lsb-${spaceId.replace(/-/g, '').slice(0, 8)}`
      const { stdout } = await run('ip', ['-j', 'addr', 'show', 'dev', bridge])
      assert.match(stdout, /"local":"10\.60\.0\.1"/)
    })

    test('attach and detach leave nothing doctor calls drift', async () => {
      const healthy = async () => (await agent.doctor()).filter((c) => !c.ok)
      const a = await agent.attach(spaceId, 'dyno', 'dyno-1')
      assert.equal(a.state, 'ready')
      assert.deepEqual(await healthy(), [])
      await agent.detach(a.id)
      assert.deepEqual(await healthy(), [])
      const { stdout } = await run('ip', ['netns', 'list'])
      assert.doesNotMatch(stdout, /ls-/)
    })
  })
}
