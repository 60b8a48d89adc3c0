// lib/restore/tar-fields.ts owns the byte encoding of single header fields: zero-padded octal
// (width-1 digits and a NUL, as GNU tar writes them), GNU base-256 for values octal cannot hold
// (large or negative), byte strings, and the header checksum. Pure functions on a 512-byte block.

export const BLOCK = 512

/** Whole seconds, rounded down (-1.5 s is -2), as a header's mtime field holds them. */
export function floorSeconds(ns: bigint): bigint {
  const s = ns / 1_000_000_000n
  return ns < 0n && s * 1_000_000_000n !== ns ? s - 1n : s
}

/** Largest value an octal field of `width` bytes holds (width-1 digits then a NUL). */
const MAX_OCTAL: bigint[] = Array.from({ length: 16 }, (_, w) => (w === 0 ? 0n : 8n ** BigInt(w - 1) - 1n))

/** Largest value an octal field of `width` bytes (NUL-terminated) holds; precomputed: hot path. */
export function maxOctal(width: number): bigint {
  return MAX_OCTAL[width] ?? 8n ** BigInt(width - 1) - 1n
}

export function fitsOctal(value: bigint, width: number): boolean {
  return value >= 0n && value <= maxOctal(width)
}

/** Base-256 keeps a marker byte (0x80 positive, 0xff negative) and width-1 bytes of two's complement. */
export function fitsBase256(value: bigint, width: number): boolean {
  const limit = 1n << BigInt(8 * (width - 1))
  return value >= -limit && value < limit
}

export function writeOctal(block: Buffer, offset: number, width: number, value: bigint): void {
  if (!fitsOctal(value, width)) throw new RangeError(`${value} does not fit an octal field of ${width} bytes`)
  // Digit by digit on a number (every octal field's maximum, 8^15 - 1, is below 2^53): several
  // fields in every header, and string formatting was a tenth of a restore's time.
  let v = Number(value)
  for (let i = offset + width - 2; i >= offset; i--) {
    block[i] = 0x30 + (v & 7)
    v = Math.floor(v / 8)
  }
  block[offset + width - 1] = 0
}

export function writeBase256(block: Buffer, offset: number, width: number, value: bigint): void {
  if (!fitsBase256(value, width)) throw new RangeError(`${value} does not fit a base-256 field of ${width} bytes`)
  let v = BigInt.asUintN(8 * (width - 1), value)
  for (let i = width - 1; i >= 1; i--) {
    block[offset + i] = Number(v & 0xffn)
    v >>= 8n
  }
  block[offset] = value < 0n ? 0xff : 0x80
}

/** Octal when it fits, else base-256 (GNU format only: callers decide whether that is allowed). */
export function writeNumeric(block: Buffer, offset: number, width: number, value: bigint): void {
  if (fitsOctal(value, width)) writeOctal(block, offset, width, value)
  else writeBase256(block, offset, width, value)
}

/** Copy bytes into a field; the rest of the field stays zero. A full field needs no NUL. */
export function writeBytes(block: Buffer, offset: number, width: number, bytes: Buffer): void {
  if (bytes.length > width) throw new RangeError(`${bytes.length} bytes do not fit a field of ${width}`)
  bytes.copy(block, offset)
}

const CHKSUM_OFFSET = 148
const CHKSUM_WIDTH = 8

/**
 * Sum of the header bytes at block[at .. at + 512), the checksum field counted as eight spaces, written as six octal
 * digits, a NUL and a space (what GNU tar writes). Returns the sum.
 */
export function writeChecksum(block: Buffer, at = 0): number {
  const field = at + CHKSUM_OFFSET
  block.fill(0x20, field, field + CHKSUM_WIDTH)
  let sum = 0
  for (let i = at; i < at + BLOCK; i++) sum += block[i] as number
  for (let i = field + 5, v = sum; i >= field; i--, v >>>= 3) block[i] = 0x30 + (v & 7)
  block[field + 6] = 0
  block[field + 7] = 0x20
  return sum
}
