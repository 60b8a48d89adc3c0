// Memory shared with the store workers for the bytes of objects in flight: the main thread
// copies a chunk into a slot, the worker hashes, compresses and writes it from there, and the
// slot is free again once the worker has answered. No buffer is allocated per object, nothing
// is transferred, and the same pages serve the whole save: with a fresh buffer per chunk, a
// first save of /usr/share held up to 109 MB of dead buffers on the main thread (freed only
// when V8 collects their objects) and took a page fault for every page of every chunk.
//
// Slots are handed out in order around the ring and given back in any order; the space of a
// slot is reused once every slot taken before it is back. A request that does not fit gets
// null, and the caller uses a buffer of its own (the pipeline's window bounds the bytes in
// flight, so that is rare).

interface Slot {
  start: number
  end: number
  free: boolean
}

export class SharedRing {
  readonly buffer: SharedArrayBuffer
  /** Slots taken and not yet reclaimed, oldest first: slots[head ..]. */
  private slots: Slot[] = []
  private head = 0
  private readonly byStart = new Map<number, Slot>()
  /** Where the next slot starts (if it fits before the end, or before the oldest slot). */
  private next = 0

  constructor(readonly size: number) {
    this.buffer = new SharedArrayBuffer(size)
  }

  /** Bytes between the oldest slot in use and the next free byte (tests, statistics). */
  get used(): number {
    const oldest = this.slots[this.head]
    if (oldest === undefined) return 0
    return this.next > oldest.start ? this.next - oldest.start : this.size - oldest.start + this.next
  }

  /** A slot of `n` bytes (a view of the ring), or null when it does not fit now. */
  alloc(n: number): Buffer | null {
    if (n <= 0 || n > this.size) return null
    const oldest = this.slots[this.head]
    let at: number
    if (oldest === undefined) {
      at = 0
    } else if (this.next > oldest.start) {
      // Slots lie in [oldest, next): free space after them, then before the oldest.
      if (this.next + n <= this.size) at = this.next
      else if (n <= oldest.start) at = 0
      else return null
    } else {
      // Wrapped: the free space is [next, oldest).
      if (this.next + n <= oldest.start) at = this.next
      else return null
    }
    const slot = { start: at, end: at + n, free: false }
    this.slots.push(slot)
    this.byStart.set(at, slot)
    this.next = at + n
    return Buffer.from(this.buffer, at, n)
  }

  /** Whether `b` is a slot of this ring. */
  owns(b: Uint8Array): boolean {
    return b.buffer === this.buffer
  }

  /** Give a slot back (the view must not be used after this). */
  free(b: Uint8Array): void {
    const slot = this.byStart.get(b.byteOffset)
    if (slot === undefined || slot.free || !this.owns(b)) throw new Error(`internal: freeing a ring slot at ${b.byteOffset} that is not taken`)
    slot.free = true
    this.byStart.delete(slot.start)
    while (this.head < this.slots.length && (this.slots[this.head] as Slot).free) this.head++
    if (this.head === this.slots.length) {
      this.slots = []
      this.head = 0
      this.next = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.slots.length) {
      this.slots.splice(0, this.head)
      this.head = 0
    }
  }
}
