// Tree encoding (pure): a list of entries sorted by name bytes ↔ bytes (msgpack). The
// encoding is deterministic, so an unchanged directory encodes to the same bytes and its
// tree object deduplicates. The format is specified in doc/format.md, "Trees".
import { Packr } from 'msgpackr/pack'
import { EntryType, type ChunkRef, type Entry, type Timespec } from './entry.js'
import { decodeTreeFast } from './tree-decode.js'
import { placeholderOrigin, sameInlineData } from './inline-placeholder.js'

export const TREE_VERSION = 1

const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true })

type Wire = Record<string, unknown>

/** Fixed key order: do not reorder, it is part of the format. */
function toWire(e: Entry): Wire {
  const w: Wire = { n: e.name, t: e.type, m: e.mode, u: e.uid, g: e.gid }
  if (e.uname !== undefined) w.un = e.uname
  if (e.gname !== undefined) w.gn = e.gname
  w.s = e.size
  w.mt = e.mtime
  w.ct = e.ctime
  if (e.atime) w.at = e.atime
  w.i = e.ino
  if (e.rdev) w.rd = e.rdev
  if (e.target) w.l = e.target
  if (e.xattrs && e.xattrs.length > 0) w.x = e.xattrs
  if (e.link) w.k = e.link
  if (e.data) {
    if (placeholderOrigin(e.data) !== undefined) throw new Error(`internal: the data of ${e.name.toString('latin1')} is a placeholder, not its bytes`)
    w.d = e.data
  }
  if (e.chunks) w.c = e.chunks.map(c => (c.offset === undefined ? [c.hash, c.length] : [c.hash, c.length, c.offset]))
  if (e.tree) w.h = e.tree
  if (e.racy) w.r = true
  return w
}

function bad(why: string): never {
  throw new Error(`undecodable tree: ${why}`)
}

function buf(v: unknown, what: string): Buffer {
  if (!Buffer.isBuffer(v)) bad(`${what} is not bytes`)
  return v
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) bad(`${what} is not a number`)
  return v
}

function ts(v: unknown, what: string): Timespec {
  if (!Array.isArray(v) || v.length !== 2) bad(`${what} is not a time`)
  return [num(v[0], what), num(v[1], what)]
}

function fromWire(w: Wire): Entry {
  const type = num(w.t, 'type')
  if (type < EntryType.File || type > EntryType.Fifo) bad(`unknown entry type ${type}`)
  const e: Entry = {
    name: buf(w.n, 'name'),
    type,
    mode: num(w.m, 'mode'),
    uid: num(w.u, 'uid'),
    gid: num(w.g, 'gid'),
    size: num(w.s, 'size'),
    mtime: ts(w.mt, 'mtime'),
    ctime: ts(w.ct, 'ctime'),
    ino: typeof w.i === 'string' ? w.i : num(w.i, 'inode'),
  }
  if (typeof w.un === 'string') e.uname = w.un
  if (typeof w.gn === 'string') e.gname = w.gn
  if (w.at !== undefined) e.atime = ts(w.at, 'atime')
  if (w.rd !== undefined) {
    const rd = w.rd as unknown[]
    e.rdev = [num(rd[0], 'major'), num(rd[1], 'minor')]
  }
  if (w.l !== undefined) e.target = buf(w.l, 'target')
  if (w.x !== undefined) {
    if (!Array.isArray(w.x)) bad('xattrs')
    e.xattrs = (w.x as unknown[][]).map(p => [buf(p[0], 'xattr name'), buf(p[1], 'xattr value')])
  }
  if (w.k !== undefined) e.link = buf(w.k, 'link key')
  if (w.d !== undefined) e.data = buf(w.d, 'inline data')
  if (w.c !== undefined) {
    if (!Array.isArray(w.c)) bad('chunk list')
    e.chunks = (w.c as unknown[][]).map((c): ChunkRef => {
      if (!Array.isArray(c) || (c.length !== 2 && c.length !== 3)) bad('chunk reference')
      const ref: ChunkRef = { hash: buf(c[0], 'chunk hash'), length: num(c[1], 'chunk length') }
      if (c.length === 3) ref.offset = num(c[2], 'slice offset')
      return ref
    })
  }
  if (w.h !== undefined) e.tree = buf(w.h, 'tree hash')
  if (w.r === true) e.racy = true
  return e
}

/**
 * msgpackr packs into one buffer it keeps, grown to four times the largest value packed (an
 * 8 MiB tree part left a 21 MB buffer behind for the rest of the save); and it keeps the last
 * buffer it unpacked. After a large value, both are let go.
 */
const LARGE = 1024 * 1024
const NIL = Buffer.from([0xc0])
function packed(out: Buffer): Buffer {
  if (out.length > LARGE) packr.useBuffer(Buffer.allocUnsafeSlow(8192))
  return out
}
function unpacked(bytes: Buffer): unknown {
  const v: unknown = packr.unpack(bytes)
  if (bytes.length > LARGE) packr.unpack(NIL)
  return v
}

/**
 * Whether two entry lists encode to the same bytes (and so the same tree object), found
 * without encoding: field by field, each present or absent as toWire writes it. A field added
 * to toWire must be added to sameEntry too: the test that changes every field of every kind of
 * entry and checks sameEntry against the encodings (tests/tree/tree-codec.test.ts) fails
 * until it is.
 */
export function sameEntries(a: readonly Entry[], b: readonly Entry[]): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !sameEntry(a[i] as Entry, b[i] as Entry)) return false
  return true
}

/**
 * Whether two entries encode to the same bytes (see sameEntries). An unchanged save asks it of
 * every entry; comparing the fields directly instead of two toWire objects took 25-34 against
 * 52-107 ms for the 35,000 entries of /usr/share's trees (benchmarks/tree-decode.mjs).
 */
export function sameEntry(a: Entry, b: Entry): boolean {
  if (a === b) return true
  return a.type === b.type && a.mode === b.mode && a.uid === b.uid && a.gid === b.gid &&
    a.uname === b.uname && a.gname === b.gname && a.size === b.size &&
    samePair(a.mtime, b.mtime) && samePair(a.ctime, b.ctime) && samePair(a.atime || undefined, b.atime || undefined) &&
    a.ino === b.ino && samePair(a.rdev || undefined, b.rdev || undefined) &&
    sameBytes(a.target || undefined, b.target || undefined) && sameXattrs(a.xattrs, b.xattrs) &&
    sameBytes(a.link || undefined, b.link || undefined) && sameData(a.data, b.data) &&
    sameChunks(a.chunks || undefined, b.chunks || undefined) && sameBytes(a.tree || undefined, b.tree || undefined) &&
    !a.racy === !b.racy && a.name.equals(b.name)
}

/** Two timespecs or device numbers (absent: undefined). */
function samePair(a: readonly [number, number] | undefined, b: readonly [number, number] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a[0] === b[0] && a[1] === b[1]
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return a.equals(b)
}

/** Inline data, either possibly a placeholder (inline-placeholder.ts). */
function sameData(a: Buffer | undefined, b: Buffer | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  return sameInlineData(a, b)
}

/** An empty list of xattrs is not written: the same as none. */
function sameXattrs(a: Array<[Buffer, Buffer]> | undefined, b: Array<[Buffer, Buffer]> | undefined): boolean {
  const x = a ?? []
  const y = b ?? []
  if (x.length !== y.length) return false
  for (let i = 0; i < x.length; i++) {
    const p = x[i] as [Buffer, Buffer]
    const q = y[i] as [Buffer, Buffer]
    if (!p[0].equals(q[0]) || !p[1].equals(q[1])) return false
  }
  return true
}

/** An empty chunk list is written (as an empty array): not the same as none. */
function sameChunks(a: ChunkRef[] | undefined, b: ChunkRef[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) {
    const p = a[i] as ChunkRef
    const q = b[i] as ChunkRef
    if (p.length !== q.length || p.offset !== q.offset || !p.hash.equals(q.hash)) return false
  }
  return true
}

/** A tree's value as packed: its version and its entries' wire forms. */
function treeWire(entries: readonly Entry[]): Wire {
  return { v: TREE_VERSION, e: entries.map(toWire) }
}

/** A tree index's value as packed: its version and its parts' names. */
function indexWire(parts: readonly Buffer[]): Wire {
  return { v: TREE_VERSION, p: parts }
}

/** Encode entries (must already be sorted by name bytes, names unique). */
export function encodeTree(entries: readonly Entry[]): Buffer {
  lasting()
  return packed(packr.pack(treeWire(entries)))
}

/**
 * Where the transient encoders below write: one buffer, reused. Left to itself, msgpackr packs
 * each value after the last one in its buffer and, at its end, starts a new one four times the
 * size of the value: a first save of /usr/share wrote its 92 MB of trees into ever new
 * multi-megabyte buffers, each its own mapping (lib/fs/memory-trim.ts), every page of it
 * faulted in on first touch: 387 ms of the main thread, in msgpackr's writeBuffer, copying the
 * small files' contents. Sized for a tree part (at most the chunker's largest chunk, 2 MiB by
 * default); a larger value makes msgpackr take a buffer of its own, as before.
 */
const SCRATCH_BYTES = 4 * 1024 * 1024
let scratch: Buffer | null = null
/** Whether packr packs into the scratch buffer now. */
let packingInScratch = false

function scratchBuffer(): Buffer {
  scratch ??= Buffer.allocUnsafeSlow(SCRATCH_BYTES)
  return scratch
}

function transient(): void {
  packr.useBuffer(scratchBuffer())
  packingInScratch = true
}

/** Before a lasting encoding: not into the scratch, which the next transient one overwrites. */
function lasting(): void {
  if (!packingInScratch) return
  packr.useBuffer(Buffer.allocUnsafeSlow(8192))
  packingInScratch = false
}

/**
 * encodeTree's bytes, in a buffer the next transient encoding overwrites: for a caller that is
 * done with them before it encodes again (TreeWriter: the store copies what put() is given
 * before put() returns).
 */
export function encodeTreeTransient(entries: readonly Entry[]): Buffer {
  transient()
  return packr.pack(treeWire(entries))
}

/** One entry's encoding, as encodeTree encodes it in its list; transient, as encodeTreeTransient's. */
export function encodeEntry(e: Entry): Buffer {
  transient()
  return packr.pack(toWire(e))
}

/**
 * The length of encodeTree's bytes before its n entries (which follow as encodeEntry encodes
 * each): a map of two keys (1 byte), "v" (2) and the version (1), "e" (2), the array header
 * (1, 3 or 5).
 */
export function treeHeaderLength(n: number): number {
  return 1 + 2 + 1 + 2 + (n < 16 ? 1 : n < 65536 ? 3 : 5)
}

/**
 * encodeTree's bytes, from the entries' encodeEntry bytes in order: the header
 * (treeHeaderLength) followed by them. Large directories are encoded entry by entry as their
 * entries arrive (tree-writer.ts) and never whole.
 */
export function treeFromEncodedEntries(encoded: readonly Buffer[]): Buffer {
  return Buffer.concat([treeHead(encoded.length), ...encoded])
}

/** encodeTree's bytes before its n entries: the map, "v", the version, "e" and the array header. */
function treeHead(n: number): Buffer {
  const head = Buffer.from([0x82, 0xa1, 0x76, TREE_VERSION, 0xa1, 0x65, 0, 0, 0, 0, 0])
  let h = 6
  if (n < 16) head[h++] = 0x90 | n
  else if (n < 65536) {
    head[h++] = 0xdc
    h = head.writeUInt16BE(n, h)
  } else {
    head[h++] = 0xdd
    h = head.writeUInt32BE(n, h)
  }
  return head.subarray(0, h)
}

/** treeFromEncodedEntries' bytes, transient as encodeTreeTransient's (when they fit the buffer). */
export function treeFromEncodedEntriesTransient(encoded: readonly Buffer[]): Buffer {
  const head = treeHead(encoded.length)
  let n = head.length
  for (const b of encoded) n += b.length
  if (n > SCRATCH_BYTES) return treeFromEncodedEntries(encoded)
  const out = scratchBuffer()
  let at = head.copy(out, 0)
  for (const b of encoded) at += b.copy(out, at)
  return out.subarray(0, at)
}

/** An upper bound of encodeEntry(e).length, found without encoding. */
export function entryLengthBound(e: Entry): number {
  // 256 covers the map header, the keys (at most 3 bytes each) and every number (at most 9).
  let n = 256 + e.name.length
  if (e.uname !== undefined) n += 3 * e.uname.length
  if (e.gname !== undefined) n += 3 * e.gname.length
  if (typeof e.ino === 'string') n += 3 * e.ino.length
  if (e.target) n += e.target.length
  if (e.link) n += e.link.length
  if (e.data) n += e.data.length
  if (e.xattrs) for (const [k, v] of e.xattrs) n += 12 + k.length + v.length
  if (e.chunks) n += 5 + 57 * e.chunks.length
  if (e.tree) n += e.tree.length
  return n
}

export function decodeTree(bytes: Buffer): Entry[] {
  return decodeTreeFast(bytes) ?? decodeTreeGeneric(bytes)
}

/** decodeTree through msgpackr's generic unpacking: any encoding, and the errors (tests compare). */
export function decodeTreeGeneric(bytes: Buffer): Entry[] {
  let w: unknown
  try {
    w = unpacked(bytes)
  } catch (e) {
    bad((e as Error).message)
  }
  const o = w as { v?: unknown; e?: unknown }
  if (o === null || typeof o !== 'object' || o.v !== TREE_VERSION || !Array.isArray(o.e)) bad('not a version 1 tree')
  return (o.e as Wire[]).map(fromWire)
}

/** A tree index: the object names of the tree parts, in order (doc/format.md). */
export function encodeTreeIndex(parts: readonly Buffer[]): Buffer {
  lasting()
  return packed(packr.pack(indexWire(parts)))
}

/** encodeTreeIndex's bytes, transient as encodeTreeTransient's. */
export function encodeTreeIndexTransient(parts: readonly Buffer[]): Buffer {
  transient()
  return packr.pack(indexWire(parts))
}

export function decodeTreeIndex(bytes: Buffer): Buffer[] {
  const o = unpacked(bytes) as { v?: unknown; p?: unknown }
  if (o === null || typeof o !== 'object' || o.v !== TREE_VERSION || !Array.isArray(o.p)) bad('not a version 1 tree index')
  return (o.p as unknown[]).map(p => buf(p, 'tree part'))
}
