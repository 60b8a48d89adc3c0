// Preload (node --import): the largest V8 heap of each thread (main, read-ahead, store
// workers), sampled every 20 ms, written to $HEAP_DIR/heap-<threadId>.json (default /tmp).
//   node --import ./benchmarks/probes/heap-by-thread.mjs bin/tarshift save ...   (doc/performance.md, "Peak RSS")
import v8 from 'node:v8'
import { writeFileSync } from 'node:fs'
import { threadId } from 'node:worker_threads'
const dir = process.env.HEAP_DIR ?? '/tmp'
const max = { physical: 0, used: 0, external: 0, arrayBuffers: 0, spaces: {} }
const t = setInterval(() => {
  const h = v8.getHeapStatistics()
  if (h.total_physical_size > max.physical) {
    max.physical = h.total_physical_size
    max.used = h.used_heap_size
    max.external = h.external_memory
    max.spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map(s => [s.space_name, Math.round(s.physical_space_size / 1e5) / 10]))
  }
  writeFileSync(`${dir}/heap-${threadId}.json`, JSON.stringify(max))
}, 20)
t.unref()
