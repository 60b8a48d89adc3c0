// lib/chunker owns content-defined chunking: pure bytes in, cut points out. It does no I/O,
// keeps no state beyond one open chunk, and knows nothing of files, objects or the savedir.
//   gear-table.ts      the seeded gear table (on-disk format)
//   fastcdc.ts         the FastCDC cut rule, parameters and their validation (on-disk format)
//   gear-scan.ts       the hot loop that rolls the gear hash
//   stream-chunker.ts  pieces of a stream in, independent chunk buffers out
export { gearTable } from './gear-table.js'
export { FastCdc, chunkBuffer, validateParams, DEFAULT_CHUNKER, CHUNKER_LIMITS, type ChunkerParams, type CutState } from './fastcdc.js'
export { StreamChunker } from './stream-chunker.js'
