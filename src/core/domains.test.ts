import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { certificateCovers } from './certificates.js'
import { certificatePlan, parseHostname, underDomain, type SniEndpoint } from './domains.js'

describe('parseHostname', () => {
  test('canonical form: lowercase, no trailing dot; wildcards one label', () => {
    assert.deepEqual(parseHostname('WWW.Example.COM.'), { hostname: 'www.example.com' })
    assert.deepEqual(parseHostname('*.example.com'), { hostname: '*.example.com' })
    assert.deepEqual(parseHostname('xn--bcher-kva.example'), { hostname: 'xn--bcher-kva.example' })
  })
  test('what is not a DNS name of two labels or more is refused', () => {
    for (const bad of [
      '',
      'localhost',
      'a..b.com',
      '-a.example.com',
      'a-.example.com',
      'www.*.example.com',
      '*.com',
      'a_b.example.com',
      'example.123',
      `${'a'.repeat(64)}.com`,
      `${'a.'.repeat(127)}com`,
      'http://example.com',
    ]) {
      assert.ok('error' in parseHostname(bad), bad)
    }
    assert.match((parseHostname('192.0.2.1') as { error: string }).error, /IP address/)
  })
  test('underDomain: the installation domain and names below it', () => {
    assert.ok(underDomain('localhost', 'localhost'))
    assert.ok(underDomain('a.b.localhost', 'localhost'))
    assert.ok(!underDomain('notlocalhost', 'localhost'))
  })
})

describe('certificateCovers', () => {
  test('exact names, and wildcards for exactly one more label', () => {
    const names = ['example.com', '*.example.com']
    assert.ok(certificateCovers(names, 'example.com'))
    assert.ok(certificateCovers(names, 'WWW.example.com'))
    assert.ok(!certificateCovers(names, 'a.b.example.com'))
    assert.ok(!certificateCovers(['www.example.com'], 'api.example.com'))
    assert.ok(certificateCovers(['*.example.com'], '*.example.com'), 'the same wildcard')
    assert.ok(!certificateCovers(['www.example.com'], '*.example.com'))
  })
})

describe('certificatePlan', () => {
  const endpoint = (id: string, createdAt: string): SniEndpoint => ({
    id,
    appId: 'app',
    name: id,
    certificateChain: id,
    privateKey: '',
    createdAt,
    updatedAt: createdAt,
  })
  const names: Record<string, string[]> = {
    old: ['*.example.com'],
    new: ['www.example.com', 'api.example.com'],
    other: ['shop.example.net'],
  }
  const domainsOf = (e: SniEndpoint) => names[e.id]!
  const endpoints = [
    endpoint('old', '2026-01-01T00:00:00Z'),
    endpoint('new', '2026-02-01T00:00:00Z'),
    endpoint('other', '2026-03-01T00:00:00Z'),
  ]

  test('the chosen endpoint first, else the newest that covers, else none', () => {
    const plan = certificatePlan(
      [
        { hostname: 'www.example.com', sniEndpointId: 'old' },
        { hostname: 'api.example.com', sniEndpointId: null },
        { hostname: 'blog.example.com', sniEndpointId: null },
        { hostname: 'app.localhost', sniEndpointId: null },
        { hostname: 'gone.example.com', sniEndpointId: 'deleted' },
      ],
      endpoints,
      domainsOf,
    )
    assert.deepEqual(Object.fromEntries([...plan].map(([h, e]) => [h, e.id])), {
      'www.example.com': 'old',
      'api.example.com': 'new',
      'blog.example.com': 'old',
      'gone.example.com': 'old',
    })
  })
})
