/**
 * The data converger (src/data/agent.ts) against real servers: a desired list of plain data
 * becomes running, stopped and destroyed servers, each change reported through the callback;
 * a new agent (a restarted daemon) adopts what runs.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { after, before, describe, test } from 'node:test'
import { run } from '../../src/exec/run.js'
import { DataAgent } from '../../src/data/agent.js'
import type { DataServerStatus, DesiredDataServer } from '../../src/data/types.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'
import { makeSpace, processesMentioning, type SpaceFixture } from './space-fixture.js'

if (sandboxed(import.meta.url)) {
  describe('the data converger', () => {
    let space: SpaceFixture
    before(async () => {
      space = await makeSpace()
    })
    after(async () => {
      await space.cleanup()
    })

    test('starts, stops, adopts and destroys as the desired list says', async () => {
      const spec = space.spec('redis', 20)
      let desired: DesiredDataServer[] = [{ spec, state: 'running' }]
      const statuses: DataServerStatus[] = []
      const agentFor = () =>
        new DataAgent({
          exec: run,
          desired: () => desired,
          onStatus: (s) => statuses.push(s),
          intervalMs: 0,
        })
      const states = () => statuses.map((s) => s.state)
      const converge = async (agent: DataAgent) => {
        await agent.kick()
        await agent.settled()
      }

      const first = agentFor()
      await first.start()
      await first.settled()
      assert.deepEqual(states(), ['starting', 'available'])
      const pid = await first.server(spec.addonId)?.pid()
      assert.ok(pid)

      // A restarted daemon: the new agent adopts the same process.
      await first.stop()
      const agent = agentFor()
      try {
        await agent.start()
        await agent.settled()
        assert.equal(await agent.server(spec.addonId)?.pid(), pid)
        assert.deepEqual(states().slice(2), ['starting', 'available'])

        desired = [{ spec, state: 'stopped' }]
        await converge(agent)
        assert.equal(states().at(-1), 'stopped')
        await waitUntil(
          'the server gone',
          async () => (await processesMentioning(spec.addonId)).length === 0,
        )
        assert.ok(existsSync(spec.dataDir), 'a stopped server keeps its data')

        desired = [{ spec, state: 'running' }]
        await converge(agent)
        assert.equal(states().at(-1), 'available')

        desired = [{ spec, state: 'destroyed' }]
        await converge(agent)
        assert.equal(states().at(-1), 'destroyed')
        assert.equal(existsSync(spec.dataDir), false)
        assert.deepEqual(await processesMentioning(spec.addonId), [])
        // Destroyed stays destroyed: further passes do nothing.
        const count = statuses.length
        await converge(agent)
        assert.equal(statuses.length, count)
      } finally {
        desired = [{ spec, state: 'destroyed' }]
        await converge(agent).catch(() => undefined)
        await agent.stop()
      }
    })
  })
}
