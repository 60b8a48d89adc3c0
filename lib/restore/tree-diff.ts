// Differences between two savesets: added, removed and modified paths (content or which
// metadata), walking only the subtrees whose tree hashes differ (Merkle trees).
import type { ObjectStore } from '../repo/object-store.js'
import { EntryType, isSlice, type Entry } from '../tree/entry.js'
import { fileBytes } from '../tree/piece.js'
import { readTree } from '../tree/tree-store.js'
import { joinRel } from './saveset-walk.js'

export interface DiffItem {
  change: 'added' | 'removed' | 'modified'
  path: Buffer
  /** For modified: what differs ("content", "type", "mode", "owner", "mtime", "xattrs", "target", "device"). */
  what: string[]
}

/**
 * Whether two files hold the same bytes, told from their trees alone where it can be: two
 * inline contents, or two lists of whole chunks. The same bytes can be stored in two forms
 * (inline in one saveset, a slice of an earlier tree part in the next, or chunks where the
 * directory's inline budget ran out): null then, and the bytes are compared (sameBytes).
 */
function sameContent(a: Entry, b: Entry): boolean | null {
  if (a.size !== b.size) return false
  if (a.size === 0) return true
  if (a.data && b.data) return a.data.equals(b.data)
  const ca = a.chunks ?? []
  const cb = b.chunks ?? []
  if (a.data || b.data || ca.some(isSlice) || cb.some(isSlice)) return null
  return ca.length === cb.length && ca.every((c, i) => c.hash.equals((cb[i] as { hash: Buffer }).hash))
}

/** Compare two files' bytes, read from the savedir (verified) where they are not inline. */
async function sameBytes(store: ObjectStore, a: Entry, b: Entry): Promise<boolean> {
  const [x, y] = await Promise.all([fileBytes(store, a), fileBytes(store, b)])
  return x.equals(y)
}

function xattrKey(e: Entry): string {
  return (e.xattrs ?? []).map(([k, v]) => `${k.toString('hex')}=${v.toString('hex')}`).join(',')
}

export async function entryDifferences(store: ObjectStore, a: Entry, b: Entry): Promise<string[]> {
  if (a.type !== b.type) return ['type']
  const what: string[] = []
  if (a.type === EntryType.File && !(sameContent(a, b) ?? await sameBytes(store, a, b))) what.push('content')
  if (a.mode !== b.mode) what.push('mode')
  if (a.uid !== b.uid || a.gid !== b.gid || a.uname !== b.uname || a.gname !== b.gname) what.push('owner')
  if (a.mtime[0] !== b.mtime[0] || a.mtime[1] !== b.mtime[1]) what.push('mtime')
  if (xattrKey(a) !== xattrKey(b)) what.push('xattrs')
  if (a.type === EntryType.Symlink && !(a.target ?? Buffer.alloc(0)).equals(b.target ?? Buffer.alloc(0))) what.push('target')
  if (a.rdev && b.rdev && (a.rdev[0] !== b.rdev[0] || a.rdev[1] !== b.rdev[1])) what.push('device')
  return what
}

async function* allBelow(store: ObjectStore, e: Entry, path: Buffer, change: 'added' | 'removed'): AsyncGenerator<DiffItem> {
  yield { change, path, what: [] }
  if (e.type === EntryType.Dir && e.tree) {
    for (const c of await readTree(store, e.tree)) yield* allBelow(store, c, joinRel(path, c.name), change)
  }
}

/** Compare two directory trees (hashes) below `path`. */
export async function* diffTrees(store: ObjectStore, a: Buffer | null, b: Buffer | null, path: Buffer): AsyncGenerator<DiffItem> {
  if (a && b && a.equals(b)) return
  const ea = a ? await readTree(store, a) : []
  const eb = b ? await readTree(store, b) : []
  let i = 0
  let j = 0
  while (i < ea.length || j < eb.length) {
    const x = ea[i]
    const y = eb[j]
    const c = x && y ? Buffer.compare(x.name, y.name) : x ? -1 : 1
    if (c < 0 && x) {
      yield* allBelow(store, x, joinRel(path, x.name), 'removed')
      i++
    } else if (c > 0 && y) {
      yield* allBelow(store, y, joinRel(path, y.name), 'added')
      j++
    } else if (x && y) {
      const p = joinRel(path, x.name)
      const what = await entryDifferences(store, x, y)
      if (what[0] === 'type') {
        yield* allBelow(store, x, p, 'removed')
        yield* allBelow(store, y, p, 'added')
      } else {
        if (what.length > 0) yield { change: 'modified', path: p, what }
        if (x.type === EntryType.Dir) yield* diffTrees(store, x.tree ?? null, y.tree ?? null, p)
      }
      i++
      j++
    }
  }
}

/** Compare one path's entries (either may be absent), and below them if directories. */
export async function* diffEntries(store: ObjectStore, a: Entry | null, b: Entry | null, path: Buffer): AsyncGenerator<DiffItem> {
  if (a && !b) return yield* allBelow(store, a, path, 'removed')
  if (b && !a) return yield* allBelow(store, b, path, 'added')
  if (!a || !b) return
  const what = await entryDifferences(store, a, b)
  if (what[0] === 'type') {
    yield* allBelow(store, a, path, 'removed')
    yield* allBelow(store, b, path, 'added')
    return
  }
  if (what.length > 0) yield { change: 'modified', path, what }
  if (a.type === EntryType.Dir) yield* diffTrees(store, a.tree ?? null, b.tree ?? null, path)
}
