// CRC-32 (ISO-HDLC, zlib's crc32) of the local cache's blocks and records, from the addon
// (native/tarshift-fs.c). Not node:zlib, which would be loaded for nothing else (`node -e`:
// 40.2 against 41.6 MB; in B's unchanged save, ~0.3 MB). Not JavaScript: its loop, run over
// the summaries an unchanged save reads, tiered up to TurboFan, whose code and zones took B's
// unchanged save from 55.0 to 58.8 MB peak RSS (3 runs each).
import { native } from '../fs/native.js'

/** zlib.crc32(bytes): the CRC-32 of `bytes`, an unsigned 32-bit number. */
export function crc32(bytes: Uint8Array): number {
  return native.crc32(bytes)
}
