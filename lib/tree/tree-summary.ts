// Tree summaries: a tree's bytes with its longer inline file data cut out, kept by this host
// in its local cache (lib/cache) under the tree's name. An unchanged save compares each
// directory with its reference tree; nearly all of a reference tree's bytes are small files'
// contents (files up to 16 KiB are inline), which the comparison never looks at: the file's
// stat tells whether it changed. Reading the summaries instead of the trees spares reading,
// decompressing, verifying and decoding those bytes. In a summary, each inline data longer
// than 64 bytes is replaced by its SHA-256: entries decoded from a summary carry that as a
// placeholder for their data (inline-placeholder.ts), which compares as the data would. When
// a directory differs and its tree is written, the real part is read then, and the writer
// puts the real bytes in.
//
// A summary is derived from a tree's bytes, which its name fixes: it cannot be stale. It is
// no claim that the tree exists (the save checks that as for any object it reuses); when a
// real part cannot be read for its data, the save starts over without summaries.
import { ObjectKind } from '../codec/object-header.js'
import { TarshiftError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import type { Entry } from './entry.js'
import { DIGEST_BYTES, inlineAt, inlineDigest, placeholder, type PlaceholderOrigin, type PlaceholderSource } from './inline-placeholder.js'
import { decodeTreeIndex } from './tree-codec.js'
import { decodeTreeFast, digestRanges, inlineDataRanges } from './tree-decode.js'
import { openTree, readPart, type OpenedTree, type TreeObserver, type TreeReader } from './tree-store.js'
import { SLICE_MIN } from './tree-writer.js'

/** Inline data longer than this is cut out of a summary; shorter data stays (it costs little). */
export const SUMMARY_DATA_OVER = 64

/** The first byte of a summary: what follows. */
const SUMMARY_TREE = 1
const SUMMARY_INDEX = 2

/** The header of a bin of 32 bytes: a summary has one with the data's SHA-256 in place of the data. */
const DIGEST_BIN = Buffer.from([0xc4, DIGEST_BYTES])

/** Where summaries are kept (the local cache). */
export interface SummaryCache {
  summary(hex: string): Buffer | undefined
  hasSummary(hex: string): boolean
  recordSummary(hex: string, summary: Buffer): void
}

/** The summary of a tree object's plain bytes; null when it has none (an encoding not tarshift's). */
export function summarize(kind: ObjectKind, bytes: Buffer): Buffer | null {
  if (kind === ObjectKind.TreeIndex) return Buffer.concat([Buffer.from([SUMMARY_INDEX]), bytes])
  if (kind !== ObjectKind.Tree) return null
  const ranges = inlineDataRanges(bytes, SUMMARY_DATA_OVER)
  if (ranges === null) return null
  const pieces: Buffer[] = [Buffer.from([SUMMARY_TREE])]
  let at = 0
  for (const [start, data, end] of ranges) {
    // Where the data was is found again from the summary (realOffsets) by the smallest header
    // of each length, as tarshift writes them: a tree written otherwise has no summary.
    if (data - start !== binHeaderLength(end - data)) return null
    pieces.push(bytes.subarray(at, start), DIGEST_BIN, inlineDigest(bytes.subarray(data, end)))
    at = end
  }
  pieces.push(bytes.subarray(at))
  return Buffer.concat(pieces)
}

/** The length of MessagePack's smallest bin header for `n` bytes. */
function binHeaderLength(n: number): number {
  return n < 0x100 ? 2 : n < 0x10000 ? 3 : 5
}

/**
 * Where each placeholder's real data lies in the tree's plain bytes, in entry order: from
 * where its digest lies in the summary, and the real lengths (the entries' sizes) of those
 * before it. Null when the summary does not decode so.
 */
function realOffsets(body: Buffer, sizes: readonly number[]): number[] | null {
  const digests = digestRanges(body, SUMMARY_DATA_OVER)
  if (digests === null || digests.length !== sizes.length) return null
  const out: number[] = []
  let shift = 0
  for (let k = 0; k < sizes.length; k++) {
    const r = digests[k] as [number, number, number]
    const size = sizes[k] as number
    out.push(r[0] + shift + binHeaderLength(size))
    shift += binHeaderLength(size) + size - (r[2] - r[0])
  }
  return out
}

/**
 * Where the placeholders of one summary have their real data, found when first asked: only a
 * directory that changed writes a tree with slices of the old one (tree-writer.ts), and an
 * unchanged save of /usr/share spent ~80 ms of its main thread's ~1 s finding them all
 * (a second pass over each summary: digestRanges).
 */
class SummaryOffsets {
  private offsets: number[] | null | undefined
  constructor(private readonly part: Buffer, private body: Buffer | null, private sizes: number[] | null) {}

  /** The k-th placeholder's offset; a summary that does not locate its data is data lost. */
  at(k: number): number {
    if (this.offsets === undefined) {
      this.offsets = realOffsets(this.body as Buffer, this.sizes as number[])
      this.body = this.sizes = null
    }
    const o = this.offsets?.[k]
    if (o === undefined) throw new SummaryDataLost(this.part, 'its summary does not locate its inline data')
    return o
  }
}

/** A summary's placeholder: where its real data is, the offset found when first asked. */
class SummaryPlaceholder implements PlaceholderOrigin {
  constructor(readonly part: Buffer, readonly index: number, readonly name: Buffer, private readonly where: SummaryOffsets, private readonly k: number, readonly source: PlaceholderSource) {}
  get offset(): number {
    return this.where.at(this.k)
  }
}

/** An entry decoded from a summary whose data is a digest standing for longer data. */
function isPlaceholderShaped(e: Entry): boolean {
  return e.data !== undefined && e.data.length === DIGEST_BYTES && e.size > SUMMARY_DATA_OVER
}

/** Record the summary of a tree object this host wrote or read, unless it has one already. */
export function recordSummary(cache: SummaryCache, hex: string, kind: ObjectKind, bytes: Buffer): void {
  if (cache.hasSummary(hex)) return
  const s = summarize(kind, bytes)
  if (s !== null) cache.recordSummary(hex, s)
}

/** The real data of a placeholder could not be read: the save starts over without summaries. */
export class SummaryDataLost extends TarshiftError {
  constructor(readonly part: Buffer, why: string) {
    super('TARSHIFT_CORRUPT_OBJECT', `tree ${part.toString('hex')} could not be read for its inline data (${why})`)
  }
}

/**
 * Record where the inline data that a writer would slice (SLICE_MIN bytes or more) of tree
 * object `hex`, read from the savedir, lie in its bytes (inlineAt), as its summary would say:
 * a changed directory's unchanged files become slices of it either way (doc/format.md §5.6),
 * whether the save has the summaries (after an expire the cache starts empty) or none (a
 * second walk after the cache was found wrong).
 */
function located(hex: string, bytes: Buffer, entries: Entry[]): void {
  let part: Buffer | undefined
  for (const e of entries) {
    const d = e.data
    if (d === undefined || d.length < SLICE_MIN || d.length !== e.size || d.buffer !== bytes.buffer) continue
    const offset = d.byteOffset - bytes.byteOffset
    if (offset >= 0 && offset + d.length <= bytes.length) inlineAt(d, { part: part ??= Buffer.from(hex, 'hex'), offset })
  }
}

/** A TreeObserver that locates the inline data of each tree part read (SummaryTreeReader's too). */
export const locatingObserver: TreeObserver = (hex, kind, data, entries) => {
  if (kind === ObjectKind.Tree && entries !== undefined) located(hex, data, entries)
}

/** Decoded real parts kept for placeholders' data: a changed directory asks for many in a row. */
const REAL_PARTS = 2

/**
 * Reads trees as a save's reference trees: from their summaries when this host has them,
 * else from the savedir (and records their summaries). Fetches placeholders' real data.
 */
export class SummaryTreeReader implements TreeReader, PlaceholderSource {
  private readonly real = new Map<string, Promise<Entry[]> | Entry[]>()
  /** Trees read from summaries, and from the savedir (tests, measurements). */
  readonly stats = { summaries: 0, objects: 0, dataFetches: 0 }

  /** Trees read from the savedir have their summaries recorded. */
  private readonly observe: TreeObserver

  constructor(private readonly store: ObjectStore, private readonly cache: SummaryCache) {
    this.observe = (hex, kind, data, entries) => {
      recordSummary(cache, hex, kind, data)
      locatingObserver(hex, kind, data, entries)
    }
  }

  local(hash: Buffer): boolean {
    return this.cache.hasSummary(hash.toString('hex'))
  }

  async open(hash: Buffer): Promise<OpenedTree> {
    const hex = hash.toString('hex')
    const s = this.cache.summary(hex)
    if (s !== undefined && s[0] === SUMMARY_INDEX) {
      const parts = indexParts(s)
      if (parts !== null && parts.length > 0) {
        this.stats.summaries++
        const first = await this.part(parts[0] as Buffer)
        return { hash, parts, first, bytes: s.length }
      }
    }
    if (s !== undefined && s[0] === SUMMARY_TREE) {
      const first = this.fromSummary(hash, s)
      if (first !== null) return { hash, parts: [], first, bytes: s.length }
    }
    this.stats.objects++
    return openTree(this.store, hash, this.observe, p => this.part(p))
  }

  async part(part: Buffer): Promise<Entry[]> {
    const hex = part.toString('hex')
    const s = this.cache.summary(hex)
    if (s !== undefined && s[0] === SUMMARY_TREE) {
      const entries = this.fromSummary(part, s)
      if (entries !== null) return entries
    }
    this.stats.objects++
    return readPart(this.store, part, this.observe)
  }

  /**
   * The entries of a summary, with placeholders for the data cut out (a digest where the file
   * is longer than SUMMARY_DATA_OVER: data that long is never a digest); null if undecodable.
   */
  private fromSummary(part: Buffer, s: Buffer): Entry[] | null {
    const body = s.subarray(1)
    const entries = decodeTreeFast(body)
    if (entries === null) return null
    this.stats.summaries++
    const sizes: number[] = []
    const where = new SummaryOffsets(part, body, sizes)
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i] as Entry
      if (isPlaceholderShaped(e)) placeholder(e.data as Buffer, new SummaryPlaceholder(part, i, e.name, where, sizes.push(e.size) - 1, this))
    }
    return entries
  }

  fetch(origin: PlaceholderOrigin): Buffer | Promise<Buffer> {
    const hex = origin.part.toString('hex')
    let got = this.real.get(hex)
    if (got === undefined) {
      this.stats.dataFetches++
      const reading = readPart(this.store, origin.part).then(entries => {
        if (this.real.get(hex) === reading) this.real.set(hex, entries)
        return entries
      })
      reading.catch(() => this.real.delete(hex))
      got = reading
      this.real.set(hex, got)
      this.store.sendBatchedGets()
      while (this.real.size > REAL_PARTS) this.real.delete(this.real.keys().next().value as string)
    }
    if (Array.isArray(got)) return dataOf(got, origin)
    return got.then(entries => dataOf(entries, origin), e => {
      throw e instanceof TarshiftError ? new SummaryDataLost(origin.part, e.message) : e
    })
  }
}

/**
 * The parts a tree index's summary lists; null when it cannot be decoded. A damaged summary
 * is the local cache's, not the savedir's: it is taken as missing (the index is read instead).
 */
function indexParts(s: Buffer): Buffer[] | null {
  try {
    return decodeTreeIndex(s.subarray(1))
  } catch {
    return null
  }
}

function dataOf(entries: Entry[], origin: PlaceholderOrigin): Buffer {
  const e = entries[origin.index]
  if (e === undefined || e.data === undefined || !e.name.equals(origin.name)) {
    throw new SummaryDataLost(origin.part, `entry ${origin.index} is not ${origin.name.toString('latin1')} with inline data there`)
  }
  return e.data
}
