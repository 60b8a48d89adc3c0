// Preload (node --import): count messages the main thread posts to workers, by op, and the
// bytes structured clone has to copy (whole backing ArrayBuffers of Buffer views).
//   node --import ./benchmarks/probes/count-messages.mjs bin/tarshift save ...   (doc/performance.md, "Where the time goes")
import { Worker, isMainThread } from 'node:worker_threads'
if (isMainThread) {
  const stats = {}
  const orig = Worker.prototype.postMessage
  Worker.prototype.postMessage = function (m, t) {
    const s = (stats[m?.op ?? '?'] ??= { n: 0, viewBytes: 0, clonedBytes: 0, hashes: 0 })
    s.n++
    if (m?.data?.buffer) { s.viewBytes += m.data.byteLength; s.clonedBytes += m.data.buffer.byteLength }
    if (m?.hashes) s.hashes += m.hashes.length
    return orig.call(this, m, t)
  }
  process.on('exit', () => process.stderr.write('messages: ' + JSON.stringify(stats) + '\n'))
}
