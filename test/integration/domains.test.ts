/**
 * Custom domains and SNI endpoints through the API (`heroku domains*`, `heroku certs*`), every
 * success body checked against Heroku's `domain` and `sni-endpoint` schema by the helper; the
 * `domains.changed` event the router follows; what is refused leaves the store unchanged.
 */
import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestApi, type TestApi } from '../helpers/api.js'
import { caSigned, selfSigned, type TestCertificate } from '../helpers/certs.js'

const APP = 'domain-app'
const OTHER = 'other-app'
interface Endpoint {
  id: string
  name: string
  ssl_cert: { id: string; cert_domains: string[] }
}
const byDomain = (list: Endpoint[], name: string): Endpoint =>
  list.find((e) => e.ssl_cert.cert_domains.includes(name))!
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('custom domains and SNI endpoints API', () => {
  let api: TestApi
  let appId: string
  const changed: string[] = []
  let www: TestCertificate
  let wildcard: TestCertificate

  const tables = () => ({
    domains: api.store.db.prepare('SELECT * FROM app_domains ORDER BY rowid').all(),
    endpoints: api.store.db.prepare('SELECT * FROM sni_endpoints ORDER BY rowid').all(),
  })

  before(async () => {
    // Verification is not the subject here (domain-verification.test.ts): trusted at once.
    api = await startTestApi({ domain: 'apps.test', domainVerification: false })
    api.events.on('domains.changed', (id) => changed.push(id))
    const created = await api.call('POST', '/apps', { name: APP })
    appId = created.body.id
    await api.call('POST', '/apps', { name: OTHER })
    www = selfSigned(['www.example.com'])
    wildcard = caSigned(['*.example.org', 'example.org'])
  })
  after(() => api.close())

  test('a new app lists only its default domain, kind heroku', async () => {
    const res = await api.call('GET', `/apps/${APP}/domains`)
    assert.equal(res.status, 200)
    assert.equal(res.body.length, 1)
    const [d] = res.body
    assert.equal(d.kind, 'heroku')
    assert.equal(d.hostname, `${APP}.apps.test`)
    assert.equal(d.cname, null)
    assert.equal(d.status, 'none')
    assert.equal(d.sni_endpoint, null)
    assert.deepEqual(d.app, { id: appId, name: APP })
    const again = await api.call('GET', `/apps/${APP}/domains/${d.hostname}`)
    assert.deepEqual(again.body, d)
    assert.deepEqual((await api.call('GET', `/apps/${APP}/domains/${d.id}`)).body, d)
  })

  test('domains:add stores a custom domain pointing at the app’s default hostname', async () => {
    changed.length = 0
    const res = await api.call('POST', `/apps/${APP}/domains`, {
      hostname: 'WWW.Example.com.',
      sni_endpoint: null,
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.match(res.body.id, UUID)
    assert.equal(res.body.hostname, 'www.example.com')
    assert.equal(res.body.kind, 'custom')
    assert.equal(res.body.cname, `${APP}.apps.test`)
    assert.equal(res.body.status, 'succeeded')
    assert.equal(res.body.acm_status, null)
    assert.equal(res.body.sni_endpoint, null)
    assert.deepEqual(changed, [appId])
    // sni_endpoint may be left out; wildcard domains are domains too.
    const star = await api.call('POST', `/apps/${appId}/domains`, { hostname: '*.example.org' })
    assert.equal(star.status, 201, JSON.stringify(star.body))
    const list = await api.call('GET', `/apps/${APP}/domains`)
    assert.deepEqual(
      (list.body as Array<{ hostname: string; kind: string }>)
        .map((d) => [d.kind, d.hostname])
        .sort(),
      [
        ['custom', '*.example.org'],
        ['custom', 'www.example.com'],
        ['heroku', `${APP}.apps.test`],
      ],
    )
    assert.deepEqual((await api.call('GET', `/apps/${APP}/domains/www.example.com`)).body, res.body)
  })

  test('bad hostnames, taken hostnames and the installation’s own names are refused', async () => {
    const before = tables()
    const cases: Array<[string, unknown, number, RegExp]> = [
      [APP, { hostname: 'not a host' }, 422, /not a valid hostname/],
      [APP, { hostname: 'localhost' }, 422, /not a valid hostname/],
      [APP, { hostname: '203.0.113.7' }, 422, /IP address/],
      [APP, { hostname: 'a..example.com' }, 422, /not a valid hostname/],
      [APP, { hostname: '-a.example.com' }, 422, /not a valid hostname/],
      [APP, { hostname: 'www.*.example.com' }, 422, /not a valid hostname/],
      [APP, { hostname: `${'a'.repeat(64)}.example.com` }, 422, /not a valid hostname/],
      [APP, { hostname: 'x.apps.test' }, 422, /under apps\.test/],
      [APP, { hostname: 42 }, 422, /hostname/],
      [APP, {}, 422, /hostname/],
      [APP, { hostname: 'www.example.com' }, 422, /^Domain already added to this app\.$/],
      [
        OTHER,
        { hostname: 'www.example.com' },
        422,
        /^www\.example\.com is currently in use by another app\.$/,
      ],
      [APP, { hostname: 'new.example.com', sni_endpoint: 'nope' }, 404, /SNI endpoint/],
      ['nope', { hostname: 'new.example.com' }, 404, /app/],
    ]
    for (const [app, body, status, message] of cases) {
      const res = await api.call('POST', `/apps/${app}/domains`, body)
      assert.equal(res.status, status, `${JSON.stringify(body)}: ${JSON.stringify(res.body)}`)
      assert.equal(res.body.id, status === 404 ? 'not_found' : 'invalid_params')
      assert.match(res.body.message, message)
    }
    assert.deepEqual(tables(), before)
  })

  test('the default domain cannot be removed or given a certificate; unknown ones are 404', async () => {
    const before = tables()
    const dflt = `${APP}.apps.test`
    const del = await api.call('DELETE', `/apps/${APP}/domains/${dflt}`)
    assert.equal(del.status, 422)
    assert.match(del.body.message, /default domain; it cannot be removed/)
    const patch = await api.call('PATCH', `/apps/${APP}/domains/${dflt}`, { sni_endpoint: null })
    assert.equal(patch.status, 422)
    for (const [method, body] of [
      ['GET', undefined],
      ['PATCH', { sni_endpoint: null }],
      ['DELETE', undefined],
    ] as const) {
      const res = await api.call(method, `/apps/${APP}/domains/nowhere.example.com`, body)
      assert.equal(res.status, 404, method)
      assert.equal(res.body.id, 'not_found')
    }
    // A domain of another app is not found through this one.
    assert.equal((await api.call('GET', `/apps/${OTHER}/domains/www.example.com`)).status, 404)
    assert.deepEqual(tables(), before)
  })

  test('certs:add checks the chain and key and shows the certificate, never the key', async () => {
    changed.length = 0
    const res = await api.call('POST', `/apps/${APP}/sni-endpoints`, {
      certificate_chain: www.cert,
      private_key: www.key,
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.match(res.body.name, /^[a-z][a-z0-9-]{2,29}$/)
    assert.deepEqual(res.body.ssl_cert.cert_domains, ['www.example.com'])
    assert.equal(res.body.ssl_cert.subject, '/O=localspace test/CN=www.example.com')
    assert.equal(res.body.ssl_cert.issuer, res.body.ssl_cert.subject)
    assert.equal(res.body.ssl_cert['self_signed?'], true)
    assert.equal(res.body.ssl_cert['ca_signed?'], false)
    assert.ok(Date.parse(res.body.ssl_cert.expires_at) > Date.now())
    assert.ok(!JSON.stringify(res.body).includes('PRIVATE KEY'))
    assert.deepEqual(res.body.domains, [])
    assert.deepEqual(changed, [appId])
    const chain = await api.call('POST', `/apps/${APP}/sni-endpoints`, {
      certificate_chain: wildcard.cert,
      private_key: wildcard.key,
    })
    assert.equal(chain.status, 201, JSON.stringify(chain.body))
    assert.deepEqual(chain.body.ssl_cert.cert_domains, ['*.example.org', 'example.org'])
    assert.equal(chain.body.ssl_cert.issuer, '/O=localspace test/CN=Test CA')
    assert.equal(chain.body.ssl_cert['self_signed?'], false)
    const list = await api.call('GET', `/apps/${APP}/sni-endpoints`)
    assert.deepEqual(
      (list.body as Endpoint[]).map((e) => e.name).sort(),
      [res.body.name, chain.body.name].sort(),
    )
    const info = await api.call('GET', `/apps/${APP}/sni-endpoints/${res.body.name}`)
    assert.deepEqual(info.body, res.body)
    // The key is in the store, for the router.
    assert.equal(api.store.domains.findEndpoint(appId, res.body.id)?.privateKey, www.key)
  })

  test('bad certificates and keys are refused with what is wrong, and nothing is stored', async () => {
    const before = tables()
    const other = selfSigned(['other.example.com'])
    const encrypted =
      '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n'
    const cases: Array<[unknown, RegExp]> = [
      [{ certificate_chain: 'hello', private_key: www.key }, /no PEM certificate/],
      [
        {
          certificate_chain: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n',
          private_key: www.key,
        },
        /could not be parsed/,
      ],
      [{ certificate_chain: www.cert, private_key: 'key' }, /not a PEM private key/],
      [{ certificate_chain: www.cert, private_key: other.key }, /does not match the certificate/],
      [{ certificate_chain: www.cert + www.key, private_key: www.key }, /contains a private key/],
      [{ certificate_chain: www.cert, private_key: encrypted }, /private_key/],
      [{ certificate_chain: www.cert }, /private_key/],
      [{ certificate_chain: 1, private_key: www.key }, /certificate_chain/],
    ]
    for (const [body, message] of cases) {
      const res = await api.call('POST', `/apps/${APP}/sni-endpoints`, body)
      assert.equal(res.status, 422, JSON.stringify(res.body))
      assert.equal(res.body.id, 'invalid_params')
      assert.match(res.body.message, message)
    }
    assert.equal((await api.call('GET', `/apps/${APP}/sni-endpoints/nope`)).status, 404)
    assert.equal(
      (
        await api.call('POST', '/apps/nope/sni-endpoints', {
          certificate_chain: www.cert,
          private_key: www.key,
        })
      ).status,
      404,
    )
    assert.deepEqual(tables(), before)
  })

  test('domains:update --cert associates a covering certificate, and only a covering one', async () => {
    const endpoints = (await api.call('GET', `/apps/${APP}/sni-endpoints`)).body
    const wwwEndpoint = byDomain(endpoints, 'www.example.com')
    const orgEndpoint = byDomain(endpoints, 'example.org')
    changed.length = 0
    const res = await api.call('PATCH', `/apps/${APP}/domains/www.example.com`, {
      sni_endpoint: wwwEndpoint.name,
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.deepEqual(res.body.sni_endpoint, { id: wwwEndpoint.id, name: wwwEndpoint.name })
    assert.deepEqual(changed, [appId])
    const endpoint = await api.call('GET', `/apps/${APP}/sni-endpoints/${wwwEndpoint.id}`)
    assert.deepEqual(endpoint.body.domains, [res.body.id])

    const before = tables()
    const wrong = await api.call('PATCH', `/apps/${APP}/domains/*.example.org`, {
      sni_endpoint: wwwEndpoint.name,
    })
    assert.equal(wrong.status, 422)
    assert.match(wrong.body.message, /does not cover \*\.example\.org/)
    // A new certificate for the endpoint must still cover the domains that chose it.
    const narrowed = await api.call('PATCH', `/apps/${APP}/sni-endpoints/${wwwEndpoint.name}`, {
      certificate_chain: wildcard.cert,
      private_key: wildcard.key,
    })
    assert.equal(narrowed.status, 422)
    assert.match(narrowed.body.message, /does not cover www\.example\.com/)
    assert.deepEqual(tables(), before)

    // domains:add --cert CERT, as the CLI sends it.
    const added = await api.call('POST', `/apps/${APP}/domains`, {
      hostname: 'api.example.org',
      sni_endpoint: orgEndpoint.id,
    })
    assert.equal(added.status, 201, JSON.stringify(added.body))
    assert.equal(added.body.sni_endpoint.name, orgEndpoint.name)
  })

  test('certs:update replaces the certificate; certs:remove leaves its domains without one', async () => {
    const endpoints = (await api.call('GET', `/apps/${APP}/sni-endpoints`)).body
    const wwwEndpoint = byDomain(endpoints, 'www.example.com')
    const renewed = selfSigned(['www.example.com', 'www2.example.com'])
    const res = await api.call('PATCH', `/apps/${APP}/sni-endpoints/${wwwEndpoint.name}`, {
      certificate_chain: renewed.cert,
      private_key: renewed.key,
    })
    assert.equal(res.status, 200, JSON.stringify(res.body))
    assert.equal(res.body.name, wwwEndpoint.name)
    assert.deepEqual(res.body.ssl_cert.cert_domains, ['www.example.com', 'www2.example.com'])
    assert.notEqual(res.body.ssl_cert.id, wwwEndpoint.ssl_cert.id)
    changed.length = 0
    const removed = await api.call('DELETE', `/apps/${APP}/sni-endpoints/${wwwEndpoint.name}`)
    assert.equal(removed.status, 200)
    assert.deepEqual(changed, [appId])
    const domain = await api.call('GET', `/apps/${APP}/domains/www.example.com`)
    assert.equal(domain.body.sni_endpoint, null)
    assert.equal(api.store.domains.findEndpoint(appId, wwwEndpoint.id), undefined)
  })

  test('domains:remove removes it; the hostname is free again; the app takes its domains along', async () => {
    changed.length = 0
    const res = await api.call('DELETE', `/apps/${APP}/domains/www.example.com`)
    assert.equal(res.status, 200)
    assert.equal(res.body.hostname, 'www.example.com')
    assert.deepEqual(changed, [appId])
    const taken = await api.call('POST', `/apps/${OTHER}/domains`, { hostname: 'www.example.com' })
    assert.equal(taken.status, 201)
    assert.equal((await api.call('DELETE', `/apps/${OTHER}`)).status, 200)
    assert.deepEqual(api.store.domains.claims('www.example.com'), [])
  })

  test('the space topology lists custom domains after the default one', async () => {
    await api.call('POST', '/teams', { name: 'dom-team' })
    await api.call('POST', '/spaces', { name: 'dom-space', team: 'dom-team' })
    await api.call('POST', '/teams/apps', { name: 'spaced-app', space: 'dom-space' })
    await api.call('POST', '/apps/spaced-app/domains', { hostname: 'shop.example.net' })
    const topology = await api.call('GET', '/spaces/dom-space/topology')
    assert.equal(topology.status, 200)
    assert.deepEqual(topology.body.apps[0].domains, ['spaced-app.apps.test', 'shop.example.net'])
  })
})
