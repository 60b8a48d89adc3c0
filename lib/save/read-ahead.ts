// Read-ahead for the save's walk: a thread that lists and lstats the directories of each
// recursive walk before the main thread gets there, and reads the files the save will
// probably read (read-ahead-worker.ts). On a cold cache, or a source over NFS or sshfs, the
// main thread's calls would wait for the disk one at a time; with the read-ahead they mostly
// find what they need cached, and the waiting happens on another thread while the main
// thread works. The save takes the thread's listings and stats as they are (window()),
// instead of listing and lstat'ing everything a second time.
import { Worker } from 'node:worker_threads'
import type { ReadAheadWorkerData, SharedWindowMessage } from './read-ahead-worker.js'
import { decodeStats, type FileStat, type LstatFailure } from '../fs/file-stat.js'
import type { StatWindow } from './stat-window.js'
import { joinPathText } from './source-paths.js'
import type { SavesetSummary } from '../repo/saveset.js'
import { RACY_NS } from './racy.js'
import { YOUNG_GENERATION_MB } from '../repo/worker-pool.js'

export interface ReadAheadOptions {
  exclude: string[]
  oneFileSystem: boolean
  /** Read the contents of files changed at or after this time (ms); null: metadata only. */
  contentsSince: number | null
  lookahead?: number
  lookaheadMiB?: number
  /** Called with each directory the thread lists (tests). */
  onList?: (dir: Buffer, seen: number) => void
  /** Have the thread send its windows of names and stats (window()); default true. */
  share?: boolean
}

/** A window the read-ahead sent: StatWindow, and where the next one starts. */
export interface SharedWindow extends StatWindow {
  to: number
  total: number
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
  /** Windows received and not yet taken, in the order the thread walked (the save's order). */
  private readonly windows: SharedWindowMessage[] = []
  private windowsHead = 0
  /** Whether window() may still answer: false once the thread stopped or the walks differed. */
  private sharing: boolean
  private wake: (() => void) | null = null
  private readonly keepAlive: boolean

  constructor(opts: ReadAheadOptions) {
    const shared = new SharedArrayBuffer(16)
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
      share: opts.share ?? true,
    }
    this.sharing = data.share
    this.keepAlive = opts.onList !== undefined
    // No heap limit: a limit small enough to matter also stopped it under test-runner hooks
    // (coverage, source maps) that load into every thread. It keeps little: the names of the
    // directories it is in.
    // (A small young generation only makes it collect more often: it allocates little.)
    this.worker = new Worker(new URL('./read-ahead-worker.js', import.meta.url), { workerData: data, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } })
    const onList = opts.onList
    this.worker.on('message', (m: { listed: Uint8Array; seen: number } | SharedWindowMessage) => {
      if ('window' in m) {
        if (!this.sharing) return
        this.windows.push(m)
        this.wake?.()
      } else {
        onList?.(Buffer.from(m.listed), m.seen)
      }
    })
    if (!this.keepAlive) this.worker.unref()
    // A read-ahead that fails costs only speed.
    this.worker.on('error', e => {
      process.stderr.write(`tarshift: note: read-ahead stopped (${e.message}); saving without it\n`)
      this.stopSharing()
    })
    this.worker.on('exit', () => this.stopSharing())
  }

  private stopSharing(): void {
    this.sharing = false
    this.windows.length = 0
    this.windowsHead = 0
    this.wake?.()
  }

  /**
   * The window of directory `dir`'s sorted names starting at `from`, as the thread listed and
   * lstat'ed it: the save walks in the same order as the thread, so it is the next one the
   * thread sent, or one still to come. Null when the thread cannot give it: it could not list
   * the directory (the caller lists it, and reports why), it stopped, or its walk went another
   * way (a directory that changed between its look and the save's); after null the caller
   * lists and lstats the rest of the directory itself.
   */
  async window(dir: Buffer, from: number): Promise<SharedWindow | null> {
    while (this.sharing && this.windowsHead === this.windows.length) {
      // Wait for it, telling the thread to go on whatever its limits (it is not ahead).
      Atomics.store(this.progress, 0, this.entries)
      Atomics.store(this.progress, 3, 1)
      Atomics.notify(this.progress, 0)
      this.worker.ref()
      await new Promise<void>(r => { this.wake = r })
      this.wake = null
      Atomics.store(this.progress, 3, 0)
      if (!this.keepAlive) this.worker.unref()
    }
    if (!this.sharing) return null
    const m = this.windows[this.windowsHead] as SharedWindowMessage
    this.windows[this.windowsHead++] = undefined as unknown as SharedWindowMessage
    if (this.windowsHead >= 1024 && this.windowsHead * 2 >= this.windows.length) {
      this.windows.splice(0, this.windowsHead)
      this.windowsHead = 0
    }
    const same = m.from === from && m.dir === dir.toString('latin1')
    // After any difference, none of the thread's windows can be trusted to follow the save's.
    if (!same) this.stopSharing()
    if (!same || m.failed) return null
    const paths = m.texts.map(text => joinPathText(dir, text))
    const stats: Array<FileStat | LstatFailure> = decodeStats(m.raw, m.texts.length)
    return { texts: m.texts, paths, stats, to: m.to, total: m.total }
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
    this.stopSharing()
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
