import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { ExecError } from '../exec/run.js'
import { Firewall, splitListing } from './firewall.js'
import { renderFirewall, type FirewallState } from './nft/render.js'
import { recordingExec, type RecordedCall } from './testing/recording-exec.js'

const state: FirewallState = {
  spaces: [
    {
      dynoBridge: 'lsb-0000000a',
      dataBridge: 'lsd-0000000a',
      cidr: '10.40.0.0/16',
      dataCidr: '10.41.0.0/16',
      gateway: '10.40.0.1',
      internalRouter: '10.40.0.3',
      egress: [],
    },
  ],
  attachments: [{ veth: 'lsv-00000001', address: '10.40.128.1' }],
  routerListeners: [],
  allowedPrivate: [],
}

const INET = 'table inet localspace {\n\tchain forward {\n\t\tcounter drop\n\t}\n}\n'
// Verbatim nft 1.0.6 `-s` listings of the bridge table.
const bridgeTable = (elements: string) =>
  `table bridge localspace {\n\tset attachments {\n\t\ttype ifname . ipv4_addr${elements}\n\t}\n\n\tchain prerouting {\n\t\ttype filter hook prerouting priority filter; policy accept;\n\t\tiifname "lsv-*" iifname . ip saddr != @attachments counter drop\n\t}\n}\n`
const ONE = bridgeTable('\n\t\telements = { "lsv-00000001" . 10.40.128.1 }')
const TWO = bridgeTable(
  '\n\t\telements = { "lsv-00000001" . 10.40.128.1,\n\t\t\t     "lsv-00000002" . 10.40.128.2 }',
)
const NONE = bridgeTable('')

/** A fake kernel: `nft -f` succeeds, listings return whatever the test has set. */
function fakeNft() {
  const kernel = { inet: INET, bridge: ONE, gone: false }
  const exec = recordingExec((call: RecordedCall) => {
    const table = call.args.at(-2)
    if (call.args.includes('list')) {
      if (kernel.gone) return new ExecError('nft', call.args, 1, 'Error: No such file or directory')
      return table === 'inet' ? kernel.inet : kernel.bridge
    }
    return undefined
  })
  return { kernel, exec }
}

describe('firewall', () => {
  test('the attachments set is cut out of a listing, element by element', () => {
    assert.deepEqual(
      [...splitListing(TWO).elements],
      ['"lsv-00000001" . 10.40.128.1', '"lsv-00000002" . 10.40.128.2'],
    )
    assert.equal(splitListing(TWO).structure, NONE)
    assert.equal(splitListing(ONE).structure, NONE)
    assert.equal(splitListing(NONE).structure, NONE)
    assert.equal(splitListing(NONE).elements.size, 0)
  })

  test('apply validates, applies the whole script, then reads both tables back', async () => {
    const { exec } = fakeNft()
    await new Firewall(exec).apply(state)
    assert.deepEqual(
      exec.calls.map((c) => `${c.cmd} ${c.args.join(' ')}`),
      [
        'nft -c -f -',
        'nft -f -',
        'nft -s list table inet localspace',
        'nft -s list table bridge localspace',
      ],
    )
    assert.equal(exec.calls[0]!.input, renderFirewall(state))
    assert.equal(exec.calls[1]!.input, renderFirewall(state))
  })

  test('a script nft -c refuses is never applied', async () => {
    const exec = recordingExec(({ args }) =>
      args[0] === '-c' ? new ExecError('nft', args, 1, 'Error: syntax error') : undefined,
    )
    const firewall = new Firewall(exec)
    await assert.rejects(firewall.apply(state), /syntax error/)
    assert.equal(exec.calls.length, 1)
    assert.equal(await firewall.drifted(), true)
  })

  test('drift: before the first apply, after a change, after the tables are gone', async () => {
    const { kernel, exec } = fakeNft()
    const firewall = new Firewall(exec)
    assert.equal(await firewall.drifted(), true)
    await firewall.apply(state)
    assert.equal(await firewall.drifted(), false)
    kernel.inet = INET.replace('\t\tcounter drop\n', '')
    assert.equal(await firewall.drifted(), true)
    await firewall.apply(state)
    assert.equal(await firewall.drifted(), false)
    kernel.gone = true
    assert.equal(await firewall.drifted(), true)
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
    kernel.bridge = TWO
    assert.equal(await firewall.drifted(), false)
    await firewall.removeAttachment('lsv-00000002', '10.40.128.2')
    kernel.bridge = ONE
    assert.equal(await firewall.drifted(), false)
    kernel.bridge = TWO // someone else's element
    assert.equal(await firewall.drifted(), true)
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
    await firewall.remove()
    assert.deepEqual(exec.lines(), [
      'nft -f - | table inet localspace | delete table inet localspace | table bridge localspace | delete table bridge localspace',
    ])
    assert.equal(await firewall.drifted(), true)
  })

  test('operations run one at a time, in call order', async () => {
    const order: string[] = []
    const exec = recordingExec(async (call) => {
      await new Promise((resolve) => setTimeout(resolve, call.args.includes('-c') ? 20 : 1))
      order.push(call.args.join(' '))
      return call.args.includes('list') ? (call.args.at(-2) === 'inet' ? INET : ONE) : undefined
    })
    const firewall = new Firewall(exec)
    await Promise.all([
      firewall.apply(state),
      firewall.addAttachment('lsv-00000002', '10.40.128.2'),
    ])
    assert.equal(order.at(-1), '-f -')
    assert.equal(order[0], '-c -f -')
  })
})
