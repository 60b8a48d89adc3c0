// Decoding a tree's bytes straight into entries, for the encodings tarshift writes (msgpack, the
// key order and the number forms of tree-codec.ts's toWire and msgpackr): an unchanged save
// decodes every reference tree, and msgpackr's generic unpacking into wire objects, then
// copying them into entries, took a sixth of its main thread. Anything else this reader does
// not expect (another header, a type it does not read, a missing field, a value of the wrong
// type) makes it give up, and decodeTree then goes the generic way, which accepts or rejects
// exactly as before: this file only ever answers with what the generic way would.
import { EntryType, type ChunkRef, type Entry, type Timespec } from './entry.js'

/** Thrown inside: this reader does not take this encoding (the caller decodes generically). */
class NotFast extends Error {}
const NOT_FAST = new NotFast()

/** The keys of an entry (toWire's), as Reader.key() gives them. */
const k1 = (s: string): number => s.charCodeAt(0)
const k2 = (s: string): number => (s.charCodeAt(0) << 8) | s.charCodeAt(1)
const K_N = k1('n'), K_T = k1('t'), K_M = k1('m'), K_U = k1('u'), K_G = k1('g'), K_S = k1('s'), K_I = k1('i')
const K_L = k1('l'), K_X = k1('x'), K_K = k1('k'), K_D = k1('d'), K_C = k1('c'), K_H = k1('h'), K_R = k1('r')
const K_UN = k2('un'), K_GN = k2('gn'), K_MT = k2('mt'), K_CT = k2('ct'), K_AT = k2('at'), K_RD = k2('rd')

/** The header of every tree tarshift writes: a map of two, "v": 1, "e": (the entries' array). */
const HEADER = [0x82, 0xa1, 0x76, 0x01, 0xa1, 0x65]

/** The entries of a tree, or null when this reader does not take its encoding. */
export function decodeTreeFast(b: Buffer): Entry[] | null {
  return taken(() => new Reader(b).tree())
}

/** What `read` gives, or null when the reader gave up on the encoding (NOT_FAST). */
function taken<T>(read: () => T): T | null {
  try {
    return read()
  } catch (e) {
    if (e === NOT_FAST) return null
    throw e
  }
}

/**
 * Where the inline data values longer than `over` bytes are in a tree's bytes: the start of
 * each (its bin header), the start of its bytes and their end, in order; null when this reader
 * does not take the encoding. How a tree summary is cut from a tree (tree-summary.ts). Only
 * data as long as its entry's size (`s`, before `d` in every entry tarshift writes) is taken:
 * inline data is the whole file, and a summary tells a digest from data by that size.
 */
export function inlineDataRanges(b: Buffer, over: number): Array<[number, number, number]> | null {
  return taken(() => new Reader(b).dataRanges(over, false))
}

/**
 * In a tree summary's bytes (after its first byte), the same ranges for the digests that stand
 * for data longer than `over` bytes: inline data 32 bytes long in an entry whose size is over
 * `over` (data that long is never a digest). Null when this reader does not take the encoding.
 */
export function digestRanges(b: Buffer, over: number): Array<[number, number, number]> | null {
  return taken(() => new Reader(b).dataRanges(over, true))
}

class Reader {
  private p = 0
  constructor(private readonly b: Buffer) {}

  tree(): Entry[] {
    const b = this.b
    if (b.length < HEADER.length + 1) throw NOT_FAST
    for (let i = 0; i < HEADER.length; i++) if (b[i] !== HEADER[i]) throw NOT_FAST
    this.p = HEADER.length
    const n = this.arrayLength()
    const out: Entry[] = new Array(n)
    for (let i = 0; i < n; i++) out[i] = this.entry()
    if (this.p !== b.length) throw NOT_FAST
    return out
  }

  dataRanges(over: number, digests: boolean): Array<[number, number, number]> {
    const b = this.b
    if (b.length < HEADER.length + 1) throw NOT_FAST
    for (let i = 0; i < HEADER.length; i++) if (b[i] !== HEADER[i]) throw NOT_FAST
    this.p = HEADER.length
    const out: Array<[number, number, number]> = []
    for (let n = this.arrayLength(); n > 0; n--) {
      let size = -1
      for (let k = this.mapLength(); k > 0; k--) {
        const key = this.key()
        if (key === K_S) {
          size = this.num()
          continue
        }
        if (key !== K_D) {
          this.skip()
          continue
        }
        const start = this.p
        const len = this.binLength()
        if (len < 0) throw NOT_FAST
        const bytes = this.p
        this.p += len
        if (digests ? len === 32 && size > over : len > over && len === size) out.push([start, bytes, this.p])
      }
    }
    if (this.p !== b.length) throw NOT_FAST
    return out
  }

  private byte(): number {
    const v = this.b[this.p++]
    if (v === undefined) throw NOT_FAST
    return v
  }

  private need(n: number): void {
    if (this.p + n > this.b.length) throw NOT_FAST
  }

  private arrayLength(): number {
    return this.lengthOf(0x90, 0xdc)
  }

  private mapLength(): number {
    return this.lengthOf(0x80, 0xde)
  }

  /** A container's length: fix form `fix`..`fix` + 15, or 16/32-bit form at `t16`, `t16` + 1. */
  private lengthOf(fix: number, t16: number): number {
    const t = this.byte()
    if (t >= fix && t <= fix + 0x0f) return t & 0x0f
    if (t === t16) { this.need(2); const n = this.b.readUInt16BE(this.p); this.p += 2; return n }
    if (t === t16 + 1) { this.need(4); const n = this.b.readUInt32BE(this.p); this.p += 4; return n }
    throw NOT_FAST
  }

  /** A number as msgpackr writes integers (fixint, uint/int 8-32, float64 beyond 32 bits). */
  // (float32 and 64-bit integers are left to msgpackr: tarshift never writes them.)
  private num(): number {
    const b = this.b
    const t = this.byte()
    if (t <= 0x7f) return t
    if (t >= 0xe0) return t - 0x100
    let v: number
    switch (t) {
      case 0xcc: this.need(1); v = b[this.p] as number; this.p += 1; return v
      case 0xcd: this.need(2); v = b.readUInt16BE(this.p); this.p += 2; return v
      case 0xce: this.need(4); v = b.readUInt32BE(this.p); this.p += 4; return v
      case 0xd0: this.need(1); v = b.readInt8(this.p); this.p += 1; return v
      case 0xd1: this.need(2); v = b.readInt16BE(this.p); this.p += 2; return v
      case 0xd2: this.need(4); v = b.readInt32BE(this.p); this.p += 4; return v
      case 0xcb: this.need(8); v = b.readDoubleBE(this.p); this.p += 8; break
      default: throw NOT_FAST
    }
    if (!Number.isFinite(v)) throw NOT_FAST
    return v
  }

  /** The length of a bin at p (moved past its header), or -1 when the value there is not one. */
  private binLength(): number {
    const t = this.b[this.p]
    let n: number
    if (t === 0xc4) { this.need(2); n = this.b[this.p + 1] as number; this.p += 2 } else if (t === 0xc5) { this.need(3); n = this.b.readUInt16BE(this.p + 1); this.p += 3 } else if (t === 0xc6) { this.need(5); n = this.b.readUInt32BE(this.p + 1); this.p += 5 } else return -1
    this.need(n)
    return n
  }

  private bin(): Buffer {
    const n = this.binLength()
    if (n < 0) throw NOT_FAST
    const v = this.b.subarray(this.p, this.p + n)
    this.p += n
    return v
  }

  /** The length of a str at p (moved past its header), or -1 when the value there is not one. */
  private strLength(): number {
    const t = this.b[this.p]
    if (t === undefined) throw NOT_FAST
    let n: number
    if (t >= 0xa0 && t <= 0xbf) { n = t & 0x1f; this.p += 1 } else if (t === 0xd9) { this.need(2); n = this.b[this.p + 1] as number; this.p += 2 } else if (t === 0xda) { this.need(3); n = this.b.readUInt16BE(this.p + 1); this.p += 3 } else if (t === 0xdb) { this.need(5); n = this.b.readUInt32BE(this.p + 1); this.p += 5 } else return -1
    this.need(n)
    return n
  }

  /** A str of ASCII bytes (names, decimal inode numbers); any other byte: not taken here. */
  private ascii(n: number): string {
    const b = this.b
    for (let i = this.p; i < this.p + n; i++) if ((b[i] as number) >= 0x80) throw NOT_FAST
    const s = b.toString('latin1', this.p, this.p + n)
    this.p += n
    return s
  }

  /** A str if there is one at p (moved past it), else undefined and p moved past the value. */
  private strOrSkip(): string | undefined {
    const n = this.strLength()
    if (n >= 0) return this.ascii(n)
    this.skip()
    return undefined
  }

  private pair(): Timespec {
    if (this.byte() !== 0x92) throw NOT_FAST
    return [this.num(), this.num()]
  }

  /** Move past one value of the types this reader knows. */
  private skip(): void {
    const t = this.b[this.p]
    if (t === undefined) throw NOT_FAST
    if (t <= 0x7f || t >= 0xe0 || (t >= 0xcb && t <= 0xd2 && t !== 0xcf)) { this.num(); return }
    if (t === 0xc0 || t === 0xc2 || t === 0xc3) { this.p++; return }
    let n = this.binLength()
    if (n < 0) n = this.strLength()
    if (n >= 0) { this.p += n; return }
    if ((t >= 0x90 && t <= 0x9f) || t === 0xdc || t === 0xdd) {
      for (let i = this.arrayLength(); i > 0; i--) this.skip()
      return
    }
    if ((t >= 0x80 && t <= 0x8f) || t === 0xde || t === 0xdf) {
      for (let i = this.mapLength(); i > 0; i--) { this.skip(); this.skip() }
      return
    }
    throw NOT_FAST
  }

  /**
   * A map key, as a number (no string made): a fixstr of one or two bytes is its bytes (two:
   * first << 8 | second); any other key is 0, and is skipped with its value.
   */
  private key(): number {
    const t = this.byte()
    if (t < 0xa0 || t > 0xbf) throw NOT_FAST
    const n = t & 0x1f
    this.need(n)
    const b = this.b
    const at = this.p
    this.p += n
    if (n === 1) return b[at] as number
    if (n === 2) return ((b[at] as number) << 8) | (b[at + 1] as number)
    return 0
  }

  private entry(): Entry {
    let name: Buffer | undefined
    let type: number | undefined
    let mode: number | undefined
    let uid: number | undefined
    let gid: number | undefined
    let size: number | undefined
    let mtime: Timespec | undefined
    let ctime: Timespec | undefined
    let ino: number | string | undefined
    let uname: string | undefined
    let gname: string | undefined
    let atime: Timespec | undefined
    let rdev: [number, number] | undefined
    let target: Buffer | undefined
    let xattrs: Array<[Buffer, Buffer]> | undefined
    let link: Buffer | undefined
    let data: Buffer | undefined
    let chunks: ChunkRef[] | undefined
    let tree: Buffer | undefined
    let racy = false
    for (let k = this.mapLength(); k > 0; k--) {
      switch (this.key()) {
        case K_N: name = this.bin(); break
        case K_T: type = this.num(); break
        case K_M: mode = this.num(); break
        case K_U: uid = this.num(); break
        case K_G: gid = this.num(); break
        case K_UN: uname = this.strOrSkip(); break
        case K_GN: gname = this.strOrSkip(); break
        case K_S: size = this.num(); break
        case K_MT: mtime = this.pair(); break
        case K_CT: ctime = this.pair(); break
        case K_AT: atime = this.pair(); break
        case K_I: {
          const n = this.strLength()
          ino = n >= 0 ? this.ascii(n) : this.num()
          break
        }
        case K_RD: rdev = this.pair(); break
        case K_L: target = this.bin(); break
        case K_X: {
          const list: Array<[Buffer, Buffer]> = []
          for (let i = this.arrayLength(); i > 0; i--) {
            if (this.byte() !== 0x92) throw NOT_FAST
            list.push([this.bin(), this.bin()])
          }
          xattrs = list
          break
        }
        case K_K: link = this.bin(); break
        case K_D: data = this.bin(); break
        case K_C: {
          const list: ChunkRef[] = []
          for (let i = this.arrayLength(); i > 0; i--) {
            const t = this.byte()
            if (t !== 0x92 && t !== 0x93) throw NOT_FAST
            const hash = this.bin()
            const length = this.num()
            list.push(t === 0x92 ? { hash, length } : { hash, length, offset: this.num() })
          }
          chunks = list
          break
        }
        case K_H: tree = this.bin(); break
        case K_R: racy = this.b[this.p] === 0xc3; this.skip(); break
        default: this.skip()
      }
    }
    if (name === undefined || type === undefined || mode === undefined || uid === undefined || gid === undefined ||
      size === undefined || mtime === undefined || ctime === undefined || ino === undefined) throw NOT_FAST
    if (type < EntryType.File || type > EntryType.Fifo) throw NOT_FAST
    // The same properties in the same order as the generic decoding (tree-codec.ts fromWire).
    const e: Entry = { name, type, mode, uid, gid, size, mtime, ctime, ino }
    if (uname !== undefined) e.uname = uname
    if (gname !== undefined) e.gname = gname
    if (atime !== undefined) e.atime = atime
    if (rdev !== undefined) e.rdev = rdev
    if (target !== undefined) e.target = target
    if (xattrs !== undefined) e.xattrs = xattrs
    if (link !== undefined) e.link = link
    if (data !== undefined) e.data = data
    if (chunks !== undefined) e.chunks = chunks
    if (tree !== undefined) e.tree = tree
    if (racy) e.racy = true
    return e
  }
}
