import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  RequestParser,
  ResponseParser,
  type RequestHead,
  type ResponseHead,
} from './http1-parser.js'

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

/** Feeds requests in `parts`; records each request's head, body and end, or the error. */
function parseRequests(parts: string[], maxHead = 1024) {
  const seen: Array<{ head: RequestHead; body: string; ended: boolean }> = []
  let error = ''
  const p = new RequestParser(maxHead)
  const events = {
    onHead: (h: RequestHead) => seen.push({ head: h, body: '', ended: false }),
    onBody: (c: Buffer) => (seen.at(-1)!.body += c.toString()),
    onEnd: () => (seen.at(-1)!.ended = true),
    onError: (e: string) => (error = e),
  }
  p.begin(events)
  for (const part of parts) {
    if (!p.feed(Buffer.from(part))) break
    // The next request starts once the last one is complete, as the server does it.
    while (p.done && p.buffered > 0 && !error) p.begin(events)
  }
  return { seen, error, parser: p }
}

describe('RequestParser', () => {
  test('a head split anywhere, with its Content-Length body', () => {
    const r = parseRequests([
      'POST /a?b=1 HT',
      'TP/1.1\r\nHost: x\r\nContent-Len',
      'gth: 3\r\n\r\nab',
      'c',
    ])
    assert.equal(r.error, '')
    assert.equal(r.seen.length, 1)
    const { head, body, ended } = r.seen[0]!
    assert.deepEqual([head.method, head.url, head.minor, head.host], ['POST', '/a?b=1', 1, 'x'])
    assert.deepEqual([head.body, head.contentLength, head.keepAlive], ['length', 3, true])
    assert.deepEqual(head.rawHeaders, ['Host', 'x', 'Content-Length', '3'])
    assert.deepEqual([body, ended], ['abc', true])
  })

  test('a head sent one byte at a time, leading empty lines included', () => {
    const text = '\r\nGET /slow HTTP/1.1\r\nHost: x\r\nX-A: b\r\n\r\n'
    const r = parseRequests([...text])
    assert.equal(r.error, '')
    assert.deepEqual(r.seen[0]?.head.rawHeaders, ['Host', 'x', 'X-A', 'b'])
    assert.equal(r.seen[0]?.ended, true)
  })

  test('pipelined requests are kept until the next one begins', () => {
    const r = parseRequests([
      'GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHo',
      'st: x\r\n\r\n',
    ])
    assert.deepEqual(
      r.seen.map((s) => [s.head.url, s.ended]),
      [
        ['/1', true],
        ['/2', true],
        ['/3', true],
      ],
    )
  })

  test('chunked bodies are decoded; keep-alive follows the version and Connection', () => {
    const r = parseRequests([
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nConnection: close\r\n\r\n2;ext\r\nab\r\n0\r\n\r\n',
    ])
    assert.deepEqual(
      [r.seen[0]!.body, r.seen[0]!.head.body, r.seen[0]!.head.keepAlive],
      ['ab', 'chunked', false],
    )
    const old = parseRequests(['GET / HTTP/1.0\r\n\r\n']).seen[0]!.head
    assert.deepEqual([old.keepAlive, old.host], [false, ''], 'HTTP/1.0 needs no Host')
    const kept = parseRequests(['GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n']).seen[0]!.head
    assert.equal(kept.keepAlive, true)
  })

  test('upgrades and 100-continue are noted; leading empty lines are skipped', () => {
    const ws = parseRequests([
      '\r\nGET /ws HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n',
    ]).seen[0]!.head
    assert.equal(ws.upgrade, 'websocket')
    const noConnection = parseRequests(['GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\n\r\n'])
    assert.equal(noConnection.seen[0]!.head.upgrade, undefined)
    const expect = parseRequests([
      'PUT / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n',
    ])
    assert.equal(expect.seen[0]!.head.expectContinue, true)
  })

  test('ambiguous or malformed requests are refused at once', () => {
    for (const bad of [
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3, 3\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: a\r\n folded\r\n\r\n',
      'GET / HTTP/1.1\nHost: x\n\n',
      'GET / HTTP/1.1\r\nHost: x\rX: y\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nX: a\x00b\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nBad Name: y\r\n\r\n',
      'GET / HTTP/1.1\r\nHost : x\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n',
      'GET / HTTP/1.1\r\n\r\n',
      'GET /a b HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET / HTTP/2.0\r\nHost: x\r\n\r\n',
      'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n',
    ]) {
      const r = parseRequests([bad])
      assert.equal(r.error, 'malformed', JSON.stringify(bad))
    }
    // A bare LF is refused before the head is complete: a client cannot hold a connection open.
    assert.equal(parseRequests(['GET / HTTP/1.1\nHost: x']).error, 'malformed')
  })

  test('field values: whitespace around them trimmed, inside kept; obs-text and HTAB allowed', () => {
    const r = parseRequests([
      'GET / HTTP/1.1\r\nHost:x\r\nX-A: \t a \t b \t\r\nX-Empty:\r\nX-Spaces:   \r\nX-Latin: caf\xe9\r\n\r\n',
    ])
    assert.equal(r.error, '')
    assert.deepEqual(r.seen[0]!.head.rawHeaders, [
      'Host',
      'x',
      'X-A',
      'a \t b',
      'X-Empty',
      '',
      'X-Spaces',
      '',
      'X-Latin',
      Buffer.from('caf\xe9').toString('latin1'), // bytes kept as they came (UTF-8 here)
    ])
    for (const bad of [
      'GET / HTTP/1.1\r\nHost: x\r\nX: a\x7fb\r\n\r\n', // DEL
      'GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n', // a CR inside a value
      'GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: x\r\nN\xe4me: y\r\n\r\n', // names are ASCII tokens
      'GET / HTTP/1.1\r\nHost: x\r\nNo-Colon\r\n\r\n',
      'GET /\t HTTP/1.1\r\nHost: x\r\n\r\n',
    ]) {
      assert.equal(parseRequests([bad]).error, 'malformed', JSON.stringify(bad))
    }
    // A reason phrase may hold HTAB but no other control character.
    assert.equal(parse(['HTTP/1.1 200 O\tK\r\nContent-Length: 0\r\n\r\n']).head?.reason, 'O\tK')
    assert.equal(parse(['HTTP/1.1 200 O\x01K\r\nContent-Length: 0\r\n\r\n']).error, 'malformed')
  })

  test('heads over the limit, and too many fields, are too large', () => {
    assert.equal(parseRequests([`GET / HTTP/1.1\r\nX: ${'a'.repeat(2000)}`]).error, 'too-large')
    const fields = Array.from({ length: 2001 }, (_, i) => `X${i}: y\r\n`).join('')
    assert.equal(
      parseRequests([`GET / HTTP/1.1\r\nHost: x\r\n${fields}\r\n`], 1 << 20).error,
      'too-large',
    )
  })
})

describe('RequestParser: linear in what arrives, trailers and chunk lines by the rules', () => {
  /** CPU milliseconds of `fn`. */
  const cpuMs = (fn: () => void) => {
    const t0 = process.cpuUsage()
    fn()
    const u = process.cpuUsage(t0)
    return (u.user + u.system) / 1000
  }

  test('a 1 MiB head in 64-byte pieces costs time in proportion to its size', () => {
    // Limit above the head: every piece is buffered and scanned (the old code re-copied and
    // re-searched all of it for each piece: seconds of CPU).
    const head = `GET / HTTP/1.1\r\nHost: x\r\nX: ${'a'.repeat(1 << 20)}\r\n\r\n`
    const pieces: string[] = []
    for (let i = 0; i < head.length; i += 64) pieces.push(head.slice(i, i + 64))
    let r: ReturnType<typeof parseRequests> | undefined
    const ms = cpuMs(() => (r = parseRequests(pieces, 2 << 20)))
    assert.equal(r!.error, '')
    assert.equal(r!.seen[0]?.head.rawHeaders[3]?.length, 1 << 20)
    assert.ok(ms < 600, `${ms} ms of CPU`)
  })

  test('a head split at every place, its CRLFCRLF across pieces, with leading empty lines', () => {
    const text =
      '\r\n\r\nGET /p HTTP/1.1\r\nHost: x\r\nA: b\r\n\r\nGET /q HTTP/1.1\r\nHost: y\r\n\r\n'
    for (let i = 1; i < text.length; i++) {
      for (const j of [i + 1, i + 3, text.length]) {
        const r = parseRequests([text.slice(0, i), text.slice(i, j), text.slice(j)])
        assert.equal(r.error, '', `split at ${i}, ${j}`)
        assert.deepEqual(
          r.seen.map((s) => [s.head.url, s.head.host, s.ended]),
          [
            ['/p', 'x', true],
            ['/q', 'y', true],
          ],
          `split at ${i}, ${j}`,
        )
      }
    }
  })

  test('a head in pieces is refused as soon as it passes the limit, or has a bare LF', () => {
    const p = new RequestParser(1024)
    let error = ''
    p.begin({
      onHead: () => undefined,
      onBody: () => undefined,
      onEnd: () => undefined,
      onError: (e) => (error = e),
    })
    let fed = 0
    assert.equal(p.feed(Buffer.from('GET /big HTTP/1.1\r\nHost: app.example\r\nX: ')), true)
    while (p.feed(Buffer.alloc(64, 97))) fed += 64
    assert.equal(error, 'too-large')
    assert.ok(fed <= 1024, `refused after ${fed} bytes`)
    assert.deepEqual(p.refused, { method: 'GET', url: '/big', host: 'app.example' })
    assert.equal(parseRequests(['GET / HTTP/1.1\r\nHo', 'st: x\n']).error, 'malformed')
    assert.equal(parseRequests(['GET / HTTP/1.1\r\nHost: x\r', 'X']).error, 'malformed')
  })

  test('trailers are checked by the field rules; framing and routing fields in them refused', () => {
    const chunked =
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n'
    const good = parseRequests([chunked, 'T: v\r\nU:\tw \r\n', '\r\n'])
    assert.equal(good.error, '')
    assert.deepEqual([good.seen[0]?.body, good.seen[0]?.ended], ['a', true])
    const empty = parseRequests([chunked, '\r', '\n'])
    assert.equal(empty.seen[0]?.ended, true)
    for (const bad of [
      'T: a\rb\r\n\r\n', // bare CR
      'T: a\x01b\r\n\r\n', // control character
      'T: a\x7f\r\n\r\n',
      'Bad Name: x\r\n\r\n',
      ' folded: x\r\n\r\n',
      'T: a\nU: b\r\n\r\n', // bare LF
      'Content-Length: 5\r\n\r\n',
      'transfer-encoding: chunked\r\n\r\n',
      'Host: other\r\n\r\n',
    ]) {
      assert.equal(parseRequests([chunked + bad]).error, 'malformed', JSON.stringify(bad))
      assert.equal(
        parseRequests([chunked, ...bad]).error,
        'malformed',
        `${JSON.stringify(bad)} byte by byte`,
      )
    }
    const big = parseRequests([chunked, `T: ${'a'.repeat(2000)}`])
    assert.equal(big.error, 'too-large')
  })

  test('chunk lines follow RFC 9112 §7.1.1: size, then ;name[=token|quoted-string]', () => {
    const body = (line: string) =>
      parseRequests([
        `POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n${line}\r\nabc\r\n0\r\n\r\n`,
      ])
    for (const good of [
      '3',
      '003',
      '3;x',
      '3 ;x', // BWS before ";" is in the grammar; recipients must accept it (RFC 9110 §5.6.3)
      '3;x=1;y',
      '3; x = y',
      '3;x="a b;\\"c\\\\"',
      '3;x=""',
      '3;x="caf\xe9"',
    ]) {
      const r = body(good)
      assert.equal(r.error, '', JSON.stringify(good))
      assert.equal(r.seen[0]?.body, 'abc', JSON.stringify(good))
    }
    for (const bad of [
      '3;"',
      '3;',
      '3 ',
      '3;x ',
      '3;x=',
      '3;x="a',
      '3;x="a"b',
      '3;x=a b',
      '3;=y',
      '3;x y',
      '3;x="\x01"',
      '3;x\x00',
      '3x',
      ' 3',
      '0x3',
      '1234567890123', // more than 12 hex digits
    ]) {
      assert.equal(body(bad).error, 'malformed', JSON.stringify(bad))
    }
    // A chunk line in pieces is scanned once, and has a bound.
    const pieces = parseRequests([
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3',
      ';a=',
      '"b"',
      '\r',
      '\nabc\r\n0\r\n\r\n',
    ])
    assert.equal(pieces.seen[0]?.body, 'abc')
    const long = parseRequests([
      'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3;x=',
      ...Array.from({ length: 100 }, () => 'a'.repeat(64)),
    ])
    assert.equal(long.error, 'malformed')
  })

  test('absolute-form targets: the authority replaces Host, the target becomes origin-form', () => {
    const r = parseRequests([
      'GET http://App.Example:8080/a/b?c=1 HTTP/1.1\r\nHost: other.example\r\n\r\n' +
        'GET HTTPS://app.example?q HTTP/1.1\r\nHost: x\r\n\r\n' +
        'OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n',
    ])
    assert.equal(r.error, '')
    assert.deepEqual(
      r.seen.map((s) => [s.head.url, s.head.host]),
      [
        ['/a/b?c=1', 'App.Example:8080'],
        ['/?q', 'app.example'],
        ['*', 'x'],
      ],
    )
    for (const bad of [
      'GET http:///x HTTP/1.1\r\nHost: x\r\n\r\n', // empty authority
      'GET http://user@app.example/ HTTP/1.1\r\nHost: x\r\n\r\n', // userinfo
      'GET ftp://app.example/ HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET app.example/x HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET * HTTP/1.1\r\nHost: x\r\n\r\n',
      'GET http://app.example/ HTTP/1.1\r\n\r\n', // HTTP/1.1 still needs a Host field
    ]) {
      assert.equal(parseRequests([bad]).error, 'malformed', JSON.stringify(bad))
    }
  })
})

describe('ResponseParser: upgrades', () => {
  test('a 101 to an upgrade request is its response; the bytes after it are kept', () => {
    const seen: ResponseHead[] = []
    const p = new ResponseParser(1024)
    let ended = false
    const events = {
      onHead: (h: ResponseHead) => seen.push(h),
      onBody: () => undefined,
      onEnd: () => (ended = true),
      onError: () => undefined,
    }
    p.begin(events, false, true)
    p.feed(Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\nframe'))
    assert.deepEqual(
      seen.map((h) => h.status),
      [101],
    )
    assert.equal(p.takeRest()?.toString(), 'frame')
    assert.equal(ended, false, 'no message end: the connection is another protocol now')
    // To a request that did not ask, a 101 is an interim answer, skipped.
    seen.length = 0
    p.begin(events, false, false)
    p.feed(
      Buffer.from('HTTP/1.1 101 Switching\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'),
    )
    assert.deepEqual(
      seen.map((h) => h.status),
      [200],
    )
  })
})
