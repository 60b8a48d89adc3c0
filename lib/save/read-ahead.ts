// Read-ahead for the save's walk: a thread that lists and lstats the directories of each
// recursive walk before the main thread gets there, and reads the files the save will
// probably read (read-ahead-worker.ts). On a cold cache, or a source over NFS or sshfs, the
// main thread's calls would wait for the disk one at a time; with the read-ahead they mostly
// find what they need cached, and the waiting happens on another thread while the main
// thread works.
import { Worker } from 'node:worker_threads'
import type { ReadAheadWorkerData } from './read-ahead-worker.js'
import type { SavesetSummary } from '../repo/saveset.js'
import { RACY_NS } from './racy.js'

export interface ReadAheadOptions {
  exclude: string[]
  oneFileSystem: boolean
  /** Read the contents of files changed at or after this time (ms); null: metadata only. */
  contentsSince: number | null
  lookahead?: number
  lookaheadMiB?: number
  /** Called with each directory the thread lists (tests). */
  onList?: (dir: Buffer, seen: number) => void
}

/** How far the read-ahead may run ahead of the save: entries, and MiB of file contents. */
const LOOKAHEAD = 20_000
const LOOKAHEAD_MIB = 64
/** Larger files are left to the kernel's sequential read-ahead. */
const CONTENT_MAX = 4 * 1024 * 1024

export class ReadAhead {
  private readonly progress: Int32Array
  private readonly worker: Worker
  private entries = 0

  constructor(opts: ReadAheadOptions) {
    const shared = new SharedArrayBuffer(12)
    this.progress = new Int32Array(shared)
    const data: ReadAheadWorkerData = {
      shared,
      exclude: opts.exclude,
      oneFileSystem: opts.oneFileSystem,
      lookahead: opts.lookahead ?? LOOKAHEAD,
      lookaheadMiB: opts.lookaheadMiB ?? LOOKAHEAD_MIB,
      contentsSince: opts.contentsSince,
      contentMax: CONTENT_MAX,
      report: opts.onList !== undefined,
    }
    // No heap limit: a limit small enough to matter also stopped it under test-runner hooks
    // (coverage, source maps) that load into every thread. It keeps little: the names of the
    // directories it is in.
    // (A small young generation only makes it collect more often: it allocates little.)
    this.worker = new Worker(new URL('./read-ahead-worker.js', import.meta.url), { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: 4 } })
    const onList = opts.onList
    if (onList) this.worker.on('message', (m: { listed: Uint8Array; seen: number }) => onList(Buffer.from(m.listed), m.seen))
    else this.worker.unref()
    // A read-ahead that fails costs only speed.
    this.worker.on('error', e => process.stderr.write(`tarshift: note: read-ahead stopped (${e.message}); saving without it\n`))
  }

  /** A recursive walk starts at `dir`: read ahead in it. */
  walkStarts(dir: Buffer): void {
    this.worker.postMessage({ dir: new Uint8Array(dir) })
  }

  /** The save has looked at one more entry, and read `bytesRead` bytes of files in all. */
  step(bytesRead: number): void {
    // Tell the read-ahead only now and then (every 1,024 entries, of its 20,000 ahead): each
    // notify wakes a thread, and at every 64th entry that cost 50 ms of an unchanged save.
    if ((++this.entries & 1023) === 0) {
      Atomics.store(this.progress, 0, this.entries)
      Atomics.store(this.progress, 2, Math.floor(bytesRead / 1048576))
      Atomics.notify(this.progress, 0)
    }
  }

  async close(): Promise<void> {
    Atomics.store(this.progress, 1, 1)
    Atomics.notify(this.progress, 0)
    await this.worker.terminate()
  }
}

/** The start times (ms) of the reference savesets. */
export function referenceStarts(references: SavesetSummary[]): number[] {
  return references.map(r => Date.parse(r.start)).filter(n => Number.isFinite(n))
}

/**
 * The read-ahead of a save with these options. It reads the contents of the files the save will
 * probably read: those changed since the newest reference started (less the racy window), or
 * all of them with no reference or with --force-read.
 */
export function saveReadAhead(o: { exclude?: string[]; oneFileSystem?: boolean; forceRead?: boolean; references?: SavesetSummary[] }): ReadAhead {
  const starts = referenceStarts(o.references ?? [])
  return new ReadAhead({
    exclude: o.exclude ?? [],
    oneFileSystem: o.oneFileSystem ?? false,
    contentsSince: o.forceRead || starts.length === 0 ? 0 : Math.max(...starts) - Number(RACY_NS / 1_000_000n),
  })
}
