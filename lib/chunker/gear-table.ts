// lib/chunker owns content-defined chunking: pure bytes in, cut points out; no I/O.
// This file: the gear table, 256 pseudo-random 32-bit values derived from the seed stored in
// tarshift.json. It is part of the on-disk format (DESIGN.md §2): a different table gives
// different cut points and so breaks deduplication against every existing savedir.

/**
 * The 256 gear values for `seed` (an unsigned 32-bit integer).
 *
 * Exact algorithm (a splitmix32-style generator: a Weyl sequence fed through the two-round
 * integer hash [16 21f0aaad 15 735a2d97 15] from Chris Wellons' hash-prospector). All
 * arithmetic is on unsigned 32-bit integers, i.e. modulo 2^32; `>>` is a logical shift:
 *
 *     state = seed
 *     for i = 0 .. 255:
 *       state = state + 0x9E3779B9
 *       z = state
 *       z = (z ^ (z >> 16)) * 0x21F0AAAD
 *       z = (z ^ (z >> 15)) * 0x735A2D97
 *       z =  z ^ (z >> 15)
 *       gear[i] = z
 *
 * For seed 0x74617273 (DEFAULT_CHUNKER) the table starts 0x19852457, 0x3000caec, ... (pinned in
 * tests/chunker/gear-table.test.ts). Never change this function: write a new one instead.
 */
export function gearTable(seed: number): Uint32Array {
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) {
    throw new RangeError(`gear table seed must be an unsigned 32-bit integer, got ${seed}`)
  }
  const gear = new Uint32Array(256)
  let state = seed | 0
  for (let i = 0; i < 256; i++) {
    state = (state + 0x9e3779b9) | 0
    let z = state
    z = Math.imul(z ^ (z >>> 16), 0x21f0aaad)
    z = Math.imul(z ^ (z >>> 15), 0x735a2d97)
    z = z ^ (z >>> 15)
    gear[i] = z >>> 0
  }
  return gear
}
