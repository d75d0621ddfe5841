import assert from 'node:assert/strict'
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { after, before, describe, test } from 'node:test'
import { ACCEPT_V3, ApiClient, ApiError, ConnectionError, p } from './client.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** A tiny API on port 0; each test installs the handler it needs. */
async function startServer(): Promise<{
  server: Server
  url: string
  handle: (h: Handler) => void
  seen: IncomingMessage[]
}> {
  let handler: Handler = (_req, res) => res.end()
  const seen: IncomingMessage[] = []
  const server = createServer((req, res) => {
    seen.push(req)
    handler(req, res)
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${port}`, handle: (h) => (handler = h), seen }
}

const sendJson = (
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) => {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

/** Pages of `size` over 1..total, keyed by `id`, with Heroku's Range and Next-Range. */
function pagedIds(total: number, size: number): Handler {
  return (req, res) => {
    const m = /^id \](\d+)\.\.; max=(\d+)$/.exec(req.headers.range ?? '')
    const after = m ? Number(m[1]) : 0
    const ids = Array.from({ length: total }, (_, i) => i + 1).filter((id) => id > after)
    const page = ids.slice(0, size).map((id) => ({ id }))
    const last = page[page.length - 1]
    if (last && ids.length > size) {
      sendJson(res, 206, page, { 'Next-Range': `id ]${last.id}..; max=${size}` })
    } else {
      sendJson(res, 200, page)
    }
  }
}

describe('ApiClient', () => {
  let api: Awaited<ReturnType<typeof startServer>>
  before(async () => {
    api = await startServer()
  })
  after(() => {
    // fetch keeps connections alive; close them too, or the file waits for their timeout.
    api.server.closeAllConnections()
    api.server.close()
  })

  test('sends the v3 Accept header and the key as a Bearer token', async () => {
    api.handle((_req, res) => sendJson(res, 200, { email: 'me@example.com' }))
    const client = new ApiClient({ url: `${api.url}/`, token: 'secret' })
    assert.deepEqual(await client.get('/account'), { email: 'me@example.com' })
    const req = api.seen.at(-1)!
    assert.equal(req.url, '/account')
    assert.equal(req.headers.accept, ACCEPT_V3)
    assert.equal(req.headers.authorization, 'Bearer secret')
  })

  test('sends JSON bodies with their content type', async () => {
    let received = ''
    api.handle((req, res) => {
      req.setEncoding('utf8').on('data', (d: string) => (received += d))
      req.on('end', () => sendJson(res, 201, { ok: true }))
    })
    const client = new ApiClient({ url: api.url, token: 't' })
    await client.post('/teams', { name: 'acme' })
    assert.equal(api.seen.at(-1)!.headers['content-type'], 'application/json')
    assert.deepEqual(JSON.parse(received), { name: 'acme' })
  })

  test('lists follow Next-Range until the last page and concatenate the pages', async () => {
    api.handle(pagedIds(5, 2))
    const before = api.seen.length
    const client = new ApiClient({ url: api.url, token: 't' })
    const items = await client.list<{ id: number }>('/things')
    assert.deepEqual(
      items.map((i) => i.id),
      [1, 2, 3, 4, 5],
    )
    const ranges = api.seen.slice(before).map((r) => r.headers.range)
    assert.deepEqual(ranges, [undefined, 'id ]2..; max=2', 'id ]4..; max=2'])
  })

  test('a complete list is a single request', async () => {
    api.handle(pagedIds(2, 10))
    const before = api.seen.length
    const items = await new ApiClient({ url: api.url }).list('/things')
    assert.equal(items.length, 2)
    assert.equal(api.seen.length - before, 1)
  })

  test('a partial list stops after the first page and sends the given Range', async () => {
    api.handle(pagedIds(5, 2))
    const before = api.seen.length
    const client = new ApiClient({ url: api.url })
    const items = await client.list('/things', { range: 'id ..; max=2', partial: true })
    assert.equal(items.length, 2)
    assert.equal(api.seen.length - before, 1)
    assert.equal(api.seen.at(-1)!.headers.range, 'id ..; max=2')
  })

  test('a server repeating the same Next-Range is an error, not an endless loop', async () => {
    api.handle((_req, res) => sendJson(res, 206, [{ id: 1 }], { 'Next-Range': 'id ]1..; max=1' }))
    await assert.rejects(new ApiClient({ url: api.url }).list('/things'), /same Next-Range/)
  })

  test('API errors carry the status, id and message of the {id, message} body', async () => {
    api.handle((_req, res) =>
      sendJson(res, 404, { id: 'not_found', message: "Couldn't find that app.", resource: 'app' }),
    )
    const error = await new ApiClient({ url: api.url }).get('/apps/nope').catch((e: unknown) => e)
    assert.ok(error instanceof ApiError)
    assert.equal(error.status, 404)
    assert.equal(error.id, 'not_found')
    assert.equal(error.message, "Couldn't find that app.")
  })

  test('a 401 carries the hint for the person; other errors do not', async () => {
    api.handle((_req, res) =>
      sendJson(res, 401, { id: 'unauthorized', message: 'Invalid credentials provided.' }),
    )
    const client = new ApiClient({ url: api.url, token: 'bad', unauthorizedHint: 'log in again' })
    const error = await client.get('/account').catch((e: unknown) => e)
    assert.ok(error instanceof ApiError)
    assert.equal(error.hint, 'log in again')
  })

  test('an error without a JSON body still has a readable message', async () => {
    api.handle((_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/plain' })
      res.end('upstream down')
    })
    const error = await new ApiClient({ url: api.url }).get('/x').catch((e: unknown) => e)
    assert.ok(error instanceof ApiError)
    assert.equal(error.id, 'http_502')
    assert.match(error.message, /502.*upstream down/)
  })

  test('a refused connection names the URL and suggests starting the daemon', async () => {
    const closed = await startServer()
    closed.server.close()
    await once(closed.server, 'close')
    const error = await new ApiClient({ url: closed.url }).get('/account').catch((e: unknown) => e)
    assert.ok(error instanceof ConnectionError)
    assert.equal(error.code, 'ECONNREFUSED')
    assert.match(error.message, new RegExp(`${closed.url}.*connection refused`))
    assert.match(error.message, /localspace daemon/)
  })
})

describe('p', () => {
  test('encodes every interpolated value, so a name cannot reach another path', () => {
    assert.equal(p`/apps/${'a/../b'}/config-vars`, '/apps/a%2F..%2Fb/config-vars')
    assert.equal(
      p`/teams/${'acme'}/members/${'me@example.com'}`,
      '/teams/acme/members/me%40example.com',
    )
  })
})
