/**
 * The data API `pg:*` and `redis:*` call (issue 17): database info from the store and, when the
 * daemon has one, from the data agent's probe (DataServerProbe); wait status through
 * provisioning, failure and a follower catching up; unfollow; bastion; credentials with Basic
 * auth and an empty user; Redis info and wait. Followers across spaces (another region).
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import type { DataServerProbe, PgLiveInfo } from '../../src/core/addons.js'
import {
  desiredDataServers,
  markAddonAvailable,
  markAddonFailed,
} from '../../src/platform/data-servers.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

describe('the data API', () => {
  let api: TestApi
  /** What the probe reports per add-on id; absent: the server is not there. */
  const live = new Map<string, PgLiveInfo>()
  const probe: DataServerProbe = {
    pgInfo: async (id) => live.get(id),
    redisInfo: async () => ({ version: '7.0.15', usedMemoryBytes: 2 * 1024 * 1024, clients: 3 }),
  }
  let leader: any
  let follower: any
  let redis: any
  const ctx = () => ({ store: api.store, events: api.events })
  const available = (id: string) => {
    const d = desiredDataServers(api.store).find((x) => x.addonId === id)!
    assert.equal(markAddonAvailable(ctx(), id, d), true)
  }

  before(async () => {
    api = await startTestApi({ dataProbe: probe })
    await api.call('POST', '/teams', { name: 'pgteam' })
    assert.equal(
      (await api.call('POST', '/spaces', { name: 'pg-main', team: 'pgteam' })).status,
      201,
    )
    const dr = await api.call('POST', '/spaces', {
      name: 'pg-dr',
      team: 'pgteam',
      region: 'dublin',
    })
    assert.equal(dr.status, 201, JSON.stringify(dr.body))
    await api.call('POST', '/teams/apps', { name: 'pg-web', team: 'pgteam', space: 'pg-main' })
    await api.call('POST', '/teams/apps', { name: 'pg-dr-app', team: 'pgteam', space: 'pg-dr' })
    leader = (
      await api.call('POST', '/apps/pg-web/addons', {
        plan: { name: 'heroku-postgresql:private-0' },
        attachment: { name: 'DATABASE' },
      })
    ).body
    redis = (await api.call('POST', '/apps/pg-web/addons', { plan: 'heroku-redis:private-7' })).body
  })
  after(() => api.close())

  const pg = (path: string) => api.call('GET', `/client/v11/databases/${path}`)
  const rows = (body: { info: Array<{ name: string; values: unknown[] }> }) =>
    Object.fromEntries(body.info.map((r) => [r.name, r.values]))

  test('a database being provisioned: info from the record, pg:wait keeps waiting', async () => {
    const info = await pg(leader.id)
    assert.equal(info.status, 200)
    assert.equal(
      info.body.resource_url,
      (await api.call('GET', '/apps/pg-web/config-vars')).body.DATABASE_URL,
    )
    const r = rows(info.body)
    assert.deepEqual(r.Plan, ['Private 0'])
    assert.deepEqual(r.Status, ['Creating'])
    assert.deepEqual(r.Region, ['virginia'])
    assert.deepEqual(r['Data Size'], [], 'no live figures before the server is up')
    const wait = await pg(`${leader.id}/wait_status`)
    assert.deepEqual(wait.body, { 'waiting?': true, 'error?': false, message: 'provisioning' })
  })

  test('once available: live figures from the probe, pg:wait is done', async () => {
    available(leader.id)
    live.set(leader.id, {
      version: '15.8',
      dataSizeBytes: 9 * 1024 * 1024,
      tables: 4,
      connections: 2,
    })
    const r = rows((await pg(leader.name)).body)
    assert.deepEqual(r.Status, ['Available'])
    assert.deepEqual(r['PG Version'], ['15.8'])
    assert.deepEqual(r['Data Size'], ['9.0 MB'])
    assert.deepEqual(r.Tables, [4])
    assert.deepEqual(r.Connections, ['2/120'])
    assert.equal((await pg(`${leader.id}/wait_status`)).body['waiting?'], false)
    assert.deepEqual((await pg(`${leader.id}/bastion`)).body, {})
  })

  test('a follower in another space and region: Following, Followers, Behind By, pg:wait on lag', async () => {
    const res = await api.call('POST', '/apps/pg-dr-app/addons', {
      plan: 'heroku-postgresql:private-0',
      config: { follow: 'pg-web::DATABASE_URL' },
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    follower = res.body
    const desired = desiredDataServers(api.store).find((d) => d.addonId === follower.id)!
    assert.equal(desired.leader?.addonId, leader.id)
    assert.equal(
      desired.user,
      desiredDataServers(api.store).find((d) => d.addonId === leader.id)!.user,
    )
    available(follower.id)
    // Replication not started yet (no lag figure): waiting.
    live.set(follower.id, { version: '15.8', dataSizeBytes: 0, tables: 0, connections: 0 })
    assert.equal((await pg(`${follower.id}/wait_status`)).body['waiting?'], true)
    live.set(follower.id, {
      version: '15.8',
      dataSizeBytes: 0,
      tables: 0,
      connections: 0,
      lagBytes: 64 * 1024 * 1024,
    })
    const behind = await pg(`${follower.id}/wait_status`)
    assert.equal(behind.body['waiting?'], true)
    assert.match(behind.body.message, /64\.0 MB behind/)
    live.set(follower.id, {
      version: '15.8',
      dataSizeBytes: 0,
      tables: 0,
      connections: 0,
      lagBytes: 512,
    })
    assert.equal((await pg(`${follower.id}/wait_status`)).body['waiting?'], false)

    const info = (await pg(follower.id)).body
    assert.equal(info.following, leader && (await pg(leader.id)).body.resource_url)
    assert.equal(info.leader, leader.name)
    const r = rows(info)
    assert.deepEqual(r['Behind By'], ['512 bytes'])
    assert.deepEqual(r.Region, ['dublin'])
    assert.deepEqual(rows((await pg(leader.id)).body).Followers, [info.resource_url])

    const chained = await api.call('POST', '/apps/pg-dr-app/addons', {
      plan: 'heroku-postgresql:private-0',
      config: { follow: follower.name },
    })
    assert.equal(chained.status, 422)
    assert.match(chained.body.message, /followers cannot be chained/)
    const ofRedis = await api.call('POST', '/apps/pg-web/addons', {
      plan: 'heroku-postgresql:private-0',
      config: { follow: redis.name },
    })
    assert.equal(ofRedis.status, 422)
  })

  test('pg:unfollow: the follower stops following, the agent hears addons.changed', async () => {
    const heard: string[] = []
    api.events.on('addons.changed', (spaceId) => heard.push(spaceId))
    const res = await api.call('PUT', `/client/v11/databases/${follower.id}/unfollow`)
    assert.equal(res.status, 200)
    assert.equal((await pg(follower.id)).body.following, undefined)
    assert.equal(desiredDataServers(api.store).find((d) => d.addonId === follower.id)!.leader, null)
    assert.ok(heard.includes(api.store.spaces.find('pg-dr')!.id))
    const again = await api.call('PUT', `/client/v11/databases/${follower.id}/unfollow`)
    assert.equal(again.status, 422)
  })

  test('credentials: Basic auth with an empty user and the key; only the default credential', async () => {
    const basic = { authorization: `Basic ${Buffer.from(`:${api.adminKey}`).toString('base64')}` }
    const res = await api.call(
      'GET',
      `/postgres/v0/databases/${leader.name}/credentials/default`,
      undefined,
      {
        key: null,
        headers: basic,
      },
    )
    assert.equal(res.status, 200)
    const url = new URL((await api.call('GET', '/apps/pg-web/config-vars')).body.DATABASE_URL)
    assert.equal(res.body.host, url.hostname)
    assert.equal(res.body.database, url.pathname.slice(1))
    assert.deepEqual(res.body.credentials, [
      { user: url.username, password: decodeURIComponent(url.password), state: 'active' },
    ])
    const other = await api.call('GET', `/postgres/v0/databases/${leader.name}/credentials/analyst`)
    assert.equal(other.status, 404)
    const anonymous = await api.call(
      'GET',
      `/postgres/v0/databases/${leader.name}/credentials/default`,
      undefined,
      {
        key: null,
      },
    )
    assert.equal(anonymous.status, 401)
  })

  test('Redis: info and wait', async () => {
    const wait = await api.call('GET', `/redis/v0/databases/${redis.name}/wait`)
    assert.equal(wait.body['waiting?'], true)
    available(redis.id)
    const res = await api.call('GET', `/redis/v0/databases/${redis.id}`)
    assert.equal(res.status, 200)
    assert.equal(res.body.plan, 'private-7')
    assert.equal(res.body.prefer_native_tls, true)
    assert.equal(
      res.body.resource_url,
      (await api.call('GET', '/apps/pg-web/config-vars')).body.REDIS_URL,
    )
    const r = rows(res.body)
    assert.deepEqual(r.Version, ['7.0.15'])
    assert.deepEqual(r.Clients, ['3/10000'])
    assert.deepEqual(r.Maxmemory, ['7.0 GB'])
    assert.equal(
      (await api.call('GET', `/redis/v0/databases/${redis.name}/wait`)).body['waiting?'],
      false,
    )
    // Postgres paths do not answer for Redis, nor the other way round.
    assert.equal((await pg(redis.id)).status, 404)
    assert.equal((await api.call('GET', `/redis/v0/databases/${leader.id}`)).status, 404)
  })

  test('a failed database: pg:wait reports the error', async () => {
    const res = await api.call('POST', '/apps/pg-web/addons', {
      plan: 'heroku-postgresql:private-0',
    })
    assert.equal(markAddonFailed(ctx(), res.body.id, 'initdb failed'), true)
    const wait = await pg(`${res.body.id}/wait_status`)
    assert.deepEqual(wait.body, {
      'waiting?': false,
      'error?': true,
      message: 'Failed: initdb failed',
    })
  })

  test('strangers; operations not built', async () => {
    const stranger = api.user('pg-stranger@example.com')
    const res = await api.call('GET', `/client/v11/databases/${leader.id}`, undefined, {
      key: stranger,
    })
    assert.equal(res.status, 404)
    const reset = await api.call('PUT', `/client/v11/databases/${leader.id}/reset`)
    assert.equal(reset.status, 501)
    assert.match(reset.body.message, /operation .* is not available in localspace/)
  })
})
