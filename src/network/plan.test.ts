import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { InvalidNetworkStateError, NetworkConflictError } from './errors.js'
import { planHost } from './plan.js'
import type {
  DesiredHost,
  DesiredSpaceNetwork,
  HostAction,
  ObservedHost,
  ObservedLink,
} from './types.js'
import { testDyno } from './testing/fixtures.js'

const space: DesiredSpaceNetwork = {
  dynoBridge: 'lsb-0000000a',
  dataBridge: 'lsd-0000000a',
  cidr: '10.40.0.0/16',
  dataCidr: '10.41.0.0/20',
  gateway: '10.40.0.1',
  internalRouter: '10.40.0.3',
  dataGateway: '10.41.0.1',
}

const dyno = testDyno

const link = (name: string, rest: Partial<ObservedLink> = {}): ObservedLink => ({
  name,
  up: true,
  owned: /^ls[bcdv]-[0-9a-f]{8}$/.test(name),
  addresses: [],
  ...rest,
})

const a = (address: string, prefix: number) => ({ address, prefix })

/** A host where the space and its one dyno are exactly as desired, among foreign things. */
const convergedLinks: ObservedLink[] = [
  link('lo', { addresses: [a('127.0.0.1', 8)] }),
  link('eth0', { addresses: [a('192.0.2.10', 24), a('198.51.100.7', 32)] }),
  link('lsb-0000000a', {
    kind: 'bridge',
    mac: '02:6c:0a:28:00:01',
    addresses: [a('10.40.0.1', 16), a('10.40.0.3', 16)],
  }),
  link('lsd-0000000a', {
    kind: 'bridge',
    mac: '02:6c:0a:29:00:01',
    addresses: [a('10.41.0.1', 20)],
  }),
  link('lsv-00000001', { kind: 'veth', master: 'lsb-0000000a' }),
  link('docker0', { kind: 'bridge', addresses: [a('172.17.0.1', 16)] }),
]
const converged: ObservedHost = { links: convergedLinks, netns: ['ls-00000001', 'other'] }
const desired: DesiredHost = {
  spaces: [space],
  attachments: [dyno],
  egress: { iface: 'eth0', addresses: ['198.51.100.7'], poolCidrs: ['198.51.100.0/24'] },
}

const withLinks = (change: (links: ObservedLink[]) => ObservedLink[], netns = converged.netns) => ({
  links: change(convergedLinks.map((l) => ({ ...l }))),
  netns,
})
const replace = (name: string, patch: Partial<ObservedLink>) => (links: ObservedLink[]) =>
  links.map((l) => (l.name === name ? { ...l, ...patch } : l))
const without = (name: string) => (links: ObservedLink[]) => links.filter((l) => l.name !== name)

interface Case {
  name: string
  desired?: DesiredHost
  observed: ObservedHost
  expect: HostAction[]
}

const buildNetwork = { bridge: 'lsc-00000000', cidr: '100.127.252.0/22', gateway: '100.127.252.1' }
const build = {
  ...dyno,
  id: '0000000b',
  bridge: 'lsc-00000000',
  address: '100.127.252.16',
  prefix: 22,
  gateway: '100.127.252.1',
  dns: '100.127.252.1',
  netns: 'ls-0000000b',
  veth: 'lsv-0000000b',
}

const cases: Case[] = [
  { name: 'a converged host plans nothing', observed: converged, expect: [] },
  {
    name: 'the build network is a bridge with its gateway, and builds attach to it',
    desired: { ...desired, buildNetwork, attachments: [dyno, build] },
    observed: converged,
    expect: [
      { kind: 'bridge.create', name: 'lsc-00000000', mac: '02:6c:64:7f:fc:01' },
      { kind: 'link.up', name: 'lsc-00000000' },
      { kind: 'addr.add', dev: 'lsc-00000000', address: '100.127.252.1', prefix: 22 },
      { kind: 'attach', attachment: build },
    ],
  },
  {
    name: 'a build network no longer desired is deleted as a leftover',
    observed: withLinks((links) => [
      ...links,
      link('lsc-00000000', { kind: 'bridge', addresses: [a('100.127.252.1', 22)] }),
    ]),
    expect: [{ kind: 'link.delete', name: 'lsc-00000000' }],
  },
  {
    name: 'a missing bridge is created, brought up and addressed',
    observed: withLinks(without('lsd-0000000a')),
    expect: [
      { kind: 'bridge.create', name: 'lsd-0000000a', mac: '02:6c:0a:29:00:01' },
      { kind: 'link.up', name: 'lsd-0000000a' },
      { kind: 'addr.add', dev: 'lsd-0000000a', address: '10.41.0.1', prefix: 20 },
    ],
  },
  {
    name: 'a bridge whose MAC is not its fixed one gets it back (the kernel would let it wander)',
    observed: withLinks(replace('lsb-0000000a', { mac: '86:dc:8f:84:7c:73' })),
    expect: [{ kind: 'link.mac', name: 'lsb-0000000a', mac: '02:6c:0a:28:00:01' }],
  },
  {
    name: 'a bridge that is down is brought up',
    observed: withLinks(replace('lsd-0000000a', { up: false })),
    expect: [{ kind: 'link.up', name: 'lsd-0000000a' }],
  },
  {
    name: 'a bridge without its address gets it',
    observed: withLinks(replace('lsb-0000000a', { addresses: [a('10.40.0.1', 16)] })),
    expect: [{ kind: 'addr.add', dev: 'lsb-0000000a', address: '10.40.0.3', prefix: 16 }],
  },
  {
    name: 'a wrong address is removed and every wanted address added again after it',
    observed: withLinks(
      replace('lsb-0000000a', { addresses: [a('10.40.0.1', 24), a('10.40.0.3', 16)] }),
    ),
    expect: [
      { kind: 'addr.remove', dev: 'lsb-0000000a', address: '10.40.0.1', prefix: 24 },
      { kind: 'addr.add', dev: 'lsb-0000000a', address: '10.40.0.1', prefix: 16 },
      { kind: 'addr.add', dev: 'lsb-0000000a', address: '10.40.0.3', prefix: 16 },
    ],
  },
  {
    name: 'a missing namespace is attached',
    observed: withLinks(without('lsv-00000001'), ['other']),
    expect: [{ kind: 'attach', attachment: dyno }],
  },
  {
    name: 'a namespace whose host veth is gone is detached and attached again',
    observed: withLinks(without('lsv-00000001')),
    expect: [
      {
        kind: 'detach',
        netns: 'ls-00000001',
        veth: 'lsv-00000001',
        reason: 'host veth missing',
      },
      { kind: 'attach', attachment: dyno },
    ],
  },
  {
    name: 'a veth on no bridge is plugged back in, not rebuilt (its namespace may run a dyno)',
    observed: withLinks((links) =>
      links.map((l) => (l.name === 'lsv-00000001' ? link(l.name, { kind: 'veth' }) : l)),
    ),
    expect: [{ kind: 'veth.plug', veth: 'lsv-00000001', bridge: 'lsb-0000000a' }],
  },
  {
    name: 'a veth left behind by a vanished namespace is removed before the attach',
    observed: withLinks((l) => l, ['other']),
    expect: [
      {
        kind: 'detach',
        netns: 'ls-00000001',
        veth: 'lsv-00000001',
        reason: 'namespace missing',
      },
      { kind: 'attach', attachment: dyno },
    ],
  },
  {
    name: 'owned links and namespaces nobody wants are deleted, foreign ones are not',
    observed: withLinks(
      (l) => [
        ...l,
        link('lsv-000000ff', { kind: 'veth' }),
        link('lsb-000000ff', { kind: 'bridge' }),
        link('lsb-backup', { kind: 'bridge' }),
        link('lsv-0000000G', { kind: 'veth' }),
        link('lsx-00000001', { kind: 'veth' }),
        // Claims to be owned but its name says otherwise: the name is what counts.
        { ...link('br-00000001', { kind: 'bridge' }), owned: true },
      ],
      ['ls-00000001', 'ls-000000ff', 'ls-backup', 'cni-1234', 'other'],
    ),
    expect: [
      { kind: 'link.delete', name: 'lsb-000000ff' },
      { kind: 'link.delete', name: 'lsv-000000ff' },
      { kind: 'netns.delete', name: 'ls-000000ff' },
    ],
  },
  {
    name: 'an empty desired state deletes every owned object and nothing else',
    desired: { spaces: [], attachments: [] },
    observed: converged,
    expect: [
      { kind: 'link.delete', name: 'lsb-0000000a' },
      { kind: 'link.delete', name: 'lsd-0000000a' },
      { kind: 'link.delete', name: 'lsv-00000001' },
      { kind: 'netns.delete', name: 'ls-00000001' },
    ],
  },
  {
    name: 'egress: a missing outbound address is added as a /32',
    desired: {
      ...desired,
      egress: { ...desired.egress!, addresses: ['198.51.100.7', '198.51.100.8'] },
    },
    observed: converged,
    expect: [{ kind: 'addr.add', dev: 'eth0', address: '198.51.100.8', prefix: 32 }],
  },
  {
    name: 'egress: only stale /32s inside the pool are removed',
    desired: { ...desired, egress: { ...desired.egress!, addresses: [] } },
    observed: withLinks(
      replace('eth0', {
        addresses: [
          a('198.51.100.5', 24), // the host's own address, inside the pool: not ours
          a('198.51.100.7', 32),
          a('203.0.113.9', 32), // outside the pool
        ],
      }),
    ),
    expect: [{ kind: 'addr.remove', dev: 'eth0', address: '198.51.100.7', prefix: 32 }],
  },
]

describe('planHost', () => {
  for (const c of cases) {
    test(c.name, () => {
      assert.deepEqual(planHost(c.desired ?? desired, c.observed), c.expect)
    })
  }

  test('a link with a bridge name that is not a bridge is a conflict, and nothing is planned', () => {
    const observed = withLinks(replace('lsb-0000000a', { kind: 'veth' }))
    assert.throws(
      () => planHost(desired, observed),
      (e: unknown) =>
        e instanceof NetworkConflictError &&
        e.object === 'lsb-0000000a' &&
        /not a bridge/.test(e.message),
    )
  })

  test('a link with a veth name that is not a veth is a conflict', () => {
    const observed = withLinks(replace('lsv-00000001', { kind: 'bridge' }))
    assert.throws(() => planHost(desired, observed), NetworkConflictError)
  })

  test('the same plan comes from the same host, whatever order ip listed it in', () => {
    const shuffled = { links: [...convergedLinks].reverse(), netns: ['ls-000000ff', 'ls-0000000e'] }
    const first = planHost({ spaces: [], attachments: [] }, shuffled)
    const again = planHost({ spaces: [], attachments: [] }, { ...shuffled, links: convergedLinks })
    assert.deepEqual(first, again)
  })

  const invalid: Array<[string, DesiredHost]> = [
    ['a bridge name we do not own', { spaces: [{ ...space, dynoBridge: 'br0' }], attachments: [] }],
    [
      'a gateway outside the cidr',
      { spaces: [{ ...space, gateway: '10.9.0.1' }], attachments: [] },
    ],
    [
      'a name that would smuggle a second command',
      { spaces: [space], attachments: [{ ...dyno, veth: 'lsv-00000001\nlink del eth0' }] },
    ],
    ['an attachment to a bridge no space has', { spaces: [], attachments: [dyno] }],
    ['the same bridge twice', { spaces: [space, space], attachments: [] }],
    [
      'the same namespace twice',
      { spaces: [space], attachments: [dyno, { ...dyno, veth: 'lsv-00000002' }] },
    ],
    [
      'an egress interface that is not there',
      { ...desired, egress: { ...desired.egress!, iface: 'eth9' } },
    ],
    [
      'an egress interface of ours',
      { ...desired, egress: { ...desired.egress!, iface: 'lsb-0000000a' } },
    ],
  ]
  for (const [name, bad] of invalid) {
    test(`refuses ${name}`, () => {
      assert.throws(() => planHost(bad, converged), InvalidNetworkStateError)
    })
  }
})
