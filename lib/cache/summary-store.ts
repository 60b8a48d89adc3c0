// Tree summaries in the local cache (lib/tree/tree-summary.ts says what they are): an LMDB
// environment of their own below the cache directory, `summaries/`, holds them under
// increasing sequence numbers, each value the tree's name (32 bytes) then the summary; the
// cache's main environment maps `!t` + a tree's name (hex) to its sequence number.
//
// Why not the tree's name as the key of the summary: LMDB reads the pages it changes through
// its memory map, and keys that are hashes land all over the tree, so a first save recording
// /usr/share's 3,300 summaries had the whole file resident: peak RSS 175 against 156 MB.
// Measured with 3,300 values of 0-5 KiB: hash keys left 29.7 MB of the map resident,
// increasing keys 1.4 MB, increasing keys with a hash-keyed index in the same environment
// 18.5 MB, and with the index in another environment 3.7 MB. Two saves of this host at once
// may take the same number: the name stored with each summary is checked, and a summary under
// another name is taken as missing.
import { openLmdb, type LmdbDb, type LmdbRoot } from './lmdb.js'

const NAME_BYTES = 32
/** Index keys: this prefix and a tree's name. */
const INDEX_PREFIX = '!t'
/** Key of the bytes of summaries recorded since they were last cleared (roughly: saves race). */
const BYTES_KEY = '!summaryBytes'
/**
 * Summaries are put in batches of about this many bytes: lmdb-js commits the puts of each turn
 * of the event loop as a transaction of each environment, and a first save of /usr/share, which
 * records a summary every few turns, spent ~0.2-0.3 s of its main thread starting ~3,300 of
 * them (lmdb-js startWriting).
 */
const BATCH_BYTES = 512 * 1024

export class SummaryStore {
  private next: number
  private bytes: number
  /** Index keys put by this store (not yet committed, a key range read would not see them). */
  private readonly added = new Set<string>()
  /** Summaries recorded and not yet put (by name, hex), and their bytes. */
  private pending = new Map<string, Buffer>()
  private pendingBytes = 0

  private constructor(private readonly data: LmdbRoot, private readonly index: LmdbDb, private readonly limit: number) {
    const last = [...data.getKeys({ reverse: true, limit: 1 })][0]
    this.next = typeof last === 'number' ? last + 1 : 1
    const n = index.get(BYTES_KEY)
    this.bytes = typeof n === 'number' ? n : 0
  }

  /** Open (or make) the store in `dir`, indexed in `index`; throws if LMDB cannot. */
  static open(dir: string, index: LmdbDb, limit: number): SummaryStore {
    return new SummaryStore(openLmdb(dir, 'binary'), index, limit)
  }

  get(hex: string): Buffer | undefined {
    const early = this.pending.get(hex)
    if (early !== undefined) return early
    const seq = this.index.get(INDEX_PREFIX + hex)
    if (typeof seq !== 'number') return undefined
    const v = this.data.getBinary(seq)
    if (v === undefined || v.length < NAME_BYTES || v.toString('hex', 0, NAME_BYTES) !== hex) return undefined
    return v.subarray(NAME_BYTES)
  }

  has(hex: string): boolean {
    return this.pending.has(hex) || this.index.doesExist(INDEX_PREFIX + hex)
  }

  /**
   * Record a summary (written in the background by lmdb-js, BATCH_BYTES at a time). Past
   * `limit` bytes recorded, all are dropped instead: which ones will be needed again is not
   * known here, and the trees still used get theirs again as they are read.
   */
  put(hex: string, summary: Buffer): void {
    if (hex.length !== 2 * NAME_BYTES || this.pending.has(hex)) return
    this.bytes += summary.length
    if (this.bytes > this.limit) {
      void this.clear()
      return
    }
    this.pending.set(hex, summary)
    this.pendingBytes += summary.length + NAME_BYTES
    if (this.pendingBytes >= BATCH_BYTES) this.flush()
  }

  /** Put the summaries recorded so far, in this turn of the event loop: one transaction each. */
  flush(): void {
    if (this.pending.size === 0) return
    for (const [hex, summary] of this.pending) {
      const seq = this.next++
      void this.data.put(seq, Buffer.concat([Buffer.from(hex, 'hex'), summary]))
      void this.index.put(INDEX_PREFIX + hex, seq)
      this.added.add(INDEX_PREFIX + hex)
    }
    void this.index.put(BYTES_KEY, this.bytes)
    this.pending = new Map()
    this.pendingBytes = 0
  }

  /** Drop every summary: the data, and the index's keys in the main environment. */
  async clear(): Promise<void> {
    this.bytes = 0
    this.next = 1
    this.pending = new Map()
    this.pendingBytes = 0
    const keys = new Set([...this.index.getKeys({ start: INDEX_PREFIX, end: '!u' })].map(String))
    for (const k of this.added) keys.add(k)
    this.added.clear()
    for (const k of keys) void this.index.remove(k)
    void this.index.put(BYTES_KEY, 0)
    await this.data.clearAsync()
  }

  async close(): Promise<void> {
    this.flush()
    await this.data.close()
  }
}
