// Cost of posting a small Buffer that is a view into msgpackr's reused (grown) buffer, against
// an exact-size copy: structured clone copies a view's whole backing ArrayBuffer.
//   node benchmarks/probes/clone-cost.mjs
import { Packr } from 'msgpackr'
import { Worker } from 'node:worker_threads'
const packr = new Packr({ useRecords: false, mapsAsObjects: true, variableMapSize: true })
const big = packr.pack({ v: 1, e: Array.from({ length: 20000 }, (_, k) => ({ n: Buffer.from('name-of-some-file-' + k), s: k * 1000, m: [1, 2] })) })
const small = packr.pack({ v: 1, e: [{ n: Buffer.from('x'), s: 1 }] })
console.log(`after packing a ${big.length}-byte tree, a ${small.length}-byte tree is a view into a ${small.buffer.byteLength}-byte ArrayBuffer`)
const w = new Worker('const {parentPort}=require("node:worker_threads"); parentPort.on("message", m => parentPort.postMessage(m.id))', { eval: true })
async function time(label, mk) {
  const N = 3000
  const t0 = performance.now()
  let done = 0
  await new Promise(res => { w.on('message', () => { if (++done === N) res() }); for (let i = 0; i < N; i++) w.postMessage({ id: i, data: mk() }) })
  w.removeAllListeners('message')
  console.log(`${label}: ${((performance.now() - t0) / N * 1000).toFixed(1)} µs per message`)
}
await time('view into msgpackr buffer', () => small)
await time('exact copy (new Uint8Array(view))', () => new Uint8Array(small))
await w.terminate()
