import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { after, before, describe, test } from 'node:test'
import type { DynoView, RuntimeView } from '../../src/core/runtime-view.js'
import { startTestApi, type TestApi } from '../helpers/api.js'

/** A team `acme` administered by the installation admin, with `member` as a plain member. */
async function acme(api: TestApi): Promise<{ member: string; outsider: string }> {
  const member = api.user('member@example.com')
  const outsider = api.user('outsider@example.com')
  assert.equal((await api.call('POST', '/teams', { name: 'acme' })).status, 201)
  const put = await api.call('PUT', '/teams/acme/members', {
    email: 'member@example.com',
    role: 'member',
  })
  assert.equal(put.status, 200)
  return { member, outsider }
}

describe('spaces', () => {
  let api: TestApi
  let member: string
  let outsider: string
  before(async () => {
    api = await startTestApi()
    ;({ member, outsider } = await acme(api))
  })
  after(() => api.close())

  test('creating a space returns it with its team, region and generation', async () => {
    const res = await api.call('POST', '/spaces', {
      name: 'prod',
      team: 'acme',
      region: 'oregon',
      shield: true,
      features: [],
      generation: 'cedar',
    })
    assert.equal(res.status, 201)
    assert.equal(res.body.name, 'prod')
    assert.equal(res.body.team.name, 'acme')
    assert.equal(res.body.organization.name, 'acme')
    assert.equal(res.body.region.name, 'oregon')
    assert.equal(res.body.shield, true)
    assert.equal(res.body.generation.name, 'cedar')
  })

  test('a space without a region is placed in virginia', async () => {
    const res = await api.call('POST', '/spaces', { name: 'staging', team: 'acme' })
    assert.equal(res.status, 201)
    assert.equal(res.body.region.name, 'virginia')
    assert.equal(res.body.shield, false)
  })

  test('a space is found by name and by id', async () => {
    const byName = await api.call('GET', '/spaces/prod')
    assert.equal(byName.status, 200)
    const byId = await api.call('GET', `/spaces/${byName.body.id}`)
    assert.equal(byId.status, 200)
    assert.equal(byId.body.name, 'prod')
  })

  test('accept-expansion region returns the full region object', async () => {
    const plain = await api.call('GET', '/spaces/prod')
    assert.deepEqual(Object.keys(plain.body.region).sort(), ['id', 'name'])
    const info = await api.call('GET', '/spaces/prod', undefined, {
      headers: { 'accept-expansion': 'region' },
    })
    assert.equal(info.body.region.description, 'Oregon, United States')
    assert.equal(info.body.region.private_capable, true)
    const list = await api.call('GET', '/spaces', undefined, {
      headers: { 'accept-expansion': 'region' },
    })
    assert.ok((list.body as any[]).every((s) => typeof s.region.description === 'string'))
  })

  test('spaces are listed for the installation admin and the team members', async () => {
    const all = await api.call('GET', '/spaces')
    assert.deepEqual((all.body as any[]).map((s) => s.name as string).sort(), ['prod', 'staging'])
    const mine = await api.call('GET', '/spaces', undefined, { key: member })
    assert.deepEqual((mine.body as any[]).map((s) => s.name as string).sort(), ['prod', 'staging'])
    const none = await api.call('GET', '/spaces', undefined, { key: outsider })
    assert.deepEqual(none.body, [])
  })

  test('a team’s spaces are listed under the team', async () => {
    const key = api.user('other-admin@example.com')
    await api.call('POST', '/teams', { name: 'other' }, { key })
    await api.call('POST', '/spaces', { name: 'elsewhere', team: 'other' }, { key })
    const res = await api.call('GET', '/teams/acme/spaces', undefined, { key: member })
    assert.equal(res.status, 200)
    assert.deepEqual((res.body as any[]).map((s) => s.name as string).sort(), ['prod', 'staging'])
    const other = await api.call('GET', '/teams/other/spaces', undefined, { key: member })
    assert.equal(other.status, 404)
  })

  test('a user outside the team cannot see the space', async () => {
    const res = await api.call('GET', '/spaces/prod', undefined, { key: outsider })
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
    assert.equal(res.body.resource, 'space')
  })

  test('a team member reads a space and its resources', async () => {
    for (const path of [
      '/spaces/prod',
      '/spaces/prod/inbound-ruleset',
      '/spaces/prod/inbound-rulesets',
      '/spaces/prod/nat',
      '/spaces/prod/topology',
      '/spaces/prod/dynos',
      '/spaces/prod/hosts',
    ]) {
      const res = await api.call('GET', path, undefined, { key: member })
      assert.equal(res.status, 200, path)
    }
  })

  test('a team member cannot create, rename or destroy spaces or change their rules', async () => {
    const before = JSON.stringify(api.store.spaces.all())
    const prod = api.store.spaces.find('prod')!
    const rulesetsBefore = JSON.stringify(api.store.spaces.rulesets(prod.id))
    const attempts: Array<[string, string, unknown]> = [
      ['POST', '/spaces', { name: 'sneaky', team: 'acme' }],
      ['PATCH', '/spaces/prod', { name: 'renamed' }],
      ['DELETE', '/spaces/prod', undefined],
      ['PUT', '/spaces/prod/inbound-ruleset', { rules: [] }],
      ['PUT', '/spaces/prod/log-drain', { url: 'https://logs.example.com/' }],
    ]
    for (const [method, path, body] of attempts) {
      const res = await api.call(method, path, body, { key: member })
      assert.equal(res.status, 403, `${method} ${path}`)
      assert.equal(res.body.id, 'forbidden')
    }
    assert.equal(JSON.stringify(api.store.spaces.all()), before)
    assert.equal(JSON.stringify(api.store.spaces.rulesets(prod.id)), rulesetsBefore)
    assert.equal(api.store.spaces.logDrain(prod.id), undefined)
  })

  test('renaming a space keeps its id and frees the old name', async () => {
    const before = await api.call('GET', '/spaces/staging')
    const res = await api.call('PATCH', '/spaces/staging', { name: 'stage' })
    assert.equal(res.status, 200)
    assert.equal(res.body.name, 'stage')
    assert.equal(res.body.id, before.body.id)
    assert.equal((await api.call('GET', '/spaces/staging')).status, 404)
    assert.equal((await api.call('GET', '/spaces/stage')).body.id, before.body.id)
  })

  test('renaming a space to its own name changes nothing', async () => {
    const res = await api.call('PATCH', '/spaces/stage', { name: 'stage' })
    assert.equal(res.status, 200)
    assert.equal(res.body.name, 'stage')
  })

  test('renaming a space to a taken name is rejected with invalid_params', async () => {
    const res = await api.call('PATCH', '/spaces/stage', { name: 'prod' })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
    assert.equal(api.store.spaces.find('stage')?.name, 'stage')
  })

  test('destroying a space answers deleting and the space is gone', async () => {
    const res = await api.call('DELETE', '/spaces/stage')
    assert.equal(res.status, 200)
    assert.equal(res.body.state, 'deleting')
    assert.equal((await api.call('GET', '/spaces/stage')).status, 404)
    assert.equal(api.store.spaces.find('stage'), undefined)
  })

  test('a destroyed space’s name and cidrs can be used again', async () => {
    const res = await api.call('POST', '/spaces', {
      name: 'stage',
      team: 'acme',
      cidr: '10.2.0.0/16',
      data_cidr: '10.3.0.0/16',
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
  })
})

describe('inbound ruleset (trusted ip ranges)', () => {
  let api: TestApi
  before(async () => {
    api = await startTestApi()
    await acme(api)
    assert.equal((await api.call('POST', '/spaces', { name: 'prod', team: 'acme' })).status, 201)
  })
  after(() => api.close())

  test('a new space admits the whole internet and the ruleset is applied', async () => {
    const res = await api.call('GET', '/spaces/prod/inbound-ruleset')
    assert.equal(res.status, 200)
    assert.deepEqual(res.body.rules, [{ action: 'allow', source: '0.0.0.0/0' }])
    assert.equal(res.body.version, '1')
    assert.equal(res.body.applied, true)
    assert.equal(res.body.space.name, 'prod')
    assert.equal(res.body.created_by, 'admin@localspace.localhost')
  })

  test('each put makes a new version with a new id', async () => {
    const first = await api.call('GET', '/spaces/prod/inbound-ruleset')
    const res = await api.call('PUT', '/spaces/prod/inbound-ruleset', {
      rules: [
        { action: 'allow', source: '203.0.113.0/24' },
        { action: 'deny', source: '203.0.113.7/32' },
      ],
    })
    assert.equal(res.status, 200)
    assert.equal(res.body.version, '2')
    assert.notEqual(res.body.id, first.body.id)
    assert.deepEqual(res.body.rules, [
      { action: 'allow', source: '203.0.113.0/24' },
      { action: 'deny', source: '203.0.113.7/32' },
    ])
    const current = await api.call('GET', '/spaces/prod/inbound-ruleset')
    assert.equal(current.body.id, res.body.id)
    assert.equal(current.body.applied, true, 'applied once the daemon has applied it')
  })

  test('putting back the whole get body with a rule added ignores the unknown fields', async () => {
    // What `spaces:trusted-ips:add` does (docs/heroku-reference.md §3.3).
    const got = (await api.call('GET', '/spaces/prod/inbound-ruleset')).body
    const rules = got.rules as unknown[]
    rules.push({ action: 'allow', source: '198.51.100.0/24', note: 'ignored' })
    const res = await api.call('PUT', '/spaces/prod/inbound-ruleset', {
      ...got,
      extra: { anything: true },
    })
    assert.equal(res.status, 200)
    assert.equal(res.body.version, '3')
    assert.notEqual(res.body.id, got.id)
    assert.equal(res.body.created_by, 'admin@localspace.localhost')
    assert.deepEqual((res.body.rules as unknown[]).at(-1), {
      action: 'allow',
      source: '198.51.100.0/24',
    })
  })

  test('an empty rule list is allowed and blocks everything', async () => {
    const res = await api.call('PUT', '/spaces/prod/inbound-ruleset', { rules: [] })
    assert.equal(res.status, 200)
    assert.deepEqual(res.body.rules, [])
    assert.equal(res.body.version, '4')
  })

  test('twenty ranges are allowed', async () => {
    const rules = Array.from({ length: 20 }, (_, i) => ({
      action: 'allow',
      source: `198.51.${i}.0/24`,
    }))
    const res = await api.call('PUT', '/spaces/prod/inbound-ruleset', { rules })
    assert.equal(res.status, 200)
    assert.equal(res.body.rules.length, 20)
  })

  test('the history lists every version and each can be read by id', async () => {
    const list = await api.call('GET', '/spaces/prod/inbound-rulesets')
    assert.equal(list.status, 200)
    assert.deepEqual(
      (list.body as any[]).map((r) => r.version as string).sort((a, b) => +a - +b),
      ['1', '2', '3', '4', '5'],
    )
    for (const r of list.body) {
      const one = await api.call('GET', `/spaces/prod/inbound-rulesets/${r.id}`)
      assert.equal(one.status, 200)
      assert.deepEqual(one.body, r)
    }
  })

  test('an unknown ruleset id is not found', async () => {
    const res = await api.call(
      'GET',
      '/spaces/prod/inbound-rulesets/00000000-0000-4000-8000-000000000000',
    )
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
  })

  test('a ruleset of another space is not found through this one', async () => {
    await api.call('POST', '/spaces', { name: 'other', team: 'acme' })
    const other = await api.call('GET', '/spaces/other/inbound-ruleset')
    const res = await api.call('GET', `/spaces/prod/inbound-rulesets/${other.body.id}`)
    assert.equal(res.status, 404)
  })
})

describe('nat, topology, dynos, hosts and log drain', () => {
  let api: TestApi
  let member: string
  const appDynos = new Map<string, DynoView[]>()
  const runtime: RuntimeView = {
    dynos: (appId) => appDynos.get(appId) ?? [],
    natSources: () => ['192.0.2.10', '192.0.2.11'],
    hosts: () => [
      {
        hostId: 'h-local',
        state: 'available',
        availableCapacityPercentage: 80,
        allocatedAt: '2024-01-01T00:00:00Z',
      },
    ],
    reservedCidrs: () => [],
    doctor: () => Promise.resolve([]),
  }
  before(async () => {
    api = await startTestApi({ runtime, domain: 'example.test' })
    ;({ member } = await acme(api))
    assert.equal((await api.call('POST', '/spaces', { name: 'prod', team: 'acme' })).status, 201)
  })
  after(() => api.close())

  test('nat is enabled with the runtime’s sources once the space is allocated', async () => {
    const res = await api.call('GET', '/spaces/prod/nat')
    assert.equal(res.status, 200)
    assert.equal(res.body.state, 'enabled')
    assert.deepEqual(res.body.sources, ['192.0.2.10', '192.0.2.11'])
  })

  test('the topology of an empty space has no apps', async () => {
    const res = await api.call('GET', '/spaces/prod/topology')
    assert.equal(res.status, 200)
    assert.deepEqual(res.body.apps, [])
  })

  test('the topology lists apps with domains and both formation keys', async () => {
    const created = await api.call('POST', '/teams/apps', { name: 'web-app', space: 'prod' })
    assert.equal(created.status, 201)
    const appId = created.body.id
    await api.call('PATCH', '/apps/web-app/formation', {
      updates: [
        { type: 'web', quantity: 2 },
        { type: 'worker', quantity: 1 },
      ],
    })
    const now = '2024-01-01T00:00:00Z'
    const dyno = (name: string, ip: string | null): DynoView => ({
      id: randomUUID(),
      name,
      type: name.split('.')[0]!,
      command: 'npm start',
      size: 'Private-S',
      state: 'up',
      releaseId: '00000000-0000-4000-8000-000000000001',
      releaseVersion: 1,
      privateIp: ip,
      createdAt: now,
      updatedAt: now,
    })
    appDynos.set(appId, [
      dyno('web.1', '10.0.128.1'),
      dyno('web.2', '10.0.128.2'),
      dyno('worker.1', null),
      dyno('run.1', '10.0.128.3'),
    ])
    const res = await api.call('GET', '/spaces/prod/topology')
    assert.equal(res.status, 200)
    const [app] = res.body.apps
    assert.equal(app.id, appId)
    assert.ok(Array.isArray(app.domains))
    assert.deepEqual(app.domains, ['web-app.example.test'])
    assert.deepEqual(app.formation, app.formations)
    const web = (app.formation as any[]).find((f) => f.process_type === 'web')
    assert.deepEqual(
      (web.dynos as any[]).map((d) => [
        d.number as number,
        d.private_ip as string,
        d.hostname as string,
      ]),
      [
        [1, '10.0.128.1', '1.web.web-app.app.localspace'],
        [2, '10.0.128.2', '2.web.web-app.app.localspace'],
      ],
    )
    assert.equal(
      web.dynos[0].host_entry,
      '10.0.128.1 1.web.web-app.app.localspace web.web-app.app.localspace',
    )
    const worker = (app.formation as any[]).find((f) => f.process_type === 'worker')
    assert.deepEqual(worker.dynos, [], 'dynos without a private ip are not listed')
    assert.equal(
      (app.formation as any[]).some((f) => f.process_type === 'run'),
      false,
    )
  })

  test('space dynos are grouped by app', async () => {
    const res = await api.call('GET', '/spaces/prod/dynos', undefined, { key: member })
    assert.equal(res.status, 200)
    assert.equal(res.body.length, 1)
    assert.equal(res.body[0].app_name, 'web-app')
    assert.deepEqual(
      (res.body[0].dynos as any[]).map((d) => d.name as string),
      ['web.1', 'web.2', 'worker.1', 'run.1'],
    )
    assert.equal(res.body[0].dynos[0].release.version, 1)
  })

  test('hosts come from the runtime', async () => {
    const res = await api.call('GET', '/spaces/prod/hosts')
    assert.equal(res.status, 200)
    assert.deepEqual(res.body, [
      {
        host_id: 'h-local',
        state: 'available',
        available_capacity_percentage: 80,
        allocated_at: '2024-01-01T00:00:00Z',
        released_at: null,
      },
    ])
  })

  test('a space without a log drain answers not found', async () => {
    const res = await api.call('GET', '/spaces/prod/log-drain')
    assert.equal(res.status, 404)
    assert.equal(res.body.id, 'not_found')
  })

  test('a log drain is set with put and read back with its token', async () => {
    const res = await api.call('PUT', '/spaces/prod/log-drain', {
      url: 'https://logs.example.com/ingest',
    })
    assert.equal(res.status, 200)
    assert.equal(res.body.url, 'https://logs.example.com/ingest')
    assert.match(res.body.token, /^d\./)
    const got = await api.call('GET', '/spaces/prod/log-drain', undefined, { key: member })
    assert.equal(got.status, 200)
    assert.deepEqual(got.body, res.body)
  })

  test('putting a new log drain url replaces the old one and keeps the token', async () => {
    const before = await api.call('GET', '/spaces/prod/log-drain')
    const res = await api.call('PUT', '/spaces/prod/log-drain', {
      url: 'https://other.example.com/',
    })
    assert.equal(res.status, 200)
    assert.equal(res.body.url, 'https://other.example.com/')
    assert.equal(res.body.token, before.body.token)
  })

  test('a log drain must use https', async () => {
    for (const url of ['http://logs.example.com/', 'syslog://logs.example.com:514', 'not a url']) {
      const res = await api.call('PUT', '/spaces/prod/log-drain', { url })
      assert.equal(res.status, 422, url)
      assert.equal(res.body.id, 'invalid_params')
    }
    const got = await api.call('GET', '/spaces/prod/log-drain')
    assert.equal(got.body.url, 'https://other.example.com/')
  })

  test('a log drain url given at creation is stored', async () => {
    const res = await api.call('POST', '/spaces', {
      name: 'shielded',
      team: 'acme',
      shield: true,
      log_drain_url: 'https://drain.example.com/',
    })
    assert.equal(res.status, 201)
    const got = await api.call('GET', '/spaces/shielded/log-drain')
    assert.equal(got.body.url, 'https://drain.example.com/')
  })

  test('an http log drain url at creation rejects the whole space', async () => {
    const res = await api.call('POST', '/spaces', {
      name: 'leaky',
      team: 'acme',
      log_drain_url: 'http://drain.example.com/',
    })
    assert.equal(res.status, 422)
    assert.equal(res.body.id, 'invalid_params')
    assert.equal(api.store.spaces.find('leaky'), undefined)
  })
})
