// Metadata read-ahead for the save's walk: a thread that lists and lstats the directories of
// each recursive walk before the main thread gets there (metadata-prefetch-worker.ts). On a
// cold cache, or a source over NFS or sshfs, the main thread's readdir and lstat calls wait
// for the disk one at a time; with the read-ahead they mostly find the metadata cached, and
// the waiting happens on the other core while the main thread works.
import { Worker } from 'node:worker_threads'
import type { PrefetchWorkerData } from './metadata-prefetch-worker.js'

/** How far (entries) the read-ahead may run ahead of the save. */
const LOOKAHEAD = 20_000

export class MetadataPrefetch {
  private readonly progress: Int32Array
  private readonly worker: Worker
  private entries = 0

  constructor(opts: { exclude: string[]; oneFileSystem: boolean; lookahead?: number; onList?: (dir: Buffer, seen: number) => void }) {
    const shared = new SharedArrayBuffer(8)
    this.progress = new Int32Array(shared)
    const data: PrefetchWorkerData = {
      shared, exclude: opts.exclude, oneFileSystem: opts.oneFileSystem, lookahead: opts.lookahead ?? LOOKAHEAD, report: opts.onList !== undefined,
    }
    this.worker = new Worker(new URL('./metadata-prefetch-worker.js', import.meta.url), { workerData: data })
    const onList = opts.onList
    if (onList) this.worker.on('message', (m: { listed: Uint8Array; seen: number }) => onList(Buffer.from(m.listed), m.seen))
    else this.worker.unref()
    // A read-ahead that fails costs only speed.
    this.worker.on('error', () => undefined)
  }

  /** A recursive walk starts at `dir`: read ahead in it. */
  walkStarts(dir: Buffer): void {
    this.worker.postMessage({ dir: new Uint8Array(dir) })
  }

  /** The save has looked at one more entry. */
  step(): void {
    // Wake the read-ahead only now and then: it waits with a timeout anyway.
    if ((++this.entries & 255) === 0) {
      Atomics.store(this.progress, 0, this.entries)
      Atomics.notify(this.progress, 0)
    }
  }

  async close(): Promise<void> {
    Atomics.store(this.progress, 1, 1)
    Atomics.notify(this.progress, 0)
    await this.worker.terminate()
  }
}
