import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { observeHost, parseAddresses, parseLinks, parseNetns } from './observe.js'
import { recordingExec } from './testing/recording-exec.js'

// Trimmed from iproute2 6.1 on Debian 12 (ip -j -d link show; ip -j addr show).
const LINKS = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], operstate: 'UNKNOWN' },
  {
    ifindex: 2,
    ifname: 'lsb-00000001',
    flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'],
    operstate: 'DOWN',
    linkinfo: { info_kind: 'bridge', info_data: { stp_state: 0 } },
  },
  {
    ifindex: 3,
    link_index: 2,
    ifname: 'lsv-00000001',
    flags: ['BROADCAST', 'MULTICAST'],
    master: 'lsb-00000001',
    link_netnsid: 0,
    linkinfo: {
      info_kind: 'veth',
      info_slave_kind: 'bridge',
      info_slave_data: { state: 'disabled' },
    },
  },
  { ifindex: 4, ifname: 'ifb0', flags: ['BROADCAST', 'NOARP'], linkinfo: { info_kind: 'ifb' } },
])
const ADDRESSES = JSON.stringify([
  {
    ifindex: 1,
    ifname: 'lo',
    addr_info: [
      { family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' },
      { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' },
    ],
  },
  {
    ifindex: 2,
    ifname: 'lsb-00000001',
    addr_info: [
      { family: 'inet', local: '10.40.0.1', prefixlen: 16 },
      { family: 'inet', local: '10.40.0.3', prefixlen: 16, secondary: true },
    ],
  },
])

describe('observe', () => {
  test('links carry kind, master, admin state, ownership and their IPv4 addresses', () => {
    const links = parseLinks(LINKS, parseAddresses(ADDRESSES))
    assert.deepEqual(links, [
      { name: 'lo', up: true, owned: false, addresses: [{ address: '127.0.0.1', prefix: 8 }] },
      {
        name: 'lsb-00000001',
        kind: 'bridge',
        up: true,
        owned: true,
        addresses: [
          { address: '10.40.0.1', prefix: 16 },
          { address: '10.40.0.3', prefix: 16 },
        ],
      },
      {
        name: 'lsv-00000001',
        kind: 'veth',
        master: 'lsb-00000001',
        up: false,
        owned: true,
        addresses: [],
      },
      { name: 'ifb0', kind: 'ifb', up: false, owned: false, addresses: [] },
    ])
  })

  test('ip netns list prints nothing, or [], when there are no namespaces', () => {
    assert.deepEqual(parseNetns(''), [])
    assert.deepEqual(parseNetns('\n'), [])
    assert.deepEqual(parseNetns('[]'), [])
    assert.deepEqual(parseNetns('[{"name":"ls-00000001","id":0},{"name":"other"}]'), [
      'ls-00000001',
      'other',
    ])
  })

  test('output that is not a JSON array is an error, not an empty host', () => {
    assert.throws(() => parseLinks('{"ifname":"lo"}'))
    assert.throws(() => parseLinks('not json'))
  })

  test('observeHost runs one ip command and reads the namespaces from their directory', async () => {
    // `ip -j -d addr show` prints each link with its details and its addresses together.
    const withAddresses = JSON.stringify(
      (JSON.parse(LINKS) as Array<Record<string, unknown>>).map((link) => ({
        ...link,
        addr_info:
          (JSON.parse(ADDRESSES) as Array<Record<string, unknown>>).find(
            (a) => a.ifname === link.ifname,
          )?.addr_info ?? [],
      })),
    )
    const exec = recordingExec(() => withAddresses)
    const dir = mkdtempSync(join(tmpdir(), 'localspace-netns-'))
    try {
      writeFileSync(join(dir, 'ls-00000002'), '')
      writeFileSync(join(dir, 'ls-00000001'), '')
      const host = await observeHost(exec, dir)
      assert.deepEqual(exec.lines(), ['ip -j -d addr show'])
      assert.equal(host.links.length, 4)
      assert.deepEqual(host.netns, ['ls-00000001', 'ls-00000002'])
      assert.ok(
        host.links.some((l) => l.addresses.length > 0),
        'addresses come along',
      )
      assert.deepEqual((await observeHost(exec, join(dir, 'missing'))).netns, [])
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
