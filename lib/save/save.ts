// The save pipeline: walk the selection in tree order (name bytes), lstat every entry,
// read and chunk regular files on this thread while the store workers hash, compress and
// write; build each directory's tree when its entries are done, bottom-up, and write the
// saveset summary at the start and at the end (DESIGN.md §2, §3).
import { readdirSync, readlinkSync } from 'node:fs'
import { hostname } from 'node:os'
import { isSystemError, TarshiftError } from '../errors.js'
import type { ObjectCache } from '../cache/object-cache.js'
import { native } from '../fs/native.js'
import { LongPaths } from '../fs/long-paths.js'
import { ObjectStore, DEFAULT_REFRESH_MS } from '../repo/object-store.js'
import type { WorkerPool } from '../repo/worker-pool.js'
import type { RepoConfig } from '../repo/config.js'
import { newBackupId, writeSummary, type SavesetSummary, SUMMARY_VERSION } from '../repo/saveset.js'
import { EntryType, timespecFromNs, type Entry, type Timespec, type ChunkRef } from '../tree/entry.js'
import { objectsOfTree, storeTreeReader, type TreeObserver, type TreeReader } from '../tree/tree-store.js'
import { locatingObserver, recordSummary, SummaryDataLost, SummaryTreeReader } from '../tree/tree-summary.js'
import { TreeWriter, writeTree } from '../tree/tree-writer.js'
import { TreeCursor } from '../tree/tree-cursor.js'
import { PREFETCH_BYTES, TreePrefetch } from '../tree/tree-prefetch.js'
import { sameEntry } from '../tree/tree-codec.js'
import { ObjectKind } from '../codec/object-header.js'
import { entryFromStat, entryType } from './entry-from-stat.js'
import { fileType, LstatFailure, S_IFSOCK, sameTimespec, timeBefore, type FileStat } from '../fs/file-stat.js'
import { Excluder } from './exclude.js'
import { readSourceFile, ReadStopped, SourceReadError, type FileContent } from './file-reader.js'
import { HardlinkIndex } from './hardlink-index.js'
import { type ReadAhead, referenceStarts, saveReadAhead } from './read-ahead.js'
import type { PreRead } from './pre-read.js'
import { RACY_NS } from './racy.js'
import { statWindow, type StatWindow } from './stat-window.js'
import { PutWindow } from './put-window.js'
import { trimMemoryEvery } from '../fs/memory-trim.js'
import type { SelectionNode } from './source-paths.js'
import { WarningReporter } from './warning-reporter.js'

export interface SaveOptions {
  savedir: string
  config: RepoConfig
  subset: string
  host?: string
  selection: SelectionNode
  exclude?: string[]
  oneFileSystem?: boolean
  compression?: string
  dryRun?: boolean
  atime?: boolean
  reporter: WarningReporter
  /** Earlier savesets of this (host, subset) to compare against (references.ts). */
  references?: SavesetSummary[]
  /** Read every file, reusing nothing from the references. */
  forceRead?: boolean
  /** Leave the inode number out of the unchanged-file test (sshfs without use_ino...). */
  ignoreInode?: boolean
  /** Write a checkpoint summary this often (ms); default 5 minutes. */
  checkpointMs?: number
  /** Polled between entries: true once SIGINT/SIGTERM arrived. */
  interrupted?: () => boolean
  cache?: ObjectCache
  /** Called before the final summary is written: throws if the savedir lock was lost. */
  beforeFinish?: () => void
  /** Called often with running counters; cheap. */
  onProgress?: (p: SaveProgress) => void
  workers?: number
  /** Store workers started earlier (startStoreWorkers); the save closes them. */
  pool?: WorkerPool
  /** The read-ahead started earlier (saveReadAhead, same options); the save closes it. */
  readAhead?: ReadAhead
}

export interface SaveProgress {
  files: number
  dirs: number
  bytesRead: number
  bytesTotal: number
  current: Buffer | null
}

export interface SaveResult {
  summary: SavesetSummary
  filesRead: number
  /** Regular files whose content was taken from a reference without opening them. */
  filesReused: number
  checkpoints: number
  objectsNew: number
  bytesNew: number
  seconds: number
  /** Reference trees and parts read from this host's summaries, and from the savedir. */
  treesFromSummaries: number
  treesRead: number
}

/**
 * Bytes of chunks on their way to the store workers at most. 6 MiB keeps both workers busy
 * (three chunks of the largest size, or many small ones). 16 -> 10 MiB made the peak RSS of a
 * first save of /usr/share 25 MB smaller at the same speed (4 alternated runs: 6.12 against
 * 6.24 s); with first-fit ring slots, 10 -> 6 MiB took another 5-7 MB off corpus B's first save
 * (137 -> 130-134 MB, 3 alternated runs, same time) and 5 MB off A's (6.09 against 6.03 s).
 */
const WINDOW_BYTES = 6 * 1024 * 1024
/** Reference trees read ahead at most (decoded, waiting for the walk to reach them). */
const PREFETCH_TREES = 512

/**
 * Entries wait this long for their content (chunk puts in flight) before they go to the tree
 * writer; half of it at a time.
 */
const PENDING_LAG = 256

interface Pending {
  entry: Entry
  content?: FileContent
  /** Bit j: this entry equals reference tree j's entry at the same index (found when met). */
  eq: number
  /**
   * An entry whose content was not known yet when it was met, while reference trees could
   * still match: per reference tree, its entry at this entry's index, compared once it is.
   */
  same?: Array<Entry | undefined>
}

/** A reference tree of a directory being saved, read a part at a time. */
interface RefTree {
  cursor: TreeCursor
  /** Every entry given to the tree writer so far equals this tree's entry at the same index. */
  same: boolean
  /** No entry met so far is known to differ (ahead of `same`: entries are compared as met). */
  maybe: boolean
  /** A part could not be read: no further lookups. */
  dead: boolean
  /** The last lookup's answer, and its index in the reference tree. */
  found: Entry | undefined
  foundAt: number
}

/**
 * One directory being saved: entries go to its tree writer in order once their content is
 * known; those still waiting for it; its reference trees; the subdirectory in progress.
 *
 * While the entries equal a reference tree's, none are given to the writer (`deferred` counts
 * them): an unchanged directory, however large, then costs neither memory nor encoding, and
 * its reference tree is used. At the first difference, the reference's first `deferred`
 * entries (the same as those let go) go to the writer, then the rest as they come.
 */
interface Frame {
  writer: TreeWriter
  pending: Pending[]
  count: number
  refs: RefTree[]
  deferring: boolean
  deferred: number
  current: Entry | null
  /** Bytes of file contents this directory may still hold inline in its tree. */
  inlineBudget: number
}

/** How a directory is walked: all of it, or the selected names of `node`; the walk's device. */
interface DirWalk {
  all: boolean
  node: SelectionNode | null
  rootDev: string | null
}

/** A waiting entry's content into the entry: at once, or a promise while its chunks are stored. */
function resolveContent(p: Pending): Promise<void> | undefined {
  const c = p.content
  if (c?.kind === 'inline') p.entry.data = c.data
  else if (c?.kind === 'chunks') return c.chunks.then(chunks => { p.entry.chunks = chunks })
  return undefined
}

/** The walk starts again from the top, trusting neither the local cache nor a deferral. */
class WalkAgain extends Error {}

/** Objects the local cache vouched for are missing. */
class CacheWasWrong extends WalkAgain {
  constructor(readonly missing: number) {
    super(`${missing} object(s) the local cache knew of are missing from the savedir (removed outside expire?)`)
  }
}

/** A reference tree's part read earlier in the walk cannot be read again (removed meanwhile?). */
class ReferenceLost extends WalkAgain {
  constructor(tree: Buffer, why: string) {
    super(`reference tree ${tree.toString('hex')} could not be read again (${why})`)
  }
}

/** The save was interrupted by a signal after writing a checkpoint. */
export class SaveInterrupted extends TarshiftError {
  constructor(readonly summary: SavesetSummary) {
    super('TARSHIFT_INTERRUPTED', `save interrupted; checkpoint ${summary.id} written: the next save of this subset continues from it`)
  }
}

/** The index of the first of the sorted `names` after `name`. */
function firstAfter(names: readonly string[], name: string): number {
  let lo = 0
  let hi = names.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if ((names[mid] as string) <= name) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Names lstat'ed in one call (lstatMany): a directory is stat'ed a window at a time. */
const LSTAT_WINDOW = 512

const DEFAULT_CHECKPOINT_MS = 5 * 60 * 1000

const SLASH = Buffer.from('/')

export async function save(opts: SaveOptions): Promise<SaveResult> {
  const t0 = performance.now()
  const start = new Date()
  const startNs = BigInt(start.getTime()) * 1_000_000n
  /** An mtime at or after this is racy (RACY_NS before the start). */
  const racyFrom = timespecFromNs(startNs - RACY_NS)
  const host = opts.host ?? hostname().split('.')[0]?.replace(/[^A-Za-z0-9._-]/g, '_') ?? 'localhost'
  const store = new ObjectStore(opts.savedir, opts.config, {
    refreshMs: DEFAULT_REFRESH_MS,
    dryRun: opts.dryRun ?? false,
    ...(opts.compression ? { compression: opts.compression } : {}),
    ...(opts.workers ? { workers: opts.workers } : {}),
    ...(opts.pool ? { pool: opts.pool } : {}),
    ...(opts.cache ? { cache: opts.cache } : {}),
  })
  const window = new PutWindow(store, WINDOW_BYTES)
  const stopTrim = trimMemoryEvery(500)
  /**
   * Reference trees: from this host's summaries of them where it has them (tree-summary.ts),
   * else from the savedir, read ahead of the walk (tree-prefetch.ts).
   */
  const summaryReader = opts.cache ? new SummaryTreeReader(store, opts.cache) : null
  // Without summaries, a reference tree's inline data is located as it is read (slices).
  let trees: TreeReader = summaryReader ?? storeTreeReader(store, locatingObserver)
  let prefetch = new TreePrefetch(store, PREFETCH_TREES, PREFETCH_BYTES, trees)
  /** Trees this save writes have their summaries recorded (none in a dry run: nothing is written). */
  const cache = opts.cache
  const observe: TreeObserver | undefined = cache && !opts.dryRun ? (hex, kind, data) => recordSummary(cache, hex, kind, data) : undefined
  const excluder = new Excluder(opts.exclude ?? [])
  const refStarts = referenceStarts(opts.references ?? [])
  const readAhead = opts.readAhead ?? saveReadAhead({ ...opts, inlineLimit: opts.config.inlineLimit })
  let links = new HardlinkIndex()
  const reporter = opts.reporter
  let progress: SaveProgress = { files: 0, dirs: 0, bytesRead: 0, bytesTotal: 0, current: null }
  let filesRead = 0
  let filesReused = 0
  let checkpoints = 0
  const frames: Frame[] = []
  /** Directories matching a reference are not given to their tree writer until they differ. */
  let deferAllowed = true
  const checkpointMs = opts.checkpointMs ?? DEFAULT_CHECKPOINT_MS
  let nextCheckpoint = performance.now() + checkpointMs
  const summary: SavesetSummary = {
    id: newBackupId(start, host, opts.subset),
    host,
    subset: opts.subset,
    start: start.toISOString(),
    finish: null,
    checkpoint: null,
    root: null,
    files: 0,
    dirs: 0,
    bytesTotal: 0,
    bytesRead: 0,
    bytesNew: 0,
    warnings: 0,
    warningsRef: null,
    references: (opts.references ?? []).map(r => r.id),
    version: SUMMARY_VERSION,
  }
  // Source paths too long for one system call are reached through open directories.
  const longPaths = new LongPaths()
  const reach = (path: Buffer): Buffer => longPaths.reach(path)
  const ctx = { chunker: opts.config.chunker, window, chunkBuffer: (n: number) => store.chunkBuffer(n), stop: opts.interrupted, reach }
  const report = (): void => opts.onProgress?.(progress)

  function xattrsOf(path: Buffer): Array<[Buffer, Buffer]> {
    try {
      return native.lgetxattrs(reach(path))
    } catch (e) {
      if (isSystemError(e, 'ENOENT')) throw e
      reporter.warn(path, (e as { code?: string }).code ?? '', 'cannot read extended attributes; saved without them')
      return []
    }
  }

  /** A directory's names, sorted (latin1 strings); none, with a warning, when it cannot be listed. */
  function listDirectory(dirPath: Buffer): string[] {
    try {
      return readdirSync(reach(dirPath), { encoding: 'latin1' }).sort()
    } catch (e) {
      if (!isSystemError(e)) throw e
      reporter.warn(dirPath, e.code ?? '', e.code === 'ENOENT' ? 'directory vanished while saving' : `cannot list directory: ${e.message}; saved as empty`)
      return []
    }
  }

  /** Save a directory's listed contents; returns its tree hash. */
  async function saveDir(dirPath: Buffer, node: SelectionNode | null, rootDev: string | null, refTrees: Buffer[]): Promise<Buffer> {
    const refs0 = await openReferenceTrees(refTrees)
    const frame: Frame = { writer: new TreeWriter(store, observe), pending: [], count: 0, refs: refs0, deferring: deferAllowed && refs0.length > 0, deferred: 0, current: null, inlineBudget: opts.config.inlineDirLimit }
    const walkAll = node === null || node.recursive
    const dirWalk: DirWalk = { all: walkAll, node, rootDev }
    // Names as latin1 strings: one char per byte, so lossless for any name, and sorted in name
    // byte order by the default comparison. Each becomes a Buffer only when its turn comes:
    // readdir's own Buffers are one allocation each, ~550 bytes of RSS per name.
    // A walked directory's names and their stats come from the read-ahead thread, a window at
    // a time (it has listed and lstat'ed them already); when it cannot give them, the rest of
    // the directory is listed and lstat'ed here. Selected names (no walk) are lstat'ed here.
    let own: string[] | null = walkAll ? null : [...(node as SelectionNode).children.keys()].sort()
    if (walkAll && node !== null) readAhead.walkStarts(dirPath)
    /** Where the next window starts in the listing; the last name of the windows so far. */
    let at = 0
    let last: string | null = null
    let sharedToEnd = false
    const nextWindow = async (): Promise<StatWindow | null> => {
      if (own === null) {
        if (sharedToEnd) return null
        const sw = await readAhead.window(dirPath, at)
        if (sw !== null) {
          at = sw.to
          sharedToEnd = at >= sw.total
          last = sw.texts[sw.texts.length - 1] ?? last
          return sw
        }
        own = listDirectory(dirPath)
        at = last === null ? 0 : firstAfter(own, last)
      }
      if (at >= own.length) return null
      let statDir: Buffer
      try {
        statDir = reach(dirPath)
      } catch (e) {
        if (!isSystemError(e)) throw e
        reporter.warn(dirPath, e.code ?? '', 'directory vanished while saving')
        return null
      }
      const win = statWindow(dirPath, own, at, at + LSTAT_WINDOW, excluder, statDir)
      at += LSTAT_WINDOW
      return win
    }
    frames.push(frame)
    // A window of names at a time, lstat'ed in one call (stat-window.ts), then saved one by one.
    for (let win = await nextWindow(); win !== null; win = await nextWindow()) {
      const { texts, paths, stats } = win
      const pre = win.pre ?? null
      for (let k = 0; k < texts.length; k++) {
        if (window.failure !== null) throw window.failure
        if (frame.pending.length >= 2 * PENDING_LAG) await drain(frame, PENDING_LAG)
        if (checkpointDue()) await writeCheckpointOrStop()
        if (walkAll) readAhead.step(progress.bytesRead)
        await saveEntry(frame, dirWalk, texts[k] as string, paths[k] as Buffer, stats[k] as FileStat | LstatFailure, pre, k)
      }
    }
    await drain(frame, 0)
    frames.pop()
    report()
    // An unchanged directory: the same entries as a reference tree encode to the same object,
    // so that one is used (once it and any parts are known to exist and are fresh). The tree
    // writer's own work is only let go: its parts, if any, are the reference's.
    let reused: Buffer | null = null
    for (const r of frame.refs) if (reused === null && r.same && await sameSize(r, frame.count) && await store.ensureFresh(objectsOfTree(r.cursor.tree))) reused = r.cursor.tree.hash
    if (reused === null) await undefer(frame)
    // Read-ahead trees of reference subdirectories that are gone from the source are dropped.
    for (const r of frame.refs) r.cursor.close()
    return reused ?? (await frame.writer.finish()).hash
  }

  /**
   * The next entry of this directory, after the lookup of its name in the reference trees.
   * The waiting entries go on to the writer at the next entry's turn (or at the end).
   */
  function pushEntry(frame: Frame, entry: Entry, content?: FileContent): void {
    const k = frame.count++
    let eq = 0
    let same: Array<Entry | undefined> | undefined
    for (let j = 0; j < frame.refs.length; j++) {
      const r = frame.refs[j] as RefTree
      if (!r.maybe) continue
      const f = r.foundAt === k ? r.found : undefined
      if (f === undefined) r.maybe = false
      else if (content !== undefined) (same ??= [])[j] = f
      else if (sameEntry(entry, f)) eq |= 1 << j
      else r.maybe = false
    }
    frame.pending.push(same ? { entry, content, eq, same } : content ? { entry, content, eq } : { entry, eq })
  }

  /**
   * Save one entry of a directory (its name, full path and lstat) into the directory's frame;
   * what the read-ahead read of it is entry k of `pre`.
   */
  async function saveEntry(frame: Frame, walk: DirWalk, text: string, path: Buffer, got: FileStat | LstatFailure, pre: PreRead | null, k: number): Promise<void> {
    const name = path.subarray(path.length - text.length)
    const childSel = walk.all ? null : ((walk.node as SelectionNode).children.get(text) ?? null)
    if (got instanceof LstatFailure) {
      reporter.warn(path, got.code, !walk.all ? 'no such file (listed, but not found)' : 'vanished before it could be saved')
      return
    }
    const st = got
    const type = entryType(st)
    if (type === null) {
      reporter.note(path, fileType(st) === S_IFSOCK ? 'socket not saved' : 'unknown file type not saved')
      return
    }
    const looking = lookupReferences(frame.refs, name)
    if (looking !== undefined) await looking
    const refs: Entry[] = []
    for (const r of frame.refs) if (r.found?.type === type) refs.push(r.found)
    let xattrs: Array<[Buffer, Buffer]>
    try {
      xattrs = reusableXattrs(st, refs) ?? pre?.xattrs(k) ?? xattrsOf(path)
    } catch (e) {
      if (!isSystemError(e, 'ENOENT')) throw e
      reporter.warn(path, 'ENOENT', 'vanished before it could be saved')
      return
    }
    progress.current = path
    if (type === EntryType.Dir) {
      const entry = entryFromStat(name, type, st, xattrs, opts.atime ?? false)
      const descend = !opts.oneFileSystem || walk.rootDev === null || st.dev === walk.rootDev
      if (descend) {
        // A recursive walk starts here or goes on: remember the device it started on.
        const walkDev = childSel === null || childSel.recursive ? (walk.rootDev ?? st.dev) : null
        frame.current = entry
        entry.tree = await saveDir(path, childSel, walkDev, refs.map(r => r.tree).filter((t): t is Buffer => t !== undefined))
        frame.current = null
      } else {
        reporter.note(path, 'mount point of another file system; saved empty (--one-file-system)')
        entry.tree = await writeTree(store, [], observe)
      }
      progress.dirs++
      pushEntry(frame, kept(entry, refs))
      return
    }
    if (type !== EntryType.File) {
      const entry = entryFromStat(name, type, st, xattrs, opts.atime ?? false)
      if (type === EntryType.Symlink) {
        try {
          entry.target = reusableTarget(st, refs) ?? pre?.target(k) ?? readlinkSync(reach(path), { encoding: 'buffer' })
        } catch (e) {
          // Gone (as file-reader.ts tells a vanished file), or its target not to be read (EACCES
          // for another user's /proc/PID/cwd, EPERM from an sftp server, EINVAL: replaced by
          // another type).
          if (isSystemError(e, 'ENOENT', 'ENOTDIR')) reporter.warn(path, e.code ?? '', 'symlink vanished before it could be read')
          else if (isSystemError(e)) reporter.warn(path, e.code ?? '', `cannot read symlink: ${e.message}; not saved`)
          else throw e
          return
        }
      }
      progress.files++
      pushEntry(frame, kept(entry, refs))
      return
    }
    // Regular file.
    const group = links.get(st)
    if (group) {
      const entry = entryFromStat(name, type, group.stat, xattrs, opts.atime ?? false)
      entry.size = group.size
      entry.link = group.key
      if (group.racy) entry.racy = true
      progress.files++
      progress.bytesTotal += group.size
      pushEntry(frame, entry, group.content)
      return
    }
    let reused = reusable(st, refs)
    if (reused?.chunks) {
      const fresh = store.ensureFreshNow(reused.chunks.map(c => c.hash.toString('hex')))
      if (fresh !== true && !await fresh) reused = null
    }
    if (reused) {
      filesReused++
      const entry = entryFromStat(name, type, st, xattrs, opts.atime ?? false)
      if (reused.data) {
        // (Its length may be a placeholder's, a digest's 32 bytes: the file's size is what the tree holds.)
        entry.data = reused.data
        frame.inlineBudget -= entry.size
      }
      if (reused.chunks) entry.chunks = reused.chunks
      const content: FileContent = reused.data ? { kind: 'inline', data: reused.data } : reused.chunks ? { kind: 'chunks', chunks: Promise.resolve(reused.chunks) } : { kind: 'empty' }
      if (st.nlink > 1) {
        entry.link = path
        links.add(st, { key: path, content, size: entry.size, stat: st, racy: false })
      }
      progress.files++
      progress.bytesTotal += entry.size
      const same = kept(entry, refs)
      pushEntry(frame, same, same === entry ? content : undefined)
      return
    }
    const inlineMax = Math.min(opts.config.inlineLimit, frame.inlineBudget)
    // Read ahead whole (a small file) unless this directory's inline budget ran out meanwhile.
    const early = pre?.contents(k)
    let r
    try {
      r = early && early.size <= inlineMax ? early : await readSourceFile(path, inlineMax, ctx)
    } catch (e) {
      if (e instanceof ReadStopped) {
        // A signal came while reading this file: the checkpoint covers what is done without
        // it, and the save ends there (never as a finished saveset lacking the file).
        await writeCheckpointOrStop()
        throw new Error('internal: a read stopped without a signal')
      }
      if (!(e instanceof SourceReadError)) throw e
      reporter.warn(path, e.code, e.message)
      return
    }
    filesRead++
    if (r.unstable) reporter.warn(path, '', 'changed while being read; saved as read, and will be read again next time')
    if (r.content.kind === 'inline') frame.inlineBudget -= r.size
    const entry = entryFromStat(name, type, r.stat, xattrs, opts.atime ?? false)
    entry.size = r.size
    if (r.unstable || !timeBefore(r.stat.mtime, racyFrom)) entry.racy = true
    if (r.stat.nlink > 1) {
      entry.link = path
      links.add(r.stat, { key: path, content: r.content, size: r.size, stat: r.stat, racy: entry.racy === true })
    }
    progress.files++
    progress.bytesRead += r.bytesRead
    progress.bytesTotal += r.size
    report()
    pushEntry(frame, entry, r.content)
  }

  async function sameSize(r: RefTree, n: number): Promise<boolean> {
    try {
      return n === await r.cursor.size()
    } catch (e) {
      if (!(e instanceof TarshiftError)) throw e
      return false
    }
  }

  /** Stop deferring: the entries let go while a reference matched go to the writer now. */
  async function undefer(frame: Frame, from?: RefTree): Promise<void> {
    if (!frame.deferring) return
    frame.deferring = false
    const n = frame.deferred
    frame.deferred = 0
    if (n === 0) return
    const ref = from ?? frame.refs.find(r => r.same)
    if (!ref) throw new Error(`internal: ${n} entries deferred without a matching reference tree`)
    try {
      for await (const e of ref.cursor.prefix(n)) await frame.writer.add(e)
    } catch (e) {
      if (!(e instanceof TarshiftError)) throw e
      throw new ReferenceLost(ref.cursor.tree.hash, e.message)
    }
  }

  /** Move all but `keep` waiting entries to the tree writer, in order, once their content is known. */
  async function drain(frame: Frame, keep: number): Promise<void> {
    const n = frame.pending.length - keep
    for (let i = 0; i < n; i++) {
      const p = frame.pending[i] as Pending
      const resolving = resolveContent(p)
      if (resolving !== undefined) await resolving
      const before = frame.refs.find(r => r.same)
      let any = false
      for (let j = 0; j < frame.refs.length; j++) {
        const r = frame.refs[j] as RefTree
        if (!r.same) continue
        const f = p.same?.[j]
        r.same = ((p.eq >> j) & 1) === 1 || (f !== undefined && sameEntry(p.entry, f))
        if (r.same) any = true
      }
      if (frame.deferring) {
        if (any) {
          frame.deferred++
          continue
        }
        await undefer(frame, before)
      }
      await frame.writer.add(p.entry)
    }
    frame.pending.splice(0, n)
  }

  /** The reference trees of a directory, opened for lookups in name order. */
  async function openReferenceTrees(hashes: Buffer[]): Promise<RefTree[]> {
    const distinct = hashes.filter((t, i) => hashes.findIndex(u => u.equals(t)) === i)
    const out: RefTree[] = []
    for (const t of distinct) {
      try {
        const opened = await prefetch.open(t)
        const cursor = new TreeCursor(trees, opened, part => prefetch.hint([part]), part => { for (const e of part) if (e.tree) prefetch.forget(e.tree) })
        out.push({ cursor, same: true, maybe: true, dead: false, found: undefined, foundAt: -1 })
      } catch (e) {
        // A damaged reference only costs time: the files are read again.
        if (!(e instanceof TarshiftError)) throw e
        reporter.note(SLASH, `reference tree ${t.toString('hex')} unreadable (${e.message}); reading files instead`)
      }
    }
    return out
  }

  /**
   * Each reference tree's entry named `name` (names in increasing order), into its `found`: at
   * once when every tree has the part in memory that answers (nearly always: no promise, no
   * waiting), else a promise that settles once the trees that must read a part have.
   */
  function lookupReferences(refs: RefTree[], name: Buffer): Promise<void> | undefined {
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i] as RefTree
      const e = r.dead ? undefined : r.cursor.lookup(name)
      if (e === null) return lookupReading(refs, i, name)
      r.found = e
      r.foundAt = e === undefined ? -1 : r.cursor.foundAt
    }
    return undefined
  }

  /** lookupReferences from refs[from] on, reading parts where a tree must. */
  async function lookupReading(refs: RefTree[], from: number, name: Buffer): Promise<void> {
    for (let i = from; i < refs.length; i++) {
      const r = refs[i] as RefTree
      let e = r.dead ? undefined : r.cursor.lookup(name)
      while (e === null) {
        try {
          await r.cursor.advance()
          e = r.cursor.lookup(name)
        } catch (err) {
          if (!(err instanceof TarshiftError)) throw err
          reporter.note(SLASH, `reference tree ${r.cursor.tree.hash.toString('hex')} partly unreadable (${err.message}); reading files instead`)
          r.dead = true
          r.maybe = false
          e = undefined
        }
      }
      r.found = e
      r.foundAt = e === undefined ? -1 : r.cursor.foundAt
    }
  }

  /**
   * The reference entry equal to `entry` in every encoded field, if any, to be kept instead of
   * it: a large unchanged directory then holds one copy of its entries, not two (the reference
   * tree's and the new ones), and the tree-reuse check at its end finds them identical at once.
   */
  function kept(entry: Entry, refs: Entry[]): Entry {
    for (const r of refs) if (sameEntry(entry, r)) return r
    return entry
  }

  /**
   * A reference entry's xattrs, when they cannot have changed since: setting or removing an
   * xattr sets the ctime to the time of the change, so an entry with the reference's ctime
   * and inode, that ctime well before the reference save started (a change in the same clock
   * tick would not show), has the reference's xattrs. Null: read them.
   */
  const xattrCtimeBefore = refStarts.length === 0 ? null : timespecFromNs(BigInt(Math.min(...refStarts)) * 1_000_000n - RACY_NS)
  function reusableXattrs(st: FileStat, refs: Entry[]): Array<[Buffer, Buffer]> | null {
    if (opts.forceRead || xattrCtimeBefore === null || !timeBefore(st.ctime, xattrCtimeBefore)) return null
    const ino = st.ino
    const ref = refs.find(r => !r.racy && r.ino === ino && sameTimespec(r.ctime, st.ctime))
    return ref ? (ref.xattrs ?? []) : null
  }

  /**
   * A reference symlink's target, when it cannot have changed: a symlink's target is fixed
   * when it is made (changing it means a new symlink, a new inode and ctime), so the same inode,
   * ctime (as for xattrs above) and length have the reference's target. Null: read it.
   */
  function reusableTarget(st: FileStat, refs: Entry[]): Buffer | null {
    if (opts.forceRead || xattrCtimeBefore === null || !timeBefore(st.ctime, xattrCtimeBefore)) return null
    const ino = st.ino
    const ref = refs.find(r => !r.racy && r.ino === ino && sameTimespec(r.ctime, st.ctime) && r.target?.length === st.size)
    return ref?.target ?? null
  }

  /**
   * An unchanged file (same type, size, mtime, ctime and inode as a reference entry, and
   * not racy there) reuses the reference's content without being opened, once its chunks
   * are known to exist (refreshing their last-use time when stale: the caller's part).
   */
  function reusable(st: FileStat, refs: Entry[]): { data?: Buffer; chunks?: ChunkRef[] } | null {
    if (opts.forceRead) return null
    const size = st.size
    const ino = st.ino
    const ref = refs.find(r => !r.racy && r.size === size && sameTimespec(r.mtime, st.mtime) && sameTimespec(r.ctime, st.ctime) &&
      (opts.ignoreInode || r.ino === ino))
    if (!ref) return null
    if (!timeBefore(st.mtime, racyFrom)) return null
    if (ref.data) return { data: ref.data }
    if (!ref.chunks) return size === 0 ? {} : null
    return { chunks: ref.chunks }
  }

  /** Root hash of what is done so far: each directory in progress with its finished entries. */
  async function partialRoot(): Promise<Buffer> {
    let child: Buffer | null = null
    for (let i = frames.length - 1; i >= 0; i--) {
      const f = frames[i] as Frame
      await undefer(f)
      const entries: Entry[] = []
      for (const p of f.pending) {
        await resolveContent(p)
        entries.push(p.entry)
      }
      if (f.current && child) entries.push({ ...f.current, tree: child })
      child = (await f.writer.snapshot(entries)).hash
    }
    return child ?? writeTree(store, [], observe)
  }

  /** Throws CacheWasWrong when an object referenced on the cache's word is not there. */
  async function confirmClaims(): Promise<void> {
    const missing = await store.missingClaimed()
    if (missing.length > 0) throw new CacheWasWrong(missing.length)
  }

  /** Back to the start of the walk, for a second pass that checks every object it reuses. */
  function restartWalk(e: WalkAgain): void {
    reporter.note(SLASH, `${e.message}; saving again, checking every object`)
    store.distrustCache()
    deferAllowed = false
    reporter.restart()
    links = new HardlinkIndex()
    progress = { files: 0, dirs: 0, bytesRead: 0, bytesTotal: 0, current: null }
    filesRead = 0
    filesReused = 0
    frames.length = 0
    prefetch.clear()
    // Nor the summaries: every reference tree is read from the savedir.
    trees = storeTreeReader(store, locatingObserver)
    prefetch = new TreePrefetch(store, PREFETCH_TREES, PREFETCH_BYTES, trees)
  }

  async function writeCheckpoint(): Promise<void> {
    const root = await partialRoot()
    if (window.failure !== null) throw window.failure
    await confirmClaims()
    await store.flush()
    summary.root = root.toString('hex')
    summary.checkpoint = new Date().toISOString()
    summary.files = progress.files
    summary.dirs = progress.dirs
    summary.bytesTotal = progress.bytesTotal
    summary.bytesRead = progress.bytesRead
    summary.bytesNew = store.stats.bytesNew
    summary.warnings = reporter.count
    if (!opts.dryRun) writeSummary(opts.savedir, summary)
    checkpoints++
  }

  /** A signal came, or it is time for a checkpoint (checked at every entry: no waiting). */
  function checkpointDue(): boolean {
    return opts.interrupted?.() === true || performance.now() >= nextCheckpoint
  }

  async function writeCheckpointOrStop(): Promise<void> {
    if (opts.interrupted?.()) {
      await writeCheckpoint()
      throw new SaveInterrupted(summary)
    }
    await writeCheckpoint()
    nextCheckpoint = performance.now() + checkpointMs
  }

  try {
    if (!opts.dryRun) {
      writeSummary(opts.savedir, summary)
      opts.cache?.noteSaveset(summary.id)
    }
    const refRoots = (opts.references ?? []).map(r => Buffer.from(r.root as string, 'hex'))
    const walk = async (): Promise<Buffer> => {
      const r = await saveDir(SLASH, opts.selection, null, refRoots)
      if (window.failure !== null) throw window.failure
      return r
    }
    let root: Buffer
    try {
      root = await walk()
      await confirmClaims()
    } catch (e) {
      const again = e instanceof SummaryDataLost ? new ReferenceLost(e.part, e.message) : e
      if (!(again instanceof WalkAgain)) throw e
      restartWalk(again)
      root = await walk()
    }
    await store.flush()
    summary.root = root.toString('hex')
    summary.files = progress.files
    summary.dirs = progress.dirs
    summary.bytesTotal = progress.bytesTotal
    summary.bytesRead = progress.bytesRead
    summary.warnings = reporter.count
    if (reporter.count > 0) {
      const lines = reporter.warnings.map(w => JSON.stringify(w)).join('\n') + '\n'
      summary.warningsRef = (await store.put(Buffer.from(lines), ObjectKind.Data)).hash
      await store.flush()
    }
    summary.bytesNew = store.stats.bytesNew
    opts.beforeFinish?.()
    summary.finish = new Date().toISOString()
    if (!opts.dryRun) writeSummary(opts.savedir, summary)
    return { summary, filesRead, filesReused, checkpoints, objectsNew: store.stats.objectsNew, bytesNew: store.stats.bytesNew, seconds: (performance.now() - t0) / 1000,
      treesFromSummaries: summaryReader?.stats.summaries ?? 0, treesRead: summaryReader?.stats.objects ?? 0 }
  } finally {
    stopTrim()
    longPaths.close()
    await Promise.all([readAhead.close(), store.close()])
  }
}
