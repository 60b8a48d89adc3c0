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

/**
 * How a walk reads trees: from the savedir (storeTreeReader), or, for a save's reference
 * trees, from this host's summaries where it can (tree-summary.ts).
 */
export interface TreeReader {
  open(hash: Buffer): Promise<OpenedTree>
  part(hash: Buffer): Promise<Entry[]>
  /** Whether `hash` is answered here without reading the savedir (no reading ahead then). */
  local(hash: Buffer): boolean
}

export function storeTreeReader(store: ObjectStore, observe?: TreeObserver): TreeReader {
  return { open: h => openTree(store, h, observe), part: h => readPart(store, h, observe), local: () => false }
}

/**
 * Told of each tree object read from the savedir (or written): its name, kind and plain bytes;
 * for a tree read, its entries too, decoded from those bytes (inline data are views of them).
 */
export type TreeObserver = (hex: string, kind: ObjectKind, data: Buffer, entries?: Entry[]) => void

/**
 * A tree opened (its first part read). `observe` is told of the objects read; `first`, when
 * given, reads the first part of a tree index instead.
 */
export async function openTree(store: ObjectStore, hash: Buffer, observe?: TreeObserver, first?: (part: Buffer) => Promise<Entry[]>): Promise<OpenedTree> {
  const hex = hash.toString('hex')
  const obj = await store.getBatched(hex)
  if (obj.kind === ObjectKind.Tree) {
    const entries = decodeOr(store, hex, () => decodeTree(obj.data))
    observe?.(hex, obj.kind, obj.data, entries)
    return { hash, parts: [], first: entries, bytes: obj.data.length }
  }
  if (obj.kind !== ObjectKind.TreeIndex) throw new CorruptObjectError(hex, dataPath(store.savedir, hex), 'expected a tree, found a data chunk')
  const parts = decodeOr(store, hex, () => decodeTreeIndex(obj.data))
  if (parts.length === 0) throw new CorruptObjectError(hex, dataPath(store.savedir, hex), 'tree index without parts')
  observe?.(hex, obj.kind, obj.data)
  const p0 = parts[0] as Buffer
  if (first !== undefined) return { hash, parts, first: await first(p0), bytes: obj.data.length }
  const part = await readPartSized(store, p0, observe)
  return { hash, parts, first: part.entries, bytes: obj.data.length + part.bytes }
}

/** The entries of one part of a tree index; `observe` is told of the object read. */
export async function readPart(store: ObjectStore, part: Buffer, observe?: TreeObserver): Promise<Entry[]> {
  return (await readPartSized(store, part, observe)).entries
}

async function readPartSized(store: ObjectStore, part: Buffer, observe?: TreeObserver): Promise<{ entries: Entry[]; bytes: number }> {
  const hex = part.toString('hex')
  const p = await store.getBatched(hex)
  if (p.kind !== ObjectKind.Tree) throw new CorruptObjectError(hex, dataPath(store.savedir, hex), 'tree part is not a tree')
  const entries = decodeOr(store, hex, () => decodeTree(p.data))
  observe?.(hex, p.kind, p.data, entries)
  return { entries, bytes: p.data.length }
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
