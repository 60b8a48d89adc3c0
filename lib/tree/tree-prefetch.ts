// Reading trees ahead of a depth-first walk (save's reference trees, restore's saveset): the
// subdirectories of each directory the walk reads, and as each of those arrives, its own
// subdirectories, up to a number of trees at a time. On a cold cache or a network savedir the
// walk would otherwise wait for one tree read after another; the reads overlap instead, in
// the store workers. A tree read ahead and never asked for costs only its memory until forget().
import type { ObjectStore } from '../repo/object-store.js'
import { EntryType, type Entry } from './entry.js'
import { openTree, wholeTree, type OpenedTree } from './tree-store.js'

export class TreePrefetch {
  private readonly ahead = new Map<string, Promise<OpenedTree>>()

  constructor(private readonly store: ObjectStore, private readonly limit: number) {}

  /** `tree` opened (its first part read): read ahead already, or read now. */
  open(tree: Buffer): Promise<OpenedTree> {
    const k = tree.toString('hex')
    const early = this.ahead.get(k)
    if (early === undefined) return openTree(this.store, tree)
    this.ahead.delete(k)
    return early
  }

  /** All the entries of `tree`. */
  async read(tree: Buffer): Promise<Entry[]> {
    return wholeTree(this.store, await this.open(tree))
  }

  /** The walk will visit these directories' subdirectories: read their trees ahead. */
  hint(lists: readonly Entry[][], deeper = false): void {
    for (const l of lists) {
      for (const e of l) {
        if (e.type !== EntryType.Dir || !e.tree) continue
        if (deeper && this.ahead.size >= this.limit) return
        const k = e.tree.toString('hex')
        if (this.ahead.has(k)) continue
        const p = openTree(this.store, e.tree)
        this.ahead.set(k, p)
        // Failures are the walk's to report, when it reaches the directory.
        p.then(t => { if (this.ahead.get(k) === p) this.hint([t.first], true) }, () => undefined)
      }
    }
  }

  /** The walk will not visit `tree` (gone from the source): drop it and what was read below it. */
  forget(tree: Buffer): void {
    const k = tree.toString('hex')
    const p = this.ahead.get(k)
    if (p === undefined) return
    this.ahead.delete(k)
    p.then(t => { for (const e of t.first) if (e.tree) this.forget(e.tree) }, () => undefined)
  }

  clear(): void {
    this.ahead.clear()
  }
}
