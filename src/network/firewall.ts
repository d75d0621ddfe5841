/**
 * Puts the rendered firewall (nft/render.ts) into the kernel and notices when someone changes
 * it. Every change is one transaction (one `nft -f`, or one line of a long-lived `nft -i`):
 * when any command of it fails, nothing of it is applied, so no separate `nft -c` is needed
 * (it would only parse the same script again).
 *
 * - The first apply, an apply after drift or a failure, and an apply whose settings changed
 *   (router listeners, egress interface, allowed ranges) or that changes a space in place
 *   (its outbound addresses) replace both tables whole with `renderFirewall(state)`, then read
 *   them back as the reference for drift. Rules only ever reach the kernel this way: rendered
 *   whole, never edited.
 * - Otherwise only whole spaces or dynos came or went: the transaction deletes and adds just
 *   their elements and per-space chains (`renderDelta`), on top of tables known to hold the
 *   rest. A new space then costs a few elements instead of both tables made again (~16 ms of
 *   nft and kernel work here, most of it unhooking and hooking the base chains). What a dyno
 *   delta writes is known exactly, so it is not read back; after a space delta the structure
 *   is read back as the new reference.
 * - Dyno starts and stops (`addAttachment`/`removeAttachment`) change one element and update
 *   the remembered elements in memory, without a re-read that could absorb a manual change.
 *
 * Drift: `drifted()` reads both tables (`list ruleset`, JSON) and compares them with the
 * reference: the structure (rules, chains, sets with their elements; handles dropped) and the
 * `attachments` elements. Drift found also drops the reference, so the next apply replaces
 * both tables whole: a delta is never applied on top of tables changed by someone else.
 */
import { ExecError, type Exec } from '../exec/run.js'
import type { Shell } from '../exec/shell.js'
import { NFT_TABLE } from './names.js'
import {
  ATTACHMENTS_SET,
  renderDelta,
  renderFirewall,
  renderSettings,
  renderSpace,
  type FirewallAttachment,
  type FirewallSpace,
  type FirewallState,
} from './nft/render.js'
import { checkIpv4, checkName, VETH } from './validate.js'

const missing = (e: unknown) => e instanceof ExecError && /No such file or directory/.test(e.stderr)
const elementKey = (veth: string, address: string) => `"${veth}" . ${address}`
/** Our tables' families. */
const FAMILIES = ['inet', 'bridge'] as const
type Family = (typeof FAMILIES)[number]

export interface FirewallListing {
  /**
   * Each table as `nft -j` prints it, one object a line, without handles (the same rules
   * loaded again get new ones) and with every set's elements sorted (so the order a set is
   * dumped in never matters); the `attachments` set's elements are cut out. By family, so
   * that a change to one table (a space's, in `inet`) is read back without the other (the
   * 1,000 dynos' elements, in `bridge`).
   */
  structure: Record<Family, string>
  /** The `attachments` elements, as `"lsv-…" . a.b.c.d`. */
  elements: Set<string>
}

type NftObject = Record<string, unknown>

/** An `attachments` element as the render writes it; anything else stays JSON (and differs). */
function attachmentKey(elem: unknown): string {
  const concat = (elem as { concat?: unknown } | null)?.concat
  if (
    Array.isArray(concat) &&
    concat.length === 2 &&
    concat.every((part) => typeof part === 'string')
  ) {
    return elementKey(concat[0] as string, concat[1] as string)
  }
  return JSON.stringify(elem)
}

/**
 * Our two tables out of `nft -j -s list ruleset` (other programs' tables are left out), split
 * into the structure and the per-dyno elements.
 */
export function splitListing(json: string): FirewallListing {
  const items = (JSON.parse(json) as { nftables?: NftObject[] }).nftables ?? []
  // Order-free where order means nothing: nft lists tables, sets and chains in the order they
  // were made, so a table replaced alone (by hand, or by an older localspace) comes last, and
  // a chain added by a delta (a new space's) after those the whole render declares. Objects
  // are sorted; rules keep their order, chain by chain.
  const objects: Record<Family, string[]> = { inet: [], bridge: [] }
  const rules: Record<Family, Map<string, string[]>> = { inet: new Map(), bridge: new Map() }
  const elements = new Set<string>()
  for (const item of items) {
    const [kind, body] = Object.entries(item)[0] ?? []
    if (!kind || typeof body !== 'object' || body === null) continue
    const o = body as NftObject
    const family = FAMILIES.find((f) => f === o.family)
    if (!family) continue
    if ((kind === 'table' ? o.name : o.table) !== NFT_TABLE) continue
    const { handle: _handle, elem, ...rest } = o
    if (Array.isArray(elem)) {
      if (kind === 'set' && o.family === 'bridge' && o.name === ATTACHMENTS_SET) {
        for (const e of elem) elements.add(attachmentKey(e))
      } else {
        rest.elem = elem.map((e) => JSON.stringify(e)).sort()
      }
    }
    const line = JSON.stringify({ [kind]: rest })
    if (kind !== 'rule') objects[family].push(line)
    else {
      const inChain = rules[family].get(o.chain as string) ?? []
      inChain.push(line)
      rules[family].set(o.chain as string, inChain)
    }
  }
  const table = (f: Family) => {
    const chains = [...rules[f].keys()].sort()
    return [...objects[f].sort(), ...chains.flatMap((c) => rules[f].get(c)!)].join('\n')
  }
  return { structure: { inet: table('inet'), bridge: table('bridge') }, elements }
}

const sameStructure = (a: FirewallListing['structure'], b: FirewallListing['structure']) =>
  a.inet === b.inet && a.bridge === b.bridge

const sameElements = (a: ReadonlySet<string>, b: ReadonlySet<string>) =>
  a.size === b.size && [...a].every((x) => b.has(x))

/** What the kernel holds, as far as this Firewall knows: the reference for drift and deltas. */
interface Applied {
  /** `renderSettings` of the state applied; a delta applies only on top of the same. */
  settings: string
  /** Its spaces by dyno bridge, as `renderSpace` renders each. */
  spaces: Map<string, { space: FirewallSpace; rendered: string }>
  /** The kernel's own listing of the structure, read back after the spaces last changed. */
  structure: FirewallListing['structure']
  /** The `attachments` elements now, by key. */
  attachments: Map<string, FirewallAttachment>
}

/** The long-lived `nft` processes a Firewall works through (src/exec/shell.ts). */
export interface FirewallShells {
  /** `nft -i`: changes, one transaction a line; without it, each change is one `nft -f`. */
  change?: Shell | undefined
  /** `nft -j -s -i`: the read-back and drift reads; without it, each is one `nft -j -s list`. */
  read?: Shell | undefined
}

export class Firewall {
  #applied: Applied | undefined
  #queue: Promise<unknown> = Promise.resolve()
  /** Operations queued or running; the queue's tail has settled when it is 0. */
  #inFlight = 0

  /**
   * @param shells long-lived `nft` processes, so that a dyno's start or stop, a space's
   * allocation and the drift check start no process.
   */
  constructor(
    private readonly exec: Exec,
    private readonly shells: FirewallShells = {},
  ) {}

  /** Commands as one transaction: one line of the shell (`;` between them), or one `nft -f`. */
  async #transaction(commands: readonly string[]): Promise<void> {
    if (this.shells.change) await this.shells.change.run(commands.join('; '))
    else await this.exec('nft', ['-f', '-'], { input: commands.map((c) => `${c}\n`).join('') })
  }

  /**
   * One operation at a time, so a read-back never interleaves with a change. With none in
   * flight, it starts at once (its command is on its way before the caller's next line),
   * so a caller can overlap it with synchronous work of its own, such as a store commit.
   */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#inFlight === 0 ? fn() : this.#queue.then(fn, fn)
    this.#inFlight++
    this.#queue = next.then(
      () => void this.#inFlight--,
      () => void this.#inFlight--,
    )
    return next
  }

  /**
   * Both tables at once (`list ruleset`, because nft 1.0.6 cannot list two tables from one
   * `-f` script: its cache then holds only the first), or the inet table alone, which holds
   * everything of the spaces and nothing of the dynos. JSON, because the text printer flushes
   * after every token (~12,000 writes with 1,000 dynos, twice the time).
   */
  async #read(what: 'ruleset' | 'inet' = 'ruleset'): Promise<FirewallListing> {
    const args = what === 'ruleset' ? ['list', 'ruleset'] : ['list', 'table', 'inet', NFT_TABLE]
    if (this.shells.read) {
      const [listing] = await this.shells.read.read(args.join(' '))
      return splitListing(listing ?? '{}')
    }
    const { stdout } = await this.exec('nft', ['-j', '-s', ...args])
    return splitListing(stdout)
  }

  /**
   * Makes the kernel's tables `renderFirewall(state)`, in one transaction (all or nothing):
   * the delta (`renderDelta`) when only whole spaces or dynos came or went since the last
   * apply (nothing at all when none did), else both tables whole. The structure is read back
   * as the new reference for drift whenever spaces changed.
   */
  apply(state: FirewallState): Promise<void> {
    return this.#serial(async () => {
      const settings = renderSettings(state)
      const spaces = new Map(
        state.spaces.map((space) => [space.dynoBridge, { space, rendered: renderSpace(space) }]),
      )
      const wanted = new Map(state.attachments.map((a) => [elementKey(a.veth, a.address), a]))
      const applied = this.#applied
      this.#applied = undefined // until this apply is known to have succeeded
      const delta = applied?.settings === settings && deltaOf(applied, spaces, wanted)
      if (applied && delta) {
        try {
          const commands = renderDelta(delta)
          if (commands.length > 0) await this.#transaction(commands)
          const spacesChanged = delta.addSpaces.length + delta.removeSpaces.length > 0
          // What the delta wrote to the set of dynos is known exactly: not read back. Spaces
          // live in the inet table only: that one is read back.
          const structure = spacesChanged
            ? { ...applied.structure, inet: (await this.#read('inet')).structure.inet }
            : applied.structure
          this.#applied = { settings, spaces, structure, attachments: wanted }
          return
        } catch (e) {
          // The table or an element is not where the reference says (changed since the last
          // drift check): the failed transaction changed nothing; replace both tables whole.
          if (!(e instanceof ExecError)) throw e
        }
      }
      await this.exec('nft', ['-f', '-'], { input: renderFirewall(state) })
      const { structure } = await this.#read()
      // The elements are the ones just written, atomically: a read that differs from them
      // (someone changed the set in between) shows up as drift at the next check.
      this.#applied = { settings, spaces, structure, attachments: wanted }
    })
  }

  /**
   * True when the kernel's tables differ from what the last apply (plus the incremental
   * changes since) left: a rule changed or deleted, an element added or removed, a table gone.
   * True before the first apply. When true, the next apply replaces both tables whole.
   */
  drifted(): Promise<boolean> {
    return this.#serial(async () => {
      const applied = this.#applied
      if (!applied) return true
      const now = await this.#read()
      const same =
        sameStructure(now.structure, applied.structure) &&
        sameElements(now.elements, new Set(applied.attachments.keys()))
      if (!same) this.#applied = undefined
      return !same
    })
  }

  /** Lets `veth` send from `address` (one `nft add element`; adding twice is fine). */
  addAttachment(veth: string, address: string): Promise<void> {
    checkName(veth, VETH, 'veth')
    checkIpv4(address, 'address')
    return this.#serial(async () => {
      await this.#transaction(renderDelta({ add: [{ veth, address }] }))
      this.#applied?.attachments.set(elementKey(veth, address), { veth, address })
    })
  }

  /** Withdraws it (one `nft delete element`); fine when it, or the table, is not there. */
  removeAttachment(veth: string, address: string): Promise<void> {
    checkName(veth, VETH, 'veth')
    checkIpv4(address, 'address')
    return this.#serial(async () => {
      try {
        await this.#transaction(renderDelta({ remove: [{ veth, address }] }))
      } catch (e) {
        if (!missing(e)) throw e
      }
      this.#applied?.attachments.delete(elementKey(veth, address))
    })
  }

  /**
   * Deletes both tables; fine when they are not there (declaring a table first makes its
   * delete safe, in one transaction).
   */
  remove(): Promise<void> {
    return this.#serial(async () => {
      this.#applied = undefined
      await this.exec('nft', ['-f', '-'], {
        input: ['inet', 'bridge']
          .map((f) => `table ${f} ${NFT_TABLE}\ndelete table ${f} ${NFT_TABLE}\n`)
          .join(''),
      })
    })
  }
}

/**
 * The spaces and dynos to add and remove to go from `applied` to the wanted ones; false when a
 * space is in both but changed (its outbound addresses, say): that takes a whole apply.
 */
function deltaOf(applied: Applied, spaces: Applied['spaces'], wanted: Applied['attachments']) {
  const changed = [...spaces].some(([bridge, s]) => {
    const before = applied.spaces.get(bridge)
    return before !== undefined && before.rendered !== s.rendered
  })
  if (changed) return false
  const fresh = <T>(m: Map<string, T>, other: Map<string, unknown>) =>
    [...m].filter(([k]) => !other.has(k)).map(([, v]) => v)
  return {
    addSpaces: fresh(spaces, applied.spaces).map((s) => s.space),
    removeSpaces: fresh(applied.spaces, spaces).map((s) => s.space),
    add: fresh(wanted, applied.attachments),
    remove: fresh(applied.attachments, wanted),
  }
}
