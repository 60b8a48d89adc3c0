// The local cache's object times (file `objects` in the cache directory): when this host last
// saw each object exist with a fresh last-use time. An append-only log of blocks, each written
// with one write(2) in O_APPEND mode, so that saves of this host running at once add to it
// without a lock:
//
//   block  = magic "TSo1" (4 bytes) | count (u32 LE) | CRC-32 of the records (u32 LE) | records
//   record = object name (32 bytes) | last-use time, ms since the epoch (float64 LE)
//
// Reading stops at the first block that is short or fails its check (a save that died while
// writing, a disk that filled): what follows is lost, which costs only time. Later records of
// a name win when they are newer. When the log holds more than twice the records it has names
// (refreshes add a record each), the closing save writes it anew, one record per name, to a
// temporary renamed into place (atomic-write.ts); records another save appended in between are
// lost (a hint).
import { closeSync, fstatSync, openSync, readSync, rmSync, constants } from 'node:fs'
import { join } from 'node:path'
import { crc32 } from './crc32.js'
import { NameIndex } from './name-index.js'
import { writeAll, writeFileAtomicWith } from '../repo/atomic-write.js'

export const OBJECTS_FILE = 'objects'
const MAGIC = 0x54536f31 // "TSo1"
const HEADER_BYTES = 12
const RECORD_BYTES = 40
/** Records gathered before they are appended as a block. */
const BLOCK_RECORDS = 16384
/** A log with fewer records than this is never rewritten. */
const COMPACT_MIN = 8192

export class ObjectTimes {
  private readonly index: NameIndex
  /** Records in the file (as read) and appended by this process since. */
  private logged = 0
  private pending: Buffer
  private pendingCount = 0

  private constructor(private readonly path: string, expected: number) {
    this.index = new NameIndex(expected, 1)
    this.pending = Buffer.allocUnsafe(HEADER_BYTES + BLOCK_RECORDS * RECORD_BYTES)
  }

  /** Read the log in `dir` (none yet: empty). Throws only what reading the file throws, ENOENT aside. */
  static open(dir: string): ObjectTimes {
    const path = join(dir, OBJECTS_FILE)
    let fd: number
    try {
      fd = openSync(path, constants.O_RDONLY)
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return new ObjectTimes(path, 0)
      throw e
    }
    try {
      const size = fstatSync(fd).size
      // Room for every record at once: a log written anew has one a name, and a longer one
      // was about to be.
      const times = new ObjectTimes(path, Math.floor(size / RECORD_BYTES))
      times.load(fd, size)
      return times
    } finally {
      closeSync(fd)
    }
  }

  /** Remove the log in `dir`. */
  static clear(dir: string): void {
    rmSync(join(dir, OBJECTS_FILE), { force: true })
  }

  /**
   * Read the log a block at a time into one buffer (the size of the largest block), not whole:
   * a log of a million objects is 40 MB.
   */
  private load(fd: number, size: number): void {
    const header = Buffer.alloc(HEADER_BYTES)
    let block = Buffer.allocUnsafe(0)
    for (let at = 0; at + HEADER_BYTES <= size;) {
      if (readSync(fd, header, 0, HEADER_BYTES, at) !== HEADER_BYTES || header.readUInt32BE(0) !== MAGIC) break
      const count = header.readUInt32LE(4)
      const bytes = count * RECORD_BYTES
      if (count > BLOCK_RECORDS || at + HEADER_BYTES + bytes > size) break
      if (block.length < bytes) block = Buffer.allocUnsafe(BLOCK_RECORDS * RECORD_BYTES)
      const records = block.subarray(0, bytes)
      if (readSync(fd, records, 0, bytes, at + HEADER_BYTES) !== bytes || crc32(records) !== header.readUInt32LE(8)) break
      for (let r = 0; r < bytes; r += RECORD_BYTES) this.index.setMax(records, r, records.readDoubleLE(r + 32))
      this.logged += count
      at += HEADER_BYTES + bytes
    }
  }

  /** When this host last saw the object exist with a fresh last-use time (ms), or undefined. */
  touchedAt(hex: string): number | undefined {
    const e = this.index.find(hex)
    return e < 0 ? undefined : this.index.first(e)
  }

  /** Record that object `hex` had last-use time `when` (ms); appended in blocks. */
  record(hex: string, when: number): void {
    if (hex.length !== 64) return
    const at = HEADER_BYTES + this.pendingCount * RECORD_BYTES
    if (this.pending.write(hex, at, 32, 'hex') !== 32) return
    this.pending.writeDoubleLE(when, at + 32)
    this.index.setMax(this.pending, at, when)
    if (++this.pendingCount === BLOCK_RECORDS) this.flush()
  }

  /** Append the records gathered so far as one block. */
  flush(): void {
    if (this.pendingCount === 0) return
    const block = sealBlock(this.pending, this.pendingCount)
    const fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600)
    try {
      writeAll(fd, [block])
    } finally {
      closeSync(fd)
    }
    this.logged += this.pendingCount
    this.pendingCount = 0
  }

  /** Append what is gathered, and write the log anew when most of it is superseded records. */
  close(): void {
    this.flush()
    if (this.logged < COMPACT_MIN || this.logged <= 2 * this.index.size) return
    writeFileAtomicWith(this.path, fd => {
      const block = Buffer.allocUnsafe(HEADER_BYTES + BLOCK_RECORDS * RECORD_BYTES)
      let n = 0
      const put = (): void => {
        writeAll(fd, [sealBlock(block, n)])
        n = 0
      }
      for (const [name, when] of this.index.entries()) {
        name.copy(block, HEADER_BYTES + n * RECORD_BYTES)
        block.writeDoubleLE(when, HEADER_BYTES + n * RECORD_BYTES + 32)
        if (++n === BLOCK_RECORDS) put()
      }
      if (n > 0) put()
    })
    this.logged = this.index.size
  }
}

/** Fill in the header of a block of `n` records at the start of `buf`; the block's bytes. */
function sealBlock(buf: Buffer, n: number): Buffer {
  const end = HEADER_BYTES + n * RECORD_BYTES
  buf.writeUInt32BE(MAGIC, 0)
  buf.writeUInt32LE(n, 4)
  buf.writeUInt32LE(crc32(buf.subarray(HEADER_BYTES, end)), 8)
  return buf.subarray(0, end)
}
