import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  DOCKER_DEFAULT,
  PRIVATE_BLOCKS,
  cidrSize,
  contains,
  containsAddress,
  formatCidr,
  formatIpv4,
  lastAddress,
  overlaps,
  parseCidr,
  parseIpv4,
} from './cidr.js'

const c = (text: string) => {
  const parsed = parseCidr(text)
  assert.ok(parsed, text)
  return parsed
}

describe('parseIpv4', () => {
  test('dotted quads become unsigned 32-bit integers', () => {
    assert.equal(parseIpv4('0.0.0.0'), 0)
    assert.equal(parseIpv4('10.0.0.1'), 0x0a000001)
    assert.equal(parseIpv4('255.255.255.255'), 0xffffffff)
    assert.equal(parseIpv4('192.168.1.2'), 0xc0a80102)
  })

  test('anything else is undefined', () => {
    for (const text of [
      '',
      '1.2.3',
      '1.2.3.4.5',
      '256.0.0.0',
      '01.2.3.4',
      '1.2.3.-4',
      ' 1.2.3.4',
      '1.2.3.4 ',
      'a.b.c.d',
      '::1',
    ]) {
      assert.equal(parseIpv4(text), undefined, text)
    }
  })

  test('formatting is the inverse of parsing', () => {
    for (const text of ['0.0.0.0', '10.1.2.3', '172.31.255.254', '255.255.255.255']) {
      assert.equal(formatIpv4(parseIpv4(text)!), text)
    }
  })
})

describe('parseCidr', () => {
  test('a cidr gives its network base and prefix', () => {
    assert.deepEqual(parseCidr('10.0.0.0/16'), { base: 0x0a000000, prefix: 16 })
    assert.deepEqual(parseCidr('0.0.0.0/0'), { base: 0, prefix: 0 })
    assert.deepEqual(parseCidr('203.0.113.7/32'), { base: 0xcb007107, prefix: 32 })
  })

  test('host bits are cleared unless strict', () => {
    assert.equal(formatCidr(c('10.0.5.1/16')), '10.0.0.0/16')
    assert.equal(parseCidr('10.0.5.1/16', { strict: true }), undefined)
    assert.deepEqual(parseCidr('10.0.0.0/16', { strict: true }), { base: 0x0a000000, prefix: 16 })
  })

  test('malformed cidrs and non-strings are undefined', () => {
    for (const text of [
      '10.0.0.0',
      '10.0.0.0/',
      '10.0.0.0/33',
      '10.0.0.0/-1',
      '10.0.0.0/016',
      '10.0.0.0/1a',
      '10.0.0/8',
      '/8',
      'fd00::/8',
      '10.0.0.0/8/8',
    ]) {
      assert.equal(parseCidr(text), undefined, text)
    }
    for (const value of [undefined, null, 10, {}, ['10.0.0.0/8']]) {
      assert.equal(parseCidr(value), undefined)
    }
  })

  test('size and last address follow the prefix', () => {
    assert.equal(cidrSize(c('10.0.0.0/16')), 65536)
    assert.equal(cidrSize(c('1.2.3.4/32')), 1)
    assert.equal(cidrSize(c('0.0.0.0/0')), 2 ** 32)
    assert.equal(formatIpv4(lastAddress(c('10.0.0.0/16'))), '10.0.255.255')
    assert.equal(formatIpv4(lastAddress(c('0.0.0.0/0'))), '255.255.255.255')
  })
})

describe('overlaps and contains', () => {
  test('networks overlap when they share an address', () => {
    assert.equal(overlaps(c('10.0.0.0/16'), c('10.0.255.0/24')), true)
    assert.equal(overlaps(c('10.0.0.0/8'), c('10.200.0.0/16')), true)
    assert.equal(overlaps(c('10.0.0.0/16'), c('10.1.0.0/16')), false)
    assert.equal(overlaps(c('10.0.0.0/16'), c('10.0.0.0/16')), true)
    assert.equal(overlaps(c('0.0.0.0/0'), c('192.168.0.0/16')), true)
  })

  test('overlap is symmetric', () => {
    const pairs: Array<[string, string]> = [
      ['10.0.0.0/16', '10.0.128.0/17'],
      ['172.16.0.0/12', '172.17.0.0/16'],
      ['192.168.0.0/24', '192.168.1.0/24'],
    ]
    for (const [a, b] of pairs) assert.equal(overlaps(c(a), c(b)), overlaps(c(b), c(a)))
  })

  test('adjacent networks do not overlap', () => {
    assert.equal(overlaps(c('10.0.0.0/17'), c('10.0.128.0/17')), false)
    assert.equal(overlaps(c('255.255.255.254/31'), c('255.255.255.252/31')), false)
  })

  test('contains is about the whole inner network', () => {
    assert.equal(contains(c('10.0.0.0/8'), c('10.5.0.0/16')), true)
    assert.equal(contains(c('10.5.0.0/16'), c('10.0.0.0/8')), false)
    assert.equal(contains(c('172.16.0.0/12'), c('172.31.0.0/16')), true)
    assert.equal(contains(c('172.16.0.0/12'), c('172.32.0.0/16')), false)
    assert.equal(contains(c('10.0.0.0/16'), c('10.0.0.0/16')), true)
  })

  test('containsAddress checks one address', () => {
    assert.equal(containsAddress(c('10.0.0.0/16'), parseIpv4('10.0.255.255')!), true)
    assert.equal(containsAddress(c('10.0.0.0/16'), parseIpv4('10.1.0.0')!), false)
  })

  test('the private blocks are rfc 1918 and docker’s default is inside one', () => {
    assert.deepEqual(PRIVATE_BLOCKS.map(formatCidr), [
      '10.0.0.0/8',
      '172.16.0.0/12',
      '192.168.0.0/16',
    ])
    assert.equal(formatCidr(DOCKER_DEFAULT), '172.17.0.0/16')
    assert.ok(contains(PRIVATE_BLOCKS[1]!, DOCKER_DEFAULT))
  })
})
