// Storing and reading trees through the object store. A directory whose encoding exceeds the
// maximum chunk size is split at entry boundaries into parts (each itself a valid tree), and
// a tree index object lists the parts; the parent names the index (doc/format.md, "Trees").
// Writes are deferred (ObjectStore.putDeferred): the caller's flush() waits for them.
import { ObjectKind } from '../codec/object-header.js'
import { CorruptObjectError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import { dataPath } from '../repo/layout.js'
import type { Entry } from './entry.js'
import { decodeTree, decodeTreeIndex, encodeEntry, encodedTreeLength, encodeTree, encodeTreeIndex, entryLengthBound } from './tree-codec.js'

/** Content-defined split points keep parts stable when entries are added elsewhere. */
function splitHere(name: Buffer, partBytes: number, min: number): boolean {
  if (partBytes < min) return false
  let h = 0x811c9dc5
  for (const b of name) h = Math.imul(h ^ b, 0x01000193)
  return (h & 0x3f) === 0
}

export async function writeTree(store: ObjectStore, entries: readonly Entry[]): Promise<Buffer> {
  const max = store.config.chunker.max
  await store.deferredRoom()
  // Most directories are far below the limit: encode them whole at once. Only for one that may
  // exceed it are the entries sized one by one first, so that a huge directory is never encoded
  // whole (a 20 MB buffer for 18,000 man pages) just to find that it must be split.
  let bound = 16
  for (const e of entries) bound += entryLengthBound(e)
  if (bound <= max) {
    const whole = encodeTree(entries)
    if (whole.length <= max) return Buffer.from(store.putDeferred(whole, ObjectKind.Tree), 'hex')
  }
  const sizes = entries.map(e => encodeEntry(e).length)
  if (encodedTreeLength(sizes) <= max) return Buffer.from(store.putDeferred(encodeTree(entries), ObjectKind.Tree), 'hex')
  const parts: Buffer[] = []
  let start = 0
  let bytes = 0
  const min = Math.floor(max / 4)
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i] as Entry
    const size = sizes[i] as number
    if (i > start && bytes + size > max - 64) {
      parts.push(await putPart(store, entries.slice(start, i)))
      start = i
      bytes = 0
    }
    bytes += size
    if (splitHere(e.name, bytes, min)) {
      parts.push(await putPart(store, entries.slice(start, i + 1)))
      start = i + 1
      bytes = 0
    }
  }
  if (start < entries.length) parts.push(await putPart(store, entries.slice(start)))
  return Buffer.from(store.putDeferred(encodeTreeIndex(parts), ObjectKind.TreeIndex), 'hex')
}

async function putPart(store: ObjectStore, entries: readonly Entry[]): Promise<Buffer> {
  return Buffer.from(store.putDeferred(encodeTree(entries), ObjectKind.Tree), 'hex')
}

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

/** Read a whole directory's entries, following a tree index. */
export async function readTree(store: ObjectStore, hash: Buffer): Promise<Entry[]> {
  const hex = hash.toString('hex')
  const obj = await store.get(hex)
  if (obj.kind === ObjectKind.Tree) return decodeOr(store, hex, () => decodeTree(obj.data))
  if (obj.kind !== ObjectKind.TreeIndex) throw new CorruptObjectError(hex, dataPath(store.savedir, hex), 'expected a tree, found a data chunk')
  const out: Entry[] = []
  const parts = decodeOr(store, hex, () => decodeTreeIndex(obj.data))
  for (const part of parts) {
    const p = await store.get(part.toString('hex'))
    if (p.kind !== ObjectKind.Tree) throw new CorruptObjectError(part.toString('hex'), dataPath(store.savedir, part.toString('hex')), 'tree part is not a tree')
    for (const e of decodeOr(store, part.toString('hex'), () => decodeTree(p.data))) out.push(e)
  }
  partsRead.set(out, parts)
  return out
}

/** For a list readTree returned from a tree index: the parts it was read from. */
const partsRead = new WeakMap<Entry[], Buffer[]>()

/** The objects (hex) a tree read by readTree(hash) consists of: the tree, and any parts. */
export function objectsOfTree(hash: Buffer, entries: Entry[]): string[] {
  return [hash.toString('hex'), ...(partsRead.get(entries) ?? []).map(p => p.toString('hex'))]
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
