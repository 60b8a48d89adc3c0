// An in-memory table from object names (SHA-256, given in hex) to two numbers, for the local
// cache's files (object-times.ts: a last-use time; summary-file.ts: an offset and a length).
// Open addressing over typed arrays, not a Map of strings: ~60 bytes an entry instead of ~150,
// and no object per entry for the garbage collector to walk. Names are SHA-256 digests, so
// their bytes are already a uniform hash: a slot is the first four bytes XOR the last four
// (both, so that names alike at one end, as in tests, still spread).

const NAME_BYTES = 32
const INITIAL_CAPACITY = 1024

export class NameIndex {
  /** Entry number + 1 per slot; 0 = empty. Its length is a power of two, at least twice the count. */
  private slots: Int32Array
  /** The names, 32 bytes each, by entry number. */
  private names: Buffer
  private a: Float64Array
  /** The second numbers; empty when the index was made with one number an entry. */
  private b: Float64Array
  private count = 0

  /**
   * @param expected entries to make room for at once (a file's records), so that loading it
   *   does not grow the arrays step by step, holding the old and the new ones each time
   * @param numbers 1 when entries need only their first number (object times)
   */
  constructor(expected = 0, private readonly numbers: 1 | 2 = 2) {
    let capacity = INITIAL_CAPACITY
    while (capacity < expected) capacity *= 2
    this.slots = new Int32Array(capacity * 2)
    this.names = Buffer.alloc(capacity * NAME_BYTES)
    this.a = new Float64Array(capacity)
    this.b = new Float64Array(numbers === 2 ? capacity : 0)
  }

  get size(): number {
    return this.count
  }

  /** The entry number of `hex` (64 lowercase hex digits), or -1. */
  find(hex: string): number {
    if (hex.length !== 2 * NAME_BYTES) return -1
    const prefix = parseInt(hex.slice(0, 8), 16)
    const suffix = parseInt(hex.slice(56), 16)
    if (Number.isNaN(prefix) || Number.isNaN(suffix)) return -1
    const mask = this.slots.length - 1
    for (let s = (prefix ^ suffix) & mask; ; s = (s + 1) & mask) {
      const e = (this.slots[s] as number) - 1
      if (e < 0) return -1
      const at = e * NAME_BYTES
      if (this.names.readUInt32BE(at) === prefix && this.names.toString('hex', at, at + NAME_BYTES) === hex) return e
    }
  }

  /** The first number of entry `e` (from find). */
  first(e: number): number {
    return this.a[e] as number
  }

  /** The second number of entry `e` (from find); 0 in an index of one number an entry. */
  second(e: number): number {
    return this.b[e] ?? 0
  }

  /** Set the numbers of `name` (32 bytes at `at` of `from`), adding it if new; its entry number. */
  set(from: Buffer, at: number, first: number, second = 0): number {
    const e = this.entryOf(from, at)
    this.a[e] = first
    if (this.numbers === 2) this.b[e] = second
    return e
  }

  /** Set the first number of `name` to `first` unless it has a larger one already (one lookup). */
  setMax(from: Buffer, at: number, first: number): void {
    const known = this.count
    const e = this.entryOf(from, at)
    if (e >= known || (this.a[e] as number) < first) this.a[e] = first
  }

  /** The entry number of `name`, added (numbers 0) if new. */
  private entryOf(from: Buffer, at: number): number {
    let e = this.findBytes(from, at)
    if (e < 0) {
      if (this.count === this.a.length) this.grow()
      e = this.count++
      from.copy(this.names, e * NAME_BYTES, at, at + NAME_BYTES)
      this.place(e)
    }
    return e
  }

  /** Every entry: its name (32 bytes, a view valid until the next set) and numbers. */
  *entries(): Generator<[Buffer, number, number]> {
    for (let e = 0; e < this.count; e++) yield [this.names.subarray(e * NAME_BYTES, (e + 1) * NAME_BYTES), this.a[e] as number, this.b[e] ?? 0]
  }

  private findBytes(from: Buffer, at: number): number {
    const mask = this.slots.length - 1
    for (let s = (from.readUInt32BE(at) ^ from.readUInt32BE(at + 28)) & mask; ; s = (s + 1) & mask) {
      const e = (this.slots[s] as number) - 1
      if (e < 0) return -1
      if (this.names.compare(from, at, at + NAME_BYTES, e * NAME_BYTES, (e + 1) * NAME_BYTES) === 0) return e
    }
  }

  private place(e: number): void {
    const mask = this.slots.length - 1
    let s = (this.names.readUInt32BE(e * NAME_BYTES) ^ this.names.readUInt32BE(e * NAME_BYTES + 28)) & mask
    while (this.slots[s] !== 0) s = (s + 1) & mask
    this.slots[s] = e + 1
  }

  private grow(): void {
    const n = this.a.length * 2
    const names = Buffer.alloc(n * NAME_BYTES)
    this.names.copy(names)
    this.names = names
    const a = new Float64Array(n)
    a.set(this.a)
    this.a = a
    if (this.numbers === 2) {
      const b = new Float64Array(n)
      b.set(this.b)
      this.b = b
    }
    this.slots = new Int32Array(n * 2)
    for (let e = 0; e < this.count; e++) this.place(e)
  }
}
