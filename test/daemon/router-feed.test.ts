/**
 * The router feed marks an inbound ruleset `applied` only once the router acknowledged it:
 * with the router's worker processes not running (down, or not started yet) the ruleset stays
 * `applied: false`; once a worker runs and holds it, it is marked. A real RouterWorkers with
 * one worker on a loopback listener. And the space's internal listener admits the networks
 * behind its VPN connections and its accepted peerings.
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
import { parseIpv4 } from '../../src/core/cidr.js'
import { Router, RouterWorkers } from '../../src/router/index.js'
import { insideSpace } from '../../src/router/routing-table.js'
import { Store } from '../../src/store/store.js'
import { waitUntil } from '../helpers/wait.js'

/** A team and its allocated space (feed-space, 10.92.0.0/16) in `store`. */
function insertSpace(store: Store, now: string): Space {
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
  return space
}

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
  const space = insertSpace(store, now)
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

describe("router feed: the internal listener admits the space's VPN remotes and peers", () => {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-router-feed-'))
  const store = Store.open(join(dir, 'localspace.db'))
  const events = new EventBus()
  const router = new Router({ domain: 'localhost', listen: [], log: () => undefined })
  const feed = new RouterFeed({ store, events, router, dynos: () => [], port: 5000 })
  after(async () => {
    await feed.stop()
    store.close()
    rmSync(dir, { recursive: true, force: true })
  })

  const now = nowIso()
  const space = insertSpace(store, now)
  const admits = (address: string) =>
    insideSpace(router.table.space(space.id)!, parseIpv4(address)!)
  const tunnel = (index: 0 | 1, ip: string) => ({
    index,
    ip,
    customerIp: '203.0.113.50',
    preSharedKey: 'A'.repeat(32),
    status: 'DOWN' as const,
    statusMessage: '',
    lastStatusChange: now,
  })

  test('only the space itself before any VPN or peering', () => {
    feed.start()
    assert.equal(admits('10.92.128.5'), true)
    assert.equal(admits('192.168.50.10'), false)
    assert.equal(admits('10.99.0.1'), false)
  })

  test('a VPN connection taken on and an accepted peering add their networks', async () => {
    store.vpn.insert({
      id: newId(),
      spaceId: space.id,
      name: 'office',
      publicIp: '203.0.113.50',
      routableCidrs: ['192.168.50.0/24'],
      ikeVersion: 1,
      status: 'active',
      statusMessage: '',
      tunnels: [tunnel(0, '203.0.113.65'), tunnel(1, '203.0.113.66')],
      createdAt: now,
      updatedAt: now,
    })
    events.emit('vpn.changed', space.id)
    await waitUntil('the VPN remote admitted', () => admits('192.168.50.10'))
    const networkId = newId()
    store.peerings.insertNetwork({
      id: networkId,
      name: 'dc',
      interface: 'peer0',
      cidrs: ['10.99.0.0/16'],
      createdAt: now,
    })
    store.peerings.insert({
      id: 'pcx-0123456789abcdef0',
      accepterSpaceId: space.id,
      peerNetworkId: networkId,
      status: 'active',
      expiresAt: now,
      createdAt: now,
      updatedAt: now,
    })
    events.emit('peering.changed', space.id)
    await waitUntil('the peer admitted', () => admits('10.99.0.1'))
    // Nothing else: the rest of the private ranges stays out.
    assert.equal(admits('192.168.51.10'), false)
  })
})
