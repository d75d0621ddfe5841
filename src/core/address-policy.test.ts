import assert from 'node:assert/strict'
import type { LookupAddress } from 'node:dns'
import { describe, test } from 'node:test'
import {
  AddressNotAllowedError,
  AddressPolicy,
  isPublicAddress,
  parseIpv6,
} from './address-policy.js'

describe('address policy', () => {
  test('only public addresses are public', () => {
    const table: Array<[string, boolean]> = [
      ['1.1.1.1', true],
      ['8.8.8.8', true],
      ['203.0.113.7', true], // documentation: the tests' and the firewall's "internet"
      ['198.51.100.2', true],
      ['0.0.0.0', false],
      ['0.1.2.3', false],
      ['10.0.0.1', false],
      ['100.64.0.1', false],
      ['100.127.252.1', false], // the build network's gateway
      ['127.0.0.1', false],
      ['127.255.255.254', false],
      ['169.254.169.254', false], // cloud metadata
      ['172.16.0.1', false],
      ['172.31.255.255', false],
      ['172.32.0.1', true],
      ['192.0.0.8', false],
      ['192.168.1.1', false],
      ['224.0.0.1', false],
      ['239.255.255.250', false],
      ['240.0.0.1', false],
      ['255.255.255.255', false],
      ['2606:4700:4700::1111', true],
      ['2a00:1450:4001:82b::200e', true],
      ['::', false],
      ['::1', false],
      ['::ffff:127.0.0.1', false],
      ['::ffff:7f00:1', false], // the same, in hex
      ['::ffff:10.1.2.3', false],
      ['::ffff:169.254.169.254', false],
      ['::ffff:1.1.1.1', true],
      ['::127.0.0.1', false], // IPv4-compatible (deprecated)
      ['64:ff9b::a9fe:a9fe', false], // NAT64 of 169.254.169.254
      ['fc00::1', false],
      ['fd12:3456:789a::1', false],
      ['fe80::1', false],
      ['fe80::1%eth0', false],
      ['fec0::1', false],
      ['ff02::1', false],
      ['2001:db8::1', false],
      ['2001::1', false], // Teredo
      ['2002:7f00:1::1', false], // 6to4 of 127.0.0.1
      ['localhost', false],
      ['example.com', false],
      ['1.2.3', false],
    ]
    for (const [address, expected] of table) {
      assert.equal(isPublicAddress(address), expected, address)
    }
  })

  test('IPv6 addresses are read in every spelling', () => {
    assert.deepEqual(parseIpv6('::ffff:192.0.2.1'), [0, 0, 0, 0, 0, 0xffff, 0xc000, 0x201])
    assert.deepEqual(parseIpv6('1:2:3:4:5:6:1.2.3.4'), [1, 2, 3, 4, 5, 6, 0x102, 0x304])
    assert.deepEqual(parseIpv6('2001:db8::'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 0])
    assert.deepEqual(parseIpv6('::'), [0, 0, 0, 0, 0, 0, 0, 0])
    assert.equal(parseIpv6('1.2.3.4'), undefined)
  })

  test("the operator's allowed ranges pass; the installation's own addresses never do", () => {
    assert.equal(new AddressPolicy().refusal('127.0.0.1'), 'address not allowed')
    const policy = new AddressPolicy({
      allowed: ['127.0.0.0/8', '192.168.50.0/24', '198.51.100.0/24'],
      ownAddresses: () => ['198.51.100.1', '2001:4860::1'],
    })
    assert.equal(policy.refusal('127.0.0.1'), undefined)
    assert.equal(policy.refusal('::ffff:127.0.0.1'), undefined)
    assert.equal(policy.refusal('192.168.50.9'), undefined)
    assert.equal(policy.refusal('192.168.51.9'), 'address not allowed')
    assert.equal(policy.refusal('198.51.100.1'), 'address not allowed') // own, though allowed
    assert.equal(policy.refusal('2001:4860:0:0::1'), 'address not allowed')
    assert.equal(policy.refusal('198.51.100.2'), undefined)
    // Literal hosts are judged before connecting; names when they are resolved.
    assert.equal(policy.refusalOfHost('[::1]'), 'address not allowed')
    assert.equal(policy.refusalOfHost('10.0.0.1'), 'address not allowed')
    assert.equal(policy.refusalOfHost('logs.example.com'), undefined)
  })

  const resolving =
    (answers: LookupAddress[]) =>
    (_host: string, _options: unknown, callback: (e: null, a: LookupAddress[]) => void) =>
      callback(null, answers)
  const lookup = (policy: AddressPolicy, all: boolean) =>
    new Promise<{ error: Error | null; address: unknown }>((resolve) =>
      policy.lookup('svc.example', { all }, (error, address) => resolve({ error, address })),
    )

  test('lookup connects only to the allowed addresses a name resolves to', async () => {
    const mixed = new AddressPolicy({
      resolve: resolving([
        { address: '127.0.0.1', family: 4 },
        { address: '203.0.113.9', family: 4 },
      ]) as never,
    })
    assert.deepEqual(await lookup(mixed, false), { error: null, address: '203.0.113.9' })
    assert.deepEqual(await lookup(mixed, true), {
      error: null,
      address: [{ address: '203.0.113.9', family: 4 }],
    })
    const rebound = new AddressPolicy({
      resolve: resolving([
        { address: '169.254.169.254', family: 4 },
        { address: '::1', family: 6 },
      ]) as never,
    })
    const { error } = await lookup(rebound, false)
    assert.ok(error instanceof AddressNotAllowedError)
    assert.equal(error.message, 'svc.example: address not allowed')
  })
})
