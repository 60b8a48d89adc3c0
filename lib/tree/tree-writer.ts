// Writing one directory's tree as its entries arrive, in name order, with memory bounded by
// the maximum chunk size however many entries the directory has. A directory whose encoding
// exceeds the maximum chunk size is split at entry boundaries into parts (each a valid tree)
// listed by a tree index (doc/format.md, "Trees"). Where a part ends depends only on the
// entries up to that point (a content-defined rule, and the size limit), so parts can be
// written as soon as they are complete: the result is the same as splitting the whole list.
// Sizes count each entry `entryWeight` bytes more than its encoding (config.ts, TreeParts):
// what a reader holds of a part is its entries decoded, so parts of tiny entries are bounded
// by their number too.
//
// A directory that cannot exceed the maximum (the bound of its entries' encoded lengths is
// under it: nearly all) is held as entry objects and encoded once at the end, or not at all
// when it turns out unchanged. Past that, entries are held encoded instead (a tenth of the
// memory of the objects), and once the encoding is known to exceed the maximum, each completed
// part is written and let go.
import { ObjectKind } from '../codec/object-header.js'
import type { ObjectStore } from '../repo/object-store.js'
import { slicesAllowed, treePartsOf } from '../repo/config.js'
import { isSlice, type Entry } from './entry.js'
import { inlineOrigin, withRealData } from './inline-placeholder.js'
import { fileBytes } from './piece.js'
import type { TreeObserver } from './tree-store.js'
import { encodeEntry, encodeTreeIndexTransient, encodeTreeTransient, entryLengthBound, treeFromEncodedEntriesTransient, treeHeaderLength } from './tree-codec.js'

/** Content-defined split points keep parts stable when entries are added elsewhere. */
function splitHere(name: Buffer, partBytes: number, min: number, mask: number): boolean {
  if (partBytes < min) return false
  let h = 0x811c9dc5
  for (const b of name) h = Math.imul(h ^ b, 0x01000193)
  return (h & mask) === 0
}

/**
 * Objects one part's slices may point into (doc/format.md §5.6). Past that, a file's bytes
 * taken over from an older tree as a slice of an object not yet among them are read and put
 * inline again: a directory whose files changed at many different times does not keep that
 * many old parts alive, nor make a restore read them all.
 */
export const SLICE_SOURCES_MAX = 16

/**
 * Files smaller than this stay inline rather than become slices. A slice takes ~45 bytes of
 * the tree, and a restore pays for it per file (a fetch each, their object shared). Corpus C's
 * 99,999 files of ~100 bytes as slices made its restore 22% slower (1.58-1.64 against
 * 1.29-1.33 s) and its peak RSS 45 MB higher, to save 55 bytes a file; on /usr/share a minimum
 * of 256 bytes left the growth after the benchmark's change as it was with 65 (2.9 MB), 1 KiB
 * made it 9.2 MB.
 */
export const SLICE_MIN = 256

/** The stored tree of a directory, and what it consists of. */
export interface WrittenTree {
  hash: Buffer
  /** The parts, when `hash` names a tree index; empty for a single tree. */
  parts: Buffer[]
}

export class TreeWriter {
  private readonly max: number
  private readonly min: number
  private readonly mask: number
  private readonly weight: number
  /** Phase one: the entries as given, with the sum of their entryLengthBound. */
  private objects: Entry[] | null = []
  private bound = 16
  /** Phase two: encoded entries of parts that are complete but not written (not yet known to split). */
  private closed: Buffer[][] = []
  /** Phase two: encoded entries of the part being filled, and their length. */
  private current: Buffer[] = []
  private currentBytes = 0
  /** Phase two: entries and encoded bytes of all entries so far. */
  private count = 0
  private bytes = 0
  /** Written parts (once the directory is known to need them). */
  private readonly written: Buffer[] = []
  /** Whether this savedir takes slices; the objects the part being filled has slices of. */
  private readonly slices: boolean
  private sources = new Set<string>()
  /** Objects looked for as sources of new slices: whether each exists (its last use refreshed). */
  private readonly found = new Map<string, boolean | Promise<boolean>>()
  /** Objects read to put sliced bytes inline again (inlineAgain). */
  private readonly read = new Map<string, Promise<Buffer>>()

  /** @param observe told of each tree object written (the save records its summary) */
  constructor(private readonly store: ObjectStore, private readonly observe?: TreeObserver) {
    const rule = treePartsOf(store.config)
    this.max = rule.max
    this.min = rule.min
    this.mask = rule.mask
    this.weight = rule.entryWeight
    this.slices = slicesAllowed(store.config)
  }

  /** Entries added so far. */
  get length(): number {
    return this.objects ? this.objects.length : this.count
  }

  /** Entries held as encoded bytes not yet written (for tests of the memory bound). */
  get heldBytes(): number {
    return this.objects ? 0 : this.currentBytes + this.closed.reduce((n, p) => n + p.reduce((m, b) => m + b.length, 0), 0)
  }

  /**
   * Add the next entry (names strictly increasing). May write a part. An entry taken over from
   * a reference tree whose inline data lies in a tree object (its real bytes, or a summary's
   * placeholder for them: inline-placeholder.ts) becomes a slice of that object; in a savedir
   * without slices, a placeholder's real data is read from there and put in.
   */
  async add(entry: Entry): Promise<void> {
    const real = this.slices ? this.withSlices(entry) : withRealData(entry)
    const e = real === entry ? entry : await real
    if (this.objects) {
      this.objects.push(e)
      this.bound += entryLengthBound(e) + this.weight
      if (this.bound <= this.max) return
      const held = this.objects
      this.objects = null
      for (const h of held) await this.addEncoded(h)
      return
    }
    await this.addEncoded(e)
  }

  /** Write what remains; returns the tree's name (a tree, or a tree index). */
  async finish(): Promise<WrittenTree> {
    await this.store.deferredRoom()
    if (this.objects) {
      // The bound is at most the maximum, so the encoding is too.
      return { hash: this.put(encodeTreeTransient(this.objects), ObjectKind.Tree), parts: [] }
    }
    if (!this.splitting()) {
      const all = this.closed.flat().concat(this.current)
      return { hash: this.put(treeFromEncodedEntriesTransient(all), ObjectKind.Tree), parts: [] }
    }
    if (this.current.length > 0) await this.closePart()
    return { hash: this.put(encodeTreeIndexTransient(this.written), ObjectKind.TreeIndex), parts: this.written.slice() }
  }

  /**
   * A tree of the entries so far followed by `extra` (a checkpoint's partial directory),
   * written without changing this writer: the same as a writer given all of them would write.
   */
  async snapshot(extra: readonly Entry[]): Promise<WrittenTree> {
    const copy = new TreeWriter(this.store, this.observe)
    copy.objects = this.objects ? this.objects.slice() : null
    copy.bound = this.bound
    copy.closed = this.closed.slice()
    copy.current = this.current.slice()
    copy.currentBytes = this.currentBytes
    copy.count = this.count
    copy.bytes = this.bytes
    copy.written.push(...this.written)
    copy.sources = new Set(this.sources)
    for (const e of extra) await copy.add(e)
    return copy.finish()
  }

  /** `e` as it is written in a savedir with slices (see add). */
  private withSlices(e: Entry): Entry | Promise<Entry> {
    if (e.data !== undefined) {
      const origin = e.size < SLICE_MIN ? undefined : inlineOrigin(e.data)
      // Not sliced: a summary's placeholder has its real bytes read and put in.
      return origin === undefined ? withRealData(e) : this.sliceOf(e, origin.part, origin.offset)
    }
    if (e.chunks === undefined || !e.chunks.some(isSlice)) return e
    const fresh = e.chunks.filter(isSlice).map(c => c.hash.toString('hex')).filter(h => !this.sources.has(h))
    if (this.sources.size + new Set(fresh).size <= SLICE_SOURCES_MAX) {
      for (const h of fresh) this.sources.add(h)
      return e
    }
    return this.inlineAgain(e)
  }

  /**
   * An entry whose inline data lies in a tree object read by the save (a summary's placeholder,
   * or real data: inline-placeholder.ts) as a slice of that object, if it exists.
   */
  private async sliceOf(e: Entry, part: Buffer, offset: number): Promise<Entry> {
    const hex = part.toString('hex')
    let found = this.found.get(hex)
    if (found === undefined) {
      found = this.store.ensureFreshNow([hex])
      this.found.set(hex, found)
    }
    // Gone (removed by hand): real data is written inline; a placeholder's is read from there,
    // which fails and makes the save start over without summaries (SummaryDataLost).
    if (!await found) return withRealData(e)
    this.sources.add(hex)
    const { data: _placeholder, ...rest } = e
    return { ...rest, chunks: [{ hash: part, length: e.size, offset }] }
  }

  /**
   * A file whose slices would pass SLICE_SOURCES_MAX: its bytes inline again, read from their
   * objects (verified). Only a file small enough to be inline; a larger one keeps its slices
   * (tarshift slices only inline data, so that is a tree written otherwise).
   */
  private async inlineAgain(e: Entry): Promise<Entry> {
    const chunks = e.chunks ?? []
    if (e.size > this.store.config.inlineLimit) {
      for (const c of chunks) if (isSlice(c)) this.sources.add(c.hash.toString('hex'))
      return e
    }
    const data = await fileBytes(this.store, e, hex => this.objectData(hex))
    const { chunks: _slices, ...rest } = e
    return { ...rest, data }
  }

  /** An object's plain bytes; the last few read are kept (a directory's files share them). */
  private objectData(hex: string): Promise<Buffer> {
    let got = this.read.get(hex)
    if (got === undefined) {
      got = this.store.get(hex).then(r => r.data)
      got.catch(() => this.read.delete(hex))
      this.read.set(hex, got)
      while (this.read.size > 4) this.read.delete(this.read.keys().next().value as string)
    }
    return got
  }

  /** Whether the whole encoding is over the maximum: the tree is then written in parts. */
  private splitting(): boolean {
    return treeHeaderLength(this.count) + this.bytes + this.weight * this.count > this.max
  }

  private async addEncoded(e: Entry): Promise<void> {
    // A copy: encodeEntry's result is a view of the encoder's working buffer.
    const b = Buffer.from(encodeEntry(e))
    const weight = this.weight
    if (this.current.length > 0 && this.currentBytes + weight * this.current.length + b.length + weight > this.max - 64) await this.closePart()
    this.current.push(b)
    this.currentBytes += b.length
    this.count++
    this.bytes += b.length
    if (splitHere(e.name, this.currentBytes + weight * this.current.length, this.min, this.mask)) await this.closePart()
    if (this.closed.length > 0 && this.splitting()) {
      const closed = this.closed
      this.closed = []
      for (const p of closed) await this.writePart(p)
    }
  }

  private async closePart(): Promise<void> {
    const part = this.current
    this.current = []
    this.currentBytes = 0
    this.sources = new Set()
    if (this.splitting()) await this.writePart(part)
    else this.closed.push(part)
  }

  private async writePart(part: Buffer[]): Promise<void> {
    await this.store.deferredRoom()
    this.written.push(this.put(treeFromEncodedEntriesTransient(part), ObjectKind.Tree))
  }

  /** `bytes` are transient (tree-codec.ts): the store copies them, the observer reads them, now. */
  private put(bytes: Buffer, kind: ObjectKind): Buffer {
    const hex = this.store.putDeferred(bytes, kind)
    this.observe?.(hex, kind, bytes)
    return Buffer.from(hex, 'hex')
  }
}

/** Write a whole directory's entries (sorted by name bytes) as a tree. */
export async function writeTree(store: ObjectStore, entries: readonly Entry[], observe?: TreeObserver): Promise<Buffer> {
  const w = new TreeWriter(store, observe)
  for (const e of entries) await w.add(e)
  return (await w.finish()).hash
}
