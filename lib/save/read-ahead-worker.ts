// The save's read-ahead thread: walks the directories the save is about to walk, in the same
// order, doing only what brings their metadata (readdir, lstat) and the contents of the files
// the save will probably read into the kernel's caches, so that the save's own calls on the
// main thread find them there instead of waiting for the disk or the network one at a time.
// It stays within a number of entries and of bytes ahead of the save, whose progress it reads
// from shared memory. Nothing it does changes what is saved; only how fast.
import { parentPort, workerData } from 'node:worker_threads'
import { closeSync, lstatSync, openSync, readdirSync, readSync, constants } from 'node:fs'
import { Excluder } from './exclude.js'
import { joinPath } from './source-paths.js'

export interface ReadAheadWorkerData {
  /** Int32 [0]: entries the save has looked at; [1]: 1 once the save is over; [2]: MiB it has read. */
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
}

export interface ReadAheadRequest {
  /** A directory where a recursive walk starts. */
  dir: Uint8Array
}

const data = workerData as ReadAheadWorkerData
const progress = new Int32Array(data.shared)
const excluder = new Excluder(data.exclude)
const O_NOATIME = (constants as Record<string, number>).O_NOATIME ?? 0
const scratch = Buffer.allocUnsafe(1024 * 1024)
let seen = 0
let bytes = 0
const queue: Buffer[] = []
let running = false

/** Wait while this thread is too far ahead of the save; false once the save is over. */
function mayGoOn(): boolean {
  for (;;) {
    if (Atomics.load(progress, 1) !== 0) return false
    const theirs = Atomics.load(progress, 0)
    if (seen - theirs <= data.lookahead && bytes / 1048576 - Atomics.load(progress, 2) <= data.lookaheadMiB) return true
    Atomics.wait(progress, 0, theirs, 20)
  }
}

/** Read a file's contents and forget them: they stay in the page cache. Never changes atime. */
function readContents(path: Buffer): void {
  let fd: number
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | O_NOATIME)
  } catch {
    return // EPERM for O_NOATIME on a file we do not own: reading it would change its atime
  }
  try {
    for (let n = readSync(fd, scratch, 0, scratch.length, null); n > 0; n = readSync(fd, scratch, 0, scratch.length, null)) bytes += n
  } catch {
    // The save reports problems with the file.
  } finally {
    closeSync(fd)
  }
}

function walk(dir: Buffer, dev: number | null): boolean {
  // Names as latin1 strings (one char per byte: lossless, and sorted in byte order by the
  // default comparison): readdir's Buffers are one allocation each, ~550 bytes of RSS per
  // name, 55 MB for a directory of 100,000 files.
  let names: string[]
  try {
    names = readdirSync(dir, { encoding: 'latin1' })
  } catch {
    return true
  }
  names.sort()
  if (data.report) parentPort?.postMessage({ listed: new Uint8Array(dir), seen })
  for (const text of names) {
    if (!mayGoOn()) return false
    seen++
    const name = Buffer.from(text, 'latin1')
    const path = joinPath(dir, name)
    if (excluder.excludes(path, name)) continue
    let st
    try {
      st = lstatSync(path)
    } catch {
      continue
    }
    if (st.isFile()) {
      const since = data.contentsSince
      if (since !== null && st.size > 0 && st.size <= data.contentMax && (st.mtimeMs >= since || st.ctimeMs >= since)) readContents(path)
      continue
    }
    if (!st.isDirectory()) continue
    if (data.oneFileSystem && dev !== null && st.dev !== dev) continue
    if (!walk(path, dev ?? st.dev)) return false
  }
  return true
}

function drain(): void {
  running = true
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    let dev: number | null = null
    try {
      dev = lstatSync(d).dev
    } catch {
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
