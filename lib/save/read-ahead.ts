// Read-ahead for the save's walk: a native thread (native/read-ahead.c) that lists and lstats
// the directories of each recursive walk before the main thread gets there, and has the
// kernel read the files the save will probably read. On a cold cache, or a source over NFS or
// sshfs, the main thread's calls would wait for the disk one at a time; with the read-ahead
// they mostly find what they need cached, and the waiting happens on another thread while the
// main thread works. The save takes the thread's listings and stats as they are (window()),
// instead of listing and lstat'ing everything a second time.
import { native } from '../fs/native.js'
import { decodeStats, type FileStat, type LstatFailure } from '../fs/file-stat.js'
import type { StatWindow } from './stat-window.js'
import { joinPathText } from './source-paths.js'
import type { SavesetSummary } from '../repo/saveset.js'
import { RACY_NS } from './racy.js'
import { excludePatternBytes } from './exclude.js'
import { PreRead } from './pre-read.js'

export interface ReadAheadOptions {
  exclude: string[]
  oneFileSystem: boolean
  /** Read the contents of files changed at or after this time (ms); null: metadata only. */
  contentsSince: number | null
  lookahead?: number
  lookaheadMiB?: number
  /** Called with each directory the thread lists, and how many entries it had looked at (tests). */
  onList?: (dir: Buffer, seen: number) => void
  /** Have the thread queue its windows of names and stats (window()); default true. */
  share?: boolean
  /**
   * Have a second thread read, for the entries changed since contentsSince, what the save
   * would read of them: files up to this many bytes whole, symlink targets, extended
   * attributes (SharedWindow.pre). Off when absent, or without contentsSince or sharing.
   */
  prereadMax?: number
  /** MiB of what was pre-read that may wait in windows the save has not taken (default 2). */
  prereadHeldMiB?: number
}

/** A window the read-ahead sent: StatWindow, where the next one starts, what was pre-read. */
export interface SharedWindow extends StatWindow {
  to: number
  total: number
  pre: PreRead | null
}

/**
 * One window of a directory's sorted names, [from, to) of `total`, as the thread lstat'ed them:
 * the names kept (not excluded) and lstatRaw's numbers for them; or the directory could not be
 * listed there (`failed`: the save lists it itself, and reports why).
 */
interface NativeWindow {
  /** The directory, as a latin1 string (one char per byte). */
  dir: string
  from: number
  to: number
  total: number
  texts: string[]
  raw: Float64Array
  failed: boolean
  /** With pre-reading: PRE_SLOTS numbers per name, and the bytes read (pre-read.ts). */
  pre?: Float64Array
  preData?: Buffer
}

/** What the thread queues: windows, and (with onList) a report of each directory it lists. */
type Taken = NativeWindow | { listed: Buffer; seen: number } | null | 'end'

/** How far the read-ahead may run ahead of the save: entries, and MiB of file contents. */
const LOOKAHEAD = 20_000
const LOOKAHEAD_MIB = 64
/** Larger files are left to the kernel's sequential read-ahead. */
const CONTENT_MAX = 4 * 1024 * 1024
/** What pre-read contents may wait in windows not taken yet. */
const PREREAD_HELD_MIB = 2
/** How long one wait for a window blocks the main thread before it turns its event loop (ms). */
const WAIT_SLICE_MS = 2

export class ReadAhead {
  private readonly handle: unknown
  private entries = 0
  /** Windows taken from the thread and not yet given to the save, in the thread's order. */
  private readonly windows: NativeWindow[] = []
  private windowsHead = 0
  /** Whether window() may still answer: false once the thread stopped or the walks differed. */
  private sharing: boolean
  private readonly onList: ((dir: Buffer, seen: number) => void) | undefined
  private reports: NodeJS.Timeout | null = null
  private closed = false
  /** The thread said that no more will come. */
  private ended = false

  constructor(opts: ReadAheadOptions) {
    const share = opts.share ?? true
    this.onList = opts.onList
    this.handle = native.readAheadStart({
      exclude: excludePatternBytes(opts.exclude),
      oneFileSystem: opts.oneFileSystem,
      share,
      report: opts.onList !== undefined,
      lookahead: opts.lookahead ?? LOOKAHEAD,
      lookaheadMiB: opts.lookaheadMiB ?? LOOKAHEAD_MIB,
      contentsSince: opts.contentsSince,
      contentMax: CONTENT_MAX,
      preread: opts.prereadMax !== undefined,
      inlineMax: opts.prereadMax ?? 0,
      heldMiB: opts.prereadHeldMiB ?? PREREAD_HELD_MIB,
    })
    this.sharing = share
    // Reports (tests) are passed on as they come, whether or not the save asks for windows.
    if (opts.onList !== undefined) this.reports = setInterval(() => { while (this.pump(0)) { /* more */ } }, 5)
  }

  /** Takes what the thread queued, waiting up to `waitMs`; false when nothing came. */
  private pump(waitMs: number): boolean {
    if (this.closed) return false
    const m = native.readAheadTake(this.handle, waitMs, this.entries) as Taken
    if (m === null) return false
    if (m === 'end') {
      // Windows taken before stay to be asked for (reports are taken as they come).
      this.ended = true
      return false
    }
    if ('listed' in m) this.onList?.(m.listed, m.seen)
    else if (this.sharing) this.windows.push(m)
    return true
  }

  private stopSharing(): void {
    this.sharing = false
    this.windows.length = 0
    this.windowsHead = 0
  }

  /**
   * The window of directory `dir`'s sorted names starting at `from`, as the thread listed and
   * lstat'ed it: the save walks in the same order as the thread, so it is the next one the
   * thread queued, or one still to come. Null when the thread cannot give it: it could not list
   * the directory (the caller lists it, and reports why), it stopped, or its walk went another
   * way (a directory that changed between its look and the save's); after null the caller
   * lists and lstats the rest of the directory itself.
   */
  async window(dir: Buffer, from: number): Promise<SharedWindow | null> {
    while (this.sharing && this.windowsHead === this.windows.length) {
      if (this.ended) this.stopSharing()
      // Waits a little at a time (the thread goes on whatever its limits meanwhile), and lets
      // the event loop turn in between: the store's workers answer through it.
      if (!this.pump(WAIT_SLICE_MS) && this.sharing) await new Promise<void>(r => setImmediate(r))
    }
    if (!this.sharing) return null
    const m = this.windows[this.windowsHead] as NativeWindow
    this.windows[this.windowsHead++] = undefined as unknown as NativeWindow
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
    const pre = m.pre !== undefined && m.preData !== undefined ? new PreRead(m.pre, m.preData) : null
    return { texts: m.texts, paths, stats, to: m.to, total: m.total, pre }
  }

  /** A recursive walk starts at `dir`: read ahead in it. */
  walkStarts(dir: Buffer): void {
    if (!this.closed) native.readAheadWalk(this.handle, dir)
  }

  /** The save has looked at one more entry, and read `bytesRead` bytes of files in all. */
  step(bytesRead: number): void {
    // Told only now and then (every 1,024 entries, of its 20,000 ahead): each call takes a
    // lock and wakes the thread.
    if ((++this.entries & 1023) === 0 && !this.closed) native.readAheadProgress(this.handle, this.entries, Math.floor(bytesRead / 1048576))
  }

  async close(): Promise<void> {
    this.stopSharing()
    if (this.reports !== null) clearInterval(this.reports)
    if (!this.closed) native.readAheadClose(this.handle)
    this.closed = true
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
export function saveReadAhead(o: { exclude?: string[]; oneFileSystem?: boolean; forceRead?: boolean; references?: SavesetSummary[]; inlineLimit: number }): ReadAhead {
  const starts = referenceStarts(o.references ?? [])
  return new ReadAhead({
    exclude: o.exclude ?? [],
    oneFileSystem: o.oneFileSystem ?? false,
    prereadMax: o.inlineLimit,
    contentsSince: o.forceRead || starts.length === 0 ? 0 : Math.max(...starts) - Number(RACY_NS / 1_000_000n),
  })
}
