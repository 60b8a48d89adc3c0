// Preload (node --import), experiment only: the save's file reader allocates a fresh 4 MiB
// read buffer for every file it reads (Buffer.allocUnsafe(4 MiB): unpooled, so a new
// ArrayBuffer, page faults and GC pressure each time). StreamChunker.push does not retain its
// input, so one buffer could serve the whole save: hand out the same one.
//   node --import ./benchmarks/probes/reuse-read-buffer.mjs bin/tarshift save ...   (doc/performance.md, "Where the time goes")
import { isMainThread } from 'node:worker_threads'
if (isMainThread) {
  const READ_BLOCK = 4 * 1024 * 1024
  const orig = Buffer.allocUnsafe
  let cached = null
  Buffer.allocUnsafe = function (n) {
    if (n === READ_BLOCK) return (cached ??= orig.call(Buffer, n))
    return orig.call(Buffer, n)
  }
}
