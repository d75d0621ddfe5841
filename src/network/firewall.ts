/**
 * Puts the rendered firewall (nft/render.ts) into the kernel and notices when someone changes
 * it. Every change is one `nft -f` transaction: when any line of it fails, nothing of it is
 * applied, so no separate `nft -c` is needed (it would only parse the same script again).
 *
 * - The first apply, an apply after drift or a failure, and an apply whose structure changed
 *   (anything but the per-dyno elements: a space, an outbound address, a setting) replace both
 *   tables whole with `renderFirewall(state)`, then read them back once as the reference for
 *   drift. Rules only ever reach the kernel this way: rendered whole, never edited.
 * - Otherwise only dynos came or went: the transaction deletes and adds just the `attachments`
 *   elements that changed (`renderAttachmentDelta`), on top of tables known to hold the same
 *   structure. What it writes is known exactly, so it is not read back. The rules are not sent
 *   again (flushed and declared anew): with 1,000 dynos that alone costs nft ~47 ms of CPU,
 *   twice the ~24 ms of the delta, and a hand-made change is repaired after the next drift
 *   check either way (below).
 * - Dyno starts and stops (`addAttachment`/`removeAttachment`) change one element and update
 *   the remembered elements in memory, without a re-read that could absorb a manual change.
 *
 * Drift: `drifted()` reads both tables (one `nft -j -s list ruleset`) and compares them with
 * the reference: the structure (rules, chains, sets with their elements; handles dropped) and
 * the `attachments` elements. Drift found also drops the reference, so the next apply replaces
 * both tables whole: a delta is never applied on top of tables changed by someone else.
 */
import { ExecError, type Exec } from '../exec/run.js'
import type { Shell } from '../exec/shell.js'
import { NFT_TABLE } from './names.js'
import {
  ATTACHMENTS_SET,
  renderAttachmentDelta,
  renderFirewall,
  renderStructure,
  type FirewallAttachment,
  type FirewallState,
} from './nft/render.js'
import { checkIpv4, checkName, VETH } from './validate.js'

const missing = (e: unknown) => e instanceof ExecError && /No such file or directory/.test(e.stderr)
const elementKey = (veth: string, address: string) => `"${veth}" . ${address}`
/** Our tables' families, in the order the structure lists them. */
const FAMILIES = ['inet', 'bridge']

export interface FirewallListing {
  /**
   * Both tables as `nft -j` prints them, one object a line, without handles (the same rules
   * loaded again get new ones) and with every set's elements sorted (so the order a set is
   * dumped in never matters); the `attachments` set's elements are cut out.
   */
  structure: string
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
  // By family: nft lists tables in the order they were made, and one table replaced alone
  // (by hand, or by an older localspace) comes last without anything in it having changed.
  const lines = new Map<unknown, string[]>(FAMILIES.map((f) => [f, []]))
  const elements = new Set<string>()
  for (const item of items) {
    const [kind, body] = Object.entries(item)[0] ?? []
    if (!kind || typeof body !== 'object' || body === null) continue
    const o = body as NftObject
    const family = lines.get(o.family)
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
    family.push(JSON.stringify({ [kind]: rest }))
  }
  return { structure: [...lines.values()].flat().join('\n'), elements }
}

const sameElements = (a: ReadonlySet<string>, b: ReadonlySet<string>) =>
  a.size === b.size && [...a].every((x) => b.has(x))

/** What the kernel holds, as far as this Firewall knows: the reference for drift and deltas. */
interface Applied {
  /** `renderStructure` of the state applied whole; a delta applies only on top of the same. */
  rendered: string
  /** The kernel's own listing of it, read back after that whole apply. */
  structure: string
  /** The `attachments` elements now, by key. */
  attachments: Map<string, FirewallAttachment>
}

export class Firewall {
  #applied: Applied | undefined
  #queue: Promise<unknown> = Promise.resolve()
  /** Operations queued or running; the queue's tail has settled when it is 0. */
  #inFlight = 0

  /**
   * @param nft a long-lived `nft -i` (src/exec/shell.ts) for the per-dyno elements, so a dyno's
   * start or stop starts no process; without it each element change is one `nft -f`.
   */
  constructor(
    private readonly exec: Exec,
    private readonly nft?: Shell,
  ) {}

  /** One element change: through the shell when there is one (one line is one transaction). */
  async #element(line: string): Promise<void> {
    if (this.nft) await this.nft.run(line)
    else await this.exec('nft', ['-f', '-'], { input: `${line}\n` })
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
   * Both tables in one process. `list ruleset`, because nft 1.0.6 cannot list two tables from
   * one `-f` script (its cache then holds only the first); JSON, because the text printer
   * flushes after every token (~12,000 writes with 1,000 dynos, twice the time).
   */
  async #read(): Promise<FirewallListing> {
    const { stdout } = await this.exec('nft', ['-j', '-s', 'list', 'ruleset'])
    return splitListing(stdout)
  }

  /**
   * Makes the kernel's tables `renderFirewall(state)`, in one transaction (all or nothing):
   * the per-dyno delta when only dynos changed since the last apply (nothing at all when none
   * did), else both tables whole, then read back as the new reference for drift.
   */
  apply(state: FirewallState): Promise<void> {
    return this.#serial(async () => {
      const rendered = renderStructure(state)
      const wanted = new Map(state.attachments.map((a) => [elementKey(a.veth, a.address), a]))
      const applied = this.#applied
      this.#applied = undefined // until this apply is known to have succeeded
      if (applied?.rendered === rendered) {
        const add = [...wanted].filter(([k]) => !applied.attachments.has(k)).map(([, a]) => a)
        const remove = [...applied.attachments].filter(([k]) => !wanted.has(k)).map(([, a]) => a)
        try {
          const delta = renderAttachmentDelta({ add, remove })
          if (delta !== '') await this.exec('nft', ['-f', '-'], { input: delta })
          this.#applied = { ...applied, attachments: wanted }
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
      this.#applied = { rendered, structure, attachments: wanted }
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
        now.structure === applied.structure &&
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
      await this.#element(
        `add element bridge ${NFT_TABLE} ${ATTACHMENTS_SET} { ${elementKey(veth, address)} }`,
      )
      this.#applied?.attachments.set(elementKey(veth, address), { veth, address })
    })
  }

  /** Withdraws it (one `nft delete element`); fine when it, or the table, is not there. */
  removeAttachment(veth: string, address: string): Promise<void> {
    checkName(veth, VETH, 'veth')
    checkIpv4(address, 'address')
    return this.#serial(async () => {
      try {
        await this.#element(
          `delete element bridge ${NFT_TABLE} ${ATTACHMENTS_SET} { ${elementKey(veth, address)} }`,
        )
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
