// What the read-ahead's reader thread read of a window's entries ahead of the save (native/
// read-ahead.c, "pre-reading"): small files' whole contents with the fstat after reading,
// symlink targets, extended attributes. The save uses each instead of its own calls; where the
// reader left something out (an error, a file that changed while read), the save does it.
import { decodeStats, STAT_SLOTS, type FileStat, type LstatFailure } from '../fs/file-stat.js'
import type { ReadOutcome } from './file-reader.js'

/** Numbers per entry (native/read-ahead.c, PRE_SLOTS). */
const SLOTS = 5 + STAT_SLOTS
const READ_CONTENTS = 1
const READ_TARGET = 2

export class PreRead {
  /** `slots`: SLOTS numbers per entry of the window; `data`: the bytes they point into. */
  constructor(private readonly slots: Float64Array, private readonly data: Buffer) {
    if (slots.length % SLOTS !== 0) throw new Error('internal: pre-read slots of a wrong length')
  }

  /**
   * Entry k's contents as readSourceFile would have returned them (read whole, stable), or
   * null: not read ahead. The data is a view of the window's buffer, which its directory's
   * tree holds until it is written; a hardlinked file's is a copy, kept for the rest of the
   * save (HardlinkIndex) without holding the whole window.
   */
  contents(k: number): ReadOutcome | null {
    const o = k * SLOTS
    if (this.slots[o] !== READ_CONTENTS) return null
    const at = this.slots[o + 1] as number
    const n = this.slots[o + 2] as number
    const stat = decodeStats(this.slots.subarray(o + 5, o + SLOTS), 1)[0] as FileStat | LstatFailure
    if (!('mode' in stat)) return null
    const view = this.data.subarray(at, at + n)
    return {
      content: n === 0 ? { kind: 'empty' } : { kind: 'inline', data: stat.nlink > 1 ? Buffer.from(view) : view },
      stat,
      bytesRead: n,
      size: n,
      unstable: false,
    }
  }

  /** Entry k's symlink target (a copy), or null: not read ahead. */
  target(k: number): Buffer | null {
    const o = k * SLOTS
    if (this.slots[o] !== READ_TARGET) return null
    const at = this.slots[o + 1] as number
    return Buffer.from(this.data.subarray(at, at + (this.slots[o + 2] as number)))
  }

  /** Entry k's extended attributes (copies, in the kernel's order), or null: not read ahead. */
  xattrs(k: number): Array<[Buffer, Buffer]> | null {
    const o = k * SLOTS
    const start = this.slots[o + 3] as number
    if (start < 0) return null
    const end = start + (this.slots[o + 4] as number)
    const out: Array<[Buffer, Buffer]> = []
    for (let at = start; at < end;) {
      const nl = this.data.readUInt32LE(at)
      const name = Buffer.from(this.data.subarray(at + 4, at + 4 + nl))
      at += 4 + nl
      const vl = this.data.readUInt32LE(at)
      out.push([name, Buffer.from(this.data.subarray(at + 4, at + 4 + vl))])
      at += 4 + vl
    }
    return out
  }
}
