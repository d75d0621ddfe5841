/**
 * Custom domains are served only once their owner proves control of the name (issue 15 B7):
 * the API records a claim pending with a per-domain token and says which TXT record to
 * publish; the daemon's verifier finds it through real DNS (a server on loopback, asked over
 * the wire) and marks the domain verified; the router feed (over a real routing table) serves
 * verified domains only. Claims across teams: first to verify wins; a verified wildcard keeps
 * other teams from the names one label under it. `--domain-verification off` trusts at once;
 * domains of a store from before verification stay served.
 */
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { DomainVerifier } from '../../src/daemon/domain-verifier.js'
import { parseDomainVerification } from '../../src/daemon/options.js'
import { RouterFeed } from '../../src/daemon/router-feed.js'
import { RoutingTable, type RouterService } from '../../src/router/index.js'
import { openDatabase } from '../../src/store/db.js'
import { MIGRATIONS } from '../../src/store/migrations.js'
import { Store } from '../../src/store/store.js'
import { startFakeUpstream, type FakeUpstream } from '../dns/fake-upstream.js'
import { startTestApi, type TestApi } from '../helpers/api.js'
import { waitUntil } from '../helpers/wait.js'

const TOKEN = /^[0-9a-f]{32}$/

/** The router as the feed sees it: the real routing table, updates in force at once. */
function tableOnlyRouter(domain: string): RouterService & { routes: RoutingTable } {
  return {
    routes: new RoutingTable(domain),
    start: async () => undefined,
    close: async () => undefined,
    addresses: () => [],
    afterApplied: (fn) => fn(),
  }
}

describe('custom domain verification', () => {
  let api: TestApi
  let dns: FakeUpstream
  let verifier: DomainVerifier
  let feed: RouterFeed
  const router = tableOnlyRouter('apps.test')
  /** What the DNS server on loopback answers; tests publish records in it. */
  const zone: Record<string, { txt: string[] }> = {}

  const add = (app: string, hostname: string) =>
    api.call('POST', `/apps/${app}/domains`, { hostname, sni_endpoint: null })
  const status = async (app: string, hostname: string): Promise<string> =>
    String((await api.call('GET', `/apps/${app}/domains/${hostname}`)).body.status)
  const served = (host: string) => router.routes.routeForHost(host)?.app.name
  /** Publishes a domain's token where the API said, as its owner would. */
  const publish = (domain: { verification_txt_name: string; verification_txt_value: string }) => {
    const records = (zone[domain.verification_txt_name] ??= { txt: [] })
    records.txt.push(domain.verification_txt_value)
  }
  /** How many times the verifier has asked for this TXT name. */
  const asked = (name: string) => dns.asked.filter((a) => a.startsWith(`${name}/TXT/`)).length

  before(async () => {
    api = await startTestApi({ domain: 'apps.test' })
    for (const team of ['ver-a', 'ver-b']) {
      assert.equal((await api.call('POST', '/teams', { name: team })).status, 201)
    }
    assert.equal(
      (await api.call('POST', '/spaces', { name: 'ver-space', team: 'ver-a' })).status,
      201,
    )
    await waitUntil(
      'the space allocated',
      () => api.store.spaces.find('ver-space')?.state === 'allocated',
    )
    for (const [name, body] of [
      ['ver-a-app', { space: 'ver-space' }],
      ['ver-a-other', { space: 'ver-space' }],
      ['ver-b-app', { team: 'ver-b' }],
    ] as const) {
      const res = await api.call('POST', '/teams/apps', { name, ...body })
      assert.equal(res.status, 201, JSON.stringify(res.body))
    }
    dns = await startFakeUpstream('127.0.0.1', zone)
    verifier = new DomainVerifier({
      store: api.store,
      events: api.events,
      servers: [`127.0.0.1:${dns.port}`],
      firstDelayMs: 50,
      maxDelayMs: 200,
      timeoutMs: 2000,
    })
    feed = new RouterFeed({
      store: api.store,
      events: api.events,
      router,
      dynos: () => [],
      port: 5000,
    })
    feed.start()
    verifier.start()
  })
  after(async () => {
    await verifier?.stop()
    await feed?.stop()
    await dns?.close()
    await api?.close()
  })

  test('domains:add records a pending claim and says which TXT record proves it', async () => {
    const res = await add('ver-a-app', 'Shop.Example.com')
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.equal(res.body.status, 'pending')
    assert.equal(res.body.cname, 'ver-a-app.apps.test')
    assert.equal(res.body.verification_txt_name, '_localspace-challenge.shop.example.com')
    assert.match(res.body.verification_txt_value, TOKEN)
    const star = await add('ver-a-app', '*.wild.example.com')
    assert.equal(star.body.status, 'pending')
    // A wildcard is proved where its zone is.
    assert.equal(star.body.verification_txt_name, '_localspace-challenge.wild.example.com')
    assert.notEqual(star.body.verification_txt_value, res.body.verification_txt_value)
    const listed = (await api.call('GET', '/apps/ver-a-app/domains')).body as Array<{
      hostname: string
    }>
    const shop = listed.find((d) => d.hostname === 'shop.example.com')
    assert.deepEqual(shop, res.body)
    assert.equal(api.store.domains.find(res.body.app.id, 'shop.example.com')?.verifiedAt, null)
    // Not served yet; the app's default name is.
    assert.equal(served('ver-a-app.apps.test'), 'ver-a-app')
    assert.equal(served('shop.example.com'), undefined)
    assert.equal(served('x.wild.example.com'), undefined)
  })

  test('a wrong token leaves it pending; the right one gets it verified and served', async () => {
    const shop = (await api.call('GET', '/apps/ver-a-app/domains/shop.example.com')).body
    const name = shop.verification_txt_name
    zone[name] = { txt: ['v=spf1 -all', 'f'.repeat(32)] }
    const before = asked(name)
    await waitUntil('the verifier to look twice', () => asked(name) >= before + 2)
    assert.equal(await status('ver-a-app', 'shop.example.com'), 'pending')
    assert.equal(served('shop.example.com'), undefined)

    publish(shop)
    await waitUntil('shop.example.com verified', async () => {
      return (await status('ver-a-app', 'shop.example.com')) === 'succeeded'
    })
    // The verifier's domains.changed reached the router feed.
    assert.equal(served('shop.example.com'), 'ver-a-app')
  })

  test('a name another app has verified is refused; unverified claims do not block', async () => {
    const taken = await add('ver-b-app', 'shop.example.com')
    assert.equal(taken.status, 422)
    assert.deepEqual(taken.body, {
      id: 'invalid_params',
      message: 'shop.example.com is currently in use by another app.',
    })
    // Team A claims first but does not verify; team B's claim is not blocked, and B verifies.
    const a = await add('ver-a-app', 'race.example.com')
    const b = await add('ver-b-app', 'race.example.com')
    assert.equal(a.status, 201)
    assert.equal(b.status, 201, JSON.stringify(b.body))
    assert.equal(b.body.status, 'pending')
    publish(b.body)
    await waitUntil('race.example.com verified by team B', async () => {
      return (await status('ver-b-app', 'race.example.com')) === 'succeeded'
    })
    // The loser is told (domains:wait stops on `failed`), and its proof no longer counts.
    assert.equal(await status('ver-a-app', 'race.example.com'), 'failed')
    publish(a.body)
    // A claim nobody proves, looked at every round: rounds go by past the loser's claim.
    const control = await add('ver-a-app', 'unproved.example.com')
    const name = control.body.verification_txt_name
    const before = asked(name)
    await waitUntil('three more rounds', () => asked(name) >= before + 3)
    assert.equal(await status('ver-a-app', 'race.example.com'), 'failed')
    assert.equal(
      api.store.domains.claims('race.example.com').filter((d) => d.verifiedAt !== null).length,
      1,
    )
    // Team A's app is not served there (team B's app is not in a space the feed serves).
    assert.equal(served('race.example.com'), undefined)

    // Once the holder lets go, the waiting claim is pending again and can win.
    assert.equal((await api.call('DELETE', '/apps/ver-b-app/domains/race.example.com')).status, 200)
    await waitUntil('race.example.com verified by team A', async () => {
      return (await status('ver-a-app', 'race.example.com')) === 'succeeded'
    })
    assert.equal(served('race.example.com'), 'ver-a-app')
  })

  test('a verified wildcard keeps other teams from the names under it, not its own team', async () => {
    const star = (await api.call('GET', '/apps/ver-a-app/domains/*.wild.example.com')).body
    publish(star)
    await waitUntil('*.wild.example.com verified', async () => {
      return (await status('ver-a-app', '*.wild.example.com')) === 'succeeded'
    })
    assert.equal(served('x.wild.example.com'), 'ver-a-app')
    const before = api.store.domains.claims('foo.wild.example.com')
    const covered = await add('ver-b-app', 'foo.wild.example.com')
    assert.equal(covered.status, 422)
    assert.equal(covered.body.id, 'invalid_params')
    assert.match(covered.body.message, /covered by the wildcard domain \*\.wild\.example\.com/)
    assert.deepEqual(api.store.domains.claims('foo.wild.example.com'), before)
    assert.equal((await add('ver-b-app', '*.wild.example.com')).status, 422)
    // Two labels under it: the wildcard does not serve it, so it does not block it.
    assert.equal((await add('ver-b-app', 'deep.foo.wild.example.com')).status, 201)
    // The same team may give a name under its wildcard to another of its apps.
    const mine = await add('ver-a-other', 'foo.wild.example.com')
    assert.equal(mine.status, 201, JSON.stringify(mine.body))
  })

  test('with --domain-verification off, domains are verified and served at once', async () => {
    assert.equal(parseDomainVerification('on'), true)
    assert.equal(parseDomainVerification('off'), false)
    assert.throws(() => parseDomainVerification('no'), /must be on or off/)
    const open = await startTestApi({ domain: 'apps.test', domainVerification: false })
    const table = tableOnlyRouter('apps.test')
    const openFeed = new RouterFeed({
      store: open.store,
      events: open.events,
      router: table,
      dynos: () => [],
      port: 5000,
    })
    try {
      openFeed.start()
      await open.call('POST', '/teams', { name: 'open-team' })
      await open.call('POST', '/spaces', { name: 'open-space', team: 'open-team' })
      await waitUntil('the space allocated', () => {
        return open.store.spaces.find('open-space')?.state === 'allocated'
      })
      await open.call('POST', '/teams/apps', { name: 'open-app', space: 'open-space' })
      const res = await open.call('POST', '/apps/open-app/domains', {
        hostname: 'www.open.example',
      })
      assert.equal(res.status, 201)
      assert.equal(res.body.status, 'succeeded')
      assert.equal(table.routes.routeForHost('www.open.example')?.app.name, 'open-app')
    } finally {
      await openFeed.stop()
      await open.close()
    }
  })
})

describe('domains of a store from before verification', () => {
  const dir = mkdtempSync(join(tmpdir(), 'localspace-domains-migration-'))
  after(() => rmSync(dir, { recursive: true, force: true }))

  test('stay served: the upgrade marks them verified, each with a token of its own', () => {
    const file = join(dir, 'old.db')
    const old = openDatabase(
      file,
      MIGRATIONS.filter((m) => m.version < 8),
    )
    const at = '2024-01-02T03:04:05Z'
    old
      .prepare('INSERT INTO accounts (id, email, created_at, updated_at) VALUES (?, ?, ?, ?)')
      .run('acc', 'old@example.com', at, at)
    old
      .prepare(
        `INSERT INTO apps (id, name, owner_id, region, stack, build_stack, created_at, updated_at)
         VALUES ('app', 'old-app', 'acc', 'us', 'heroku-24', 'heroku-24', ?, ?)`,
      )
      .run(at, at)
    for (const [id, hostname] of [
      ['d1', 'www.old.example'],
      ['d2', '*.old.example'],
    ]) {
      old
        .prepare(
          `INSERT INTO app_domains (id, app_id, hostname, created_at, updated_at)
           VALUES (?, 'app', ?, ?, ?)`,
        )
        .run(id, hostname, at, at)
    }
    old.close()

    const store = Store.open(file)
    try {
      const domains = store.domains.served()
      assert.deepEqual(
        domains.map((d) => [d.hostname, d.verifiedAt]),
        [
          ['www.old.example', at],
          ['*.old.example', at],
        ],
      )
      for (const d of domains) assert.match(d.verificationToken, TOKEN)
      assert.notEqual(domains[0]!.verificationToken, domains[1]!.verificationToken)
      assert.deepEqual(store.domains.pending(), [])
    } finally {
      store.close()
    }
  })
})

describe('a DNS server that never answers', () => {
  let api: TestApi
  let silent: Socket
  let queries = 0
  before(async () => {
    api = await startTestApi({ domain: 'apps.test' })
    assert.equal((await api.call('POST', '/apps', { name: 'ver-silent' })).status, 201)
    // Reads every query and answers none.
    silent = createSocket('udp4', () => queries++)
    await new Promise<void>((resolve) => silent.bind(0, '127.0.0.1', resolve))
  })
  after(async () => {
    silent?.close()
    await api?.close()
  })

  test('a lookup gives up at its deadline (the domain stays pending) and stop() does not wait for one', async () => {
    const verifier = new DomainVerifier({
      store: api.store,
      events: api.events,
      servers: [`127.0.0.1:${silent.address().port}`],
      firstDelayMs: 50,
      maxDelayMs: 100,
      timeoutMs: 300,
    })
    const res = await api.call('POST', '/apps/ver-silent/domains', {
      hostname: 'quiet.example.org',
      sni_endpoint: null,
    })
    assert.equal(res.status, 201)
    verifier.start()
    try {
      // Looked at again and again: each lookup ended at its deadline instead of hanging.
      await waitUntil('several lookups', () => queries >= 4, { timeoutMs: 10_000 })
      assert.equal(
        String((await api.call('GET', '/apps/ver-silent/domains/quiet.example.org')).body.status),
        'pending',
      )
    } finally {
      const stopping = Date.now()
      await verifier.stop()
      // A lookup in flight is cancelled, not waited for to its 300 ms deadline.
      assert.ok(Date.now() - stopping < 250, `stop took ${Date.now() - stopping} ms`)
    }
  })
})
