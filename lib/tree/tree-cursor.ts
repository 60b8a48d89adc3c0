// Looking up names in a stored tree in increasing name order, one part in memory at a time
// (and the next one being read): how a save compares a directory with its reference trees.
// A directory of 100,000 entries was held whole, as objects (about 100 MB); now at most one
// part of it (at most chunker.max bytes encoded) is.
import type { Entry } from './entry.js'
import type { OpenedTree, TreeReader } from './tree-store.js'

export class TreeCursor {
  /** The part in memory, its index among the parts, and the index of its first entry. */
  private entries: Entry[]
  private part = 0
  private offset = 0
  /** Entries before this index in `entries` have been passed. */
  private pos = 0
  private next: Promise<Entry[]> | null = null
  /** Index (in the whole tree) of the entry the last lookup found. */
  foundAt = -1
  /** The tree's name and parts (its first part's entries are not kept beyond their turn). */
  readonly tree: { hash: Buffer; parts: Buffer[] }

  /**
   * @param onPart called with each part's entries as it comes into memory
   * @param onPassed called with the entries of each part once lookups have gone past it
   */
  constructor(
    private readonly reader: TreeReader,
    opened: OpenedTree,
    private readonly onPart: (entries: Entry[]) => void = () => undefined,
    private readonly onPassed: (entries: Entry[]) => void = () => undefined,
  ) {
    this.tree = { hash: opened.hash, parts: opened.parts }
    this.entries = opened.first
    onPart(this.entries)
    this.readNext()
  }

  /**
   * The entry named `name` (names looked up must increase), undefined when there is none, or
   * null when the next part must be read first (advance()).
   */
  lookup(name: Buffer): Entry | undefined | null {
    const list = this.entries
    let lo = this.pos
    let hi = list.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (Buffer.compare((list[mid] as Entry).name, name) < 0) lo = mid + 1
      else hi = mid
    }
    this.pos = lo
    if (lo === list.length) return this.part + 1 < this.tree.parts.length ? null : undefined
    const e = list[lo] as Entry
    if (!e.name.equals(name)) return undefined
    this.foundAt = this.offset + lo
    return e
  }

  /** Go on to the next part (after lookup returned null). */
  async advance(): Promise<void> {
    const next = await (this.next as Promise<Entry[]>)
    this.onPassed(this.entries)
    this.offset += this.entries.length
    this.part++
    this.entries = next
    this.pos = 0
    this.next = null
    this.onPart(next)
    this.readNext()
  }

  /** The number of entries in the whole tree (reads the parts not yet read for their length). */
  async size(): Promise<number> {
    let n = this.offset + this.entries.length
    if (this.part + 1 < this.tree.parts.length) n += (await (this.next as Promise<Entry[]>)).length
    for (const p of this.tree.parts.slice(this.part + 2)) n += (await this.reader.part(p)).length
    return n
  }

  /**
   * The tree's first `count` entries, in order (at most up to the part in memory): parts
   * already passed are read again. How a save that deferred writing a directory while it
   * matched this tree gets back the entries it let go.
   */
  async *prefix(count: number): AsyncGenerator<Entry> {
    let i = 0
    for (let k = 0; k <= this.part && i < count; k++) {
      const list = k === this.part ? this.entries : await this.reader.part(this.tree.parts[k] as Buffer)
      for (const e of list) {
        if (i === count) return
        i++
        yield e
      }
    }
  }

  /** The walk is done with this tree: the part in memory counts as passed. */
  close(): void {
    this.onPassed(this.entries)
    this.entries = []
    this.next = null
  }

  private readNext(): void {
    const p = this.tree.parts[this.part + 1]
    if (p === undefined) return
    this.next = this.reader.part(p)
    // A failure is met by advance(), when the walk gets there.
    this.next.catch(() => undefined)
  }
}
