/**
 * Firewall.apply's two paths against the real nft and kernel: the whole replace and the delta
 * (only the dyno elements that changed). What the unit tests take on trust is checked here:
 * nft applies a delta as one transaction (a failing line leaves the other elements as they
 * were), the kernel's listing after a delta is the listing the whole replace gives for the
 * same state (so a delta is never drift), and a delta on top of tables changed by hand still
 * ends in the rendered firewall, at the latest after the next drift check. Runs inside
 * scripts/sandbox.
 */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { run, type Exec } from '../../src/exec/run.js'
import { openLocalShell } from '../../src/exec/shell.js'
import { Firewall, splitListing } from '../../src/network/firewall.js'
import {
  renderDelta,
  type FirewallAttachment,
  type FirewallSpace,
  type FirewallState,
} from '../../src/network/nft/render.js'
import { sandboxed } from '../helpers/sandbox.js'

const hex = (n: number) => n.toString(16).padStart(8, '0')

/** Space n, with two outbound addresses (SNAT through an anonymous jhash map). */
const space = (n: number): FirewallSpace => ({
  dynoBridge: `lsb-${hex(n)}`,
  dataBridge: `lsd-${hex(n)}`,
  cidr: `10.${100 + 2 * n}.0.0/16`,
  dataCidr: `10.${101 + 2 * n}.0.0/16`,
  gateway: `10.${100 + 2 * n}.0.1`,
  internalRouter: `10.${100 + 2 * n}.0.3`,
  egress: [`203.0.113.${2 * n + 1}`, `203.0.113.${2 * n + 2}`],
})
const spaces = Array.from({ length: 10 }, (_, n) => space(n))
const dyno = (i: number): FirewallAttachment => ({
  veth: `lsv-${hex(i)}`,
  address: `10.${100 + 2 * (i % 10)}.128.${Math.floor(i / 10) + 1}`,
})
const dynos = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => dyno(from + i))
const stateWith = (attachments: FirewallAttachment[]): FirewallState => ({
  spaces,
  attachments,
  routerListeners: [{ address: '127.0.0.1', port: 8080 }],
  allowedPrivate: ['192.168.77.0/24'],
})

const nft = (...args: string[]) => run('nft', args)
const nftScript = (input: string) => run('nft', ['-f', '-'], { input })
/** The dyno elements in the kernel, as `"lsv-…" . a.b.c.d`, sorted. */
async function kernelElements(): Promise<string[]> {
  const { stdout } = await nft('-j', 'list', 'set', 'bridge', 'localspace', 'attachments')
  const items = (JSON.parse(stdout) as { nftables: Array<Record<string, any>> }).nftables
  const elem: Array<{ concat: [string, string] }> = items.find((x) => x.set)?.set.elem ?? []
  return elem.map((e) => `"${e.concat[0]}" . ${e.concat[1]}`).sort()
}
const keys = (as: FirewallAttachment[]) => as.map((a) => `"${a.veth}" . ${a.address}`).sort()
/** Rules only: the chain's own line carries a handle too, one tab in. */
const ruleCount = async (family: string, chain: string) =>
  (await nft('-a', 'list', 'chain', family, 'localspace', chain)).stdout.match(
    /^\t\t.* # handle \d+$/gm,
  )?.length ?? 0

if (sandboxed(import.meta.url)) {
  describe('firewall apply paths on the kernel', () => {
    /** The nft scripts the Firewall sent, so a test can tell a delta from a whole replace. */
    const sent: string[] = []
    const recording: Exec = (cmd, args, options) => {
      if (options?.input !== undefined) sent.push(options.input)
      return run(cmd, args, options)
    }
    const firewall = new Firewall(recording)
    const isDelta = (script: string | undefined) =>
      /^(add|delete) (element|chain) /.test(script ?? '')

    test('the first apply is whole; a change of dynos only is a delta, and no drift', async () => {
      await firewall.apply(stateWith(dynos(0, 200)))
      assert.match(sent.at(-1)!, /^table inet localspace\ndelete table inet localspace/)
      assert.equal(await firewall.drifted(), false)

      sent.length = 0
      const next = [...dynos(10, 200), ...dynos(200, 230)]
      await firewall.apply(stateWith(next))
      assert.equal(sent.length, 1)
      assert.ok(isDelta(sent[0]), sent[0]!.slice(0, 200))
      assert.deepEqual(await kernelElements(), keys(next))
      // The reference the delta left in memory, without a read-back, is what the kernel holds.
      assert.equal(await firewall.drifted(), false)
    })

    test('a delta whose last line fails changes nothing', async () => {
      const before = await kernelElements()
      const script = renderDelta({
        add: [dyno(900)],
        remove: [dyno(10), dyno(901)], // dyno 901 is not in the set: nft refuses the delete
      })
      await assert.rejects(nftScript(`${script.join('\n')}\n`), /No such file or directory/)
      assert.deepEqual(await kernelElements(), before)
    })

    test('the same state applied whole and as a delta lists the same', async () => {
      const wanted = [...dynos(10, 230), dyno(230)]
      await firewall.apply(stateWith(wanted)) // a delta: one dyno more
      const afterDelta = (await nft('-j', '-s', 'list', 'ruleset')).stdout
      await new Firewall(run).apply(stateWith(wanted)) // whole
      const afterWhole = (await nft('-j', '-s', 'list', 'ruleset')).stdout
      const withoutHandles = (json: string) => json.replace(/, "handle": \d+|"handle": \d+, /g, '')
      assert.equal(withoutHandles(afterDelta), withoutHandles(afterWhole))
      assert.equal(await firewall.drifted(), false)
    })

    test('one table replaced alone with the same content is not drift', async () => {
      // nft then lists it after the other table: the order of tables is no change.
      const inet = (await nft('list', 'table', 'inet', 'localspace')).stdout
      await nftScript(`table inet localspace\ndelete table inet localspace\n${inet}`)
      const tables = (await nft('list', 'tables')).stdout
      assert.match(tables, /bridge localspace\n.*inet localspace/)
      assert.equal(await firewall.drifted(), false)
    })

    test('rules flushed by hand: a delta leaves them, the drift check sees it, then whole', async () => {
      await nft('flush', 'chain', 'inet', 'localspace', 'forward')
      sent.length = 0
      const wanted = dynos(10, 230)
      await firewall.apply(stateWith(wanted))
      assert.ok(isDelta(sent[0]))
      assert.equal(await ruleCount('inet', 'forward'), 0)
      assert.equal(await firewall.drifted(), true)
      sent.length = 0
      await firewall.apply(stateWith([...wanted, dyno(230)]))
      assert.ok(!isDelta(sent[0]), 'after drift, both tables whole')
      assert.ok((await ruleCount('inet', 'forward')) > 0)
      assert.equal(await firewall.drifted(), false)
    })

    test('an element deleted by hand: the delta fails, and the whole replace repairs it', async () => {
      const wanted = [...dynos(10, 230), dyno(230)]
      const gone = dyno(11)
      await nftScript(
        `delete element bridge localspace attachments { "${gone.veth}" . ${gone.address} }\n`,
      )
      sent.length = 0
      // No drift check in between: the Firewall still counts dyno 11 in, so the delta for a
      // state without it deletes it, and nft refuses that (the element is not there).
      const next = wanted.filter((a) => a.veth !== gone.veth)
      await firewall.apply(stateWith(next))
      assert.equal(sent.length, 2, 'a refused delta, then the whole render')
      assert.ok(isDelta(sent[0]))
      assert.ok(!isDelta(sent[1]))
      assert.deepEqual(await kernelElements(), keys(next))
      assert.equal(await firewall.drifted(), false)
    })

    test('a stray element is drift, and the next apply removes it', async () => {
      await nftScript(
        'add element bridge localspace attachments { "lsv-0000beef" . 10.100.200.200 }\n',
      )
      assert.equal(await firewall.drifted(), true)
      const wanted = dynos(0, 50)
      sent.length = 0
      await firewall.apply(stateWith(wanted))
      assert.ok(!isDelta(sent[0]), 'after drift, both tables whole')
      assert.deepEqual(await kernelElements(), keys(wanted))
      assert.equal(await firewall.drifted(), false)
    })

    test('a hand-made rule is drift; dynos added and removed one by one are not', async () => {
      await firewall.addAttachment(dyno(500).veth, dyno(500).address)
      await firewall.removeAttachment(dyno(0).veth, dyno(0).address)
      assert.equal(await firewall.drifted(), false)
      await nft('add', 'rule', 'inet', 'localspace', 'input', 'tcp', 'dport', '22', 'accept')
      assert.equal(await firewall.drifted(), true)
      await firewall.apply(stateWith(dynos(0, 50)))
      assert.equal(await firewall.drifted(), false)
      await nft('delete', 'table', 'inet', 'localspace')
      assert.equal(await firewall.drifted(), true)
      await firewall.remove()
    })

    test('a space that comes and goes is a delta; the kernel then holds what a whole apply gives', async () => {
      const base = stateWith(dynos(0, 50))
      const more = { ...base, spaces: [...spaces, space(10)] }
      await firewall.apply(base) // whole: the tables were removed above
      sent.length = 0
      await firewall.apply(more)
      assert.equal(sent.length, 1)
      assert.match(sent[0]!, /^add chain inet localspace snat-0000000a\n/)
      assert.equal(await firewall.drifted(), false)
      const structure = async () => splitListing((await nft('-j', '-s', 'list', 'ruleset')).stdout)
      const afterDelta = await structure()
      await new Firewall(run).apply(more) // whole, by another Firewall
      const afterWhole = await structure()
      assert.deepEqual(afterDelta.structure, afterWhole.structure)
      assert.deepEqual([...afterDelta.elements].sort(), [...afterWhole.elements].sort())
      assert.equal(await firewall.drifted(), false, 'the same tables, whoever made them')

      sent.length = 0
      await firewall.apply(stateWith(dynos(0, 50)))
      assert.equal(sent.length, 1)
      assert.ok(isDelta(sent[0]), sent[0])
      const chains = (await nft('list', 'table', 'inet', 'localspace')).stdout
      assert.doesNotMatch(chains, /snat-0000000a|10\.120\.0\.0/)
      assert.match(chains, /snat-00000009/)
      const afterRemoval = (await structure()).structure
      await new Firewall(run).apply(stateWith(dynos(0, 50)))
      assert.deepEqual((await structure()).structure, afterRemoval)
      assert.equal(await firewall.drifted(), false)
      await firewall.remove()
    })

    test('through long-lived nft shells: the same tables, and a failed delta changes nothing', async () => {
      const change = openLocalShell({ tool: 'nft' })
      const read = openLocalShell({ tool: 'nft-json' })
      const shelled = new Firewall(run, { change, read })
      try {
        await shelled.apply(stateWith(dynos(0, 20)))
        await shelled.apply({ ...stateWith(dynos(0, 21)), spaces: [...spaces, space(10)] })
        await shelled.addAttachment(dyno(22).veth, dyno(22).address)
        assert.equal(await shelled.drifted(), false)
        const listed = (await nft('list', 'table', 'inet', 'localspace')).stdout
        assert.match(listed, /chain snat-0000000a \{\n\s+snat ip to jhash/)
        assert.deepEqual(await kernelElements(), keys([...dynos(0, 21), dyno(22)]))
        // One line of the shell is one transaction: a delete that fails undoes the space.
        const before = (await nft('-j', '-s', 'list', 'ruleset')).stdout
        await assert.rejects(
          change.run(renderDelta({ addSpaces: [space(11)], remove: [dyno(999)] }).join('; ')),
          /No such file or directory/,
        )
        assert.equal((await nft('-j', '-s', 'list', 'ruleset')).stdout, before)
        assert.equal(await shelled.drifted(), false)
      } finally {
        await shelled.remove()
        change.close()
        read.close()
      }
    })
  })
}
