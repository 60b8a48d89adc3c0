// The save's read-ahead thread: walks the directories the save is about to walk, in the same
// order, doing only what brings their metadata (readdir, lstat) and the contents of the files
// the save will probably read into the kernel's caches, so that the save's own calls on the
// main thread find them there instead of waiting for the disk or the network one at a time.
// It stays within a number of entries and of bytes ahead of the save, whose progress it reads
// from shared memory. With `share`, it also posts each window of names it lstat'ed, with the
// stats, so that the save need not list and lstat them again (read-ahead.ts, window()).
// Nothing it does changes what is saved; only how fast.
import { parentPort, workerData } from 'node:worker_threads'
import { lstatSync, readdirSync } from 'node:fs'
import { native } from '../fs/native.js'
import { rawChangedMs, rawDev, rawError, rawMode, rawSize, S_IFDIR, S_IFMT, S_IFREG } from '../fs/file-stat.js'
import { Excluder } from './exclude.js'
import { statWindowRaw } from './stat-window.js'

export interface ReadAheadWorkerData {
  /**
   * Int32 [0]: entries the save has looked at; [1]: 1 once the save is over; [2]: MiB it has
   * read; [3]: 1 while the save waits for a window from this thread (go on, whatever the limits).
   */
  shared: SharedArrayBuffer
  exclude: string[]
  oneFileSystem: boolean
  /** Entries it may be ahead of the save. */
  lookahead: number
  /** MiB of file contents it may be ahead of the save. */
  lookaheadMiB: number
  /**
   * Read ahead the contents of regular files changed (mtime or ctime) at or after this time
   * (ms): those the save will read rather than take from a reference. Null: no contents.
   */
  contentsSince: number | null
  /** Larger files are left to the kernel's own sequential read-ahead. */
  contentMax: number
  /** Post each directory listed back to the parent (tests). */
  report: boolean
  /** Post each window of names with their stats (SharedWindowMessage). */
  share: boolean
}

/**
 * One window of a directory's sorted names, [from, to) of `total`, as this thread lstat'ed
 * them: the names kept (not excluded) and lstatRaw's numbers for them; or the directory could
 * not be listed here (`failed`: the save lists it itself, and reports why).
 */
export interface SharedWindowMessage {
  window: true
  /** The directory, as a latin1 string (one char per byte). */
  dir: string
  from: number
  to: number
  total: number
  texts: string[]
  raw: Float64Array
  failed: boolean
}

export interface ReadAheadRequest {
  /** A directory where a recursive walk starts. */
  dir: Uint8Array
}

const data = workerData as ReadAheadWorkerData
const progress = new Int32Array(data.shared)
const excluder = new Excluder(data.exclude)
let seen = 0
let bytes = 0
const queue: Buffer[] = []
let running = false

/** Wait while this thread is too far ahead of the save; false once the save is over. */
function mayGoOn(): boolean {
  for (;;) {
    if (Atomics.load(progress, 1) !== 0) return false
    if (Atomics.load(progress, 3) !== 0) return true
    const theirs = Atomics.load(progress, 0)
    if (seen - theirs <= data.lookahead && bytes / 1048576 - Atomics.load(progress, 2) <= data.lookaheadMiB) return true
    Atomics.wait(progress, 0, theirs, 20)
  }
}

/**
 * Have the kernel read a file into its page cache: the reads are queued (posix_fadvise
 * WILLNEED) and this thread goes on at once, so that many files' reads are in flight together.
 * Reading them here, one after another, made a first save of 100,000 small files on a cold
 * cache wait for 100,000 disk reads in turn (9.8 s for `cat` alone; 3.1 s with eight in
 * parallel). Changes no access time: nothing is read through the file descriptor.
 */
function wantContents(path: Buffer, size: number): void {
  if (native.willNeed(path) === 0) bytes += size
}

/** Names lstat'ed in one call. */
const WINDOW = Math.max(1, Math.min(512, data.lookahead))

const NO_STATS = new Float64Array(0)

function share(dir: Buffer, from: number, to: number, total: number, texts: string[], raw: Float64Array, failed = false): void {
  if (!data.share) return
  const m: SharedWindowMessage = { window: true, dir: dir.toString('latin1'), from, to, total, texts, raw, failed }
  parentPort?.postMessage(m, raw.length > 0 ? [raw.buffer as ArrayBuffer] : [])
}

function walk(dir: Buffer, dev: string | null): boolean {
  // Names as latin1 strings (one char per byte: lossless, and sorted in byte order by the
  // default comparison): readdir's Buffers are one allocation each, ~550 bytes of RSS per
  // name, 55 MB for a directory of 100,000 files.
  let names: string[]
  try {
    names = readdirSync(dir, { encoding: 'latin1' })
  } catch {
    share(dir, 0, 0, 0, [], NO_STATS, true)
    return true
  }
  names.sort()
  if (data.report) parentPort?.postMessage({ listed: new Uint8Array(dir), seen })
  if (names.length === 0) share(dir, 0, 0, 0, [], NO_STATS)
  for (let w = 0; w < names.length; w += WINDOW) {
    if (!mayGoOn()) return false
    const { texts, paths, raw } = statWindowRaw(dir, names, w, w + WINDOW, excluder)
    // The save gets a copy (this thread reads the stats in place, without making objects).
    if (data.share) share(dir, w, Math.min(w + WINDOW, names.length), names.length, texts, raw.slice())
    seen += Math.min(WINDOW, names.length - w) - texts.length
    for (let k = 0; k < texts.length; k++) {
      if (!mayGoOn()) return false
      seen++
      if (rawError(raw, k) !== 0) continue
      const type = rawMode(raw, k) & S_IFMT
      if (type === S_IFREG) {
        const since = data.contentsSince
        const size = rawSize(raw, k)
        if (since !== null && size > 0 && size <= data.contentMax && rawChangedMs(raw, k) >= since) wantContents(paths[k] as Buffer, size)
        continue
      }
      if (type !== S_IFDIR) continue
      const d = rawDev(raw, k)
      if (data.oneFileSystem && dev !== null && d !== dev) continue
      if (!walk(paths[k] as Buffer, dev ?? d)) return false
    }
  }
  return true
}


function drain(): void {
  running = true
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    let dev: string
    try {
      dev = String(lstatSync(d, { bigint: true }).dev)
    } catch {
      share(d, 0, 0, 0, [], NO_STATS, true)
      continue
    }
    if (!walk(d, dev)) break
  }
  running = false
}

parentPort?.on('message', (req: ReadAheadRequest) => {
  queue.push(Buffer.from(req.dir.buffer, req.dir.byteOffset, req.dir.byteLength))
  if (!running) drain()
})
