import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ResponseParser, type ResponseHead } from './response-parser.js'

/** Feeds `parts` and records what the parser reported. */
function parse(parts: string[], noBody = false) {
  const seen = {
    head: undefined as ResponseHead | undefined,
    body: '',
    end: undefined as boolean | undefined,
    error: '',
  }
  const p = new ResponseParser(1024)
  p.begin(
    {
      onHead: (h) => (seen.head = h),
      onBody: (c) => (seen.body += c.toString()),
      onEnd: (r) => (seen.end = r),
      onError: (e) => (seen.error = e),
    },
    noBody,
  )
  for (const part of parts) if (!p.feed(Buffer.from(part))) break
  return Object.assign(seen, { parser: p })
}

describe('ResponseParser', () => {
  test('Content-Length body split across reads; connection reusable', () => {
    const r = parse(['HTTP/1.1 200 OK\r\nContent-', 'Length: 5\r\nX-A: b\r\n\r\nhe', 'llo'])
    assert.equal(r.head?.status, 200)
    assert.deepEqual(r.head?.rawHeaders, ['Content-Length', '5', 'X-A', 'b'])
    assert.equal(r.body, 'hello')
    assert.equal(r.end, true)
  })

  test('chunked body is decoded, extensions and trailers dropped', () => {
    const r = parse([
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r',
      '\n2\r\nde\r\n0\r\nT: v\r\n\r\n',
    ])
    assert.equal(r.body, 'abcde')
    assert.equal(r.end, true)
  })

  test('a body delimited by close ends on close and is not reusable', () => {
    const r = parse(['HTTP/1.1 200 OK\r\n\r\npart'])
    assert.equal(r.end, undefined)
    assert.equal(r.parser.closed(), true)
    assert.equal(r.body, 'part')
    assert.equal(r.end, false)
  })

  test('Connection: close, HEAD, 204 and 1xx', () => {
    assert.equal(
      parse(['HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n']).end,
      false,
    )
    const head = parse(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n'], true)
    assert.equal(head.end, true)
    assert.equal(parse(['HTTP/1.1 204 No Content\r\n\r\n']).end, true)
    const cont = parse([
      'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx',
    ])
    assert.equal(cont.head?.status, 201)
    assert.equal(cont.body, 'x')
  })

  test('ambiguous or malformed responses are refused', () => {
    for (const bad of [
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n',
      'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n',
      'HTTP/1.1 200 OK\r\nX: a\r\n folded\r\n\r\n',
      'HTTP/1.1 200 OK\nX: a\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n',
      'HTTP/2 200\r\n\r\n',
      'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n',
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ]) {
      assert.equal(parse([bad]).error, 'malformed', JSON.stringify(bad))
    }
    assert.equal(parse([`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(2000)}`]).error, 'too-large')
  })
})
