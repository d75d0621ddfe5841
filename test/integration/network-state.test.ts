/**
 * The API side of space networks: outbound addresses from the egress pools, and attachments
 * (addresses handed out in a space). The host side is tested in test/netns.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { NetworkAgent } from '../../src/agent/network-agent.js'
import { parseEgressPool } from '../../src/core/egress.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('outbound addresses', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi({
      egressPools: [parseEgressPool('tokyo=203.0.113.0/28'), parseEgressPool('198.51.100.0/24')],
    })
    await api.call('POST', '/teams', { name: 'net-team' })
  })
  after(() => api.close())

  test('a space takes four addresses from its region pool and nat reports them', async () => {
    await api.call('POST', '/spaces', { name: 'tokyo-one', team: 'net-team', region: 'tokyo' })
    const nat = await api.call('GET', '/spaces/tokyo-one/nat')
    assert.equal(nat.body.state, 'enabled')
    assert.deepEqual(nat.body.sources, ['203.0.113.1', '203.0.113.2', '203.0.113.3', '203.0.113.4'])
    // The host is asked to SNAT the space's traffic to all four.
    const desired = api.host.last!.firewall.spaces.find((s) => s.egress.includes('203.0.113.1'))
    assert.deepEqual(desired?.egress, nat.body.sources)
  })

  test('a region without a pool of its own uses the pool for all', async () => {
    await api.call('POST', '/spaces', { name: 'oregon-one', team: 'net-team', region: 'oregon' })
    const nat = await api.call('GET', '/spaces/oregon-one/nat')
    assert.deepEqual(nat.body.sources, [
      '198.51.100.1',
      '198.51.100.2',
      '198.51.100.3',
      '198.51.100.4',
    ])
  })

  test('an exhausted pool refuses the space with 422 and stores nothing', async () => {
    // 203.0.113.0/28 has fourteen usable addresses: three spaces' worth (two left over).
    await api.call('POST', '/spaces', { name: 'tokyo-two', team: 'net-team', region: 'tokyo' })
    await api.call('POST', '/spaces', { name: 'tokyo-three', team: 'net-team', region: 'tokyo' })
    const before = api.store.spaces.all().length
    const refused = await api.call('POST', '/spaces', {
      name: 'tokyo-four',
      team: 'net-team',
      region: 'tokyo',
    })
    assert.equal(refused.status, 422)
    assert.equal(refused.body.id, 'invalid_params')
    assert.match(refused.body.message, /203\.0\.113\.0\/28 has no 4 free addresses/)
    assert.equal(api.store.spaces.all().length, before)
    assert.equal((await api.call('GET', '/spaces/tokyo-four')).status, 404)
  })

  test('a destroyed space gives its addresses back to the pool', async () => {
    await api.call('DELETE', '/spaces/tokyo-three')
    await api.call('POST', '/spaces', { name: 'tokyo-five', team: 'net-team', region: 'tokyo' })
    const nat = await api.call('GET', '/spaces/tokyo-five/nat')
    assert.deepEqual(nat.body.sources, [
      '203.0.113.9',
      '203.0.113.10',
      '203.0.113.11',
      '203.0.113.12',
    ])
  })

  test('a larger count tops existing spaces up as far as the pool allows; held addresses stay', async () => {
    // The operator restarts the daemon with --egress-per-space 5: the tokyo pool has two
    // addresses left (.13 and .14) for three spaces, which are served oldest first.
    const before = (await api.call('GET', '/spaces/tokyo-one/nat')).body.sources as string[]
    const lines: string[] = []
    const agent = new NetworkAgent(api.store, api.events, api.host, {
      settings: { egressPoolCidrs: [], allowPrivate: [], routerListeners: [] },
      intervalMs: 0,
      egress: { pools: [parseEgressPool('tokyo=203.0.113.0/28')], perSpace: 5 },
      log: (line) => lines.push(line),
    })
    await agent.reconcile()
    const after = (await api.call('GET', '/spaces/tokyo-one/nat')).body.sources as string[]
    assert.deepEqual(after, [...before, '203.0.113.13'])
    const two = (await api.call('GET', '/spaces/tokyo-two/nat')).body.sources as string[]
    assert.equal(two.length, 5)
    assert.equal(two[4], '203.0.113.14')
    const five = (await api.call('GET', '/spaces/tokyo-five/nat')).body.sources as string[]
    assert.equal(five.length, 4, 'the pool is exhausted: tokyo-five keeps its four')
    // The shortfall is said once, and doctor names it.
    await agent.reconcile()
    assert.deepEqual(lines, [
      'network: space tokyo-five has 4 of 5 outbound addresses: the pool 203.0.113.0/28 is exhausted',
    ])
    const check = (await agent.doctor()).find((c) => c.name === 'outbound addresses')
    assert.equal(check?.ok, false)
    assert.match(check.detail, /tokyo-five has 4 of 5/)
    await agent.stop()
  })
})

describe('attachments', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi()
    await api.call('POST', '/teams', { name: 'att-team' })
    await api.call('POST', '/spaces', { name: 'att-space', team: 'att-team' })
  })
  after(() => api.close())

  test('dynos get addresses from C.128.1 upwards, data services from D.0.10', async () => {
    const one = await api.call('POST', '/localspace/spaces/att-space/attachments', { kind: 'dyno' })
    const two = await api.call('POST', '/localspace/spaces/att-space/attachments', { kind: 'dyno' })
    const data = await api.call('POST', '/localspace/spaces/att-space/attachments', {
      kind: 'data',
    })
    assert.equal(one.status, 201)
    assert.equal(one.body.address, '10.0.128.1')
    assert.equal(two.body.address, '10.0.128.2')
    assert.equal(data.body.address, '10.1.0.10')
    assert.match(one.body.netns, /^ls-[0-9a-f]{8}$/)
  })

  test('an address is not handed out again until its attachment is gone', async () => {
    const list = await api.call('GET', '/localspace/spaces/att-space/attachments')
    const first = (list.body as Array<{ id: string; address: string }>).find(
      (a) => a.address === '10.0.128.1',
    )!
    // 1. The host cannot be changed: the namespace stays, and so does its address.
    api.host.failWith = new Error('host unavailable')
    const detaching = await api.call('DELETE', `/localspace/attachments/${first.id}`)
    assert.equal(detaching.status, 202)
    assert.equal(detaching.body.state, 'detaching')
    const next = await api.call('POST', '/localspace/spaces/att-space/attachments', {
      kind: 'dyno',
    })
    assert.equal(next.body.address, '10.0.128.3')
    // 2. The host converges: the attachment is gone and its address free again.
    api.host.failWith = undefined
    await api.agent.reconcile()
    assert.equal((await api.call('GET', `/localspace/attachments/${first.id}`)).status, 404)
    const reused = await api.call('POST', '/localspace/spaces/att-space/attachments', {
      kind: 'dyno',
    })
    assert.equal(reused.body.address, '10.0.128.1')
    assert.equal(reused.body.state, 'pending')
    const ready = await api.call('GET', `/localspace/attachments/${reused.body.id}`)
    assert.equal(ready.body.state, 'ready')
  })

  test('only the installation admin manages attachments', async () => {
    const key = api.user('att-user@example.com')
    const res = await api.call(
      'POST',
      '/localspace/spaces/att-space/attachments',
      { kind: 'dyno' },
      { key },
    )
    assert.equal(res.status, 403)
  })

  test('an unknown kind is refused', async () => {
    const res = await api.call('POST', '/localspace/spaces/att-space/attachments', { kind: 'gpu' })
    assert.equal(res.status, 422)
  })
})
