/**
 * Puts the rendered firewall (nft/render.ts) into the kernel and notices when someone changes
 * it. Whole tables are replaced in one `nft -f` transaction after `nft -c` has validated the
 * same text; dyno starts and stops change only the `attachments` set, one element at a time.
 *
 * Drift: after each apply the two tables are read back (`nft -s`, so counters do not count as
 * changes) and remembered as their structure plus the elements of the `attachments` set.
 * Incremental changes update the remembered elements in memory, without a re-read that
 * could absorb an earlier manual change; `drifted()` compares a fresh read with both.
 */
import { ExecError, type Exec } from '../exec/run.js'
import { NFT_TABLE } from './names.js'
import { renderFirewall, type FirewallState } from './nft/render.js'
import { checkIpv4, checkName, VETH } from './validate.js'

const ATTACHMENTS_SET = 'attachments'
const missing = (e: unknown) => e instanceof ExecError && /No such file or directory/.test(e.stderr)
const elementKey = (veth: string, address: string) => `"${veth}" . ${address}`

export interface FirewallListing {
  /** Both tables as nft prints them, with the `attachments` set's elements cut out. */
  structure: string
  /** The `attachments` elements, as `"lsv-…" . a.b.c.d`. */
  elements: Set<string>
}

/** Separates the per-dyno elements from the rest of `nft -s list table bridge localspace`. */
export function splitListing(text: string): FirewallListing {
  const elements = new Set<string>()
  const setStart = text.indexOf(`set ${ATTACHMENTS_SET} {`)
  if (setStart < 0) return { structure: text, elements }
  const setEnd = text.indexOf('\n\t}', setStart)
  const block = text.slice(setStart, setEnd < 0 ? text.length : setEnd)
  for (const m of block.matchAll(/"([^"]+)" \. ([0-9.]+)/g)) elements.add(elementKey(m[1]!, m[2]!))
  const structure =
    text.slice(0, setStart) +
    block.replace(/\n\s*elements = \{[^}]*\}/, '') +
    text.slice(setEnd < 0 ? text.length : setEnd)
  return { structure, elements }
}

const sameElements = (a: ReadonlySet<string>, b: ReadonlySet<string>) =>
  a.size === b.size && [...a].every((x) => b.has(x))

export class Firewall {
  #remembered: FirewallListing | undefined
  #queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly exec: Exec) {}

  /** One operation at a time, so a read-back never interleaves with a change. */
  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.#queue.then(fn, fn)
    this.#queue = next.catch(() => undefined)
    return next
  }

  async #read(): Promise<FirewallListing> {
    // Two processes: nft 1.0.6 cannot list tables of two families from one -f script.
    const [inet, bridge] = await Promise.all(
      ['inet', 'bridge'].map((family) =>
        this.exec('nft', ['-s', 'list', 'table', family, NFT_TABLE]),
      ),
    )
    return splitListing(`${inet!.stdout}${bridge!.stdout}`)
  }

  /**
   * Replaces both tables with `renderFirewall(state)`: validated with `nft -c`, then applied as
   * one transaction (all or nothing), then read back as the new reference for drift.
   */
  apply(state: FirewallState): Promise<void> {
    return this.#serial(async () => {
      const script = renderFirewall(state)
      await this.exec('nft', ['-c', '-f', '-'], { input: script })
      this.#remembered = undefined
      await this.exec('nft', ['-f', '-'], { input: script })
      this.#remembered = await this.#read()
    })
  }

  /**
   * True when the kernel's tables differ from what the last apply (plus the incremental
   * changes since) left: a rule changed or deleted, a table gone. True before the first apply.
   */
  drifted(): Promise<boolean> {
    return this.#serial(async () => {
      const remembered = this.#remembered
      if (!remembered) return true
      let now: FirewallListing
      try {
        now = await this.#read()
      } catch (e) {
        if (missing(e)) return true
        throw e
      }
      return (
        now.structure !== remembered.structure || !sameElements(now.elements, remembered.elements)
      )
    })
  }

  /** Lets `veth` send from `address` (one `nft add element`; adding twice is fine). */
  addAttachment(veth: string, address: string): Promise<void> {
    checkName(veth, VETH, 'veth')
    checkIpv4(address, 'address')
    return this.#serial(async () => {
      await this.exec('nft', ['-f', '-'], {
        input: `add element bridge ${NFT_TABLE} ${ATTACHMENTS_SET} { ${elementKey(veth, address)} }\n`,
      })
      this.#remembered?.elements.add(elementKey(veth, address))
    })
  }

  /** Withdraws it (one `nft delete element`); fine when it, or the table, is not there. */
  removeAttachment(veth: string, address: string): Promise<void> {
    checkName(veth, VETH, 'veth')
    checkIpv4(address, 'address')
    return this.#serial(async () => {
      try {
        await this.exec('nft', ['-f', '-'], {
          input: `delete element bridge ${NFT_TABLE} ${ATTACHMENTS_SET} { ${elementKey(veth, address)} }\n`,
        })
      } catch (e) {
        if (!missing(e)) throw e
      }
      this.#remembered?.elements.delete(elementKey(veth, address))
    })
  }

  /**
   * Deletes both tables; fine when they are not there (declaring a table first makes its
   * delete safe, in one transaction).
   */
  remove(): Promise<void> {
    return this.#serial(async () => {
      this.#remembered = undefined
      await this.exec('nft', ['-f', '-'], {
        input: ['inet', 'bridge']
          .map((f) => `table ${f} ${NFT_TABLE}\ndelete table ${f} ${NFT_TABLE}\n`)
          .join(''),
      })
    })
  }
}
