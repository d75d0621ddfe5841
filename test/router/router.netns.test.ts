/**
 * The router against real sockets, inside scripts/sandbox (a private network namespace):
 * clients come from distinct source addresses (198.51.100.0/24 and 203.0.113.0/24 put on the
 * sandbox's lo, and dynos in namespaces of their own behind space bridges), the "dynos" are
 * plain node http servers. Timeouts are shortened so H12/H15 take milliseconds.
 */
import assert from 'node:assert/strict'
import { execFile, execFileSync } from 'node:child_process'
import { promisify } from 'node:util'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import http, { type IncomingMessage, type ServerResponse } from 'node:http'
import http2 from 'node:http2'
import net from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, test } from 'node:test'
import { Router, type InboundRule } from '../../src/router/index.js'
import { selfSigned } from '../helpers/certs.js'
import { sandboxed } from '../helpers/sandbox.js'
import { waitUntil } from '../helpers/wait.js'

const sh = (...args: string[]) => execFileSync(args[0]!, args.slice(1), { encoding: 'utf8' })

const TRUSTED = '198.51.100.10'
const DENIED = '198.51.100.20'
const OTHER = '203.0.113.10'

if (sandboxed(import.meta.url)) {
  describe('router', () => {
    let router: Router
    let port = 0
    let tlsPort = 0
    let dynoPort = 0
    let dyno: http.Server
    let seen = 0 // requests the dyno saw
    const held: ServerResponse[] = []
    const lines: string[] = []
    /** Bytes the dyno got on connections it had taken over for an upgrade it declined. */
    const rawAfterDecline: string[] = []
    const certDir = mkdtempSync(join(tmpdir(), 'router-test-'))

    const setRules = (rules: InboundRule[]) =>
      router.table.setSpace({
        id: 'space-1',
        cidr: '10.70.0.0/16',
        internalAddress: '10.70.0.3',
        rules,
      })

    before(async () => {
      for (const a of [TRUSTED, DENIED, OTHER]) sh('ip', 'addr', 'add', `${a}/32`, 'dev', 'lo')
      for (const name of ['a', 'b']) {
        sh(
          'openssl',
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-subj',
          `/CN=${name}.test`,
          '-keyout',
          join(certDir, `${name}.key`),
          '-out',
          join(certDir, `${name}.crt`),
        )
      }
      dyno = http.createServer((req, res) => dynoHandler(req, res))
      dyno.on('upgrade', (req: IncomingMessage, socket: net.Socket) => {
        if (req.url === '/no-upgrade') {
          // Declined with a plain response; Node has handed this socket over all the same.
          socket.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nno')
          socket.on('data', (d: Buffer) => rawAfterDecline.push(d.toString('latin1')))
          socket.on('end', () => socket.end()) // Node's server leaves it half-open otherwise
          return
        }
        socket.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n',
        )
        socket.pipe(socket) // echo
      })
      await new Promise<void>((r) => dyno.listen(0, '127.0.0.1', r))
      dynoPort = (dyno.address() as net.AddressInfo).port
      router = new Router({
        domain: 'localhost',
        listen: [
          { host: '0.0.0.0', port: 0 },
          { host: '0.0.0.0', port: 0, tls: true },
        ],
        tls: {
          cert: readFileSync(join(certDir, 'a.crt')),
          key: readFileSync(join(certDir, 'a.key')),
        },
        log: (_app, text) => lines.push(text),
        internalPorts: { http: 80, https: 443 },
        timeouts: {
          firstByteMs: 400,
          idleMs: 400,
          headersMs: 300,
          checkEveryMs: 100,
          bindRetryMs: 100,
        },
        limits: { maxInflightPerDyno: 2, maxQueuePerApp: 2, maxHeaderBytes: 8192 },
      })
      await router.start()
      port = router.addresses()[0]!.port
      tlsPort = router.addresses()[1]!.port
      setRules([
        { action: 'allow', source: '198.51.100.0/24' },
        { action: 'deny', source: `${DENIED}/32` },
        { action: 'allow', source: '10.70.0.0/16' },
      ])
      router.table.setApp({
        id: 'app-1',
        name: 'myapp',
        spaceId: 'space-1',
        internalRouting: false,
        domains: ['www.example.test', '*.wild.test'],
      })
      router.table.setDynos('app-1', [{ name: 'web.1', address: '127.0.0.1', port: dynoPort }])
      router.table.setApp({
        id: 'app-2',
        name: 'nodynos',
        spaceId: 'space-1',
        internalRouting: false,
      })
      router.table.setApp({
        id: 'app-3',
        name: 'crashed',
        spaceId: 'space-1',
        internalRouting: false,
      })
      router.table.setDynos('app-3', [], true)
      // An exact name under another app's wildcard domain belongs to its own app.
      router.table.setApp({
        id: 'app-4',
        name: 'exact',
        spaceId: 'space-1',
        internalRouting: false,
        domains: ['exact.wild.test'],
      })
    })

    after(async () => {
      for (const r of held.splice(0)) r.end()
      await router.close()
      await new Promise((r) => dyno.close(r))
      rmSync(certDir, { recursive: true, force: true })
    })

    function dynoHandler(req: IncomingMessage, res: ServerResponse): void {
      seen++
      const url = new URL(req.url!, 'http://x')
      switch (url.pathname) {
        case '/headers':
          res.setHeader('content-type', 'application/json')
          return void res.end(JSON.stringify(req.headers))
        case '/echo': {
          let n = 0
          req.on('data', (c: Buffer) => (n += c.length))
          req.on('end', () => res.end(String(n)))
          return
        }
        case '/download': {
          const total = Number(url.searchParams.get('bytes'))
          const chunk = Buffer.alloc(64 * 1024, 120)
          let sent = 0
          const pump = () => {
            while (sent < total) {
              const n = Math.min(chunk.length, total - sent)
              sent += n
              if (!res.write(chunk.subarray(0, n))) return void res.once('drain', pump)
            }
            res.end()
          }
          return pump()
        }
        case '/never':
          return // no answer: H12
        case '/stall':
          res.writeHead(200, { 'content-length': '10' })
          return void res.write('12345') // then nothing: H15
        case '/close':
          return void req.socket.destroy() // H13
        case '/hold':
          held.push(res)
          return
        default:
          res.end('ok')
      }
    }

    interface Answer {
      status: number
      body: string
      headers: http.IncomingHttpHeaders
    }

    function request(
      path: string,
      opts: {
        source?: string
        host?: string
        headers?: Record<string, string>
        method?: string
        body?: Buffer
        agent?: http.Agent
      } = {},
    ): Promise<Answer> {
      return new Promise((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path,
            method: opts.method ?? 'GET',
            localAddress: opts.source ?? TRUSTED,
            headers: { host: opts.host ?? 'myapp.localhost', ...opts.headers },
            agent: opts.agent ?? false,
          },
          (res) => {
            const chunks: Buffer[] = []
            res.on('data', (c: Buffer) => chunks.push(c))
            res.on('end', () =>
              resolve({
                status: res.statusCode!,
                body: Buffer.concat(chunks).toString(),
                headers: res.headers,
              }),
            )
            res.on('error', reject)
          },
        )
        req.on('error', reject)
        req.end(opts.body)
      })
    }

    /** Raw bytes to the router from `source`; resolves with all it answered before closing. */
    function raw(
      text: string,
      source = TRUSTED,
      listenPort = port,
      host = '127.0.0.1',
    ): Promise<string> {
      return new Promise((resolve) => {
        const s = net.connect({ port: listenPort, host, localAddress: source }, () => s.write(text))
        let out = ''
        s.on('data', (d) => (out += d.toString()))
        s.on('error', () => undefined)
        s.on('close', () => resolve(out))
      })
    }

    const lastLine = (re: RegExp) => lines.filter((l) => re.test(l)).at(-1)

    test('trusted source reaches the dyno; the log line is Heroku-shaped', async () => {
      const r = await request('/?q=1')
      assert.equal(r.status, 200)
      assert.equal(r.body, 'ok')
      const line = lastLine(/path="\/\?q=1"/)
      assert.match(
        line ?? '',
        /^at=info method=GET path="\/\?q=1" host=myapp\.localhost request_id=\S+ fwd="198\.51\.100\.10" dyno=web\.1 connect=\d+ms service=\d+ms status=200 bytes=2 protocol=http$/,
      )
    })

    test('custom domains route too, wildcards one label deep, with the same trusted ranges', async () => {
      assert.equal((await request('/', { host: 'www.example.test' })).status, 200)
      assert.equal((await request('/', { host: 'WWW.Example.Test.:80' })).status, 200)
      assert.equal((await request('/', { host: 'shop.wild.test' })).status, 200)
      assert.equal((await request('/', { host: 'a.b.wild.test' })).status, 404)
      assert.equal((await request('/', { host: 'wild.test' })).status, 404)
      const exact = await request('/', { host: 'exact.wild.test' })
      assert.equal(exact.status, 503, 'the exact name is the other app’s (no dynos: H14)')
      assert.match(lastLine(/host=exact\.wild\.test/) ?? '', /code=H14/)
      const before = seen
      for (const host of ['www.example.test', 'shop.wild.test']) {
        for (const source of [DENIED, OTHER]) {
          assert.equal((await request('/', { source, host })).status, 403, `${host} from ${source}`)
        }
      }
      assert.equal(seen, before, 'refused requests never reach the dyno')
      assert.match(lastLine(/host=shop\.wild\.test/) ?? '', /fwd="203\.0\.113\.10".*status=403/)
    })

    test('untrusted and denied sources get 403 and the dyno sees nothing', async () => {
      const before = seen
      for (const source of [DENIED, OTHER]) {
        const r = await request('/', { source })
        assert.equal(r.status, 403)
        assert.match(r.body, /trusted IP ranges/)
      }
      assert.equal(seen, before)
      assert.match(lastLine(/status=403/) ?? '', /fwd="203\.0\.113\.10".*status=403/)
    })

    test('a ruleset change applies within 1 s, also on a kept-alive connection', async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
      try {
        assert.equal((await request('/', { source: OTHER, agent })).status, 403)
        setRules([{ action: 'allow', source: '203.0.113.0/24' }])
        const t0 = Date.now()
        await waitUntil(
          'the new ruleset',
          async () => (await request('/', { source: OTHER, agent })).status === 200,
          { timeoutMs: 1000 },
        )
        assert.ok(Date.now() - t0 <= 1000)
        assert.equal((await request('/', { source: TRUSTED })).status, 403)
        setRules([])
        assert.equal(
          (await request('/', { source: OTHER, agent })).status,
          403,
          'empty ruleset blocks all',
        )
      } finally {
        agent.destroy()
        setRules([
          { action: 'allow', source: '198.51.100.0/24' },
          { action: 'deny', source: `${DENIED}/32` },
          { action: 'allow', source: '10.70.0.0/16' },
        ])
      }
    })

    test('unknown apps are 404', async () => {
      assert.equal((await request('/', { host: 'nope.localhost' })).status, 404)
    })

    test('Heroku headers reach the dyno', async () => {
      const id = 'abcdefghij0123456789-keep'
      const h = JSON.parse(
        (
          await request('/headers', {
            headers: { 'x-request-id': id, 'x-forwarded-for': '192.0.2.1', via: '1.0 other' },
          })
        ).body,
      ) as Record<string, string>
      assert.equal(h['x-request-id'], id)
      assert.equal(h['x-forwarded-for'], `192.0.2.1, ${TRUSTED}`)
      assert.equal(h['x-forwarded-proto'], 'http')
      assert.equal(h['x-forwarded-port'], String(port))
      assert.equal(h.via, '1.0 other, 1.1 localspace')
      assert.ok(Math.abs(Number(h['x-request-start']) - Date.now()) < 5000)
      const generated = JSON.parse(
        (await request('/headers', { headers: { 'x-request-id': 'bad id' } })).body,
      ) as Record<string, string>
      assert.match(generated['x-request-id']!, /^[0-9a-f-]{36}$/)
    })

    test('H14 without web dynos, H10 when crashed', async () => {
      const a = await request('/', { host: 'nodynos.localhost' })
      assert.equal(a.status, 503)
      assert.match(a.body, /Application error/)
      assert.match(
        lastLine(/host=nodynos/) ?? '',
        /^at=error code=H14 desc="No web processes running".*status=503/,
      )
      assert.equal((await request('/', { host: 'crashed.localhost' })).status, 503)
      assert.match(lastLine(/host=crashed/) ?? '', /^at=error code=H10 desc="App crashed"/)
    })

    test('H12 when the dyno does not answer in time', async () => {
      assert.equal((await request('/never')).status, 503)
      assert.match(
        lastLine(/path="\/never"/) ?? '',
        /code=H12 desc="Request timeout".*dyno=web\.1.*status=503/,
      )
    })

    test('H15 when a response stalls', async () => {
      await assert.rejects(request('/stall'))
      await waitUntil('the H15 line', () => lastLine(/path="\/stall"/) !== undefined)
      assert.match(lastLine(/path="\/stall"/)!, /code=H15 desc="Idle connection"/)
    })

    test('H13 when the dyno closes without a response', async () => {
      assert.equal((await request('/close')).status, 503)
      assert.match(
        lastLine(/path="\/close"/) ?? '',
        /code=H13 desc="Connection closed without response"/,
      )
    })

    test('at most 2 (here) in flight per dyno, 2 queued, then H11; the queue drains', async () => {
      const pending = [1, 2, 3, 4].map(() => request('/hold'))
      await waitUntil('two held at the dyno', () => held.length === 2)
      const fifth = await request('/hold')
      assert.equal(fifth.status, 503)
      assert.match(lastLine(/code=H11/) ?? '', /desc="Backlog too deep"/)
      assert.equal(held.length, 2, 'queued requests wait at the router, not at the dyno')
      while (held.length < 4 || held.some((r) => !r.writableEnded)) {
        for (const r of held) if (!r.writableEnded) r.end('done')
        await waitUntil(
          'queued requests dispatched',
          () => held.length === 4 || held.some((r) => !r.writableEnded),
        )
      }
      for (const a of await Promise.all(pending)) assert.equal(a.status, 200)
      held.splice(0)
    })

    test('H27 when the client goes away', async () => {
      await new Promise<void>((resolve) => {
        const req = http.request({
          host: '127.0.0.1',
          port,
          path: '/hold',
          localAddress: TRUSTED,
          headers: { host: 'myapp.localhost' },
          agent: false,
        })
        req.on('error', () => resolve())
        req.end()
        void waitUntil('held', () => held.length === 1).then(() => req.destroy())
      })
      await waitUntil('the H27 line', () => lastLine(/code=H27/) !== undefined)
      assert.match(lastLine(/code=H27/)!, /desc="Client Request Interrupted".*status=499/)
      held.splice(0).forEach((r) => r.end())
    })

    test('oversized heads are refused (400, H25 in the app’s log) and never forwarded', async () => {
      const before = seen
      const out = await raw(
        `GET /big HTTP/1.1\r\nHost: myapp.localhost\r\nX-Big: ${'a'.repeat(10_000)}\r\n\r\n`,
      )
      assert.match(out, /^HTTP\/1\.1 400 /)
      assert.equal(seen, before)
      assert.match(
        lastLine(/path="\/big"/) ?? '',
        /^at=error code=H25 desc="HTTP restriction: oversized header" method=GET path="\/big" host=myapp\.localhost .*fwd="198\.51\.100\.10" .*status=400 /,
      )
    })

    test('a 1 MiB head in 64-byte writes is refused once past the limit; one just under it works', async () => {
      // The limit here is 8192 bytes: the answer comes long before the 1 MiB is sent.
      const result = await new Promise<{ sent: number; out: string }>((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress: TRUSTED })
        s.setNoDelay(true)
        let sent = 0
        let out = ''
        const piece = Buffer.alloc(64, 97)
        const drip = () => {
          if (out !== '' || s.destroyed || sent >= 1 << 20) return
          sent += 64
          s.write(piece, () => setImmediate(drip))
        }
        s.on('connect', () => {
          s.write('GET /drip HTTP/1.1\r\nHost: myapp.localhost\r\nX-Big: ')
          drip()
        })
        s.on('data', (d) => (out += d.toString()))
        s.on('error', () => undefined)
        s.on('close', () => resolve({ sent, out }))
      })
      assert.match(result.out, /^HTTP\/1\.1 400 /)
      assert.ok(result.sent < 64 * 1024, `answered after ${result.sent} bytes`)
      assert.match(lastLine(/path="\/drip"/) ?? '', /code=H25/)
      const head = (n: number) =>
        `GET /headers HTTP/1.1\r\nHost: myapp.localhost\r\nConnection: close\r\nX-Fill: ${'b'.repeat(n)}\r\n\r\n`
      const fill = 8192 - head(0).length
      assert.match(await raw(head(fill)), /^HTTP\/1\.1 200 /, 'a head of exactly the limit')
      assert.match(await raw(head(fill + 1)), /^HTTP\/1\.1 400 /, 'one byte over')
    })

    test('ambiguous framing is rejected, never forwarded', async () => {
      const before = seen
      const cases = [
        'POST /echo HTTP/1.1\r\nHost: myapp.localhost\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        'POST /echo HTTP/1.1\r\nHost: myapp.localhost\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc',
        'POST /echo HTTP/1.1\r\nHost: myapp.localhost\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd',
        'GET / HTTP/1.1\r\nHost: myapp.localhost\r\nX: a\r\n folded\r\n\r\n',
        'GET / HTTP/1.1\nHost: myapp.localhost\n\n',
        'POST /echo HTTP/1.1\r\nHost: myapp.localhost\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n',
        'POST /echo HTTP/1.1\r\nHost: myapp.localhost\r\nTransfer-Encoding: identity\r\n\r\n',
        'GET / HTTP/1.1\r\nHost: myapp.localhost\r\nHost: other.localhost\r\n\r\n',
      ]
      for (const c of cases) assert.match(await raw(c), /^HTTP\/1\.1 400 /, JSON.stringify(c))
      assert.equal(seen, before)
    })

    test('a slowloris client is cut while others are served', async () => {
      const slow = net.connect({ port, host: '127.0.0.1', localAddress: TRUSTED })
      let closedAt = 0
      slow.on('error', () => undefined)
      slow.on('close', () => (closedAt = Date.now()))
      const opened = Date.now()
      slow.write('GET / HTTP/1.1\r\nHost: myapp.localhost\r\n')
      const drip = setInterval(() => slow.writable && slow.write('X-A: b\r\n'), 50)
      try {
        assert.equal((await request('/')).status, 200)
        await waitUntil('the slow client is cut', () => closedAt > 0, { timeoutMs: 3000 })
        assert.ok(closedAt - opened < 2000)
      } finally {
        clearInterval(drip)
        slow.destroy()
      }
    })

    test('large streamed uploads and downloads', async () => {
      const up = await request('/echo', { method: 'POST', body: Buffer.alloc(32 * 1024 * 1024, 1) })
      assert.equal(up.body, String(32 * 1024 * 1024))
      const chunked = await new Promise<string>((resolve, reject) => {
        const req = http.request(
          {
            host: '127.0.0.1',
            port,
            path: '/echo',
            method: 'POST',
            localAddress: TRUSTED,
            headers: { host: 'myapp.localhost' },
            agent: false,
          },
          (res) => {
            let b = ''
            res.on('data', (c: Buffer) => (b += c.toString()))
            res.on('end', () => resolve(b))
          },
        )
        req.on('error', reject)
        for (let i = 0; i < 100; i++) req.write(Buffer.alloc(10_000))
        req.end()
      })
      assert.equal(chunked, '1000000')
      const down = await new Promise<number>((resolve, reject) => {
        http
          .get(
            {
              host: '127.0.0.1',
              port,
              path: `/download?bytes=${64 * 1024 * 1024}`,
              localAddress: TRUSTED,
              headers: { host: 'myapp.localhost' },
              agent: false,
            },
            (res) => {
              let n = 0
              res.on('data', (c: Buffer) => (n += c.length))
              res.on('end', () => resolve(n))
            },
          )
          .on('error', reject)
      })
      assert.equal(down, 64 * 1024 * 1024)
      assert.match(lastLine(/path="\/download/) ?? '', /status=200 bytes=67108864 /)
    })

    test('WebSocket upgrade echoes both ways', async () => {
      const out = await new Promise<string>((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress: TRUSTED }, () =>
          s.write(
            'GET /ws HTTP/1.1\r\nHost: myapp.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
          ),
        )
        let got = ''
        s.on('data', (d) => {
          got += d.toString()
          if (got.includes('\r\n\r\n') && !got.includes('ping')) s.write('ping')
          if (got.endsWith('ping')) s.end()
        })
        s.on('close', () => resolve(got))
      })
      assert.match(out, /^HTTP\/1\.1 101 /)
      assert.ok(out.endsWith('ping'))
      assert.match(lastLine(/path="\/ws"/) ?? '', /status=101/)
      const refused = await raw(
        'GET /ws HTTP/1.1\r\nHost: myapp.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
        OTHER,
      )
      assert.match(refused, /^HTTP\/1\.1 403 /)
    })

    test('an upgrade the dyno declines is a plain response: the next request is routed', async () => {
      rawAfterDecline.length = 0
      const forged = 'forged-request-id-0000000001'
      const out = await new Promise<string>((resolve) => {
        const s = net.connect({ port, host: '127.0.0.1', localAddress: TRUSTED }, () =>
          s.write(
            'GET /no-upgrade HTTP/1.1\r\nHost: myapp.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
          ),
        )
        let got = ''
        let second = false
        const timer = setTimeout(() => s.destroy(), 3000)
        s.on('data', (d) => {
          got += d.toString()
          if (!second && got.endsWith('no')) {
            second = true
            s.write(
              `GET /headers HTTP/1.1\r\nHost: myapp.localhost\r\nX-Request-Id: ${forged}\r\n` +
                'X-Forwarded-For: 192.0.2.9\r\nConnection: close\r\n\r\n',
            )
          }
        })
        s.on('error', () => undefined)
        s.on('close', () => {
          clearTimeout(timer)
          resolve(got)
        })
      })
      assert.match(out, /^HTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nno/)
      assert.deepEqual(rawAfterDecline, [], 'nothing reached the dyno past the router')
      assert.match(lastLine(/path="\/no-upgrade"/) ?? '', /status=200/)
      const second = out.slice(out.indexOf('HTTP/1.1', 10))
      assert.match(second, /^HTTP\/1\.1 200 /, out)
      const h = JSON.parse(second.slice(second.indexOf('\r\n\r\n') + 4)) as Record<string, string>
      assert.equal(h['x-forwarded-for'], `192.0.2.9, ${TRUSTED}`)
      assert.equal(h.via, '1.1 localspace')
      assert.ok(h['x-request-start'])
      assert.match(
        lastLine(/path="\/headers"/) ?? '',
        new RegExp(`request_id=${forged} fwd="192\\.0\\.2\\.9, 198\\.51\\.100\\.10".*status=200`),
      )
    })

    test('open WebSockets from a source a new ruleset denies are closed; others stay', async () => {
      setRules([
        { action: 'allow', source: '198.51.100.0/24' },
        { action: 'allow', source: '203.0.113.0/24' },
      ])
      const open = (source: string) =>
        new Promise<net.Socket>((resolve) => {
          const s = net.connect({ port, host: '127.0.0.1', localAddress: source }, () =>
            s.write(
              'GET /ws HTTP/1.1\r\nHost: myapp.localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
            ),
          )
          s.on('error', () => undefined)
          s.once('data', (d) => {
            assert.match(d.toString(), /^HTTP\/1\.1 101 /)
            resolve(s)
          })
        })
      const echo = (s: net.Socket, text: string) =>
        new Promise<string>((resolve) => {
          s.once('data', (d) => resolve(d.toString()))
          s.write(text)
        })
      const kept = await open(TRUSTED)
      const cut = await open(OTHER)
      let cutClosed = false
      cut.on('close', () => (cutClosed = true))
      try {
        assert.equal(await echo(cut, 'a'), 'a')
        setRules([{ action: 'allow', source: '198.51.100.0/24' }])
        await waitUntil('the denied tunnel closed', () => cutClosed, { timeoutMs: 1000 })
        assert.equal(await echo(kept, 'still'), 'still')
      } finally {
        kept.destroy()
        cut.destroy()
        setRules([
          { action: 'allow', source: '198.51.100.0/24' },
          { action: 'deny', source: `${DENIED}/32` },
          { action: 'allow', source: '10.70.0.0/16' },
        ])
      }
    })

    test('absolute-form targets are routed by their authority, sent on in origin-form', async () => {
      const out = await raw(
        'GET http://myapp.localhost/headers?x=1 HTTP/1.1\r\nHost: nodynos.localhost\r\nConnection: close\r\n\r\n',
      )
      assert.match(out, /^HTTP\/1\.1 200 /, out)
      const h = JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)) as Record<string, string>
      assert.equal(h.host, 'myapp.localhost')
      assert.match(lastLine(/path="\/headers\?x=1"/) ?? '', /host=myapp\.localhost .*status=200/)
      const other = await raw(
        'GET http://nodynos.localhost/ HTTP/1.1\r\nHost: myapp.localhost\r\nConnection: close\r\n\r\n',
      )
      assert.match(other, /^HTTP\/1\.1 503 /, 'the authority’s app (no dynos: H14), not Host’s')
    })

    test('a request whose trailers break the field rules is refused', async () => {
      const out = await raw(
        'POST /echo HTTP/1.1\r\nHost: myapp.localhost\r\nTransfer-Encoding: chunked\r\n\r\n' +
          '3\r\nabc\r\n0\r\nContent-Length: 5\r\n\r\n',
      )
      assert.match(out, /^HTTP\/1\.1 400 /)
    })

    test('a dyno’s pool is closed when the dyno leaves the table', async () => {
      const open = new Set<net.Socket>()
      const pooled = http.createServer((_req, res) => res.end('ok'))
      pooled.keepAliveTimeout = 60_000 // the router, not the dyno, must close the idle connection
      pooled.on('connection', (s: net.Socket) => {
        open.add(s)
        s.on('close', () => open.delete(s))
      })
      await new Promise<void>((r) => pooled.listen(0, '127.0.0.1', r))
      try {
        const dynoAt = {
          name: 'web.1',
          address: '127.0.0.1',
          port: (pooled.address() as net.AddressInfo).port,
        }
        router.table.setApp({
          id: 'app-5',
          name: 'pooled',
          spaceId: 'space-1',
          internalRouting: false,
        })
        router.table.setDynos('app-5', [dynoAt])
        assert.equal((await request('/', { host: 'pooled.localhost' })).status, 200)
        assert.equal(open.size, 1, 'kept alive in the router’s pool')
        router.table.setDynos('app-5', [])
        await waitUntil('the idle connection closed', () => open.size === 0, { timeoutMs: 2000 })
        router.table.setDynos('app-5', [dynoAt]) // the same dyno back: a pool of its own again
        assert.equal((await request('/', { host: 'pooled.localhost' })).status, 200)
        assert.equal(open.size, 1)
        router.table.removeApp('app-5')
        await waitUntil('closed with its app', () => open.size === 0, { timeoutMs: 2000 })
      } finally {
        router.table.removeApp('app-5')
        pooled.closeAllConnections()
        await new Promise((r) => pooled.close(r))
      }
    })

    test('HTTPS with HTTP/2, and per-app certificates by SNI', async () => {
      const fetchH2 = (servername: string, authority = 'myapp.localhost', source = TRUSTED) =>
        new Promise<{ status: number; cert: string; alpn: string; body: string }>(
          (resolve, reject) => {
            const session = http2.connect(`https://127.0.0.1:${tlsPort}`, {
              servername,
              rejectUnauthorized: false,
              // passed on to tls.connect, which takes it (the http2 types do not list it)
              localAddress: source,
            } as http2.SecureClientSessionOptions)
            session.on('error', reject)
            const req = session.request({ ':path': '/headers', ':authority': authority })
            let body = ''
            let status = 0
            req.on('response', (h) => (status = Number(h[':status'])))
            req.on('data', (c: Buffer) => (body += c.toString()))
            req.on('end', () => {
              const socket = session.socket as unknown as {
                getPeerCertificate(): { subject: { CN: string } }
                alpnProtocol: string
              }
              const cert = socket.getPeerCertificate().subject.CN
              const alpn = socket.alpnProtocol
              session.close()
              resolve({ status, cert, alpn, body })
            })
            req.end()
          },
        )
      const plain = await fetchH2('myapp.localhost')
      assert.equal(plain.status, 200, lines.slice(-3).join('\n'))
      assert.equal(plain.cert, 'a.test')
      assert.equal(plain.alpn, 'h2')
      assert.equal((JSON.parse(plain.body) as Record<string, string>)['x-forwarded-proto'], 'https')

      const www = selfSigned(['www.example.test'])
      const wild = selfSigned(['*.wild.test'])
      const app1 = {
        id: 'app-1',
        name: 'myapp',
        spaceId: 'space-1',
        internalRouting: false,
        domains: ['www.example.test', '*.wild.test'],
      }
      router.table.setApp({
        ...app1,
        certificates: [
          { id: 'c-www', ...www, hostnames: ['www.example.test'] },
          { id: 'c-wild', ...wild, hostnames: ['*.wild.test'] },
          // Never served for a name of another app, whatever the feed says.
          { id: 'c-stray', ...www, hostnames: ['exact.wild.test'] },
        ],
      })
      const custom = await fetchH2('www.example.test', 'www.example.test')
      assert.deepEqual([custom.status, custom.cert, custom.alpn], [200, 'www.example.test', 'h2'])
      const wildcard = await fetchH2('shop.wild.test', 'shop.wild.test')
      assert.deepEqual([wildcard.status, wildcard.cert, wildcard.alpn], [200, '*.wild.test', 'h2'])
      assert.equal((await fetchH2('exact.wild.test', 'exact.wild.test')).cert, 'a.test')
      assert.equal((await fetchH2('myapp.localhost')).cert, 'a.test', 'no app certificate')
      assert.equal((await fetchH2('nowhere.test')).cert, 'a.test', 'an unknown name')
      // Trusted ranges apply on HTTPS and custom domains alike.
      const refused = await fetchH2('www.example.test', 'www.example.test', OTHER)
      assert.deepEqual([refused.status, refused.cert], [403, 'www.example.test'])

      // curl verifies the chain against the app's certificate alone: only the right one passes.
      const wwwCrt = join(certDir, 'www.crt')
      writeFileSync(wwwCrt, www.cert)
      const curl = (...args: string[]) =>
        promisify(execFile)('curl', ['-s', '--interface', TRUSTED, '--cacert', wwwCrt, ...args], {
          encoding: 'utf8',
        }).then(
          (r) => r.stdout,
          (e: { code?: number }) => `curl exit ${e.code}`,
        )
      const resolve = `www.example.test:${tlsPort}:127.0.0.1`
      assert.equal(
        await curl(
          '--resolve',
          resolve,
          '-w',
          ' %{http_version}',
          `https://www.example.test:${tlsPort}/`,
        ),
        'ok 2',
      )
      assert.equal(
        await curl(
          '--http1.1',
          '--resolve',
          resolve,
          '-w',
          ' %{http_version}',
          `https://www.example.test:${tlsPort}/`,
        ),
        'ok 1.1',
      )
      const wrongName = `myapp.localhost:${tlsPort}:127.0.0.1`
      assert.equal(
        await curl('--resolve', wrongName, `https://myapp.localhost:${tlsPort}/`),
        'curl exit 60',
        'the default certificate is not the app’s',
      )

      router.table.setApp(app1) // the certificates removed
      assert.equal((await fetchH2('www.example.test', 'www.example.test')).cert, 'a.test')
      assert.match(lastLine(/protocol=https/) ?? '', /status=200/)
    })

    describe('connections per source', () => {
      let capped: Router
      let cappedPort = 0
      const warnings: string[] = []

      before(async () => {
        capped = new Router({
          domain: 'localhost',
          listen: [{ host: '0.0.0.0', port: 0 }],
          log: (_app, text) => lines.push(text),
          warn: (text) => warnings.push(text),
          timeouts: { refusalReportMs: 100 },
          limits: { maxConnectionsPerSource: 4 },
        })
        await capped.start()
        cappedPort = capped.addresses()[0]!.port
        capped.table.setSpace({
          id: 'space-1',
          cidr: '10.70.0.0/16',
          internalAddress: '10.70.0.3',
          rules: [{ action: 'allow', source: '198.51.100.0/24' }],
        })
        capped.table.setApp({
          id: 'app-1',
          name: 'myapp',
          spaceId: 'space-1',
          internalRouting: false,
        })
        capped.table.setDynos('app-1', [{ name: 'web.1', address: '127.0.0.1', port: dynoPort }])
      })

      after(() => capped.close())

      /** A connection from `source` and what became of a request on it: its answer, or closed. */
      const attempt = (source: string) =>
        new Promise<{ socket: net.Socket; answer: Promise<string> }>((resolve) => {
          const socket = net.connect({ port: cappedPort, host: '127.0.0.1', localAddress: source })
          socket.on('error', () => undefined)
          let out = ''
          const answer = new Promise<string>((done) => {
            socket.on('data', (d) => {
              out += d.toString()
              if (out.includes('\r\n\r\n')) done(out.slice(0, 12))
            })
            socket.on('close', () => done(out === '' ? 'closed' : out.slice(0, 12)))
          })
          socket.on('connect', () => {
            socket.write('GET / HTTP/1.1\r\nHost: myapp.localhost\r\n\r\n')
            resolve({ socket, answer })
          })
        })

      test('past the cap a source’s connections are closed at once; another source is served', async () => {
        // Up to the cap, even an untrusted source gets an answer (403): the cap comes first.
        const first = await Promise.all([1, 2, 3, 4].map(() => attempt(OTHER)))
        try {
          for (const c of first) assert.equal(await c.answer, 'HTTP/1.1 403')
          const excess = await Promise.all([1, 2, 3].map(() => attempt(OTHER)))
          for (const c of excess) assert.equal(await c.answer, 'closed')
          const other = await attempt(TRUSTED)
          assert.equal(await other.answer, 'HTTP/1.1 200')
          other.socket.destroy()
          const reports = () => warnings.filter((w) => w.startsWith('router: refused'))
          await waitUntil('one report line', () => reports().length > 0)
          assert.deepEqual(reports(), [
            `router: refused 3 connections over the cap of 4 per source from 1 source(s), most from ${OTHER} (3)`,
          ])
          // Closing one makes room for one more.
          first[0]!.socket.destroy()
          await waitUntil('room again', async () => {
            const again = await attempt(OTHER)
            const answer = await again.answer
            again.socket.destroy()
            return answer === 'HTTP/1.1 403'
          })
        } finally {
          for (const c of first) c.socket.destroy()
        }
      })
    })

    describe('internal routing', () => {
      // Async: the router runs in this process and must keep answering while curl waits.
      const nsCurl = async (ns: string, url: string, host: string) => {
        const args = [
          'netns',
          'exec',
          ns,
          'curl',
          '-s',
          '-m',
          '3',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          '-H',
          `Host: ${host}`,
          url,
        ]
        try {
          return (await promisify(execFile)('ip', args, { encoding: 'utf8' })).stdout
        } catch (e) {
          return (e as { stdout?: string }).stdout || 'failed'
        }
      }

      before(() => {
        sh('sysctl', '-qw', 'net.ipv4.ip_forward=1')
        // Space 1 (10.70/16, internal router 10.70.0.3) and space 2 (10.71/16), one dyno each.
        for (const [n, c] of [
          ['1', '70'],
          ['2', '71'],
        ] as const) {
          sh('ip', 'link', 'add', `rtb${n}`, 'type', 'bridge')
          sh('ip', 'addr', 'add', `10.${c}.0.1/16`, 'dev', `rtb${n}`)
          sh('ip', 'link', 'set', `rtb${n}`, 'up')
          sh('ip', 'netns', 'add', `rtdyno${n}`)
          sh(
            'ip',
            'link',
            'add',
            `rtv${n}`,
            'type',
            'veth',
            'peer',
            'name',
            'eth0',
            'netns',
            `rtdyno${n}`,
          )
          sh('ip', 'link', 'set', `rtv${n}`, 'master', `rtb${n}`, 'up')
          sh('ip', '-n', `rtdyno${n}`, 'addr', 'add', `10.${c}.128.5/16`, 'dev', 'eth0')
          sh('ip', '-n', `rtdyno${n}`, 'link', 'set', 'eth0', 'up')
          sh('ip', '-n', `rtdyno${n}`, 'link', 'set', 'lo', 'up')
          sh('ip', '-n', `rtdyno${n}`, 'route', 'add', 'default', 'via', `10.${c}.0.1`)
        }
        router.table.setApp({
          id: 'app-i',
          name: 'inapp',
          spaceId: 'space-1',
          internalRouting: true,
          domains: ['in.example.test'],
        })
        router.table.setDynos('app-i', [{ name: 'web.1', address: '127.0.0.1', port: dynoPort }])
      })

      after(() => {
        for (const n of ['1', '2']) {
          sh('ip', 'netns', 'del', `rtdyno${n}`)
          sh('ip', 'link', 'del', `rtb${n}`)
        }
      })

      test('bound once the space address exists; reachable from a dyno in the space only', async () => {
        assert.equal(router.internalBound('space-1'), false, 'no 10.70.0.3 yet')
        sh('ip', 'addr', 'add', '10.70.0.3/16', 'dev', 'rtb1')
        await waitUntil('the internal listener', () => router.internalBound('space-1'))
        assert.equal(await nsCurl('rtdyno1', 'http://10.70.0.3/', 'inapp.localhost'), '200')
        assert.match(
          lastLine(/host=inapp/) ?? '',
          /fwd="10\.70\.128\.5".*status=200 .*protocol=http/,
        )
        assert.equal(await nsCurl('rtdyno1', 'http://10.70.0.3/', 'in.example.test'), '200')
        assert.equal(
          await nsCurl('rtdyno1', 'http://10.70.0.3/', 'myapp.localhost'),
          '404',
          'public apps are not internal',
        )
        assert.equal(await nsCurl('rtdyno1', 'http://10.70.0.3/', 'www.example.test'), '404')
        assert.equal(
          await nsCurl('rtdyno2', 'http://10.70.0.3/', 'inapp.localhost'),
          '000',
          'another space',
        )
        const outside = await raw(
          'GET / HTTP/1.1\r\nHost: inapp.localhost\r\n\r\n',
          TRUSTED,
          80,
          '10.70.0.3',
        )
        assert.equal(outside, '', 'outside sources are cut before any byte')
      })

      test('never on the public listener', async () => {
        assert.equal((await request('/', { host: 'inapp.localhost' })).status, 404)
        assert.equal((await request('/', { host: 'in.example.test' })).status, 404)
        assert.equal(await nsCurl('rtdyno1', `http://10.70.0.1:${port}/`, 'inapp.localhost'), '404')
        assert.equal(
          await nsCurl('rtdyno1', `http://10.70.0.1:${port}/`, 'myapp.localhost'),
          '200',
          'space is trusted',
        )
      })
    })
  })
}
