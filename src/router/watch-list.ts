/**
 * The requests under way, for the router's timeout sweep: an unordered list with O(1) add and
 * remove (each item remembers its slot; removal moves the last item into it).
 *
 * Not a Set, on purpose. A JS Set that sees an add and a delete per request is rehashed every
 * few dozen requests, and V8 keeps each outgrown table linked to its successor, entries and
 * all, until a full GC. Once one such table reached the old generation, every later table and
 * every request it listed survived the scavenges too: measured with --trace-gc-nvp under 50
 * connections, ~1.9 MB promoted per scavenge (every request's objects, 7 ms pauses) instead
 * of almost nothing.
 */
export interface Watched {
  /** Where the item sits in its WatchList; -1 when in none. */
  watchSlot: number
}

export class WatchList<T extends Watched> {
  private readonly items: T[] = []

  get size(): number {
    return this.items.length
  }

  add(item: T): void {
    if (item.watchSlot >= 0) return
    item.watchSlot = this.items.length
    this.items.push(item)
  }

  delete(item: T): void {
    const slot = item.watchSlot
    if (slot < 0 || this.items[slot] !== item) return
    const last = this.items.pop()!
    if (last !== item) {
      this.items[slot] = last
      last.watchSlot = slot
    }
    item.watchSlot = -1
  }

  /** Calls `fn` for every item; `fn` may delete the item it is given. */
  forEach(fn: (item: T) => void): void {
    // Backwards: deleting item i moves an already visited one into its slot.
    for (let i = this.items.length - 1; i >= 0; i--) {
      const item = this.items[i]
      if (item) fn(item)
    }
  }
}
