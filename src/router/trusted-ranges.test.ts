import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { parseIpv4 } from '../core/cidr.js'
import { clientIpv4, TrustedRanges, type InboundRule } from './trusted-ranges.js'

const ip = (text: string) => parseIpv4(text)!
const allow = (source: string): InboundRule => ({ action: 'allow', source })
const deny = (source: string): InboundRule => ({ action: 'deny', source })

describe('TrustedRanges', () => {
  test('an empty ruleset admits nobody', () => {
    const t = new TrustedRanges([])
    assert.equal(t.admits(ip('203.0.113.7')), false)
    assert.equal(t.admits(ip('0.0.0.0')), false)
  })

  test('0.0.0.0/0 admits everybody', () => {
    const t = new TrustedRanges([allow('0.0.0.0/0')])
    for (const a of ['0.0.0.0', '1.2.3.4', '255.255.255.255']) assert.equal(t.admits(ip(a)), true)
  })

  test('allow ranges admit their addresses and only those', () => {
    const t = new TrustedRanges([allow('203.0.113.0/24'), allow('198.51.100.7/32')])
    assert.equal(t.admits(ip('203.0.113.0')), true)
    assert.equal(t.admits(ip('203.0.113.255')), true)
    assert.equal(t.admits(ip('203.0.114.0')), false)
    assert.equal(t.admits(ip('198.51.100.7')), true)
    assert.equal(t.admits(ip('198.51.100.8')), false)
  })

  test('deny wins over a wider allow (Terraform "all except 8.8.4.4")', () => {
    const t = new TrustedRanges([allow('0.0.0.0/0'), deny('8.8.4.4/32')])
    assert.equal(t.admits(ip('8.8.4.4')), false)
    assert.equal(t.admits(ip('8.8.4.5')), true)
  })

  test('deny wins over a narrower allow inside it, in any order', () => {
    for (const rules of [
      [deny('198.51.100.0/24'), allow('198.51.100.128/25')],
      [allow('198.51.100.128/25'), deny('198.51.100.0/24')],
    ]) {
      const t = new TrustedRanges(rules)
      assert.equal(t.admits(ip('198.51.100.200')), false)
      assert.equal(t.admits(ip('198.51.100.1')), false)
    }
  })

  test('deny wins over an equal allow; host bits are normalised', () => {
    const t = new TrustedRanges([allow('203.0.113.9/24'), deny('203.0.113.0/24')])
    assert.equal(t.admits(ip('203.0.113.9')), false)
  })

  test('10,000 ranges: every allowed /24 admits, every denied one refuses', () => {
    const rules: InboundRule[] = []
    for (let i = 0; i < 10_000; i++) {
      const src = `${11 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}.0/24`
      rules.push(i % 10 === 0 ? deny(src) : allow(src))
    }
    const t = new TrustedRanges(rules)
    for (let i = 0; i < 10_000; i++) {
      assert.equal(t.admits(ip(`11.${(i >> 8) & 255}.${i & 255}.77`)), i % 10 !== 0)
    }
    assert.equal(t.admits(ip('11.200.0.1')), false)
  })
})

test('clientIpv4 reads plain and IPv4-mapped addresses and refuses the rest', () => {
  assert.equal(clientIpv4('203.0.113.7'), ip('203.0.113.7'))
  assert.equal(clientIpv4('::ffff:198.51.100.1'), ip('198.51.100.1'))
  assert.equal(clientIpv4('::1'), undefined)
  assert.equal(clientIpv4('1.2.3'), undefined)
  assert.equal(clientIpv4('1.2.3.256'), undefined)
  assert.equal(clientIpv4(undefined), undefined)
})
