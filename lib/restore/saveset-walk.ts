// Traversal of a saveset's trees: look up a saved path, and walk a subtree in tar order
// (a directory before its contents, names in byte order), reading only the trees on the
// path and below it, and reading trees ahead (tree-prefetch.ts). Memory: per level of the
// current path, one part of its directory's tree and the next ~2 MiB of parts (read ahead), and what
// the prefetch holds (at most PREFETCH_TREES trees, about PREFETCH_BYTES).
import { TarshiftError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import { treePartsOf } from '../repo/config.js'
import { EntryType, type Entry } from '../tree/entry.js'
import { findEntry, readPart, readTree, storeTreeReader, type OpenedTree } from '../tree/tree-store.js'
import { PREFETCH_BYTES, TreePrefetch } from '../tree/tree-prefetch.js'
import { pathComponents } from '../save/source-paths.js'
import { showPath } from './show-path.js'

export interface WalkItem {
  /** Full saved path without the leading '/'. */
  path: Buffer
  entry: Entry
}

/** Components of a PATH argument as saved ("home/ann" is taken from "/"). */
export function savedComponents(p: string | Buffer): Buffer[] {
  return pathComponents(Buffer.isBuffer(p) ? p : Buffer.from(p), Buffer.from('/'))
}

/** The entry at `components` (null for the root itself). Throws TARSHIFT_NO_SUCH_PATH. */
export async function lookup(store: ObjectStore, root: Buffer, components: Buffer[]): Promise<Entry | null> {
  let tree = root
  let entry: Entry | null = null
  for (let i = 0; i < components.length; i++) {
    const c = components[i] as Buffer
    const found = findEntry(await readTree(store, tree), c)
    if (!found || (i < components.length - 1 && found.type !== EntryType.Dir)) {
      throw new TarshiftError('TARSHIFT_NO_SUCH_PATH', `no such path in the saveset: /${showPath(Buffer.concat(components.flatMap((x, j) => (j ? [Buffer.from('/'), x] : [x]))))}`)
    }
    entry = found
    if (found.tree) tree = found.tree
  }
  return entry
}

export function joinRel(parent: Buffer, name: Buffer): Buffer {
  return parent.length === 0 ? name : Buffer.concat([parent, Buffer.from('/'), name])
}

/** Trees read ahead of a walk: enough to keep the store workers busy on a cold savedir. */
const PREFETCH_TREES = 256

/**
 * Parts of a directory's tree read ahead of the one in hand: about 2 MiB of encoded entries
 * (one part of savedirs without treeParts, whose parts are up to 2 MiB; eight of 256 KiB).
 * One at a time, a restore of /usr/share with parts of 64-256 KiB waited for each (1.90
 * against 1.66 s cold).
 */
const PARTS_AHEAD_BYTES = 2 * 1024 * 1024

/** A directory being walked: the part of its tree in hand, the next parts being read. */
interface Level {
  opened: OpenedTree
  prefix: Buffer
  entries: Entry[]
  at: number
  /** Index of the next part to start reading. */
  nextPart: number
  /** Parts being read, in order. */
  ahead: Array<Promise<Entry[]>>
}

/**
 * Walk the entries below a directory tree, depth first, in tar order. One generator with a
 * stack of levels, not one generator per directory delegating to its children's (yield*):
 * that passed each entry up through every level above it, a promise each (/usr/share: 53,000
 * entries, 8 deep).
 */
export async function* walkTree(store: ObjectStore, tree: Buffer, prefix: Buffer, prefetch = new TreePrefetch(store, PREFETCH_TREES)): AsyncGenerator<WalkItem> {
  // A part at a time, the next ones read meanwhile: a directory's tree with its small files
  // inline can be many parts (of up to treeParts.max bytes each).
  const partsAhead = Math.max(1, Math.floor(PARTS_AHEAD_BYTES / treePartsOf(store.config).max))
  const enter = (level: Level, entries: Entry[]): void => {
    level.entries = entries
    level.at = 0
    while (level.ahead.length < partsAhead && level.nextPart < level.opened.parts.length) {
      const read = readPart(store, level.opened.parts[level.nextPart++] as Buffer)
      // Failures are reported when the walk gets there.
      read.catch(() => undefined)
      level.ahead.push(read)
    }
    prefetch.hint([entries])
  }
  const open = async (t: Buffer, p: Buffer): Promise<Level> => {
    const opened = await prefetch.open(t)
    const level: Level = { opened, prefix: p, entries: [], at: 0, nextPart: 1, ahead: [] }
    enter(level, opened.first)
    return level
  }
  const stack = [await open(tree, prefix)]
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as Level
    if (top.at === top.entries.length) {
      const next = top.ahead.shift()
      if (next === undefined) stack.pop()
      else enter(top, await next)
      continue
    }
    const e = top.entries[top.at++] as Entry
    const path = joinRel(top.prefix, e.name)
    yield { path, entry: e }
    if (e.type === EntryType.Dir && e.tree) stack.push(await open(e.tree, path))
  }
}

/**
 * Walk a saved path (the entry itself, then everything below it). `contents`: the caller reads
 * the files' contents (a restore), so the objects their slices name are read ahead too.
 */
export async function* walkPath(store: ObjectStore, root: Buffer, components: Buffer[], contents = false): AsyncGenerator<WalkItem> {
  const prefetch = new TreePrefetch(store, PREFETCH_TREES, PREFETCH_BYTES, storeTreeReader(store), contents)
  if (components.length === 0) {
    yield* walkTree(store, root, Buffer.alloc(0), prefetch)
    return
  }
  const entry = await lookup(store, root, components) as Entry
  const path = Buffer.concat(components.flatMap((x, j) => (j ? [Buffer.from('/'), x] : [x])))
  yield { path, entry }
  if (entry.type === EntryType.Dir && entry.tree) yield* walkTree(store, entry.tree, path, prefetch)
}
