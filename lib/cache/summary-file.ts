// Tree summaries in the local cache (lib/tree/tree-summary.ts says what they are): file
// `summaries` holds them one after another, `summaries.index` says where each is.
//
//   summaries: record = magic "TSs1" (4) | summary length (u32 LE) | CRC-32 of name + summary (u32 LE)
//                       | tree name (32 bytes) | summary
//              or the same with magic "TSz1" and, for the summary, one zstd frame of it (written
//              when that is at most 3/4 of its length: the summaries of /usr/share's first
//              save take 3.1 MB so, 7.3 MB as they are; chunk lists and digests do not compress)
//   summaries.index: record = tree name (32) | offset of its summaries record (float64 LE)
//                             | summary length (u32 LE) | CRC-32 of the 44 bytes before (u32 LE)
//
// A writer appends a batch of summaries, then their index records, holding flock(LOCK_EX) on
// `summaries`: the lock makes the file's size the offset its batch lands at. Readers take no
// lock: they read the index whole when they open (a short or failed record is skipped) and
// each summary with pread, checking magic, length, CRC and name; a summary that fails (a batch
// cut short, a file cleared by another save since) is missing, which costs only time. Read
// with pread, not through a memory map: LMDB's map left every page it read or wrote resident.
import { closeSync, fstatSync, ftruncateSync, openSync, readFileSync, readSync, rmSync, constants } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from './crc32.js'
import { native } from '../fs/native.js'
import { NameIndex } from './name-index.js'
import { writeAll } from '../repo/atomic-write.js'
import { zstdFrame, zstdUnframe } from '../codec/zstd-codec.js'

export const SUMMARIES_FILE = 'summaries'
export const SUMMARIES_INDEX_FILE = 'summaries.index'
const MAGIC = 0x54537331 // "TSs1"
const MAGIC_ZSTD = 0x54537a31 // "TSz1"
/** Summaries shorter than this are stored as they are (a frame's own bytes would eat the gain). */
const PACK_FROM = 256
const NAME_BYTES = 32
const HEADER_BYTES = 12
const INDEX_RECORD_BYTES = 48
/**
 * Summaries are written in batches of about this many bytes: one lock, two writes. A first
 * save of /usr/share records a summary every few turns of its event loop (~3,300 in all).
 */
const BATCH_BYTES = 512 * 1024

export class SummaryFile {
  private index = new NameIndex()
  /** Summaries recorded and not yet written (by name, hex), with their bytes as stored. */
  private pending = new Map<string, { summary: Buffer; stored: Buffer; magic: number }>()
  private pendingBytes = 0
  /** Bytes of the summaries file when last seen. */
  private bytes: number

  private constructor(private readonly dir: string, private readonly fd: number, private readonly limit: number) {
    this.bytes = fstatSync(fd).size
    let index: Buffer
    try {
      index = readFileSync(join(dir, SUMMARIES_INDEX_FILE))
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e
      return
    }
    this.load(index)
  }

  /** Open (or make) the summaries in `dir`; throws if the file cannot be opened. */
  static open(dir: string, limit: number): SummaryFile {
    const fd = openSync(join(dir, SUMMARIES_FILE), constants.O_RDWR | constants.O_APPEND | constants.O_CREAT, 0o600)
    try {
      return new SummaryFile(dir, fd, limit)
    } catch (e) {
      closeSync(fd)
      throw e
    }
  }

  /** Remove the summaries in `dir` (no save of this host may be running: a new generation). */
  static remove(dir: string): void {
    for (const f of [SUMMARIES_FILE, SUMMARIES_INDEX_FILE]) rmSync(join(dir, f), { force: true })
  }

  private load(index: Buffer): void {
    this.index = new NameIndex(Math.floor(index.length / INDEX_RECORD_BYTES))
    for (let at = 0; at + INDEX_RECORD_BYTES <= index.length; at += INDEX_RECORD_BYTES) {
      if (crc32(index.subarray(at, at + 44)) !== index.readUInt32LE(at + 44)) continue
      this.index.set(index, at, index.readDoubleLE(at + 32), index.readUInt32LE(at + 40))
    }
  }

  get(hex: string): Buffer | undefined {
    const early = this.pending.get(hex)
    if (early !== undefined) return early.summary
    const e = this.index.find(hex)
    if (e < 0) return undefined
    const offset = this.index.first(e)
    const length = this.index.second(e)
    const record = Buffer.allocUnsafe(HEADER_BYTES + NAME_BYTES + length)
    try {
      if (readSync(this.fd, record, 0, record.length, offset) !== record.length) return undefined
    } catch {
      return undefined
    }
    const magic = record.readUInt32BE(0)
    if ((magic !== MAGIC && magic !== MAGIC_ZSTD) || record.readUInt32LE(4) !== length) return undefined
    if (crc32(record.subarray(HEADER_BYTES)) !== record.readUInt32LE(8)) return undefined
    if (record.toString('hex', HEADER_BYTES, HEADER_BYTES + NAME_BYTES) !== hex) return undefined
    const stored = record.subarray(HEADER_BYTES + NAME_BYTES)
    if (magic === MAGIC) return stored
    try {
      return zstdUnframe(stored)
    } catch {
      return undefined
    }
  }

  has(hex: string): boolean {
    return this.pending.has(hex) || this.index.find(hex) >= 0
  }

  /**
   * Record a summary (written BATCH_BYTES at a time). Past `limit` bytes in the file, all are
   * dropped first: which ones will be needed again is not known here, and the trees still used
   * get theirs again as they are read.
   */
  put(hex: string, summary: Buffer): void {
    if (hex.length !== 2 * NAME_BYTES || this.pending.has(hex)) return
    const packed = summary.length >= PACK_FROM ? zstdFrame(summary) : null
    const small = packed !== null && packed.length * 4 <= summary.length * 3
    const stored = small ? packed : summary
    const bytes = HEADER_BYTES + NAME_BYTES + stored.length
    if (this.bytes + this.pendingBytes + bytes > this.limit) {
      this.clear()
      return
    }
    this.pending.set(hex, { summary, stored, magic: small ? MAGIC_ZSTD : MAGIC })
    this.pendingBytes += bytes
    if (this.pendingBytes >= BATCH_BYTES) this.flush()
  }

  /** Write the summaries recorded so far: the records, then their index records, under the lock. */
  flush(): void {
    if (this.pending.size === 0) return
    const data = Buffer.allocUnsafe(this.pendingBytes)
    const index = Buffer.allocUnsafe(this.pending.size * INDEX_RECORD_BYTES)
    native.flock(this.fd, true)
    try {
      let offset = fstatSync(this.fd).size
      if (offset + data.length > this.limit) {
        this.truncate()
        offset = 0
      }
      let at = 0
      let i = 0
      for (const [hex, { stored: summary, magic }] of this.pending) {
        data.writeUInt32BE(magic, at)
        data.writeUInt32LE(summary.length, at + 4)
        data.write(hex, at + HEADER_BYTES, NAME_BYTES, 'hex')
        summary.copy(data, at + HEADER_BYTES + NAME_BYTES)
        const end = at + HEADER_BYTES + NAME_BYTES + summary.length
        data.writeUInt32LE(crc32(data.subarray(at + HEADER_BYTES, end)), at + 8)
        data.copy(index, i, at + HEADER_BYTES, at + HEADER_BYTES + NAME_BYTES)
        index.writeDoubleLE(offset + at, i + 32)
        index.writeUInt32LE(summary.length, i + 40)
        index.writeUInt32LE(crc32(index.subarray(i, i + 44)), i + 44)
        at = end
        i += INDEX_RECORD_BYTES
      }
      writeAll(this.fd, [data])
      const ifd = openSync(join(this.dir, SUMMARIES_INDEX_FILE), constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600)
      try {
        writeAll(ifd, [index])
      } finally {
        closeSync(ifd)
      }
      this.bytes = offset + data.length
      for (let r = 0; r < index.length; r += INDEX_RECORD_BYTES) this.index.set(index, r, index.readDoubleLE(r + 32), index.readUInt32LE(r + 40))
    } finally {
      native.flock(this.fd, false)
      this.pending = new Map()
      this.pendingBytes = 0
    }
  }

  /** Drop every summary, this host's other saves' too. */
  clear(): void {
    this.pending = new Map()
    this.pendingBytes = 0
    native.flock(this.fd, true)
    try {
      this.truncate()
    } finally {
      native.flock(this.fd, false)
    }
  }

  /** Empty both files (the lock held). */
  private truncate(): void {
    ftruncateSync(this.fd, 0)
    const ifd = openSync(join(this.dir, SUMMARIES_INDEX_FILE), constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, 0o600)
    closeSync(ifd)
    this.index = new NameIndex()
    this.bytes = 0
  }

  /** Bytes of summaries in the file, as last seen, and gathered. */
  get size(): number {
    return this.bytes + this.pendingBytes
  }

  close(): void {
    try {
      this.flush()
    } finally {
      closeSync(this.fd)
    }
  }
}
