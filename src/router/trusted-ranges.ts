/**
 * A space's inbound ruleset compiled for the hot path: is this client address admitted?
 *
 * Semantics (docs/heroku-reference.md §3.4): admit iff the address is in some `allow` range and in
 * no `deny` range — deny wins over allow whatever the prefix lengths. An empty ruleset admits
 * nothing.
 *
 * Lookup is a longest-prefix match in a binary trie over IPv4 bits, so it costs at most 32
 * steps however many ranges there are. Deny-wins is made a property of the trie when it is
 * built: an allow range inside (or equal to) a deny range is never inserted, so the longest
 * match is a deny whenever any deny range covers the address.
 */
import { parseCidr, type Cidr } from '../core/cidr.js'

export interface InboundRule {
  action: 'allow' | 'deny'
  source: string
}

const NONE = 0
const ALLOW = 1
const DENY = 2

export class TrustedRanges {
  // Nodes live in flat typed arrays (index 0 is the root): compact for 10,000 ranges and
  // cheap to walk. A child index of 0 means "no child" (the root is nobody's child).
  private left = new Int32Array(64)
  private right = new Int32Array(64)
  private mark = new Uint8Array(64)
  private size = 1

  /** Rules whose `source` is not an IPv4 CIDR are ignored (the API validated them already). */
  constructor(rules: readonly InboundRule[]) {
    const parsed = (action: InboundRule['action']) =>
      rules
        .filter((r) => r.action === action)
        .map((r) => parseCidr(r.source))
        .filter((c): c is Cidr => c !== undefined)
    for (const c of parsed('deny')) this.insert(c, DENY)
    for (const c of parsed('allow')) this.insert(c, ALLOW)
  }

  /** `address` is an IPv4 address as an unsigned 32-bit integer. */
  admits(address: number): boolean {
    let node = 0
    let verdict = this.mark[0]!
    for (let bit = 31; bit >= 0; bit--) {
      node = ((address >>> bit) & 1) === 0 ? this.left[node]! : this.right[node]!
      if (node === 0) break
      const m = this.mark[node]!
      if (m !== NONE) verdict = m
    }
    return verdict === ALLOW
  }

  private insert(cidr: Cidr, action: typeof ALLOW | typeof DENY): void {
    let node = 0
    for (let i = 0; i < cidr.prefix; i++) {
      // Below a deny range an allow range has no effect: skip it (deny wins).
      if (action === ALLOW && this.mark[node] === DENY) return
      const bit = (cidr.base >>> (31 - i)) & 1
      const children = bit === 0 ? this.left : this.right
      let next = children[node]!
      if (next === 0) {
        next = this.newNode()
        // newNode may have grown (replaced) the arrays: write through the current ones.
        ;(bit === 0 ? this.left : this.right)[node] = next
      }
      node = next
    }
    if (action === ALLOW && this.mark[node] === DENY) return
    this.mark[node] = action
  }

  private newNode(): number {
    if (this.size === this.mark.length) {
      const grow = <T extends Int32Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(a.length * 2)
        b.set(a)
        return b
      }
      this.left = grow(this.left, (n) => new Int32Array(n))
      this.right = grow(this.right, (n) => new Int32Array(n))
      this.mark = grow(this.mark, (n) => new Uint8Array(n))
    }
    return this.size++
  }
}

/**
 * A client address as Node reports it (`1.2.3.4`, or `::ffff:1.2.3.4` on a dual-stack
 * socket) → unsigned 32-bit integer; undefined for IPv6 (no IPv6 rules exist, so IPv6 clients
 * are never admitted by a ruleset).
 */
export function clientIpv4(address: string | undefined): number | undefined {
  if (address === undefined) return undefined
  const text = address.startsWith('::ffff:') ? address.slice(7) : address
  let value = 0
  let octet = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined
      value = value * 256 + octet
      octet = 0
      digits = 0
    } else if (c >= 48 && c <= 57 && digits < 3) {
      octet = octet * 10 + (c - 48)
      digits++
      if (octet > 255) return undefined
    } else {
      return undefined
    }
  }
  if (dots !== 3 || digits === 0) return undefined
  return value * 256 + octet
}
