// Reading what a save stored, through the library (not through restore): the entries of a
// saved subtree, a file's bytes, and every object a saveset references. For integration tests
// that check the save itself field by field, independently of the tar writer.
import { createHash } from 'node:crypto'
import { readConfig } from '../../lib/repo/config.js'
import { ObjectStore } from '../../lib/repo/object-store.js'
import { ObjectKind } from '../../lib/codec/object-header.js'
import { EntryType, type Entry } from '../../lib/tree/entry.js'
import { treeObjects } from '../../lib/tree/tree-store.js'
import { savedComponents, walkPath } from '../../lib/restore/saveset-walk.js'

/** Opens the savedir's object store with one worker; call close() when done (or the test hangs). */
export function openStore(savedir: string): ObjectStore {
  return new ObjectStore(savedir, readConfig(savedir), { workers: 1 })
}

/** Runs `fn` with an open store and always closes it. */
export async function withStore<T>(savedir: string, fn: (store: ObjectStore) => Promise<T>): Promise<T> {
  const store = openStore(savedir)
  try {
    return await fn(store)
  } finally {
    await store.close()
  }
}

export interface SavedItem {
  /** Relative to the walked path; the path itself is the empty buffer. */
  rel: Buffer
  /** The saved path without its leading '/'. */
  path: Buffer
  entry: Entry
}

/**
 * Every entry of the saved subtree at absolute path `abs` (a string or bytes), in walk order
 * (tar order: a directory, then its entries by name bytes, depth first), the entry of `abs`
 * itself first with rel = ''.
 */
export async function savedSubtree(store: ObjectStore, rootHex: string, abs: Buffer | string): Promise<SavedItem[]> {
  const comps = savedComponents(abs)
  const base = Buffer.concat(comps.flatMap((c, i) => (i ? [Buffer.from('/'), c] : [c])))
  const out: SavedItem[] = []
  for await (const it of walkPath(store, Buffer.from(rootHex, 'hex'), comps)) {
    const rel = it.path.length === base.length ? Buffer.alloc(0) : it.path.subarray(base.length + 1)
    out.push({ rel, path: it.path, entry: it.entry })
  }
  return out
}

/** A saved regular file's bytes: its inline data, or its chunks fetched and concatenated. */
export async function savedContent(store: ObjectStore, e: Entry): Promise<Buffer> {
  if (e.type !== EntryType.File) throw new Error(`not a regular file: ${e.name.toString()}`)
  if (e.data) return e.data
  if (!e.chunks) return Buffer.alloc(0)
  const parts: Buffer[] = []
  for (const c of e.chunks) {
    const o = await store.get(c.hash.toString('hex'))
    if (c.offset !== undefined) {
      // A slice: any object's bytes (a save slices earlier tree parts), within them.
      if (c.offset + c.length > o.data.length) throw new Error(`slice of ${c.hash.toString('hex')}: ${o.data.length} bytes, slice ends at ${c.offset + c.length}`)
      parts.push(o.data.subarray(c.offset, c.offset + c.length))
      continue
    }
    if (o.kind !== ObjectKind.Data) throw new Error(`chunk ${c.hash.toString('hex')} is not a data object (kind ${o.kind})`)
    if (o.data.length !== c.length) throw new Error(`chunk ${c.hash.toString('hex')}: ${o.data.length} bytes, entry says ${c.length}`)
    parts.push(o.data)
  }
  return Buffer.concat(parts)
}

export function sha256(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}

/**
 * Every object a saveset references: its trees (tree indexes with their parts) and the chunks
 * of its files, found by walking from the root; plus its warnings object, if any.
 */
export async function reachableObjects(store: ObjectStore, rootHex: string, warningsRef: string | null = null): Promise<{ trees: Set<string>; chunks: Set<string> }> {
  const trees = new Set<string>()
  const chunks = new Set<string>()
  const addTree = async (h: Buffer): Promise<void> => {
    trees.add(h.toString('hex'))
    for (const p of (await treeObjects(store, h)).parts) trees.add(p.toString('hex'))
  }
  await addTree(Buffer.from(rootHex, 'hex'))
  for await (const it of walkPath(store, Buffer.from(rootHex, 'hex'), [])) {
    if (it.entry.tree) await addTree(it.entry.tree)
    for (const c of it.entry.chunks ?? []) chunks.add(c.hash.toString('hex'))
  }
  if (warningsRef) chunks.add(warningsRef)
  return { trees, chunks }
}

/**
 * The saved subtree at `abs` as what a restore gives: each entry's fields, with its content as
 * the SHA-256 of its bytes rather than how they are stored (inline, chunks, or slices of
 * earlier tree parts: two saves of the same files may store them differently), and no tree names.
 */
export async function restoredView(store: ObjectStore, rootHex: string, abs: Buffer | string): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = []
  for (const it of await savedSubtree(store, rootHex, abs)) {
    const { data: _d, chunks: _c, tree: _t, ...meta } = it.entry
    const content = it.entry.type === EntryType.File ? sha256(await savedContent(store, it.entry)) : null
    out.push({ rel: it.rel.toString('latin1'), ...meta, name: meta.name.toString('latin1'), content })
  }
  return out
}
