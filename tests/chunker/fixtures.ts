// Deterministic test data for the chunker tests. The golden values in fastcdc.test.ts were
// computed over exactly these bytes: never change this generator.
import { createHash } from 'node:crypto'

/**
 * `size` pseudo-random bytes from `seed`: mulberry32 words (Tommy Ettinger's generator),
 * written little-endian; a final partial word keeps its low bytes.
 */
export function testData(size: number, seed: number): Buffer {
  const out = Buffer.allocUnsafeSlow(size)
  let a = seed | 0
  for (let i = 0; i < size; i += 4) {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    t = (t ^ (t >>> 14)) >>> 0
    if (i + 4 <= size) out.writeUInt32LE(t, i)
    else for (let k = 0; i + k < size; k++) out[i + k] = (t >>> (8 * k)) & 255
  }
  return out
}

export function sha256hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** The SHA-256 of each chunk of `buf` cut at `lengths`. */
export function chunkHashes(buf: Uint8Array, lengths: readonly number[]): string[] {
  const out: string[] = []
  let at = 0
  for (const n of lengths) {
    out.push(sha256hex(buf.subarray(at, at + n)))
    at += n
  }
  return out
}

export const MiB = 1024 * 1024
export const KiB = 1024
