// Preload (node --import), experiment only: post an exact-size copy of each message's `data`
// view and transfer it, instead of letting structured clone copy the whole backing
// ArrayBuffer (msgpackr's reused multi-MB buffer for trees).
//   node --import ./benchmarks/probes/exact-copy.mjs bin/tarshift save ...   (doc/performance.md, "Where the time goes")
import { Worker, isMainThread } from 'node:worker_threads'
if (isMainThread) {
  const orig = Worker.prototype.postMessage
  Worker.prototype.postMessage = function (m, t) {
    if (m?.data?.buffer && m.data.byteLength !== m.data.buffer.byteLength) {
      const copy = new Uint8Array(m.data) // exact, unpooled
      m = { ...m, data: copy }
      t = [...(t ?? []), copy.buffer]
    }
    return orig.call(this, m, t)
  }
}
