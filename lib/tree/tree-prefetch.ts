// Reading trees ahead of a depth-first walk (save's reference trees, restore's saveset): the
// subdirectories of each directory the walk reads, and as each of those arrives, its own
// subdirectories, up to a number of trees at a time. On a cold cache or a network savedir the
// walk would otherwise wait for one tree read after another; the reads overlap instead, in
// the store workers. A tree read ahead and never asked for costs only its memory until forget().
// Bounded by a number of trees and by their bytes: with small files inline, one directory's
// tree can be megabytes.
import type { ObjectStore } from '../repo/object-store.js'
import { EntryType, type Entry } from './entry.js'
import { storeTreeReader, wholeTree, type OpenedTree, type TreeReader } from './tree-store.js'

/** Encoded bytes of trees read ahead and not yet taken, at most (a read may pass it once). */
export const PREFETCH_BYTES = 64 * 1024 * 1024
/** Trees past the limits whose files are asked for ahead, at most, for one tree read. */
const LATER_MAX = 4096
/** Slices' objects remembered as asked for, at most (then forgotten, all at once). */
const ASKED_FOR_MAX = 65536

export class TreePrefetch {
  /** Trees read ahead, each with its bytes once it has arrived (0 before). */
  private readonly ahead = new Map<string, { tree: Promise<OpenedTree>; bytes: number }>()
  /** The sum of their bytes. */
  private bytes = 0
  /** Slices' objects asked for (askForSliced), not to ask twice. */
  private readonly askedFor = new Set<string>()

  /**
   * @param reader how trees are read (a save's reference trees: from summaries where it can;
   * those are not read ahead, being read from the local cache at once when asked for)
   */
  /**
   * @param sliceSources whether the walk reads files' contents (a restore): the objects their
   * slices name are then asked for as well
   */
  constructor(private readonly store: ObjectStore, private readonly limit: number, private readonly byteLimit = PREFETCH_BYTES, private readonly reader: TreeReader = storeTreeReader(store), private readonly sliceSources = false) {}

  /** `tree` opened (its first part read): read ahead already, or read now. */
  open(tree: Buffer): Promise<OpenedTree> {
    const k = tree.toString('hex')
    const early = this.ahead.get(k)
    if (early === undefined) return this.reader.open(tree)
    this.take(k)
    return early.tree
  }

  /** Bytes held by trees read ahead (tests). */
  get bytesAhead(): number {
    return this.bytes
  }

  private take(k: string): void {
    this.bytes -= this.ahead.get(k)?.bytes ?? 0
    this.ahead.delete(k)
  }

  /** All the entries of `tree`. */
  async read(tree: Buffer): Promise<Entry[]> {
    return wholeTree(this.store, await this.open(tree))
  }

  /** The walk will visit these directories' subdirectories: read their trees ahead. */
  hint(lists: readonly Entry[][], deeper = false): void {
    this.request(lists, deeper)
    // Sent at once: a walk busy with entries lets the event loop turn only when it has to wait,
    // which is when it needs a tree whose request would still be in the batch.
    this.store.sendBatchedGets()
  }

  private request(lists: readonly Entry[][], deeper: boolean): void {
    /** Trees past the limits: only their files are asked for, into the kernel's page cache. */
    const later: string[] = []
    for (const l of lists) {
      for (const e of l) {
        if (e.type !== EntryType.Dir || !e.tree || this.reader.local(e.tree)) continue
        const k = e.tree.toString('hex')
        if ((deeper && this.ahead.size >= this.limit) || this.bytes >= this.byteLimit) {
          if (later.length < LATER_MAX && !this.ahead.has(k)) later.push(k)
          continue
        }
        if (this.ahead.has(k)) continue
        const held = { tree: this.reader.open(e.tree), bytes: 0 }
        this.ahead.set(k, held)
        // Failures are the walk's to report, when it reaches the directory.
        held.tree.then(t => {
          if (this.ahead.get(k) !== held) return
          held.bytes = t.bytes
          this.bytes += t.bytes
          this.hint([t.first], true)
        }, () => undefined)
      }
    }
    // On a cold cache the walk waits for trees one after another once it has caught up with
    // the trees read ahead; their files at least are then read already (a restore of
    // /usr/share spent most of its cold-cache time on trees).
    if (later.length > 0) this.store.prefetchObjects(later)
    if (this.sliceSources) this.askForSliced(lists)
  }

  /**
   * The objects that these entries' slices name (earlier tree parts holding a changed
   * directory's unchanged files: doc/format.md §5.6), asked into the page cache as the trees
   * arrive, well before a restore reaches their files.
   */
  private askForSliced(lists: readonly Entry[][]): void {
    const out: string[] = []
    let last: Buffer | null = null
    for (const l of lists) {
      for (const e of l) {
        for (const c of e.chunks ?? []) {
          if (c.offset === undefined || (last !== null && last.equals(c.hash))) continue
          last = c.hash
          const k = c.hash.toString('hex')
          if (this.askedFor.has(k)) continue
          if (this.askedFor.size >= ASKED_FOR_MAX) this.askedFor.clear()
          this.askedFor.add(k)
          out.push(k)
        }
      }
    }
    if (out.length > 0) this.store.prefetchObjects(out)
  }

  /** The walk will not visit `tree` (gone from the source): drop it and what was read below it. */
  forget(tree: Buffer): void {
    const k = tree.toString('hex')
    const held = this.ahead.get(k)
    if (held === undefined) return
    this.take(k)
    held.tree.then(t => { for (const e of t.first) if (e.tree) this.forget(e.tree) }, () => undefined)
  }

  clear(): void {
    this.ahead.clear()
    this.bytes = 0
  }
}
