/**
 * App log drains through the API (`heroku drains`, `drains:add`, `drains:remove`), every
 * success body checked against Heroku's `log-drain` schema by the helper; and the whole path:
 * the store as the dispatcher's DrainSource, the API's `drains.changed`, lines at a receiver.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import https from 'node:https'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { LogStore } from '../../src/logs/store.js'
import { DrainDispatcher } from '../../src/logs/drains.js'
import { parseSyslogMessage, readOctetFrames } from '../../src/logs/syslog.js'
import { startTestApi, type TestApi } from '../helpers/api.js'
import { waitUntil } from '../helpers/wait.js'
import { AddressPolicy } from '../../src/core/address-policy.js'

const LOOPBACK_ALLOWED = new AddressPolicy({ allowed: ['127.0.0.0/8'] })

const APP = 'drained-app'
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

describe('app log drains API', () => {
  let api: TestApi
  let appId: string
  const changed: string[] = []

  before(async () => {
    api = await startTestApi()
    api.events.on('drains.changed', (id) => changed.push(id))
    const created = await api.call('POST', '/apps', { name: APP })
    assert.equal(created.status, 201)
    appId = created.body.id
  })
  after(() => api.close())

  test('drains:add stores a drain with Heroku’s shape and a d.<uuid> token', async () => {
    changed.length = 0
    const res = await api.call('POST', `/apps/${APP}/log-drains`, {
      url: 'https://logs.example.com/drain?key=1',
    })
    assert.equal(res.status, 201, JSON.stringify(res.body))
    assert.match(res.body.id, UUID)
    assert.equal(res.body.url, 'https://logs.example.com/drain?key=1')
    assert.match(res.body.token, /^d\.[0-9a-f-]{36}$/)
    assert.equal(res.body.addon, null)
    assert.deepEqual(res.body.app, { id: appId, name: APP })
    assert.equal(res.body.created_at, res.body.updated_at)
    assert.deepEqual(changed, [appId])
  })

  test('http, syslog and syslog+tls URLs are drains too', async () => {
    for (const url of [
      'http://user:pass@logs.example.com:8080/in',
      'syslog://logs.example.com:514',
      'syslog+tls://logs.example.com:6514',
    ]) {
      const res = await api.call('POST', `/apps/${appId}/log-drains`, { url })
      assert.equal(res.status, 201, `${url}: ${JSON.stringify(res.body)}`)
    }
    const list = await api.call('GET', `/apps/${APP}/log-drains`)
    assert.equal(list.status, 200)
    assert.deepEqual(
      (list.body as Array<{ url: string }>).map((d) => d.url),
      [
        'https://logs.example.com/drain?key=1',
        'http://user:pass@logs.example.com:8080/in',
        'syslog://logs.example.com:514',
        'syslog+tls://logs.example.com:6514',
      ],
    )
  })

  test('bad URLs are 422 invalid_params and store nothing', async () => {
    const before = api.store.drains.forApp(appId).length
    changed.length = 0
    for (const url of [
      'not a url',
      'ftp://logs.example.com/',
      'syslog://logs.example.com', // no port
      'syslog+tls://logs.example.com:6514/path',
      'syslog://user@logs.example.com:514',
      'https://',
      'https://logs.example.com/ has spaces',
      `https://logs.example.com/${'x'.repeat(3000)}`,
      'syslog:logs.example.com:514',
      '',
    ]) {
      const res = await api.call('POST', `/apps/${APP}/log-drains`, { url })
      assert.equal(res.status, 422, `${url.slice(0, 60)}: ${res.status}`)
      assert.equal(res.body.id, 'invalid_params')
    }
    for (const body of [{}, { url: 42 }, { url: null }]) {
      const res = await api.call('POST', `/apps/${APP}/log-drains`, body)
      assert.ok([400, 422].includes(res.status), `${JSON.stringify(body)}: ${res.status}`)
    }
    assert.equal(api.store.drains.forApp(appId).length, before)
    assert.deepEqual(changed, [])
  })

  test('a drain to a literal address of the host or a private network is 422', async () => {
    const before = api.store.drains.forApp(appId).length
    for (const url of [
      'http://127.0.0.1:9000/logs',
      'https://[::1]/logs',
      'syslog://10.1.2.3:514',
      'syslog+tls://169.254.169.254:6514',
      'https://[::ffff:192.168.1.1]/logs',
    ]) {
      const res = await api.call('POST', `/apps/${APP}/log-drains`, { url })
      assert.equal(res.status, 422, `${url}: ${res.status}`)
      assert.equal(res.body.id, 'invalid_params')
      assert.match(res.body.message, /must point to a public address/)
    }
    assert.equal(api.store.drains.forApp(appId).length, before)
  })

  test('the same URL twice on an app is 422; on another app it is fine', async () => {
    const again = await api.call('POST', `/apps/${APP}/log-drains`, {
      url: 'syslog://logs.example.com:514',
    })
    assert.equal(again.status, 422)
    assert.equal(again.body.id, 'invalid_params')
    assert.match(again.body.message, /already been taken/)
    assert.equal((await api.call('POST', '/apps', { name: 'other-app' })).status, 201)
    const other = await api.call('POST', '/apps/other-app/log-drains', {
      url: 'syslog://logs.example.com:514',
    })
    assert.equal(other.status, 201)
    assert.notEqual(other.body.token, again.body.token)
  })

  test('one drain is found by id, URL (encoded as the CLI does) or token', async () => {
    const [first] = (await api.call('GET', `/apps/${APP}/log-drains`)).body
    for (const key of [first.id, encodeURIComponent(first.url), first.token]) {
      const res = await api.call('GET', `/apps/${APP}/log-drains/${key}`)
      assert.equal(res.status, 200, key)
      assert.equal(res.body.id, first.id)
    }
    const missing = await api.call('GET', `/apps/${APP}/log-drains/d.nope`)
    assert.equal(missing.status, 404)
    assert.equal(missing.body.id, 'not_found')
    // `heroku drains -x` asks for the extended form.
    const extended = await api.call('GET', `/apps/${APP}/log-drains?extended=true`)
    assert.equal(extended.body[0].extended.drain_id, first.token)
  })

  test('drains:remove deletes by URL and answers with the drain', async () => {
    changed.length = 0
    const url = 'syslog+tls://logs.example.com:6514'
    const res = await api.call('DELETE', `/apps/${APP}/log-drains/${encodeURIComponent(url)}`)
    assert.equal(res.status, 200)
    assert.equal(res.body.url, url)
    assert.deepEqual(changed, [appId])
    const gone = await api.call('DELETE', `/apps/${APP}/log-drains/${encodeURIComponent(url)}`)
    assert.equal(gone.status, 404)
    assert.ok(!api.store.drains.forApp(appId).some((d) => d.url === url))
  })

  test('other accounts see no drains of apps they cannot see', async () => {
    const outsider = api.user('drain-outsider@example.com')
    for (const [method, path, body] of [
      ['GET', `/apps/${APP}/log-drains`, undefined],
      ['POST', `/apps/${APP}/log-drains`, { url: 'https://evil.example.com/' }],
      ['DELETE', `/apps/${APP}/log-drains/x`, undefined],
    ] as const) {
      const res = await api.call(method, path, body, { key: outsider })
      assert.equal(res.status, 404, `${method} ${path}`)
    }
    const anonymous = await api.call('GET', `/apps/${APP}/log-drains`, undefined, { key: null })
    assert.equal(anonymous.status, 401)
  })

  test('an app has at most 10 drains', async () => {
    assert.equal((await api.call('POST', '/apps', { name: 'many-drains' })).status, 201)
    for (let i = 0; i < 10; i++) {
      const res = await api.call('POST', '/apps/many-drains/log-drains', {
        url: `https://logs.example.com/${i}`,
      })
      assert.equal(res.status, 201)
    }
    const res = await api.call('POST', '/apps/many-drains/log-drains', {
      url: 'https://logs.example.com/10',
    })
    assert.equal(res.status, 422)
  })

  test('deleting the app deletes its drains', async () => {
    assert.equal((await api.call('POST', '/apps', { name: 'short-lived' })).status, 201)
    const d = await api.call('POST', '/apps/short-lived/log-drains', {
      url: 'https://logs.example.com/short',
    })
    assert.equal(d.status, 201)
    const id = d.body.app.id as string
    assert.equal((await api.call('DELETE', '/apps/short-lived')).status, 200)
    assert.deepEqual(api.store.drains.forApp(id), [])
  })
})

describe('drains end to end: API, store and dispatcher', () => {
  let api: TestApi
  let logs: LogStore
  let dispatcher: DrainDispatcher
  let receiver: https.Server
  let url: string
  let certDir: string
  const received: Array<{ token: string; host: string; text: string }> = []

  before(async () => {
    logs = new LogStore()
    // The receiver is on loopback, which this installation allows as an operator would a
    // range with --allow-private.
    api = await startTestApi({ logs, addressPolicy: LOOPBACK_ALLOWED })
    // Space drains are HTTPS only: the receiver has a self-signed certificate for 127.0.0.1,
    // which the dispatcher is told to trust.
    certDir = mkdtempSync(join(tmpdir(), 'localspace-drain-cert-'))
    const [keyFile, certFile] = [join(certDir, 'key.pem'), join(certDir, 'cert.pem')]
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
      ].concat(['-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile]),
      { stdio: 'ignore' },
    )
    const cert = readFileSync(certFile)
    receiver = https.createServer({ key: readFileSync(keyFile), cert }, (req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        for (const m of readOctetFrames(Buffer.concat(chunks)).messages) {
          const parsed = parseSyslogMessage(m, 'logplex')!
          const token = String(req.headers['logplex-drain-token'])
          received.push({ token, host: parsed.hostname, text: parsed.text })
        }
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
    url = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}/drain`
    dispatcher = new DrainDispatcher({
      logs,
      events: api.events,
      source: api.store.drains,
      ca: [cert],
      addressPolicy: LOOPBACK_ALLOWED,
      flushIntervalMs: 20,
      closeGraceMs: 0,
    })
    dispatcher.start()
  })
  after(async () => {
    await dispatcher.stop()
    receiver.closeAllConnections()
    await new Promise<void>((resolve) => receiver.close(() => resolve()))
    await api.close()
    rmSync(certDir, { recursive: true, force: true })
  })

  test('a drain added with the API gets the app’s lines; removed, it gets no more', async () => {
    const app = await api.call('POST', '/apps', { name: 'e2e-app' })
    const drain = await api.call('POST', '/apps/e2e-app/log-drains', { url })
    assert.equal(drain.status, 201)
    await waitUntil('the dispatcher to follow the app', () => logs.followerCount(app.body.id) === 1)
    logs.append(app.body.id, { source: 'app', dyno: 'web.1', text: 'hello drain' })
    await waitUntil('the line at the drain', () => received.length === 1)
    assert.deepEqual(received[0], { token: drain.body.token, host: 'host', text: 'hello drain' })
    const removed = await api.call('DELETE', `/apps/e2e-app/log-drains/${drain.body.id}`)
    assert.equal(removed.status, 200)
    await waitUntil('the dispatcher to let go', () => logs.followerCount(app.body.id) === 0)
  })

  test('the space log drain takes the lines of every app in the space', async () => {
    received.length = 0
    assert.equal((await api.call('POST', '/teams', { name: 'drainers' })).status, 201)
    const space = await api.call('POST', '/spaces', { name: 'drained', team: 'drainers' })
    assert.equal(space.status, 201)
    const ids: string[] = []
    for (const name of ['space-one', 'space-two']) {
      const res = await api.call('POST', '/teams/apps', { name, space: 'drained' })
      assert.equal(res.status, 201, JSON.stringify(res.body))
      ids.push(res.body.id)
    }
    const put = await api.call('PUT', '/spaces/drained/log-drain', { url })
    assert.equal(put.status, 200)
    await waitUntil('both apps followed', () => ids.every((id) => logs.followerCount(id) === 1))
    const drain = api.store.spaces.logDrain(space.body.id)!
    logs.append(ids[0]!, { source: 'app', dyno: 'web.1', text: 'from one' })
    logs.append(ids[1]!, { source: 'heroku', dyno: 'router', text: 'from two' })
    await waitUntil('both lines at the space drain', () => received.length === 2)
    assert.deepEqual(
      received.map((r) => `${r.token} ${r.host}: ${r.text}`),
      [`${drain.token} space-one: from one`, `${drain.token} space-two: from two`],
    )
  })
})
