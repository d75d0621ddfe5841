/**
 * A fixed-size buffer that forgets its oldest item when full: an app's recent log history
 * costs the same memory however long the app runs.
 */
export class RingBuffer<T> {
  private readonly items: Array<T | undefined>
  /** Where the next item goes; once full, also where the oldest one is. */
  private next = 0
  private count = 0

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, not ${capacity}`)
    }
    this.items = new Array<T | undefined>(capacity)
  }

  get size(): number {
    return this.count
  }

  push(item: T): void {
    this.items[this.next] = item
    this.next = (this.next + 1) % this.capacity
    if (this.count < this.capacity) this.count++
  }

  /** Oldest first. */
  toArray(): T[] {
    const start = (this.next - this.count + this.capacity) % this.capacity
    const out: T[] = []
    for (let i = 0; i < this.count; i++) out.push(this.items[(start + i) % this.capacity]!)
    return out
  }
}
