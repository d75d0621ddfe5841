import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ExecError } from '../exec/run.js'
import { Firewall, splitListing } from './firewall.js'
import { renderDelta, renderFirewall, type FirewallState } from './nft/render.js'
import { recordingExec, type RecordedCall } from './testing/recording-exec.js'

const space = (n: number) => ({
  dynoBridge: `lsb-0000000${n}`,
  dataBridge: `lsd-0000000${n}`,
  cidr: `10.${40 + 2 * n}.0.0/16`,
  dataCidr: `10.${41 + 2 * n}.0.0/16`,
  gateway: `10.${40 + 2 * n}.0.1`,
  internalRouter: `10.${40 + 2 * n}.0.3`,
  egress: [],
})
const dyno = (n: number) => ({ veth: `lsv-0000000${n}`, address: `10.40.128.${n}` })

const state: FirewallState = {
  spaces: [space(0)],
  attachments: [dyno(1)],
  routerListeners: [],
  allowedPrivate: [],
}
const withDynos = (...n: number[]): FirewallState => ({ ...state, attachments: n.map(dyno) })

/**
 * `nft -j -s list ruleset` as nft 1.0.6 prints it (objects verbatim from a real listing, cut
 * down to one set and one rule per table), with another program's table after ours.
 */
function listing(
  o: { dynos?: number[]; forwardRule?: boolean; handle?: number; nets?: string[] } = {},
) {
  const h = o.handle ?? 1
  const prefix = (addr: string) => ({ prefix: { addr, len: 16 } })
  const dynos = o.dynos ?? [1]
  return JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family: 'bridge', name: 'localspace', handle: h } },
      {
        set: {
          family: 'bridge',
          name: 'attachments',
          table: 'localspace',
          type: ['ifname', 'ipv4_addr'],
          handle: h + 1,
          ...(dynos.length > 0 && {
            elem: dynos.map(dyno).map((d) => ({ concat: [d.veth, d.address] })),
          }),
        },
      },
      {
        chain: {
          family: 'bridge',
          table: 'localspace',
          name: 'prerouting',
          handle: h,
          type: 'filter',
          hook: 'prerouting',
          prio: -200,
          policy: 'accept',
        },
      },
      {
        rule: {
          family: 'bridge',
          table: 'localspace',
          chain: 'prerouting',
          handle: h + 2,
          expr: [
            { match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lsv-*' } },
            {
              match: {
                op: '!=',
                left: {
                  concat: [
                    { meta: { key: 'iifname' } },
                    { payload: { protocol: 'ip', field: 'saddr' } },
                  ],
                },
                right: '@attachments',
              },
            },
            { counter: null },
            { drop: null },
          ],
        },
      },
      { table: { family: 'inet', name: 'localspace', handle: h + 1 } },
      {
        set: {
          family: 'inet',
          name: 'space_nets',
          table: 'localspace',
          type: 'ipv4_addr',
          handle: h + 1,
          flags: ['interval'],
          elem: (o.nets ?? ['10.40.0.0', '10.41.0.0']).map(prefix),
        },
      },
      {
        chain: {
          family: 'inet',
          table: 'localspace',
          name: 'forward',
          handle: h,
          type: 'filter',
          hook: 'forward',
          prio: 0,
          policy: 'accept',
        },
      },
      ...(o.forwardRule === false
        ? []
        : [
            {
              rule: {
                family: 'inet',
                table: 'localspace',
                chain: 'forward',
                handle: h + 2,
                expr: [
                  {
                    match: {
                      op: '==',
                      left: { payload: { protocol: 'ip', field: 'daddr' } },
                      right: '@space_nets',
                    },
                  },
                  { counter: null },
                  { drop: null },
                ],
              },
            },
          ]),
      { table: { family: 'ip', name: 'other', handle: h + 2 } },
      { chain: { family: 'ip', table: 'other', name: 'c', handle: 1 } },
    ],
  })
}
const EMPTY_RULESET = JSON.stringify({
  nftables: [{ metainfo: { version: '1.0.6', release_name: 'Lester Gooch #5' } }],
})

/** A fake kernel: `nft -f` succeeds, the listing is whatever the test has set. */
function fakeNft() {
  const kernel = { listing: listing(), failDelta: false }
  const exec = recordingExec((call: RecordedCall) => {
    if (call.args.includes('list')) return kernel.listing
    if (kernel.failDelta && /^(add|delete) /.test(call.input ?? '')) {
      return new ExecError('nft', call.args, 1, 'Error: Could not process rule: No such file')
    }
    return undefined
  })
  return { kernel, exec }
}
const READ = 'nft -j -s list ruleset'
const READ_INET = 'nft -j -s list table inet localspace'
const commands = (calls: readonly RecordedCall[]) =>
  calls.map((c) => `${c.cmd} ${c.args.join(' ')}`)

describe('firewall', () => {
  test('a listing keeps only our two tables, without handles or the dyno elements', () => {
    const split = splitListing(listing({ dynos: [1, 2] }))
    assert.deepEqual(
      [...split.elements],
      ['"lsv-00000001" . 10.40.128.1', '"lsv-00000002" . 10.40.128.2'],
    )
    const both = `${split.structure.inet}\n${split.structure.bridge}`
    assert.doesNotMatch(both, /lsv-00000001|"other"|metainfo|handle/)
    assert.match(split.structure.inet, /"@space_nets"/)
    assert.match(split.structure.bridge, /"@attachments"/)
    // The same tables with other handles (rules declared again) and the elements of a set in
    // another order (a hash set dumps in bucket order) are the same structure.
    const again = splitListing(listing({ dynos: [], handle: 7, nets: ['10.41.0.0', '10.40.0.0'] }))
    assert.deepEqual(again.structure, split.structure)
    assert.equal(again.elements.size, 0)
    // Nor are the tables listed the other way round (one was replaced alone, so it is newer).
    const items = (JSON.parse(listing()) as { nftables: Array<Record<string, any>> }).nftables
    const bridge = items.slice(1, 5)
    const inetFirst = [items[0], ...items.slice(5, 9), ...bridge, ...items.slice(9)]
    assert.deepEqual(
      splitListing(JSON.stringify({ nftables: inetFirst })).structure,
      split.structure,
    )
    // A rule less, or another element in a set, is not.
    assert.notDeepEqual(splitListing(listing({ forwardRule: false })).structure, split.structure)
    assert.notDeepEqual(
      splitListing(listing({ nets: ['10.40.0.0', '10.41.0.0', '10.99.0.0'] })).structure,
      split.structure,
    )
    assert.deepEqual(splitListing(EMPTY_RULESET).structure, { inet: '', bridge: '' })
  })

  test('an element of another shape is kept as it is, so it never passes for one of ours', () => {
    const odd = JSON.parse(listing()) as { nftables: Array<Record<string, any>> }
    odd.nftables[2]!.set.elem = [
      { elem: { val: { concat: ['lsv-00000001', '10.40.128.1'] }, comment: 'x' } },
    ]
    assert.deepEqual(
      [...splitListing(JSON.stringify(odd)).elements],
      ['{"elem":{"val":{"concat":["lsv-00000001","10.40.128.1"]},"comment":"x"}}'],
    )
  })

  test('the first apply replaces both tables in one transaction, without nft -c, and reads back once', async () => {
    const { exec } = fakeNft()
    await new Firewall(exec).apply(state)
    assert.deepEqual(commands(exec.calls), ['nft -f -', READ])
    assert.equal(exec.calls[0]!.input, renderFirewall(state))
  })

  test('when only dynos changed, one transaction with just the dyno delta', async () => {
    const { kernel, exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(withDynos(1, 2))
    const before = exec.calls.length
    await firewall.apply(withDynos(2, 3))
    // No read-back: what the delta writes is known exactly. No rules: they did not change.
    assert.deepEqual(exec.lines().slice(before), [
      'nft -f - | delete element bridge localspace attachments { "lsv-00000001" . 10.40.128.1 } | add element bridge localspace attachments { "lsv-00000003" . 10.40.128.3 }',
    ])
    kernel.listing = listing({ dynos: [2, 3] })
    assert.equal(await firewall.drifted(), false)
    kernel.listing = listing({ dynos: [1, 2] }) // the delta did not take
    assert.equal(await firewall.drifted(), true)
  })

  test('an apply of what is already applied starts no process', async () => {
    const { exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(withDynos(1, 2))
    const before = exec.calls.length
    await firewall.apply(withDynos(2, 1)) // the same dynos, in another order
    assert.equal(exec.calls.length, before)
  })

  test('a space that comes or goes is a delta of its elements and chain, then a read-back', async () => {
    const { exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(state)
    let before = exec.calls.length
    const twoSpaces = { ...state, spaces: [space(0), space(1)] }
    await firewall.apply(twoSpaces)
    // Only the inet table is read back: the dynos' elements, in the bridge table, did not change.
    assert.deepEqual(commands(exec.calls.slice(before)), ['nft -f -', READ_INET])
    const added = exec.calls[before]!.input!
    assert.equal(added, renderDelta({ addSpaces: [space(1)] }).join('\n') + '\n')
    assert.match(added, /^add chain inet localspace snat-00000001\n/)
    assert.match(
      added,
      /add element inet localspace snat_spaces \{ 10\.42\.0\.0\/16 : jump snat-00000001 \}/,
    )
    assert.doesNotMatch(added, /00000000|table/, 'nothing of the space that stays')
    before = exec.calls.length
    await firewall.apply(state)
    assert.deepEqual(commands(exec.calls.slice(before)), ['nft -f -', READ_INET])
    const removed = exec.calls[before]!.input!
    assert.match(
      removed,
      /delete element inet localspace space_nets \{ 10\.42\.0\.0\/16, 10\.43\.0\.0\/16 \}/,
    )
    assert.match(
      removed,
      /flush chain inet localspace snat-00000001\ndelete chain inet localspace snat-00000001\n$/,
    )
  })

  test('a space changed in place (its outbound addresses) or another setting: both tables whole', async () => {
    const { exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(state)
    let before = exec.calls.length
    const egress = { ...state, spaces: [{ ...space(0), egress: ['203.0.113.5'] }] }
    await firewall.apply(egress)
    assert.deepEqual(commands(exec.calls.slice(before)), ['nft -f -', READ])
    assert.equal(exec.calls[before]!.input, renderFirewall(egress))
    before = exec.calls.length
    const listener = { ...egress, routerListeners: [{ address: '0.0.0.0', port: 8080 }] }
    await firewall.apply(listener)
    assert.equal(exec.calls[before]!.input, renderFirewall(listener))
  })

  test('with shells, an apply, a space delta and the drift check start no process', async () => {
    const { kernel, exec } = fakeNft()
    const changes: string[] = []
    const reads: string[] = []
    const shell = (log: string[], answer: () => string[]) => ({
      run: async (script: string) => void log.push(script),
      read: async (script: string) => (log.push(script), answer()),
      close: () => undefined,
    })
    const firewall = new Firewall(exec, {
      change: shell(changes, () => []),
      read: shell(reads, () => [kernel.listing]),
    })
    await firewall.apply(state) // the whole replace is a script of its own: one nft -f
    assert.deepEqual(commands(exec.calls), ['nft -f -'])
    await firewall.apply({ ...state, spaces: [space(0), space(1)] })
    assert.equal(exec.calls.length, 1)
    // One transaction: one line.
    assert.deepEqual(changes, [renderDelta({ addSpaces: [space(1)] }).join('; ')])
    assert.equal(await firewall.drifted(), false)
    assert.deepEqual(reads, ['list ruleset', 'list table inet localspace', 'list ruleset'])
    assert.equal(exec.calls.length, 1)
  })

  test('a delta the kernel refuses changed nothing: both tables are replaced whole', async () => {
    const { kernel, exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(withDynos(1))
    kernel.failDelta = true // e.g. a table deleted by hand since the last drift check
    const before = exec.calls.length
    await firewall.apply(withDynos(1, 2))
    assert.deepEqual(commands(exec.calls.slice(before)), ['nft -f -', 'nft -f -', READ])
    assert.equal(exec.calls.at(-2)!.input, renderFirewall(withDynos(1, 2)))
  })

  test('a whole apply nft refuses leaves no reference: drift, and the next apply is whole', async () => {
    let refuse = true
    const exec = recordingExec(({ args }) =>
      refuse && !args.includes('list')
        ? new ExecError('nft', args, 1, 'Error: syntax error')
        : listing(),
    )
    const firewall = new Firewall(exec)
    await assert.rejects(firewall.apply(state), /syntax error/)
    assert.equal(exec.calls.length, 1)
    assert.equal(await firewall.drifted(), true)
    assert.equal(exec.calls.length, 1, 'nothing to compare with: no read')
    refuse = false
    await firewall.apply(state)
    assert.equal(exec.calls.at(-2)!.input, renderFirewall(state))
  })

  test('drift: before the first apply, after a change, after the tables are gone', async () => {
    const { kernel, exec } = fakeNft()
    const firewall = new Firewall(exec)
    assert.equal(await firewall.drifted(), true)
    await firewall.apply(state)
    assert.equal(await firewall.drifted(), false)
    kernel.listing = listing({ forwardRule: false })
    assert.equal(await firewall.drifted(), true)
    // Drift drops the reference: the repair is the whole render, never a delta on top of it.
    const before = exec.calls.length
    await firewall.apply(state)
    assert.deepEqual(commands(exec.calls.slice(before)), ['nft -f -', READ])
    assert.equal(exec.calls[before]!.input, renderFirewall(state))
    assert.equal(await firewall.drifted(), false)
    kernel.listing = EMPTY_RULESET
    assert.equal(await firewall.drifted(), true)
  })

  test('the steady-state drift check is one nft process', async () => {
    const { exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(state)
    const before = exec.calls.length
    assert.equal(await firewall.drifted(), false)
    assert.deepEqual(commands(exec.calls.slice(before)), [READ])
  })

  test('attachments added and removed one by one are not drift; a stray element is', async () => {
    const { kernel, exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(state)
    const before = exec.calls.length
    await firewall.addAttachment('lsv-00000002', '10.40.128.2')
    assert.deepEqual(exec.calls.slice(before), [
      {
        cmd: 'nft',
        args: ['-f', '-'],
        input: 'add element bridge localspace attachments { "lsv-00000002" . 10.40.128.2 }\n',
      },
    ])
    kernel.listing = listing({ dynos: [1, 2] })
    assert.equal(await firewall.drifted(), false)
    await firewall.removeAttachment('lsv-00000002', '10.40.128.2')
    kernel.listing = listing({ dynos: [1] })
    assert.equal(await firewall.drifted(), false)
    kernel.listing = listing({ dynos: [1, 2] }) // someone else's element
    assert.equal(await firewall.drifted(), true)
  })

  test('a delta after incremental changes carries only what they did not already do', async () => {
    const { exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(withDynos(1))
    await firewall.addAttachment(dyno(2).veth, dyno(2).address)
    await firewall.removeAttachment(dyno(1).veth, dyno(1).address)
    await firewall.apply(withDynos(2, 3))
    assert.equal(exec.calls.at(-1)!.input, `${renderDelta({ add: [dyno(3)] }).join('\n')}\n`)
  })

  test('removing an attachment that is not there is fine', async () => {
    const exec = recordingExec(
      ({ args }) =>
        new ExecError('nft', args, 1, 'Error: Could not process rule: No such file or directory'),
    )
    await new Firewall(exec).removeAttachment('lsv-00000002', '10.40.128.2')
    assert.equal(
      exec.calls[0]!.input,
      'delete element bridge localspace attachments { "lsv-00000002" . 10.40.128.2 }\n',
    )
  })

  test('names and addresses are checked before they reach nft', () => {
    const { exec } = fakeNft()
    const firewall = new Firewall(exec)
    assert.throws(() => void firewall.addAttachment('eth0', '10.40.128.2'))
    assert.throws(() => void firewall.addAttachment('lsv-00000002', '10.40.128.2 } flush'))
    assert.equal(exec.calls.length, 0)
  })

  test('remove deletes both tables in one transaction that tolerates their absence', async () => {
    const { exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(state)
    await firewall.remove()
    assert.equal(
      exec.lines().at(-1),
      'nft -f - | table inet localspace | delete table inet localspace | table bridge localspace | delete table bridge localspace',
    )
    assert.equal(await firewall.drifted(), true)
    // And what is applied next goes in whole, not as a delta on tables that are gone.
    await firewall.apply(state)
    assert.equal(exec.calls.at(-2)!.input, renderFirewall(state))
  })

  test('with nothing in flight, an element change is on its way before the call returns', async () => {
    const { exec } = fakeNft()
    const firewall = new Firewall(exec)
    await firewall.apply(state)
    const before = exec.calls.length
    const added = firewall.addAttachment('lsv-00000002', '10.40.128.2')
    // No await yet: a caller's synchronous work (the store's commit) overlaps the command.
    assert.equal(exec.calls.length, before + 1)
    const removed = firewall.removeAttachment('lsv-00000002', '10.40.128.2')
    assert.equal(exec.calls.length, before + 1, 'the second waits for the first')
    await Promise.all([added, removed])
    assert.match(exec.calls.at(-1)!.input ?? '', /^delete element/)
  })

  test('operations run one at a time, in call order', async () => {
    const order: string[] = []
    const exec = recordingExec(async (call) => {
      // The apply's own steps are slow, so anything not serialised would overtake them.
      await new Promise((resolve) => setTimeout(resolve, call.input?.startsWith('add') ? 1 : 20))
      order.push(call.args.includes('list') ? 'read' : (call.input ?? '').split(' ')[0]!)
      return call.args.includes('list') ? listing() : undefined
    })
    const firewall = new Firewall(exec)
    await Promise.all([
      firewall.apply(state),
      firewall.addAttachment('lsv-00000002', '10.40.128.2'),
    ])
    assert.deepEqual(order, ['table', 'read', 'add'])
  })
})
