// lib/chunker owns content-defined chunking: pure bytes in, cut points out; no I/O.
// This file: the hot loop. It rolls the gear hash over a byte range and stops at the first
// position whose hash has all `mask` bits clear. Nothing else; fastcdc.ts decides the ranges
// and masks.
//
// Speed (doc/performance.md): a plain loop `h = (h << 1) + gear[buf[i]]` runs at ~0.8-0.9 GB/s
// on this machine kind, bounded by one bounds-checked Uint8Array load per byte. Reading the
// bytes four at a time through a Uint32Array view of the same memory, eight bytes an iteration,
// roughly doubles that (~2 GB/s). The word loop needs little-endian word order (every platform
// Node runs on in practice); on a big-endian host the byte loop is used. Both give identical
// results: tests compare them against a naive reference at every alignment.

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1

/** Below this many bytes the alignment work of the word loop is not worth it. */
const WORD_LOOP_MIN = 64

let carried = 0

/** The hash at the end of the range after the last gearScan call that returned -1. */
export function carriedHash(): number {
  return carried
}

/**
 * Roll the gear hash over buf[from..to), starting from `hash` (an int32):
 * for each byte b, hash = (hash << 1) + gear[b] (mod 2^32); stop after the first byte where
 * (hash & mask) === 0 and return the index just past it. Returns -1 when no byte in the range
 * qualifies; carriedHash() then gives the hash after buf[to - 1], to resume with.
 * `gear` is the gear table viewed as int32.
 */
export function gearScan(buf: Uint8Array, from: number, to: number, hash: number, mask: number,
  gear: Int32Array): number {
  if (LITTLE_ENDIAN && to - from >= WORD_LOOP_MIN) return wordScan(buf, from, to, hash | 0, mask | 0, gear)
  return byteScan(buf, from, to, hash | 0, mask | 0, gear)
}

function byteScan(buf: Uint8Array, i: number, to: number, h: number, m: number, g: Int32Array): number {
  for (; i < to; i++) {
    h = (h << 1) + (g[buf[i] as number] as number) | 0
    if ((h & m) === 0) return i + 1
  }
  carried = h
  return -1
}

function wordScan(buf: Uint8Array, i: number, to: number, h: number, m: number, g: Int32Array): number {
  const off = buf.byteOffset
  // Bytes up to the first 8-byte boundary of the underlying memory.
  while (((off + i) & 7) !== 0) {
    h = (h << 1) + (g[buf[i] as number] as number) | 0
    i++
    if ((h & m) === 0) return i
  }
  // A word view of the whole underlying memory (not cached: a cache would keep a big buffer alive).
  const u32 = new Uint32Array(buf.buffer, 0, Math.floor(buf.buffer.byteLength / 4))
  let j = (off + i) / 4
  const jEnd = Math.floor((off + to) / 8) * 2
  // The `as number` casts are for noUncheckedIndexedAccess: j < jEnd <= u32.length and bytes
  // index a 256-entry table, so no load here is out of range.
  for (; j < jEnd; j += 2) {
    let w = u32[j] as number
    h = (h << 1) + (g[w & 255] as number) | 0
    if ((h & m) === 0) return j * 4 - off + 1
    h = (h << 1) + (g[(w >>> 8) & 255] as number) | 0
    if ((h & m) === 0) return j * 4 - off + 2
    h = (h << 1) + (g[(w >>> 16) & 255] as number) | 0
    if ((h & m) === 0) return j * 4 - off + 3
    h = (h << 1) + (g[w >>> 24] as number) | 0
    if ((h & m) === 0) return j * 4 - off + 4
    w = u32[j + 1] as number
    h = (h << 1) + (g[w & 255] as number) | 0
    if ((h & m) === 0) return j * 4 - off + 5
    h = (h << 1) + (g[(w >>> 8) & 255] as number) | 0
    if ((h & m) === 0) return j * 4 - off + 6
    h = (h << 1) + (g[(w >>> 16) & 255] as number) | 0
    if ((h & m) === 0) return j * 4 - off + 7
    h = (h << 1) + (g[w >>> 24] as number) | 0
    if ((h & m) === 0) return j * 4 - off + 8
  }
  return byteScan(buf, j * 4 - off, to, h, m, g)
}
