/**
 * The drain dispatcher against real local receivers: an HTTP(S) server that records what
 * Logplex would POST (and can fail on purpose), and a syslog TCP/TLS server. Nothing sleeps:
 * every test waits on what the receiver saw.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import tls from 'node:tls'
import { after, afterEach, before, beforeEach, describe, test } from 'node:test'
import { AddressPolicy } from '../core/address-policy.js'
import type { AppDrains, DrainSource, DrainTarget } from '../core/drains.js'
import { EventBus } from '../core/events.js'
import { waitUntil } from '../../test/helpers/wait.js'
import { DrainDispatcher, type DrainDispatcherOptions } from './drains.js'
import { LogStore } from './store.js'
import { parseSyslogMessage, readOctetFrames, type ParsedSyslog } from './syslog.js'

const APP = '0b6b5b4e-6f3c-4a8e-9a53-0f1f5d1f2a01'
const OTHER = '7c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f'
const TOKEN = 'd.11111111-2222-4333-8444-555555555555'

interface Post {
  headers: http.IncomingHttpHeaders
  messages: ParsedSyslog[]
}

/** What to do with a POST: answer with a status, or hang up without answering. */
type Answer = number | 'hang-up'

class Receiver {
  readonly posts: Post[] = []
  /** Every request, answered or not. */
  readonly attempts: Array<{ url: string; frameId: string }> = []
  answer: (n: number) => Answer = () => 200
  private server: http.Server | undefined

  async start(tlsOptions?: { key: Buffer; cert: Buffer }): Promise<string> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      this.attempts.push({
        url: req.url ?? '',
        frameId: String(req.headers['logplex-frame-id']),
      })
      req.on('end', () => {
        const answer = this.answer(this.attempts.length)
        if (answer === 'hang-up') {
          req.socket.destroy()
          return
        }
        if (answer >= 200 && answer < 300) {
          const { messages, rest } = readOctetFrames(Buffer.concat(chunks))
          assert.equal(rest.length, 0)
          this.posts.push({
            headers: req.headers,
            messages: messages.map((m) => parseSyslogMessage(m, 'logplex')!),
          })
        }
        res.writeHead(answer).end()
      })
    }
    this.server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler)
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve))
    const { port } = this.server.address() as net.AddressInfo
    return `${tlsOptions ? 'https' : 'http'}://127.0.0.1:${port}/logs?x=1`
  }

  get texts(): string[] {
    return this.posts.flatMap((p) => p.messages.map((m) => m.text))
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections()
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    )
  }
}

/** A syslog server over TCP (or TLS): collects the octet-counted messages it is sent. */
class SyslogReceiver {
  readonly messages: string[] = []
  private server: net.Server | undefined
  private readonly sockets = new Set<net.Socket>()

  async start(tlsOptions?: { key: Buffer; cert: Buffer }, port = 0): Promise<string> {
    const onSocket = (socket: net.Socket) => {
      this.sockets.add(socket)
      socket.on('close', () => this.sockets.delete(socket))
      let rest: Buffer = Buffer.alloc(0)
      socket.on('data', (chunk: Buffer) => {
        const out = readOctetFrames(Buffer.concat([rest, chunk]))
        this.messages.push(...out.messages)
        rest = out.rest
      })
    }
    this.server = tlsOptions ? tls.createServer(tlsOptions, onSocket) : net.createServer(onSocket)
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve))
    const bound = (this.server.address() as net.AddressInfo).port
    return `${tlsOptions ? 'syslog+tls' : 'syslog'}://127.0.0.1:${bound}`
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy()
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    )
  }
}

/** A DrainSource the test edits, as the store would be. */
class FakeSource implements DrainSource {
  apps: AppDrains[] = []
  appDrains(): AppDrains[] {
    return this.apps
  }
}

const target = (id: string, url: string, scope: 'app' | 'space' = 'app'): DrainTarget => ({
  id,
  url,
  token: TOKEN,
  scope,
})

const LOOPBACK_ALLOWED = new AddressPolicy({ allowed: ['127.0.0.0/8'] })

describe('drain dispatcher', () => {
  const open: Array<{ close(): Promise<void> } | DrainDispatcher> = []
  let logs: LogStore
  let events: EventBus
  let source: FakeSource

  const dispatcher = (options: Partial<DrainDispatcherOptions> = {}) => {
    const d = new DrainDispatcher({
      logs,
      events,
      source,
      flushIntervalMs: 20,
      initialBackoffMs: 10,
      maxBackoffMs: 50,
      timeoutMs: 5_000,
      closeGraceMs: 0,
      // The receivers listen on loopback, which the tests allow as an operator would a range.
      addressPolicy: LOOPBACK_ALLOWED,
      ...options,
    })
    open.push(d)
    d.start()
    return d
  }
  const receiver = () => {
    const r = new Receiver()
    open.push(r)
    return r
  }
  const write = (text: string, appId = APP) =>
    logs.append(appId, { source: 'app', dyno: 'web.1', text })
  const numbered = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`)

  beforeEach(() => {
    logs = new LogStore()
    events = new EventBus()
    source = new FakeSource()
  })
  afterEach(async () => {
    for (const o of open.splice(0).reverse()) {
      if (o instanceof DrainDispatcher) await o.stop()
      else await o.close()
    }
  })

  test('POSTs application/logplex-1 batches of at most 500 lines, in order, once', async () => {
    const r = receiver()
    const url = await r.start()
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
    const d = dispatcher()
    assert.equal(logs.followerCount(APP), 1)
    for (const text of numbered(1, 1200)) write(text)
    await waitUntil('1200 lines at the drain', () => r.texts.length >= 1200)
    assert.deepEqual(r.texts, numbered(1, 1200))
    assert.deepEqual(
      r.posts.map((p) => p.messages.length),
      [500, 500, 200],
    )
    for (const p of r.posts) {
      assert.equal(p.headers['content-type'], 'application/logplex-1')
      assert.equal(p.headers['logplex-msg-count'], String(p.messages.length))
      assert.equal(p.headers['logplex-drain-token'], TOKEN)
      assert.match(String(p.headers['logplex-frame-id']), /^[0-9A-F]{32}$/)
      assert.match(String(p.headers['user-agent']), /^Logplex\//)
    }
    const m = r.posts[0]!.messages[0]!
    assert.equal(m.pri, 190)
    assert.equal(m.hostname, 'host')
    assert.equal(m.appName, 'app')
    assert.equal(m.procId, 'web.1')
    assert.equal(m.msgId, '-')
    assert.match(m.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$/)
    // The receiver sees a batch before the dispatcher has read its answer.
    await waitUntil('1200 lines counted delivered', () => d.stats()[0]!.delivered === 1200)
  })

  test('a few lines wait for the flush interval and go as one batch', async () => {
    const r = receiver()
    const url = await r.start()
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
    dispatcher({ flushIntervalMs: 250 })
    write('one\ntwo')
    write('three')
    await waitUntil('the batch', () => r.posts.length === 1)
    assert.deepEqual(r.texts, ['one', 'two', 'three'])
  })

  test('failed POSTs are retried with back-off: every line arrives once, in order', async () => {
    const r = receiver()
    const url = await r.start()
    // Fails the first four attempts: two 5xx answers, a hang-up, and a 429.
    const answers: Answer[] = [503, 500, 'hang-up', 429]
    r.answer = (n) => answers[n - 1] ?? 200
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
    const logged: string[] = []
    const d = dispatcher({ batchSize: 50, log: (m) => logged.push(m) })
    for (const text of numbered(1, 120)) write(text)
    await waitUntil('120 lines at the drain', () => r.texts.length >= 120)
    for (const text of numbered(121, 130)) write(text)
    await waitUntil('130 lines at the drain', () => r.texts.length >= 130)
    assert.deepEqual(r.texts, numbered(1, 130))
    await waitUntil('130 lines counted delivered', () => d.stats()[0]!.delivered === 130)
    const stats = d.stats()[0]!
    assert.equal(stats.failures, 4)
    assert.equal(stats.delivered, 130)
    assert.equal(stats.dropped, 0)
    assert.ok(logged.some((l) => /retrying/.test(l)))
    assert.ok(logged.some((l) => /delivering again after 4 failures/.test(l)))
  })

  test('a retried batch keeps its Logplex-Frame-Id', async () => {
    const r = receiver()
    const url = await r.start()
    r.answer = (n) => (n <= 2 ? 503 : 200)
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
    dispatcher()
    write('only')
    await waitUntil('the line', () => r.texts.length === 1)
    assert.equal(r.attempts.length, 3)
    assert.equal(new Set(r.attempts.map((a) => a.frameId)).size, 1)
  })

  test('a full buffer drops the oldest lines and says so with L10', async () => {
    const r = receiver()
    const url = await r.start()
    let down = true
    r.answer = () => (down ? 503 : 200)
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
    const d = dispatcher({ bufferLines: 20, batchSize: 10 })
    for (const text of numbered(1, 5)) write(text)
    await waitUntil('the first batch to fail', () => d.stats()[0]!.failures >= 1)
    // Lines 1-5 are in flight; 6-105 queue behind them and 80 of them do not fit.
    for (const text of numbered(6, 105)) write(text)
    assert.equal(d.stats()[0]!.dropped, 80)
    assert.equal(d.stats()[0]!.queued, 20)
    down = false
    await waitUntil('the drain to catch up', () => r.texts.length >= 26)
    const [l10, ...rest] = r.texts.slice(5)
    assert.deepEqual(r.texts.slice(0, 5), numbered(1, 5))
    assert.match(l10!, /^Error L10 \(output buffer overflow\): 80 messages dropped since \S+\.$/)
    assert.deepEqual(rest, numbered(86, 105))
    const notice = r.posts.flatMap((p) => p.messages).find((m) => m.text === l10)!
    assert.equal(notice.appName, 'heroku')
    assert.equal(notice.procId, 'logplex')
  })

  test('the buffer is bounded in size too, not only in lines', async () => {
    const r = receiver()
    r.answer = () => 503
    const url = await r.start()
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
    const d = dispatcher({ bufferChars: 2_000 })
    for (let i = 0; i < 100; i++) write(`${i} ${'x'.repeat(200)}`)
    const { queued, dropped } = d.stats()[0]!
    assert.ok(queued > 0 && queued * 200 <= 2_000, `${queued} queued`)
    assert.equal(queued + dropped, 100)
  })

  test('credentials in the URL become basic auth, and are not sent in the URL', async () => {
    const r = receiver()
    const url = new URL(await r.start())
    url.username = 'user'
    url.password = 's3cret'
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url.href)] }]
    dispatcher()
    write('secret line')
    await waitUntil('the line', () => r.texts.length === 1)
    assert.equal(
      r.posts[0]!.headers.authorization,
      `Basic ${Buffer.from('user:s3cret').toString('base64')}`,
    )
    assert.deepEqual(
      r.attempts.map((a) => a.url),
      ['/logs?x=1'],
    )
  })

  test('follows drain changes: new drains get lines, removed ones stop', async () => {
    const a = receiver()
    const b = receiver()
    const urlA = await a.start()
    const urlB = await b.start()
    const d = dispatcher()
    assert.equal(logs.followerCount(APP), 0) // no drains, nothing followed
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('a', urlA)] }]
    events.emit('drains.changed', APP)
    await waitUntil('the app to be followed', () => logs.followerCount(APP) === 1)
    write('to a')
    await waitUntil('a line at a', () => a.texts.length === 1)
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('b', urlB)] }]
    events.emit('drains.changed', APP)
    await waitUntil(
      'drain b to replace a',
      () =>
        d
          .stats()
          .map((s) => s.id)
          .join() === 'b',
    )
    assert.equal(logs.followerCount(APP), 1)
    write('to b')
    await waitUntil('a line at b', () => b.texts.length === 1)
    assert.deepEqual(a.texts, ['to a'])
    assert.deepEqual(b.texts, ['to b'])
    source.apps = []
    events.emit('app.changed', APP) // e.g. the app was deleted
    await waitUntil('the app to be let go', () => logs.followerCount(APP) === 0)
  })

  test('a space drain takes every app of the space, the app named in HOSTNAME', async () => {
    const r = receiver()
    const url = await r.start()
    const space = target('space-drain', url, 'space')
    source.apps = [
      { appId: APP, appName: 'first-app', drains: [space] },
      { appId: OTHER, appName: 'second-app', drains: [space] },
    ]
    const d = dispatcher()
    write('from first', APP)
    write('from second', OTHER)
    await waitUntil('both lines', () => r.texts.length === 2)
    assert.equal(d.stats().length, 1) // one channel for the drain, whatever the apps
    const byHost = r.posts.flatMap((p) => p.messages).map((m) => `${m.hostname}: ${m.text}`)
    assert.deepEqual(byHost.sort(), ['first-app: from first', 'second-app: from second'])
  })

  test('a drain with an unusable URL is skipped and reported once', async () => {
    const logged: string[] = []
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('bad', 'ftp://x/')] }]
    const d = dispatcher({ log: (m) => logged.push(m) })
    events.emit('drains.changed', APP)
    await waitUntil('a refresh', () => logged.length >= 1)
    d.refresh()
    assert.equal(logged.filter((l) => /skipping drain bad/.test(l)).length, 1)
    assert.equal(logs.followerCount(APP), 0)
  })

  test('a drain never reaches a refused address: the host, by address or by name', async () => {
    const r = receiver()
    const url = await r.start()
    const s = new SyslogReceiver()
    open.push(s)
    const syslog = await s.start()
    const byName = (u: string) => u.replace('127.0.0.1', 'localhost')
    source.apps = [
      {
        appId: APP,
        appName: 'my-app',
        drains: [
          target('d1', url),
          target('d2', byName(url)),
          target('d3', syslog),
          target('d4', byName(syslog)),
        ],
      },
    ]
    const d = dispatcher({ addressPolicy: new AddressPolicy() }) // production's default
    write('not for the host')
    await waitUntil('every drain to fail', () => d.stats().every((st) => st.failures >= 1))
    for (const st of d.stats()) assert.match(st.lastError ?? '', /address not allowed/, st.url)
    assert.deepEqual(r.attempts, [])
    assert.deepEqual(s.messages, [])
  })

  test('stop() gives queued lines their grace period, then lets go', async () => {
    const r = receiver()
    const url = await r.start()
    source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
    const d = dispatcher({ flushIntervalMs: 60_000, closeGraceMs: 5_000 })
    write('last words')
    await d.stop()
    assert.deepEqual(r.texts, ['last words'])
    assert.equal(logs.followerCount(APP), 0)
  })

  describe('over TLS and syslog', () => {
    let dir: string
    let key: Buffer
    let cert: Buffer

    before(() => {
      dir = mkdtempSync(join(tmpdir(), 'localspace-drain-tls-'))
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
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      )
      key = readFileSync(join(dir, 'key.pem'))
      cert = readFileSync(join(dir, 'cert.pem'))
    })
    after(() => rmSync(dir, { recursive: true, force: true }))

    test('an HTTPS drain with a certificate from a trusted CA gets its lines', async () => {
      const r = receiver()
      const url = await r.start({ key, cert })
      source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
      dispatcher({ ca: [cert] })
      write('over https')
      await waitUntil('the line over HTTPS', () => r.texts.length === 1)
      assert.deepEqual(r.texts, ['over https'])
    })

    test('without trusting that CA the certificate is refused', async () => {
      const r = receiver()
      const url = await r.start({ key, cert })
      source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
      const d = dispatcher()
      write('never delivered')
      await waitUntil('a failed send', () => d.stats()[0]!.failures >= 1)
      assert.match(d.stats()[0]!.lastError ?? '', /self[- ]signed|certificate/i)
      assert.deepEqual(r.texts, [])
    })

    test('a syslog:// drain gets RFC 5424 frames over TCP, the token as HOSTNAME', async () => {
      const s = new SyslogReceiver()
      open.push(s)
      const url = await s.start()
      source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
      dispatcher()
      for (const text of numbered(1, 700)) write(text)
      logs.append(APP, { source: 'heroku', dyno: 'router', text: 'at=info status=200' })
      await waitUntil('701 syslog messages', () => s.messages.length >= 701)
      const parsed = s.messages.map((m) => parseSyslogMessage(m, 'rfc5424')!)
      assert.deepEqual(
        parsed.map((p) => p.text),
        [...numbered(1, 700), 'at=info status=200'],
      )
      assert.deepEqual(
        { ...parsed[700]!, time: '' },
        {
          pri: 190,
          time: '',
          hostname: TOKEN,
          appName: 'heroku',
          procId: 'router',
          msgId: '-',
          text: 'at=info status=200',
        },
      )
    })

    test('a syslog drain that was down is reconnected, and nothing is lost', async () => {
      // Nothing listens on the port at first: connecting fails and is retried.
      const probe = net.createServer()
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
      const { port } = probe.address() as net.AddressInfo
      await new Promise<void>((resolve) => probe.close(() => resolve()))
      source.apps = [
        { appId: APP, appName: 'my-app', drains: [target('d1', `syslog://127.0.0.1:${port}`)] },
      ]
      const d = dispatcher()
      write('while down')
      await waitUntil('a failed connect', () => d.stats()[0]!.failures >= 1)
      const s = new SyslogReceiver()
      open.push(s)
      await s.start(undefined, port)
      write('after')
      await waitUntil('both lines', () => s.messages.length >= 2)
      assert.deepEqual(
        s.messages.map((m) => parseSyslogMessage(m, 'rfc5424')!.text),
        ['while down', 'after'],
      )
    })

    test('a syslog+tls:// drain is verified against the trusted CA', async () => {
      const s = new SyslogReceiver()
      open.push(s)
      const url = await s.start({ key, cert })
      source.apps = [{ appId: APP, appName: 'my-app', drains: [target('d1', url)] }]
      dispatcher({ ca: [cert] })
      write('over tls')
      await waitUntil('the line over TLS', () => s.messages.length === 1)
      assert.equal(parseSyslogMessage(s.messages[0]!, 'rfc5424')!.text, 'over tls')
    })
  })
})
