/**
 * Log sessions over real HTTP: the API listens on 127.0.0.1:0, a session is made with
 * POST /apps/{app}/log-sessions, and its logplex_url is read as a client would, in plain text
 * and as Server-Sent Events (what the heroku CLI's EventSource asks for), with and without
 * tail.
 */
import assert from 'node:assert/strict'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { Writable } from 'node:stream'
import { after, before, describe, mock, test } from 'node:test'
import { buildProgram } from '../../src/cli/program.js'
import { defaultDeps } from '../../src/cli/context.js'
import { LogStore } from '../../src/logs/store.js'
import { startTestApi, type TestApi } from '../helpers/api.js'
import { waitUntil } from '../helpers/wait.js'

/** A response read as it arrives; `close()` hangs up as a reader pressing Ctrl-C would. */
interface OpenStream {
  status: number
  headers: http.IncomingHttpHeaders
  text: () => string
  ended: () => boolean
  close: () => void
}

function openStream(url: string, headers: Record<string, string> = {}): Promise<OpenStream> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers }, (res) => {
      let body = ''
      let ended = false
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => (body += chunk))
      res.on('end', () => (ended = true))
      res.on('error', () => undefined) // hanging up mid-stream is what close() is for
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        text: () => body,
        ended: () => ended,
        close: () => req.destroy(),
      })
    })
    req.on('error', reject)
  })
}

/** A stream that hands what is written to it, as text, to `take`. */
const sink = (take: (text: string) => void) =>
  new Writable({
    write(chunk: Buffer, _encoding, done) {
      take(chunk.toString('utf8'))
      done()
    },
  })

/** Reads a whole response (non-tail sessions end by themselves). */
async function readAll(url: string, headers: Record<string, string> = {}) {
  const s = await openStream(url, headers)
  await waitUntil('the response to end', s.ended)
  return s
}

const bodyLines = (text: string) => text.split('\n').filter((l) => l !== '')
/** The text after `<time> ` of each line, which is all that is stable. */
const untimed = (text: string) =>
  bodyLines(text).map((l) => l.replace(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 /, ''))

describe('log sessions', () => {
  let api: TestApi
  let logs: LogStore
  let apiUrl: string
  let appId: string
  const APP = 'logs-app'

  before(async () => {
    logs = new LogStore()
    api = await startTestApi({ logs })
    await api.server.listen({ host: '127.0.0.1', port: 0 })
    apiUrl = `http://127.0.0.1:${(api.server.server.address() as AddressInfo).port}`
    api.server.ctx.apiUrl = apiUrl // as the daemon does once it knows its port
    const created = await api.call('POST', '/apps', { name: APP })
    assert.equal(created.status, 201)
    appId = created.body.id
    const line = (source: 'app' | 'heroku', dyno: string, text: string) =>
      logs.append(appId, { source, dyno, text })
    line('heroku', 'web.1', 'State changed from starting to up')
    line('app', 'web.1', 'listening on 5000')
    line('app', 'worker.1', 'working')
    line('heroku', 'router', 'at=info method=GET path="/" status=200')
  })
  after(() => api.close())

  const session = async (body: unknown) => {
    const res = await api.call('POST', `/apps/${APP}/log-sessions`, body)
    assert.equal(res.status, 201, JSON.stringify(res.body))
    return res.body.logplex_url as string
  }

  test('POST makes a session whose logplex_url is served by this API', async () => {
    const res = await api.call('POST', `/apps/${APP}/log-sessions`, { lines: 10 })
    assert.equal(res.status, 201)
    assert.match(res.body.id, /^[0-9a-f-]{36}$/)
    assert.equal(res.body.created_at, res.body.updated_at)
    const prefix = `${apiUrl}/localspace/log-sessions/`
    const url = res.body.logplex_url as string
    assert.ok(url.startsWith(prefix), url)
    // Unguessable: 32 random bytes.
    assert.ok(url.slice(prefix.length).length >= 40)
    const other = await api.call('POST', `/apps/${appId}/log-sessions`, {})
    assert.notEqual(other.body.logplex_url, url)
  })

  test('GET on the logplex_url returns the recent lines as text, without an API key', async () => {
    const url = await session({})
    const res = await readAll(url)
    assert.equal(res.status, 200)
    assert.match(String(res.headers['content-type']), /^text\/plain/)
    assert.deepEqual(untimed(res.text()), [
      'heroku[web.1]: State changed from starting to up',
      'app[web.1]: listening on 5000',
      'app[worker.1]: working',
      'heroku[router]: at=info method=GET path="/" status=200',
    ])
    assert.match(bodyLines(res.text())[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00 /)
  })

  test('lines, dyno and source filter what a session shows', async () => {
    const cases: Array<[object, string[]]> = [
      [{ lines: 1 }, ['heroku[router]: at=info method=GET path="/" status=200']],
      [
        { dyno: 'web' },
        ['heroku[web.1]: State changed from starting to up', 'app[web.1]: listening on 5000'],
      ],
      [{ dyno: 'worker.1' }, ['app[worker.1]: working']],
      [{ dyno_name: 'worker.1' }, ['app[worker.1]: working']],
      [{ type: 'worker' }, ['app[worker.1]: working']],
      [{ source: 'app', dyno: 'web' }, ['app[web.1]: listening on 5000']],
      [
        { source: 'heroku' },
        [
          'heroku[web.1]: State changed from starting to up',
          'heroku[router]: at=info method=GET path="/" status=200',
        ],
      ],
      [{ lines: 0 }, []],
    ]
    for (const [body, expected] of cases) {
      const res = await readAll(await session(body))
      assert.deepEqual(untimed(res.text()), expected, JSON.stringify(body))
    }
  })

  test('an EventSource reader gets one event per line, with ids', async () => {
    const url = await session({ lines: 2 })
    const res = await readAll(url, { accept: 'text/event-stream' })
    assert.equal(res.status, 200)
    assert.match(String(res.headers['content-type']), /^text\/event-stream/)
    const events = res
      .text()
      .split('\n\n')
      .filter((e) => e !== '')
    assert.equal(events.length, 2)
    assert.match(events[0]!, /^id: 3\ndata: \S+ app\[worker\.1\]: working$/)
    assert.match(events[1]!, /^id: 4\ndata: \S+ heroku\[router\]: at=info/)
    // A reconnecting EventSource sends Last-Event-ID and gets only what it has not seen.
    const again = await readAll(url, { accept: 'text/event-stream', 'last-event-id': '3' })
    assert.equal(again.text().split('\n\n').filter(Boolean).length, 1)
  })

  test('with tail, new lines arrive until the reader hangs up; then nothing follows', async () => {
    const url = await session({ tail: true, lines: 1, dyno: 'web' })
    const s = await openStream(url)
    assert.equal(s.status, 200)
    await waitUntil('the recent line', () => s.text().includes('listening on 5000'))
    assert.equal(logs.followerCount(appId), 1)
    logs.append(appId, { source: 'app', dyno: 'web.2', text: 'GET / 200\nGET /about 200' })
    logs.append(appId, { source: 'app', dyno: 'worker.1', text: 'not for this session' })
    await waitUntil('the tailed lines', () => s.text().includes('GET /about 200'))
    assert.deepEqual(untimed(s.text()), [
      'app[web.1]: listening on 5000',
      'app[web.2]: GET / 200',
      'app[web.2]: GET /about 200',
    ])
    assert.equal(s.ended(), false, 'a tail stays open')
    s.close()
    await waitUntil('the subscription to go', () => logs.followerCount(appId) === 0)
  })

  test('a tail over SSE streams events too', async () => {
    const url = await session({ tail: true, lines: 0, source: 'heroku' })
    const s = await openStream(url, { accept: 'text/event-stream' })
    assert.match(String(s.headers['content-type']), /^text\/event-stream/)
    await waitUntil('the follower', () => logs.followerCount(appId) === 1)
    logs.append(appId, { source: 'heroku', dyno: 'web.1', text: 'State changed from up to down' })
    await waitUntil('the event', () =>
      /data: \S+ heroku\[web\.1\]: State changed from up/.test(s.text()),
    )
    s.close()
    await waitUntil('the subscription to go', () => logs.followerCount(appId) === 0)
  })

  test('a tail reader that falls far behind loses lines, and is told so (L10)', async () => {
    // An app of its own: the flood pushes every older line out of the history.
    const flood = await api.call('POST', '/apps', { name: 'flood-app' })
    const floodId = flood.body.id as string
    const made = await api.call('POST', '/apps/flood-app/log-sessions', { tail: true, lines: 0 })
    const url = made.body.logplex_url as string
    let body = ''
    const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
      http.get(url, resolve).on('error', reject),
    )
    res.pause() // a reader that stops reading: the server's buffer fills
    await waitUntil('the follower', () => logs.followerCount(floodId) === 1)
    const big = 'x'.repeat(10 * 1024)
    for (let i = 0; i < 3000; i++)
      logs.append(floodId, { source: 'app', dyno: 'flood.1', text: big })
    res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk))
    res.resume()
    // The next line after the buffer drains brings the notice with it.
    await waitUntil('the buffer to drain', () => body.length > 1024 * 1024)
    await waitUntil('the overflow notice', () => {
      logs.append(floodId, { source: 'app', dyno: 'flood.1', text: 'caught up' })
      return /heroku\[logplex\]: Error L10 \(output buffer overflow\): \d+ messages dropped/.test(
        body,
      )
    })
    const received = body.split('\n').filter((l) => l.includes('app[flood.1]: x')).length
    assert.ok(received < 3000, `${received} of 3000 lines reached the slow reader`)
    res.destroy()
    await waitUntil('the subscription to go', () => logs.followerCount(floodId) === 0)
  })

  test('config changes and rollbacks are logged as heroku[api] lines', async () => {
    assert.equal((await api.call('PATCH', `/apps/${APP}/config-vars`, { FOO: 'bar' })).status, 200)
    // A patch that changes nothing makes no release, and no line.
    assert.equal((await api.call('PATCH', `/apps/${APP}/config-vars`, { FOO: 'bar' })).status, 200)
    assert.equal((await api.call('POST', `/apps/${APP}/releases`, { release: 1 })).status, 201)
    const res = await readAll(await session({ dyno: 'api' }))
    assert.deepEqual(untimed(res.text()), [
      'heroku[api]: Set FOO config vars by admin@localspace.localhost',
      'heroku[api]: Release v2 created by admin@localspace.localhost',
      'heroku[api]: Rollback to v1 by admin@localspace.localhost',
      'heroku[api]: Release v3 created by admin@localspace.localhost',
    ])
  })

  test('bad input is 422 invalid_params', async () => {
    const bad: unknown[] = [
      { lines: '10' },
      { lines: 1.5 },
      { lines: -1 },
      { lines: 1501 },
      { source: 'router' },
      { source: 1 },
      { tail: 'yes' },
      { dyno: 'web 1' },
      { dyno: 7 },
      [1],
    ]
    for (const body of bad) {
      const res = await api.call('POST', `/apps/${APP}/log-sessions`, body)
      assert.equal(res.status, 422, JSON.stringify(body))
      assert.equal(res.body.id, 'invalid_params')
      assert.equal(res.body.logplex_url, undefined)
    }
    const max = await api.call('POST', `/apps/${APP}/log-sessions`, { lines: 1500 })
    assert.equal(max.status, 201, 'lines up to 1500 are fine')
  })

  test('access: no key is 401; an app the caller cannot see is 404', async () => {
    const none = await api.call('POST', `/apps/${APP}/log-sessions`, {}, { key: null })
    assert.equal(none.status, 401)
    const stranger = api.user('stranger@example.com')
    const hidden = await api.call('POST', `/apps/${APP}/log-sessions`, {}, { key: stranger })
    assert.equal(hidden.status, 404)
    assert.equal(hidden.body.id, 'not_found')
    assert.equal((await api.call('POST', '/apps/no-such-app/log-sessions', {})).status, 404)
  })

  test('an unknown token is 404 in Heroku shape', async () => {
    const res = await readAll(`${apiUrl}/localspace/log-sessions/not-a-real-token`)
    assert.equal(res.status, 404)
    const body = JSON.parse(res.text()) as { id: string; message: string }
    assert.equal(body.id, 'not_found')
    assert.equal(typeof body.message, 'string')
  })

  test('a session expires five minutes after it was made or last read', async (t) => {
    const url = await session({})
    const path = new URL(url).pathname
    t.after(() => mock.timers.reset())
    mock.timers.enable({ apis: ['Date'], now: Date.now() })
    mock.timers.tick(4 * 60_000)
    const read = await api.server.inject({ method: 'GET', url: path })
    assert.equal(read.statusCode, 200)
    mock.timers.tick(4 * 60_000) // 8 minutes after creation, 4 after the read
    assert.equal((await api.server.inject({ method: 'GET', url: path })).statusCode, 200)
    mock.timers.tick(5 * 60_000 + 1)
    assert.equal((await api.server.inject({ method: 'GET', url: path })).statusCode, 404)
  })

  test('localspace logs prints the recent lines', async () => {
    let stdout = ''
    let stderr = ''
    const deps = defaultDeps({
      env: { LOCALSPACE_API_URL: apiUrl, LOCALSPACE_API_KEY: api.adminKey, NO_COLOR: '1' },
      stdout: sink((s) => (stdout += s)),
      stderr: sink((s) => (stderr += s)),
    })
    const args = ['logs', '-a', APP, '-n', '2', '-d', 'web', '-s', 'app']
    await buildProgram(deps).parseAsync(['node', 'localspace', ...args])
    assert.equal(process.exitCode ?? 0, 0, stderr)
    assert.deepEqual(untimed(stdout), ['app[web.2]: GET / 200', 'app[web.2]: GET /about 200'])
  })
})

describe('log sessions and server shutdown', () => {
  test('closing the server ends open tails instead of waiting on them', async () => {
    const logs = new LogStore()
    const api = await startTestApi({ logs })
    await api.server.listen({ host: '127.0.0.1', port: 0 })
    api.server.ctx.apiUrl = `http://127.0.0.1:${(api.server.server.address() as AddressInfo).port}`
    const app = await api.call('POST', '/apps', { name: 'closing-app' })
    const res = await api.call('POST', '/apps/closing-app/log-sessions', { tail: true })
    const s = await openStream(res.body.logplex_url as string)
    await waitUntil('the follower', () => logs.followerCount(app.body.id as string) === 1)
    await api.close()
    await waitUntil('the stream to end', s.ended)
    assert.equal(logs.followerCount(app.body.id as string), 0)
  })
})
