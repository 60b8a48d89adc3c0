// Reading trees through the object store, following a tree index to its parts (a large
// directory's tree is split into parts; doc/format.md, "Trees"). Writing is tree-writer.ts.
import { ObjectKind } from '../codec/object-header.js'
import { CorruptObjectError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import { dataPath } from '../repo/layout.js'
import type { Entry } from './entry.js'
import { decodeTree, decodeTreeIndex } from './tree-codec.js'

/** The object names a tree consists of: itself, and its parts when it is an index. */
export async function treeObjects(store: ObjectStore, hash: Buffer): Promise<{ kind: ObjectKind; parts: Buffer[] }> {
  const hex = hash.toString('hex')
  const obj = await store.get(hex)
  if (obj.kind === ObjectKind.TreeIndex) return { kind: obj.kind, parts: decodeOr(store, hex, () => decodeTreeIndex(obj.data)) }
  return { kind: obj.kind, parts: [] }
}

function decodeOr<T>(store: ObjectStore, hex: string, f: () => T): T {
  try {
    return f()
  } catch (e) {
    throw new CorruptObjectError(hex, dataPath(store.savedir, hex), (e as Error).message)
  }
}

/**
 * A tree opened for reading a part at a time: a single tree is its only part. `first` holds
 * the entries of the first part; the others are read with readPart. A directory of any size
 * can so be read with the memory of one part (at most chunker.max bytes encoded).
 */
export interface OpenedTree {
  hash: Buffer
  /** The parts when `hash` names a tree index; empty for a single tree. */
  parts: Buffer[]
  first: Entry[]
  /** Encoded bytes read to open it (the index and the first part): what it holds in memory, roughly. */
  bytes: number
}

export async function openTree(store: ObjectStore, hash: Buffer): Promise<OpenedTree> {
  const hex = hash.toString('hex')
  const obj = await store.getBatched(hex)
  if (obj.kind === ObjectKind.Tree) return { hash, parts: [], first: decodeOr(store, hex, () => decodeTree(obj.data)), bytes: obj.data.length }
  if (obj.kind !== ObjectKind.TreeIndex) throw new CorruptObjectError(hex, dataPath(store.savedir, hex), 'expected a tree, found a data chunk')
  const parts = decodeOr(store, hex, () => decodeTreeIndex(obj.data))
  if (parts.length === 0) throw new CorruptObjectError(hex, dataPath(store.savedir, hex), 'tree index without parts')
  const first = await readPartSized(store, parts[0] as Buffer)
  return { hash, parts, first: first.entries, bytes: obj.data.length + first.bytes }
}

/** The entries of one part of a tree index. */
export async function readPart(store: ObjectStore, part: Buffer): Promise<Entry[]> {
  return (await readPartSized(store, part)).entries
}

async function readPartSized(store: ObjectStore, part: Buffer): Promise<{ entries: Entry[]; bytes: number }> {
  const hex = part.toString('hex')
  const p = await store.getBatched(hex)
  if (p.kind !== ObjectKind.Tree) throw new CorruptObjectError(hex, dataPath(store.savedir, hex), 'tree part is not a tree')
  return { entries: decodeOr(store, hex, () => decodeTree(p.data)), bytes: p.data.length }
}

/** Read a whole directory's entries, following a tree index. */
export async function readTree(store: ObjectStore, hash: Buffer): Promise<Entry[]> {
  return wholeTree(store, await openTree(store, hash))
}

/** All the entries of an opened tree. */
export async function wholeTree(store: ObjectStore, t: OpenedTree): Promise<Entry[]> {
  if (t.parts.length <= 1) return t.first
  const out = t.first.slice()
  for (const part of t.parts.slice(1)) for (const e of await readPart(store, part)) out.push(e)
  return out
}

/** The objects (hex) a tree consists of: the tree, and any parts. */
export function objectsOfTree(t: { hash: Buffer; parts: readonly Buffer[] }): string[] {
  return [t.hash.toString('hex'), ...t.parts.map(p => p.toString('hex'))]
}

/** Binary search a sorted entry list by name bytes. */
export function findEntry(entries: readonly Entry[], name: Buffer): Entry | undefined {
  let lo = 0
  let hi = entries.length - 1
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1
    const e = entries[mid] as Entry
    const c = Buffer.compare(e.name, name)
    if (c === 0) return e
    if (c < 0) lo = mid + 1
    else hi = mid - 1
  }
  return undefined
}
