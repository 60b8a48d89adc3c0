// Decoding and comparing a saveset's trees on one thread, as an unchanged save does on its main
// thread: every tree object of the latest saveset is read once into memory, then decoded
// (decodeTree) and compared entry by entry with itself decoded again (sameEntry) N times.
//
//   node benchmarks/tree-decode.mjs SAVEDIR [RUNS]
//
// Prints the trees, entries and encoded bytes, and per run the milliseconds of each step.
import { openSaveset } from '../dist/lib/restore/open-saveset.js'
import { readTree } from '../dist/lib/tree/tree-store.js'
import { decodeTree, sameEntry } from '../dist/lib/tree/tree-codec.js'
import { EntryType } from '../dist/lib/tree/entry.js'
import { ObjectKind } from '../dist/lib/codec/object-header.js'

const [savedir, runsArg] = process.argv.slice(2)
if (!savedir) {
  console.error('usage: node benchmarks/tree-decode.mjs SAVEDIR [RUNS]')
  process.exit(2)
}
const runs = Number(runsArg ?? 5)
const { store, root } = openSaveset(savedir, 'latest')
const encoded = []
async function collect(hash) {
  const obj = await store.get(hash.toString('hex'))
  if (obj.kind === ObjectKind.Tree) encoded.push(obj.data)
  for (const e of await readTree(store, hash)) if (e.type === EntryType.Dir && e.tree) await collect(e.tree)
}
await collect(root)
await store.close()
const bytes = encoded.reduce((n, b) => n + b.length, 0)
const entries = encoded.reduce((n, b) => n + decodeTree(b).length, 0)
console.log(`${encoded.length} trees, ${entries} entries, ${(bytes / 1e6).toFixed(1)} MB encoded`)
for (let r = 0; r < runs; r++) {
  let t = performance.now()
  const a = encoded.map(decodeTree)
  const decodeMs = performance.now() - t
  const b = encoded.map(decodeTree)
  t = performance.now()
  let same = 0
  for (let i = 0; i < a.length; i++) {
    const x = a[i]
    const y = b[i]
    for (let k = 0; k < x.length; k++) if (sameEntry(x[k], y[k])) same++
  }
  const compareMs = performance.now() - t
  if (same !== entries) throw new Error(`only ${same} of ${entries} entries compared equal`)
  console.log(`run ${r + 1}: decode ${decodeMs.toFixed(0)} ms, compare ${compareMs.toFixed(0)} ms`)
}
