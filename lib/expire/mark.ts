// Marking: every object reachable from the savesets that stay — their trees (each distinct
// tree read once, tree index parts included), file chunks, slices' objects and warning lists. Any tree that
// cannot be read aborts: never sweep on incomplete knowledge (DESIGN.md §4).
import { ObjectKind } from '../codec/object-header.js'
import { TarshiftError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import type { SavesetSummary } from '../repo/saveset.js'
import { EntryType } from '../tree/entry.js'
import { decodeTree, decodeTreeIndex } from '../tree/tree-codec.js'

export interface MarkResult {
  marked: Set<string>
  trees: number
}

export async function markReachable(store: ObjectStore, keep: readonly SavesetSummary[]): Promise<MarkResult> {
  const marked = new Set<string>()
  /**
   * Trees whose entries have been marked: apart from `marked`, because an object can be both
   * a saveset's tree and the source of another saveset's slices (an earlier tree part that
   * holds a file's bytes). Marked as a slice's object first, its subtrees must still be.
   */
  const visited = new Set<string>()
  let trees = 0

  async function treeEntries(hex: string, from: string) {
    try {
      const obj = await store.get(hex)
      if (obj.kind === ObjectKind.Tree) return decodeTree(obj.data)
      if (obj.kind !== ObjectKind.TreeIndex) throw new Error('not a tree')
      const out = []
      for (const p of decodeTreeIndex(obj.data)) {
        const ph = p.toString('hex')
        marked.add(ph)
        const part = await store.get(ph)
        for (const e of decodeTree(part.data)) out.push(e)
      }
      return out
    } catch (e) {
      throw new TarshiftError('TARSHIFT_CORRUPT_OBJECT',
        `cannot read tree ${hex} of saveset ${from}: ${(e as Error).message}; nothing was removed (run tarshift check)`)
    }
  }

  async function visit(hex: string, from: string): Promise<void> {
    if (visited.has(hex)) return
    visited.add(hex)
    marked.add(hex)
    trees++
    for (const e of await treeEntries(hex, from)) {
      if (e.chunks) for (const c of e.chunks) marked.add(c.hash.toString('hex'))
      if (e.type === EntryType.Dir && e.tree) await visit(e.tree.toString('hex'), from)
    }
  }

  for (const s of keep) {
    if (s.warningsRef) marked.add(s.warningsRef)
    if (s.root) await visit(s.root, s.id)
  }
  return { marked, trees }
}
