import assert from 'node:assert/strict'
import { test } from 'node:test'
import { requestIdFor, routerLogLine } from './heroku.js'

test('router log lines read like Heroku', () => {
  const base = {
    method: 'GET',
    path: '/a?b="c"',
    host: 'myapp.localhost',
    requestId: 'abc',
    fwd: '203.0.113.7',
    dyno: 'web.1',
    connectMs: 1,
    serviceMs: 12,
    status: 200,
    bytes: 13,
    protocol: 'https' as const,
  }
  assert.equal(
    routerLogLine(base),
    'at=info method=GET path="/a?b=\\"c\\"" host=myapp.localhost request_id=abc fwd="203.0.113.7" dyno=web.1 connect=1ms service=12ms status=200 bytes=13 protocol=https',
  )
  assert.match(
    routerLogLine({ ...base, code: 'H12', status: 503 }),
    /^at=error code=H12 desc="Request timeout" method=GET .* status=503 /,
  )
})

test('X-Request-Id is kept when valid, else generated', () => {
  const valid = 'abcdefghij0123456789+/=-'
  assert.equal(requestIdFor(valid), valid)
  for (const bad of [undefined, 'short', 'x'.repeat(201), 'has spaces in it, twenty chars'])
    assert.notEqual(requestIdFor(bad), bad)
  assert.match(requestIdFor(undefined), /^[0-9a-f-]{36}$/)
})
