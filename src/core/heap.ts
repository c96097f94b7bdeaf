// A binary min-heap whose items know their own position, so update and remove are O(log n).

export interface HeapSlot<T> {
  get(item: T): number
  set(item: T, pos: number): void
}

export class IndexedHeap<T> {
  private readonly items: T[] = []

  constructor(
    private readonly less: (a: T, b: T) => boolean,
    private readonly slot: HeapSlot<T>,
  ) {}

  get size(): number {
    return this.items.length
  }

  peek(): T | undefined {
    return this.items[0]
  }

  /** Every item, in no particular order (a scan of many is cheaper so than through `ordered`). */
  unordered(): readonly T[] {
    return this.items
  }

  has(item: T): boolean {
    const pos = this.slot.get(item)
    return pos >= 0 && this.items[pos] === item
  }

  push(item: T): void {
    this.items.push(item)
    this.slot.set(item, this.items.length - 1)
    this.up(this.items.length - 1)
  }

  pop(): T | undefined {
    const top = this.items[0]
    if (top === undefined) return undefined
    const last = this.items.pop() as T
    this.slot.set(top, -1)
    if (this.items.length > 0) {
      this.items[0] = last
      this.slot.set(last, 0)
      this.down(0)
    }
    return top
  }

  remove(item: T): void {
    if (!this.has(item)) return
    const pos = this.slot.get(item)
    const last = this.items.pop() as T
    this.slot.set(item, -1)
    if (pos === this.items.length) return
    this.items[pos] = last
    this.slot.set(last, pos)
    this.up(pos)
    this.down(this.slot.get(last))
  }

  /** Restore order after the item's key changed, inserting it if absent. */
  update(item: T): void {
    if (!this.has(item)) return this.push(item)
    const pos = this.slot.get(item)
    this.up(pos)
    this.down(this.slot.get(item))
  }

  /** Items in heap order without changing the heap, as long as `keep` holds: O(k log k) for k items. */
  *ordered(keep: (item: T) => boolean = () => true): Generator<T> {
    const frontier = new IndexedHeap<number>((a, b) => this.less(this.at(a), this.at(b)), noSlot)
    if (this.items.length > 0) frontier.push(0)
    for (let pos = frontier.pop(); pos !== undefined; pos = frontier.pop()) {
      const item = this.at(pos)
      if (!keep(item)) return
      yield item
      for (const child of [2 * pos + 1, 2 * pos + 2]) if (child < this.items.length) frontier.push(child)
    }
  }

  private at(pos: number): T {
    return this.items[pos] as T
  }

  private swap(i: number, j: number): void {
    const a = this.at(i)
    const b = this.at(j)
    this.items[i] = b
    this.items[j] = a
    this.slot.set(b, i)
    this.slot.set(a, j)
  }

  private up(pos: number): void {
    while (pos > 0) {
      const parent = (pos - 1) >> 1
      if (!this.less(this.at(pos), this.at(parent))) return
      this.swap(pos, parent)
      pos = parent
    }
  }

  private down(pos: number): void {
    for (;;) {
      const left = 2 * pos + 1
      const right = left + 1
      let least = pos
      if (left < this.items.length && this.less(this.at(left), this.at(least))) least = left
      if (right < this.items.length && this.less(this.at(right), this.at(least))) least = right
      if (least === pos) return
      this.swap(pos, least)
      pos = least
    }
  }
}

// The frontier heap of `ordered` holds plain positions; it never removes by identity.
const noSlot: HeapSlot<number> = { get: () => -1, set: () => undefined }
