// lib/chunker owns content-defined chunking: pure bytes in, cut points out; no I/O.
// This file: FastCDC (Xia et al., USENIX ATC 2016) with normalized chunking, level 2.
//
// The cut rule, which is part of the on-disk format (DESIGN.md §2; golden values in
// tests/chunker/fastcdc.test.ts). For a chunk starting at byte 0 of the data that remains,
// with n bytes remaining (n = all of it, at the end of the input):
//   - if n <= min, the chunk is the n bytes;
//   - otherwise h = 0 and for k = min, min+1, ... while k < min(n, max):
//       h = (h << 1) + gear[byte k]                      (unsigned 32-bit, mod 2^32)
//       mask = k < avg ? maskS : maskL
//       if (h & mask) == 0: the chunk is bytes 0..k inclusive (length k + 1), stop
//   - if no k qualifies the chunk is min(n, max) bytes.
// The first `min` bytes of a chunk are never hashed. With b = log2(avg), maskS has the top
// b + 2 bits of the 32 set (cuts 4x rarer than 1/avg before the average size) and maskL the
// top b - 2 bits (4x likelier after it), which pulls chunk sizes towards avg. Top bits are the
// ones that depend on the most bytes: bit 31 of h depends on the last 32 bytes.
import { UsageError } from '../errors.js'
import { gearTable } from './gear-table.js'
import { carriedHash, gearScan } from './gear-scan.js'

export interface ChunkerParams {
  /** No chunk but the last is shorter than this (bytes). */
  min: number
  /** The normal (target) chunk size; a power of two. */
  avg: number
  /** No chunk is longer than this. */
  max: number
  /** Seed of the gear table (gear-table.ts), an unsigned 32-bit integer. */
  seed: number
}

/**
 * The defaults written into tarshift.json at init: 512 KiB average (doc/format.md, "Divergences":
 * DESIGN.md's 2 MiB deduplicated VM-image-like data 14% worse than restic's 1 MiB).
 */
export const DEFAULT_CHUNKER: Readonly<ChunkerParams> = Object.freeze({
  min: 128 * 1024,
  avg: 512 * 1024,
  max: 2 * 1024 * 1024,
  seed: 0x74617273, // "tars"
})

/** Bounds that keep every position and mask inside 32-bit integer arithmetic. */
export const CHUNKER_LIMITS = Object.freeze({ minMin: 64, maxMax: 1024 * 1024 * 1024 })

/** Throws a UsageError saying what is wrong unless `p` are usable chunker parameters. */
export function validateParams(p: ChunkerParams): void {
  const bad = (why: string): never => {
    throw new UsageError(`invalid chunker parameters (min ${p.min}, avg ${p.avg}, max ${p.max}, seed ${p.seed}): ${why}`)
  }
  for (const k of ['min', 'avg', 'max'] as const) {
    if (!Number.isSafeInteger(p[k])) bad(`${k} must be an integer`)
  }
  if (!Number.isInteger(p.seed) || p.seed < 0 || p.seed > 0xffffffff) bad('seed must be an unsigned 32-bit integer')
  if (p.min < CHUNKER_LIMITS.minMin) bad(`min must be at least ${CHUNKER_LIMITS.minMin}`)
  if (!(p.min < p.avg && p.avg < p.max)) bad('need min < avg < max')
  if (p.max > CHUNKER_LIMITS.maxMax) bad(`max must be at most ${CHUNKER_LIMITS.maxMax}`)
  if ((p.avg & (p.avg - 1)) !== 0) bad('avg must be a power of two')
}

/** Where a chunk that is still open stands: used to resume scanning when more data comes. */
export interface CutState {
  /** How many bytes of the current chunk have been scanned. */
  pos: number
  /** The gear hash after those bytes (int32); 0 while pos <= min. */
  hash: number
}

/** The top `bits` bits of a 32-bit word, as an int32. */
function topBits(bits: number): number {
  return bits >= 32 ? -1 : (((1 << bits) - 1) << (32 - bits)) | 0
}

export class FastCdc {
  readonly params: Readonly<ChunkerParams>
  readonly maskS: number
  readonly maskL: number
  private readonly gear: Int32Array
  private readonly scratch: CutState = { pos: 0, hash: 0 }

  constructor(p: ChunkerParams) {
    validateParams(p)
    this.params = Object.freeze({ min: p.min, avg: p.avg, max: p.max, seed: p.seed })
    const bits = Math.log2(p.avg)
    this.maskS = topBits(bits + 2)
    this.maskL = topBits(bits - 2)
    this.gear = new Int32Array(gearTable(p.seed).buffer)
  }

  /**
   * The length of the next chunk starting at buf[start], given that buf[start..end) is all the
   * data available. If `final` is false and no cut point was found before `end` and
   * end - start < max, returns -1: more data is needed to decide. With `final` the rest of the
   * data is the last chunk if no cut point comes first (0 when start === end).
   */
  nextCut(buf: Uint8Array, start: number, end: number, final: boolean): number {
    const n = end - start
    if (n <= 0) return final ? 0 : -1
    if (n <= this.params.min) return final ? n : -1
    const s = this.scratch
    s.pos = 0
    s.hash = 0
    const at = this.resume(s, buf, start, end)
    if (at >= 0) return at - start
    return final ? n : -1
  }

  /**
   * Scan buf[from..to) as the continuation of the open chunk described by `state` (byte
   * `from` is byte state.pos of the chunk). Returns the index in `buf` just past the chunk's
   * last byte when the chunk ends inside the range (state is then reset for the next chunk,
   * which starts at that index); otherwise returns -1 and updates `state`, so that feeding the
   * following bytes, in pieces of any size, gives the same cut points as one nextCut over all
   * of them. The end of the input is not a cut: at the end, the open chunk is the last chunk.
   */
  resume(state: CutState, buf: Uint8Array, from: number, to: number): number {
    const { min, avg, max } = this.params
    let pos = state.pos
    let end = to
    if (end - from > max - pos) end = from + (max - pos)
    let i = from
    let h = state.hash
    if (pos < min) {
      i = Math.min(end, from + (min - pos))
      h = 0
    }
    // Chunk positions [min, avg) with maskS, then [avg, max) with maskL.
    const normal = Math.min(end, from + (avg - pos))
    if (i < normal) {
      const at = gearScan(buf, i, normal, h, this.maskS, this.gear)
      if (at >= 0) return this.reset(state, at)
      h = carriedHash()
      i = normal
    }
    if (i < end) {
      const at = gearScan(buf, i, end, h, this.maskL, this.gear)
      if (at >= 0) return this.reset(state, at)
      h = carriedHash()
    }
    pos += end - from
    if (pos >= max) return this.reset(state, end)
    state.pos = pos
    state.hash = h
    return -1
  }

  private reset(state: CutState, at: number): number {
    state.pos = 0
    state.hash = 0
    return at
  }
}

/** The chunk lengths for a whole buffer, in order; they sum to buf.length. */
export function chunkBuffer(buf: Uint8Array, p: ChunkerParams): number[] {
  const cdc = new FastCdc(p)
  const lengths: number[] = []
  for (let start = 0; start < buf.length;) {
    const n = cdc.nextCut(buf, start, buf.length, true)
    lengths.push(n)
    start += n
  }
  return lengths
}
