import assert from 'node:assert/strict'
import net from 'node:net'
import { after, before, describe, test } from 'node:test'
import type { ClientExchange } from './exchange.js'
import { Http1Server } from './http1-server.js'

/** Raw bytes to the server; resolves with all it answered once it closed (or after `ms`). */
function exchange(port: number, send: (s: net.Socket) => void, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => send(s))
    let out = ''
    const timer = setTimeout(() => s.destroy(), ms)
    s.on('data', (d) => (out += d.toString('latin1')))
    s.on('error', () => undefined)
    s.on('close', () => {
      clearTimeout(timer)
      resolve(out)
    })
  })
}

describe('Http1Server', () => {
  let tcp: net.Server
  let http1: Http1Server
  let port = 0
  const refused: Array<{ method: string; url: string; host: string; source: string }> = []

  before(async () => {
    // Answers with the request's url and body length, in a body of unknown length.
    http1 = new Http1Server(
      {
        maxHeaderBytes: 4096,
        headersTimeoutMs: 300,
        keepAliveTimeoutMs: 300,
        checkEveryMs: 50,
        badRequestPage: 'bad',
      },
      {
        request(ex: ClientExchange) {
          let n = 0
          ex.listen({
            onClientBody: (c) => (n += c.length),
            onClientBodyEnd: () => answer(),
            onClientDrain: () => undefined,
            onClientGone: () => undefined,
          })
          const answer = () => {
            ex.writeHead(
              {
                status: 200,
                reason: 'OK',
                rawHeaders: ['X-Url', ex.url],
                contentLength: undefined,
              },
              false,
            )
            ex.write(Buffer.from(`${ex.url}:${n}`))
            ex.end()
          }
          ex.readBody()
          if (ex.body === 'none') answer()
        },
        tooLarge: (request, source) => refused.push({ ...request, source }),
      },
    )
    tcp = net.createServer((s) => http1.serve(s))
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r))
    port = (tcp.address() as net.AddressInfo).port
  })
  after(async () => {
    http1.close()
    await new Promise((r) => tcp.close(r))
  })

  test('pipelined requests are answered in order; bodies of unknown length are chunked for 1.1', async () => {
    const out = await exchange(port, (s) =>
      s.write(
        'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc' +
          'GET /3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      ),
    )
    const responses = out.split('HTTP/1.1 200 OK\r\n').slice(1)
    assert.equal(responses.length, 3, out)
    assert.match(
      responses[0]!,
      /^X-Url: \/1\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n\/1:0\r\n0\r\n\r\n$/,
    )
    assert.match(responses[1]!, /\r\n\r\n4\r\n\/2:3\r\n0\r\n\r\n$/)
    assert.match(
      responses[2]!,
      /^X-Url: \/3\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n/,
    )
  })

  test('HTTP/1.0: the body ends with the connection', async () => {
    const out = await exchange(port, (s) => s.write('GET /old HTTP/1.0\r\n\r\n'))
    assert.equal(out, 'HTTP/1.1 200 OK\r\nX-Url: /old\r\nConnection: close\r\n\r\n/old:0')
  })

  test('Expect: 100-continue gets its interim answer before the body is sent', async () => {
    const out = await exchange(port, (s) => {
      s.write(
        'PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\nConnection: close\r\n\r\n',
      )
      s.once('data', (d) => {
        assert.equal(d.toString(), 'HTTP/1.1 100 Continue\r\n\r\n')
        s.write('hi')
      })
    })
    assert.match(out, /\r\n\r\n4\r\n\/e:2\r\n/)
  })

  test('a head that does not arrive in time is 408; an idle kept-alive connection is closed', async () => {
    const t0 = Date.now()
    const slow = await exchange(port, (s) => s.write('GET / HTTP/1.1\r\nHost: x\r\n'))
    assert.match(slow, /^HTTP\/1\.1 408 /)
    assert.ok(Date.now() - t0 < 1500)
    const idle = await exchange(port, (s) => s.write('GET /k HTTP/1.1\r\nHost: x\r\n\r\n'))
    assert.match(idle, /\/k:0/, 'answered, then closed when idle')
  })

  test('refused requests get 400 (too large ones too, as Heroku answers them) and the connection closes', async () => {
    assert.match(
      await exchange(port, (s) => s.write('GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n')),
      /^HTTP\/1\.1 400 /,
    )
    refused.length = 0
    assert.match(
      await exchange(port, (s) =>
        s.write(`GET /big HTTP/1.1\r\nHost: app.test\r\nX: ${'a'.repeat(5000)}\r\n\r\n`),
      ),
      /^HTTP\/1\.1 400 /,
    )
    assert.deepEqual(refused, [
      { method: 'GET', url: '/big', host: 'app.test', source: '127.0.0.1' },
    ])
    assert.match(
      await exchange(port, (s) => s.write('CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n')),
      /^HTTP\/1\.1 400 /,
    )
  })
})
