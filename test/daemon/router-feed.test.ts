/**
 * The router feed marks an inbound ruleset `applied` only once the router acknowledged it:
 * with the router's worker processes not running (down, or not started yet) the ruleset stays
 * `applied: false`; once a worker runs and holds it, it is marked. A real RouterWorkers with
 * one worker on a loopback listener.
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { EventBus } from '../../src/core/events.js'
import { newId, nowIso } from '../../src/core/ids.js'
import type { InboundRuleset, Space } from '../../src/core/types.js'
import { RouterFeed } from '../../src/daemon/router-feed.js'
import { RouterWorkers } from '../../src/router/index.js'
import { Store } from '../../src/store/store.js'
import { waitUntil } from '../helpers/wait.js'

describe('router feed: rulesets applied', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-router-feed-'))
  const store = Store.open(join(dir, 'localspace.db'))
  const events = new EventBus()
  const router = new RouterWorkers({
    workers: 1,
    domain: 'localhost',
    listen: [{ host: '127.0.0.1', port: 0 }],
    log: () => undefined,
  })
  const feed = new RouterFeed({ store, events, router, dynos: () => [], port: 5000 })
  after(async () => {
    await feed.stop()
    await router.close()
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const now = nowIso()
  const teamId = newId()
  store.teams.insert({ id: teamId, name: 'feed-team', createdAt: now, updatedAt: now })
  const space: Space = {
    id: newId(),
    name: 'feed-space',
    teamId,
    teamName: 'feed-team',
    region: 'virginia',
    state: 'allocated',
    shield: false,
    cidr: '10.92.0.0/16',
    dataCidr: '10.93.0.0/20',
    generation: 'cedar',
    createdAt: now,
    updatedAt: now,
  }
  store.spaces.insert(space)
  const ruleset = (version: number): InboundRuleset => ({
    id: newId(),
    spaceId: space.id,
    version,
    rules: [{ action: 'allow', source: '203.0.113.0/24' }],
    createdBy: 'admin@localspace.localhost',
    applied: false,
    createdAt: nowIso(),
  })
  const applied = () => store.spaces.currentRuleset(space.id)?.applied

  test('no router worker running: the ruleset is not marked applied', async () => {
    store.spaces.insertRuleset(ruleset(1))
    feed.start()
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(applied(), false)
  })

  test('once a worker runs and holds it, it is marked applied', async () => {
    await router.start()
    await waitUntil('the ruleset applied', () => applied() === true, { timeoutMs: 10_000 })
  })

  test('a ruleset put while the router is closed stays unapplied', async () => {
    await router.close()
    store.spaces.insertRuleset(ruleset(2))
    events.emit('ruleset.changed', space.id)
    await new Promise((resolve) => setImmediate(resolve))
    assert.equal(applied(), false)
  })
})
