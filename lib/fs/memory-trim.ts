// Giving freed memory back to the kernel while a long command runs. Chunk buffers are
// malloc'd on one thread and freed on another (the store workers); glibc keeps the freed
// pages in its arenas, and they count as resident until malloc_trim() returns them. Measured
// on the /usr/share corpus: 50-60 MB less peak RSS for a first save, no change in its time.
//
// Buffers of 256 KiB and more (read buffers, chunks that find no room in the shared ring) get
// mappings of their own, unmapped when freed: glibc's default raises that threshold to the
// largest block freed, after which chunks came from the arenas (25 MB more peak RSS on the
// same save). A mapping per chunk cost a page fault per page and an unmap, and the save used
// to switch to arena buffers while it read a large file (5.4-6.2 -> 4.6-4.7 s on corpus B);
// since every chunk lives in the ring, that switch made no difference (3 alternated runs on
// corpus B: 4.52-5.14 s with it, 4.42-4.80 s without, the same peak RSS) and is gone.
import v8 from 'node:v8'
import { createRequire } from 'node:module'
import { native } from './native.js'

const MMAP_THRESHOLD = 256 * 1024
/** glibc's largest threshold: every chunk buffer from the arenas. */
const ARENA_ONLY = 32 * 1024 * 1024

/**
 * Above this much ArrayBuffer memory on the thread, a collection runs before the trim: V8
 * frees a dead buffer's memory only when it collects the buffer object, and on a first save of
 * /usr/share the main thread held up to 130 MB of buffers of which 31 MB were alive (a heap
 * snapshot at the peak). With the check every 500 ms: peak RSS 278-297 -> 255-272 MB, no
 * change in time (every 250 ms with 48 MB: 244-258 MB, but 0.5-1 s more CPU).
 */
export const BUFFERS_COLLECT_AT = 64 * 1024 * 1024

let collect: (() => void) | null = null

function collector(): () => void {
  if (collect === null) {
    v8.setFlagsFromString('--expose-gc')
    // node:vm only here, on first use: loading it costs a command that never collects memory.
    const { runInNewContext } = createRequire(import.meta.url)('node:vm') as typeof import('node:vm')
    collect = runInNewContext('gc') as () => void
  }
  return collect
}

/**
 * Collect (when buffers pile up) and trim every `ms` milliseconds until the returned function
 * is called. `buffers`: 'mapped' gives buffers of 256 KiB and more mappings of their own (the
 * save, above); 'arena' takes every buffer from the arenas, for a command whose large buffers
 * come and go without end, in a bounded window: a restore. With a mapping per chunk, a restore
 * of corpus B (2 GB in chunks of ~512 KiB) spent 4.6 s of each store worker's 6 s in page
 * faults and unmaps of fresh buffers; with arena buffers it took 2.6-2.8 s instead of 5.8-6.5 s
 * (warm; cold 3.9 s instead of 7.2 s), with the same peak RSS.
 */
export function trimMemoryEvery(ms: number, buffers: 'mapped' | 'arena' = 'mapped'): () => void {
  native.mallocMmapThreshold(buffers === 'arena' ? ARENA_ONLY : MMAP_THRESHOLD)
  const gc = collector()
  const timer = setInterval(() => {
    if (process.memoryUsage().arrayBuffers > BUFFERS_COLLECT_AT) gc()
    native.mallocTrim()
  }, ms)
  timer.unref()
  return () => clearInterval(timer)
}
