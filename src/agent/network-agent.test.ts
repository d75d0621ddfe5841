import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, beforeEach, describe, test } from 'node:test'
import { MemorySpaceHost } from '../../test/helpers/memory-host.js'
import { EventBus } from '../core/events.js'
import { newId, nowIso } from '../core/ids.js'
import type { Space } from '../core/types.js'
import { Store } from '../store/store.js'
import { desiredNetwork } from './desired-network.js'
import { NetworkAgent } from './network-agent.js'

const settings = { egressPoolCidrs: [], allowPrivate: [], routerListeners: [] }

describe('network agent', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-agent-'))
  after(() => rmSync(dir, { recursive: true, force: true }))
  let store: Store
  let host: MemorySpaceHost
  let agent: NetworkAgent
  let events: EventBus
  let n = 0

  function addSpace(state: Space['state'] = 'allocating'): Space {
    const now = nowIso()
    const teamId = newId()
    store.teams.insert({ id: teamId, name: `team-${++n}`, createdAt: now, updatedAt: now })
    const space: Space = {
      id: newId(),
      name: `space-${n}`,
      teamId,
      teamName: `team-${n}`,
      region: 'virginia',
      state,
      shield: false,
      cidr: `10.${2 * n}.0.0/16`,
      dataCidr: `10.${2 * n + 1}.0.0/16`,
      generation: 'cedar',
      createdAt: now,
      updatedAt: now,
    }
    store.spaces.insert(space)
    return space
  }

  beforeEach(() => {
    store = Store.open(join(dir, `${++n}.db`))
    host = new MemorySpaceHost()
    events = new EventBus()
    agent = new NetworkAgent(store, events, host, { settings, intervalMs: 0 })
  })

  test('allocating a space converges the host once: its own change costs no second pass', async () => {
    await agent.start()
    let converges = 0
    const converge = host.converge.bind(host)
    host.converge = (h, f) => {
      converges++
      return converge(h, f)
    }
    const converged: string[] = []
    const off = events.on('space.converged', (id) => converged.push(id))
    const space = addSpace()
    // What POST /spaces tells the daemon.
    events.emit('space.changed', space.id)
    events.emit('ruleset.changed', space.id)
    await agent.idle()
    assert.equal(store.spaces.find(space.id)?.state, 'allocated')
    assert.equal(converges, 1, 'one pass for the change, none for its own allocation')
    assert.deepEqual(converged, [space.id], 'the data planes are told it is allocated')
    off()
    await agent.stop()
  })

  test('a converge leaves inbound rulesets to the router that applies them', async () => {
    const space = addSpace()
    const ruleset = {
      id: newId(),
      spaceId: space.id,
      version: 1,
      rules: [{ action: 'allow' as const, source: '0.0.0.0/0' }],
      createdBy: 'admin@localspace.localhost',
      applied: false,
      createdAt: nowIso(),
    }
    store.spaces.insertRuleset(ruleset)
    await agent.reconcile()
    assert.equal(store.spaces.find(space.id)?.state, 'allocated')
    assert.equal(store.spaces.currentRuleset(space.id)?.applied, false)
  })

  test('a space stays allocating until the host has converged', async () => {
    const space = addSpace()
    host.failWith = new Error('nft: command not found')
    await agent.reconcile()
    assert.equal(store.spaces.find(space.id)?.state, 'allocating')
    assert.match(agent.lastError?.message ?? '', /nft/)
    host.failWith = undefined
    await agent.reconcile()
    assert.equal(store.spaces.find(space.id)?.state, 'allocated')
    assert.equal(agent.lastError, undefined)
    assert.equal(host.last?.host.spaces.length, 1)
  })

  test('a deleted space is forgotten only once its host objects are gone', async () => {
    const space = addSpace('deleting')
    host.failWith = new Error('busy')
    await agent.reconcile()
    assert.ok(store.spaces.find(space.id))
    host.failWith = undefined
    await agent.reconcile()
    assert.equal(store.spaces.find(space.id), undefined)
    assert.equal(host.last?.host.spaces.length, 0, 'its bridges are no longer desired')
  })

  test('a space that changed while the host converged is left for the next run', async () => {
    const space = addSpace()
    const converge = host.converge.bind(host)
    host.converge = async (h, f) => {
      store.spaces.setState(space.id, 'deleting', nowIso()) // a DELETE arrives meanwhile
      host.converge = converge
      return converge(h, f)
    }
    await agent.reconcile()
    assert.equal(store.spaces.find(space.id)?.state, 'deleting', 'not marked allocated')
    await agent.reconcile()
    assert.equal(store.spaces.find(space.id), undefined)
  })

  test('attach gives the lowest free address and resolves ready', async () => {
    const space = addSpace('allocated')
    const one = await agent.attach(space.id, 'dyno', 'dyno-1')
    const two = await agent.attach(space.id, 'dyno', 'dyno-2')
    assert.equal(one.state, 'ready')
    const prefix = space.cidr.split('.').slice(0, 2).join('.')
    assert.equal(one.address, `${prefix}.128.1`)
    assert.notEqual(one.address, two.address)
    assert.equal(host.attached.size, 2)
  })

  test('a failed attach frees its address', async () => {
    const space = addSpace('allocated')
    host.failWith = new Error('ip: RTNETLINK answers: File exists')
    await assert.rejects(agent.attach(space.id, 'data', 'pg-1'), /File exists/)
    assert.equal(store.network.attachments(space.id).length, 0)
    host.failWith = undefined
    const retry = await agent.attach(space.id, 'data', 'pg-1')
    assert.equal(retry.address, `10.${space.dataCidr.split('.')[1]}.0.10`)
  })

  test('attach commits once: the record is ready before the host work and its commit', async () => {
    const space = addSpace('allocated')
    const commits: string[] = []
    const transaction = store.transaction.bind(store)
    store.transaction = <T>(fn: () => T): T => {
      const result = transaction(fn)
      commits.push('commit')
      return result
    }
    const seen: Array<string | undefined> = []
    const attach = host.attach.bind(host)
    host.attach = (a) => {
      // Called inside the transaction, so the host's work overlaps the commit's disk wait.
      seen.push(`${store.network.attachment(a.id)?.state} after ${commits.length} commits`)
      return attach(a)
    }
    const a = await agent.attach(space.id, 'dyno', 'dyno-1')
    assert.deepEqual(seen, ['ready after 0 commits'])
    assert.deepEqual(commits, ['commit'])
    assert.equal(store.network.attachment(a.id)?.state, 'ready')
  })

  test('a commit that fails after the host work started takes that work down again', async () => {
    const space = addSpace('allocated')
    const transaction = store.transaction.bind(store)
    // As a COMMIT that fails on the disk: the writes are rolled back, the caller gets the error.
    store.transaction = <T>(fn: () => T): T =>
      transaction(() => {
        fn()
        throw new Error('SQLITE_IOERR: disk I/O error')
      })
    await assert.rejects(agent.attach(space.id, 'dyno', 'dyno-1'), /disk I\/O error/)
    assert.equal(host.attached.size, 0, 'the namespace was detached')
    store.transaction = transaction
    assert.deepEqual(store.network.attachments(space.id), [])
  })

  test('an attachment takes the prepared id unless its short id (the host names) is taken', () => {
    const space = addSpace('allocated')
    const live = store.spaces.find(space.id)!
    const first = store.network.allocateAttachment(live, 'dyno', 'x', { preferredId: newId() })
    // Another id with the same first 8 characters would name the same namespace and veth.
    const clash = `${first.id.slice(0, 8)}-0000-4000-8000-000000000000`
    const second = store.network.allocateAttachment(live, 'dyno', 'y', { preferredId: clash })
    assert.notEqual(second.id.slice(0, 8), first.id.slice(0, 8))
    const free = newId()
    const third = store.network.allocateAttachment(live, 'dyno', 'z', { preferredId: free })
    assert.equal(third.id, free)
  })

  test('attach refuses a space that is not allocated yet', async () => {
    const space = addSpace('allocating')
    await assert.rejects(agent.attach(space.id, 'dyno', 'x'), { id: 'invalid_params' })
  })

  test('detach takes the namespace down and frees the address', async () => {
    const space = addSpace('allocated')
    const a = await agent.attach(space.id, 'dyno', 'dyno-1')
    await agent.detach(a.id)
    assert.equal(store.network.attachment(a.id), undefined)
    assert.equal(host.attached.size, 0)
  })

  test('desired state leaves out deleting spaces and detaching attachments', () => {
    const live = addSpace('allocated')
    const gone = addSpace('deleting')
    const a = store.network.allocateAttachment(live, 'dyno', 'x')
    const b = store.network.allocateAttachment(live, 'dyno', 'y')
    store.network.setAttachmentState(b.id, 'detaching', nowIso())
    const desired = desiredNetwork(
      store.spaces.all(),
      store.network.attachments(),
      () => ['203.0.113.1'],
      {
        ...settings,
        egressInterface: 'eth9',
      },
    )
    assert.deepEqual(
      desired.host.spaces.map((s) => s.cidr),
      [live.cidr],
    )
    assert.deepEqual(
      desired.host.attachments.map((x) => x.address),
      [a.address],
    )
    assert.deepEqual(desired.host.egress?.addresses, ['203.0.113.1'])
    assert.equal(desired.firewall.spaces[0]?.egress[0], '203.0.113.1')
    assert.equal(desired.spaceStates.get(gone.id), 'deleting')
  })
})
