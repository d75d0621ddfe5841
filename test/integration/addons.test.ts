/**
 * Add-ons through the Platform API (issue 17): the catalogue, creating Postgres and Redis in a
 * space (config var and `Attach …` release), colour names for later databases, attach/detach,
 * destroy (config vars removed in a release, `deprovisioning` until the data agent is done),
 * the resolve actions with the CLI's headers, team roles, Kafka, and bad input. Every success
 * body is checked against Heroku's schema by the test API.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'
import {
  markTransferFinished,
  markTransferStarted,
  openTransfers,
} from '../../src/platform/backups.js'
import {
  addonsToRemove,
  desiredDataServers,
  markAddonAvailable,
  markAddonDeprovisioned,
  markAddonFailed,
} from '../../src/platform/data-servers.js'

const SDK = { accept: 'application/vnd.heroku+json; version=3.sdk' }
const EXPAND = { ...SDK, 'accept-expansion': 'addon_service,plan' }
const INCLUDE = { ...SDK, 'accept-inclusion': 'addon:plan,config_vars' }

describe('add-ons', () => {
  let api: TestApi
  let admin: string
  let member: string
  let stranger: string
  before(async () => {
    api = await startTestApi()
    admin = api.user('data-admin@example.com')
    member = api.user('data-member@example.com')
    stranger = api.user('data-stranger@example.com')
    assert.equal(
      (await api.call('POST', '/teams', { name: 'datateam' }, { key: admin })).status,
      201,
    )
    await api.call(
      'PUT',
      '/teams/datateam/members',
      { email: 'data-member@example.com', role: 'member' },
      { key: admin },
    )
    const space = await api.call(
      'POST',
      '/spaces',
      { name: 'dataspace', team: 'datateam' },
      { key: admin },
    )
    assert.equal(space.status, 201)
    for (const name of ['dataweb', 'dataworker']) {
      const made = await api.call(
        'POST',
        '/teams/apps',
        { name, team: 'datateam', space: 'dataspace' },
        { key: admin },
      )
      assert.equal(made.status, 201)
    }
    assert.equal((await api.call('POST', '/apps', { name: 'plain-app' })).status, 201)
  })
  after(() => api.close())

  const config = async (app: string) =>
    (await api.call('GET', `/apps/${app}/config-vars`)).body as Record<string, string>
  const lastRelease = (app: string) => {
    const id = api.store.apps.find(app)!.id
    return api.store.releases.current(id)!
  }
  const create = (app: string, body: unknown, key = admin) =>
    api.call('POST', `/apps/${app}/addons`, body, { key, headers: { 'accept-expansion': 'plan' } })

  test('the catalogue lists Postgres, Redis and Kafka with private plans and their sizes', async () => {
    const services = await api.call('GET', '/addon-services')
    assert.equal(services.status, 200)
    assert.deepEqual((services.body as Array<{ name: string }>).map((s) => s.name).sort(), [
      'heroku-kafka',
      'heroku-postgresql',
      'heroku-redis',
    ])
    const plans = await api.call('GET', '/addon-services/heroku-postgresql/plans', undefined, {
      headers: SDK,
    })
    const names = (plans.body as Array<{ name: string }>).map((p) => p.name)
    assert.ok(names.includes('heroku-postgresql:private-0'), names.join())
    const p0 = (plans.body as any[]).find((p) => p.name === 'heroku-postgresql:private-0')
    assert.match(p0.description, /4 GB RAM, 120 connections/)
    assert.equal(p0.installable_inside_private_network, true)
    const byName = await api.call('GET', '/addon-services/heroku-redis/plans/private-7')
    assert.equal(byName.body.name, 'heroku-redis:private-7')
    assert.equal((await api.call('GET', `/plans/${p0.id}`)).body.name, p0.name)
    const missing = await api.call('GET', '/addon-services/heroku-mongo')
    assert.equal(missing.status, 404)
    assert.equal(missing.body.resource, 'add_on service')
  })

  let db: any
  test('creating Postgres in a space sets DATABASE_URL in an Attach release, provisioning', async () => {
    const before = lastRelease('dataweb').version
    const res = await create('dataweb', {
      plan: { name: 'heroku-postgresql:private-0' },
      attachment: { name: 'DATABASE' },
      config: {},
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    db = res.body
    assert.equal(db.state, 'provisioning')
    assert.match(db.name, /^postgresql-[a-z]+-\d{5}$/)
    assert.equal(db.plan.name, 'heroku-postgresql:private-0')
    assert.equal(db.plan.description !== undefined, true, 'plan expanded by Accept-Expansion')
    assert.deepEqual(db.config_vars, ['DATABASE_URL'])
    const url = new URL((await config('dataweb')).DATABASE_URL!)
    assert.equal(url.protocol, 'postgres:')
    // The first data address of the space's data network (D.0.10), its own network attachment.
    const space = api.store.spaces.find('dataspace')!
    const d = space.dataCidr.split('.')
    assert.equal(url.hostname, `${d[0]}.${d[1]}.0.10`)
    assert.equal(url.port, '5432')
    assert.ok(url.password.length >= 20)
    const release = lastRelease('dataweb')
    assert.equal(release.version, before + 1)
    assert.equal(release.description, `Attach DATABASE (@ref:${db.name})`)
    const net = api.store.network.attachments(space.id).filter((n) => n.owner === `addon:${db.id}`)
    assert.deepEqual(
      net.map((n) => [n.kind, n.address]),
      [['data', url.hostname]],
    )
  })

  test('a second Postgres gets a HEROKU_POSTGRESQL_<COLOUR> name and the next address', async () => {
    const res = await create('dataweb', { plan: 'heroku-postgresql:private-2' })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    const [name] = res.body.config_vars as string[]
    assert.match(name!, /^HEROKU_POSTGRESQL_[A-Z]+_URL$/)
    const vars = await config('dataweb')
    assert.ok(vars.DATABASE_URL && vars[name!])
    assert.notEqual(new URL(vars[name!]!).hostname, new URL(vars.DATABASE_URL).hostname)
    assert.equal(new URL(vars[name!]!).hostname.split('.')[3], '11')
    // Cleaned up for the tests below.
    const gone = await api.call('DELETE', `/apps/dataweb/addons/${res.body.id}`)
    assert.equal(gone.status, 200)
    assert.equal(gone.body.state, 'deprovisioned')
    assert.equal((await config('dataweb'))[name!], undefined)
  })

  test('Redis gets REDIS_URL (rediss://) and its default plan', async () => {
    const res = await create('dataweb', { plan: 'heroku-redis' })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(res.body.plan.name, 'heroku-redis:private-7')
    assert.deepEqual(res.body.config_vars, ['REDIS_URL'])
    assert.match((await config('dataweb')).REDIS_URL!, /^rediss:\/\/:[^@]+@[\d.]+:6379$/)
  })

  test('private plans need an app in a space; shared tiers, Kafka and unknown plans are refused', async () => {
    const releases = api.store.releases.list(api.store.apps.find('plain-app')!.id).length
    const outside = await create('plain-app', { plan: 'heroku-postgresql:private-0' }, api.adminKey)
    assert.equal(outside.status, 422)
    assert.match(outside.body.message, /Private Space: plain-app is not in a space/)
    const shared = await create('dataweb', { plan: 'heroku-postgresql:essential-0' })
    assert.equal(shared.status, 422)
    assert.match(shared.body.message, /only Private-tier plans.*heroku-postgresql:private-0/)
    const kafka = await create('dataweb', { plan: 'heroku-kafka:private-standard-0' })
    assert.equal(kafka.status, 422)
    assert.match(kafka.body.message, /no Kafka broker can be installed/)
    const unknown = await create('dataweb', { plan: 'heroku-postgresql:private-99' })
    assert.equal(unknown.status, 404)
    assert.equal(unknown.body.resource, 'plan')
    const option = await create('dataweb', { plan: 'heroku-redis', config: { fork: 'x' } })
    assert.equal(option.status, 422)
    assert.match(option.body.message, /no option --fork/)
    const badName = await create('dataweb', { plan: 'heroku-redis', name: '9bad' })
    assert.equal(badName.status, 422)
    const badType = await create('dataweb', { plan: 'heroku-redis', config: { x: 5 } })
    assert.equal(badType.status, 422)
    // Nothing was made.
    assert.equal(api.store.releases.list(api.store.apps.find('plain-app')!.id).length, releases)
    const list = await api.call('GET', '/apps/dataweb/addons')
    assert.deepEqual(
      (list.body as Array<{ addon_service: { name: string } }>)
        .map((a) => a.addon_service.name)
        .sort(),
      ['heroku-postgresql', 'heroku-redis'],
    )
  })

  test('a name already taken asks for confirmation; confirming replaces the attachment', async () => {
    const clash = await create('dataworker', {
      plan: 'heroku-redis',
      attachment: { name: 'CACHE' },
    })
    assert.equal(clash.status, 201)
    const again = await create('dataworker', {
      plan: 'heroku-redis:private-3',
      attachment: { name: 'CACHE' },
    })
    assert.equal(again.status, 422)
    assert.equal(again.body.id, 'confirmation_required')
    assert.equal((await api.call('GET', '/apps/dataworker/addons')).body.length, 1)
    const confirmed = await create('dataworker', {
      plan: 'heroku-redis:private-3',
      attachment: { name: 'CACHE' },
      confirm: 'dataworker',
    })
    assert.equal(confirmed.status, 201)
    assert.deepEqual(confirmed.body.config_vars, ['CACHE_URL'])
    const old = await api.call('GET', `/addons/${clash.body.id}`)
    assert.deepEqual(old.body.config_vars, [])
  })

  test('the resolvers find add-ons and attachments as the CLI names them, with its headers', async () => {
    const byAttachment = await api.call(
      'POST',
      '/actions/addons/resolve',
      { addon: 'DATABASE_URL', app: 'dataweb' },
      { headers: EXPAND },
    )
    assert.equal(byAttachment.status, 200)
    assert.deepEqual(
      (byAttachment.body as Array<{ id: string }>).map((a) => a.id),
      [db.id],
    )
    assert.equal(byAttachment.body[0].addon_service.human_name, 'Heroku Postgres')
    const byName = await api.call('POST', '/actions/addons/resolve', { addon: db.name, app: null })
    assert.deepEqual(
      (byName.body as Array<{ id: string }>).map((a) => a.id),
      [db.id],
    )
    const scoped = await api.call('POST', '/actions/addons/resolve', { addon: 'dataweb::DATABASE' })
    assert.deepEqual(
      (scoped.body as Array<{ id: string }>).map((a) => a.id),
      [db.id],
    )
    const none = await api.call('POST', '/actions/addons/resolve', {
      addon: 'nope',
      app: 'dataweb',
    })
    assert.equal(none.status, 404)
    assert.equal(none.body.resource, 'add_on')

    const att = await api.call(
      'POST',
      '/actions/addon-attachments/resolve',
      { addon_attachment: 'DATABASE', app: 'dataweb' },
      { headers: INCLUDE },
    )
    assert.equal(att.status, 200)
    assert.equal(att.body.length, 1)
    assert.equal(att.body[0].addon.plan.name, 'heroku-postgresql:private-0')
    assert.deepEqual(att.body[0].config_vars, ['DATABASE_URL'])
    const attNone = await api.call('POST', '/actions/addon-attachments/resolve', {
      addon_attachment: 'NOPE',
      app: 'dataweb',
    })
    assert.equal(attNone.status, 404)
    assert.equal(attNone.body.resource, 'add_on attachment')
    const all = await api.call('GET', '/apps/dataweb/addon-attachments', undefined, {
      headers: INCLUDE,
    })
    assert.deepEqual((all.body as Array<{ name: string }>).map((t) => t.name).sort(), [
      'DATABASE',
      'REDIS',
    ])
  })

  test('attach to another app of the space and detach: each a release; other spaces refused', async () => {
    const attached = await api.call('POST', '/addon-attachments', {
      addon: { name: db.name },
      app: { name: 'dataworker' },
      name: 'MAIN_DB',
    })
    assert.equal(attached.status, 201, JSON.stringify(attached.body))
    assert.equal((await config('dataworker')).MAIN_DB_URL, (await config('dataweb')).DATABASE_URL)
    assert.equal(lastRelease('dataworker').description, `Attach MAIN_DB (@ref:${db.name})`)
    const viaAddon = await api.call('GET', `/addons/${db.id}/addon-attachments`)
    assert.deepEqual(
      (viaAddon.body as Array<{ app: { name: string } }>).map((t) => t.app.name).sort(),
      ['dataweb', 'dataworker'],
    )
    const byName = await api.call('GET', '/apps/dataworker/addon-attachments/MAIN_DB')
    assert.equal(byName.body.id, attached.body.id)

    const detached = await api.call('DELETE', `/addon-attachments/${attached.body.id}`)
    assert.equal(detached.status, 200)
    assert.equal((await config('dataworker')).MAIN_DB_URL, undefined)
    assert.equal(lastRelease('dataworker').description, `Detach MAIN_DB (@ref:${db.name})`)
    assert.equal((await api.call('GET', `/addon-attachments/${attached.body.id}`)).status, 404)

    const outside = await api.call('POST', '/addon-attachments', {
      addon: db.name,
      app: 'plain-app',
    })
    assert.equal(outside.status, 422)
    assert.match(outside.body.message, /only apps in its space can reach it/)
  })

  test('team roles: members create and attach, only admins destroy; strangers see nothing', async () => {
    const made = await create('dataworker', { plan: 'heroku-redis:private-3' }, member)
    assert.equal(made.status, 201)
    const refused = await api.call('DELETE', `/apps/dataworker/addons/${made.body.id}`, undefined, {
      key: member,
    })
    assert.equal(refused.status, 403)
    assert.equal((await api.call('GET', `/addons/${made.body.id}`)).body.state, 'provisioning')
    for (const path of [`/addons/${made.body.id}`, '/apps/dataworker/addons']) {
      assert.equal((await api.call('GET', path, undefined, { key: stranger })).status, 404)
    }
    assert.deepEqual((await api.call('GET', '/addons', undefined, { key: stranger })).body, [])
    const resolved = await api.call(
      'POST',
      '/actions/addons/resolve',
      { addon: made.body.name },
      { key: stranger },
    )
    assert.equal(resolved.status, 404)
    const gone = await api.call('DELETE', `/apps/dataworker/addons/${made.body.id}`, undefined, {
      key: admin,
    })
    assert.equal(gone.status, 200)
  })

  test('rename and change plan within the service', async () => {
    const res = await api.call('PATCH', `/apps/dataweb/addons/${db.id}`, {
      plan: 'heroku-postgresql:private-2',
      name: 'main-db',
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.name, 'main-db')
    assert.equal(res.body.plan.name, 'heroku-postgresql:private-2')
    const wrong = await api.call('PATCH', `/apps/dataweb/addons/${db.id}`, {
      plan: 'heroku-redis:private-7',
    })
    assert.equal(wrong.status, 422)
    db = res.body
  })

  test('the agent seam: desired servers, available, failed, and removal after destroy', async () => {
    const space = api.store.spaces.find('dataspace')!
    const desired = desiredDataServers(api.store, space.id)
    const mine = desired.find((d) => d.addonId === db.id)!
    assert.equal(mine.kind, 'postgres')
    assert.equal(mine.memoryMb, 8 * 1024)
    assert.equal(mine.maxConnections, 400)
    assert.equal(mine.state, 'provisioning')
    assert.equal(mine.leader, null)
    const ctx = { store: api.store, events: api.events }
    // Facts as decided: provisioned, no new release.
    const version = lastRelease('dataweb').version
    assert.equal(markAddonAvailable(ctx, db.id, mine), true)
    assert.equal((await api.call('GET', `/addons/${db.id}`)).body.state, 'provisioned')
    assert.equal(lastRelease('dataweb').version, version)
    // A changed port: the URL follows in an Update release.
    assert.equal(markAddonAvailable(ctx, db.id, { ...mine, port: 5433 }), true)
    assert.equal(new URL((await config('dataweb')).DATABASE_URL!).port, '5433')
    assert.equal(lastRelease('dataweb').description, 'Update DATABASE by heroku-postgresql')

    const redis = desired.find((d) => d.kind === 'redis' && d.addonId !== db.id)!
    assert.equal(markAddonFailed(ctx, redis.addonId, 'server did not start'), true)
    assert.equal((await api.call('GET', `/addons/${redis.addonId}`)).body.state, 'deprovisioned')
    assert.ok(!desiredDataServers(api.store).some((d) => d.addonId === redis.addonId))

    // Destroy: config var gone in a Detach release, the add-on waits for the agent.
    const gone = await api.call('DELETE', `/apps/dataweb/addons/${db.id}`)
    assert.equal(gone.body.state, 'deprovisioned')
    assert.equal((await config('dataweb')).DATABASE_URL, undefined)
    assert.equal(lastRelease('dataweb').description, `Detach DATABASE (@ref:${db.name})`)
    assert.equal((await api.call('GET', `/addons/${db.id}`)).status, 404)
    // Its server runs on for the final backup (pg:backups), and goes once that is done.
    const final = openTransfers(api.store).find((t) => t.addonId === db.id)!
    assert.equal(final.kind, 'backup')
    assert.ok(!addonsToRemove(api.store).includes(db.id))
    markTransferStarted(ctx, final.id)
    markTransferFinished(ctx, final.id, { succeeded: true, processedBytes: 1, message: 'done' })
    assert.ok(addonsToRemove(api.store).includes(db.id))
    assert.ok(!desiredDataServers(api.store).some((d) => d.addonId === db.id))
    // Not for a live add-on; then the record and its network attachment go.
    assert.equal(markAddonDeprovisioned(ctx, redis.addonId), false)
    assert.equal(markAddonDeprovisioned(ctx, db.id), true)
    assert.equal(api.store.addons.byId(db.id), undefined)
    const net = api.store.network.attachments(space.id).filter((n) => n.owner === `addon:${db.id}`)
    assert.ok(net.every((n) => n.state === 'detaching'))
    assert.ok(!addonsToRemove(api.store).includes(db.id))
  })
})
