// Memory shared with the store workers for the bytes of objects in flight: the main thread
// copies a chunk into a slot, the worker hashes, compresses and writes it from there, and the
// slot is free again once the worker has answered. No buffer is allocated per object, nothing
// is transferred, and the same pages serve the whole save: with a fresh buffer per chunk, a
// first save of /usr/share held up to 109 MB of dead buffers on the main thread (freed only
// when V8 collects their objects) and took a page fault for every page of every chunk.
//
// Slots are taken first-fit from the lowest free range and given back in any order; a freed
// slot merges with the free ranges beside it. (The first design handed slots out in order
// around a ring, hence the name: a slot's space came back only once every older slot was back,
// and one put held up in a worker blocked the whole ring. Corpus B's first save then found it
// full for a quarter of its chunk bytes, with 8-10 MB of 20 MiB in flight; those chunks went to
// fresh buffers, 79 MB of the main thread's malloc heap at the peak.) A request that fits in no
// free range gets null, and the caller uses a buffer of its own.

interface Range {
  start: number
  end: number
}

export class SharedRing {
  readonly buffer: SharedArrayBuffer
  /** The free ranges, sorted by start, never touching one another (merged when freed). */
  private holes: Range[]
  /** The slots handed out: start -> length. */
  private readonly taken = new Map<number, number>()
  private inUse = 0

  constructor(readonly size: number) {
    this.buffer = new SharedArrayBuffer(size)
    this.holes = [{ start: 0, end: size }]
  }

  /** Bytes in slots handed out and not yet given back (tests, statistics). */
  get used(): number {
    return this.inUse
  }

  /** A slot of `n` bytes (a view of the shared memory), or null when no free range holds it. */
  alloc(n: number): Buffer | null {
    if (n <= 0 || n > this.size) return null
    for (let i = 0; i < this.holes.length; i++) {
      const h = this.holes[i] as Range
      if (h.end - h.start < n) continue
      const at = h.start
      h.start += n
      if (h.start === h.end) this.holes.splice(i, 1)
      this.taken.set(at, n)
      this.inUse += n
      return Buffer.from(this.buffer, at, n)
    }
    return null
  }

  /** Whether `b` is a slot of this ring. */
  owns(b: Uint8Array): boolean {
    return b.buffer === this.buffer
  }

  /** Give a slot back (the view must not be used after this). */
  free(b: Uint8Array): void {
    const at = b.byteOffset
    const n = this.taken.get(at)
    if (n === undefined || n !== b.byteLength || !this.owns(b)) throw new Error(`internal: freeing a ring slot at ${at} that is not taken`)
    this.taken.delete(at)
    this.inUse -= n
    const end = at + n
    // The first hole after the slot (binary search: holes are sorted and disjoint).
    let lo = 0
    let hi = this.holes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if ((this.holes[mid] as Range).start < at) lo = mid + 1
      else hi = mid
    }
    const before = this.holes[lo - 1]
    const after = this.holes[lo]
    if (before !== undefined && before.end === at) {
      before.end = end
      if (after !== undefined && after.start === end) {
        before.end = after.end
        this.holes.splice(lo, 1)
      }
    } else if (after !== undefined && after.start === end) {
      after.start = at
    } else {
      this.holes.splice(lo, 0, { start: at, end })
    }
  }
}
