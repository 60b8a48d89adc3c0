// The save pipeline: walk the selection in tree order (name bytes), lstat every entry,
// read and chunk regular files on this thread while the store workers hash, compress and
// write; build each directory's tree when its entries are done, bottom-up, and write the
// saveset summary at the start and at the end (DESIGN.md §2, §3).
import { lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs'
import { hostname } from 'node:os'
import { isSystemError } from '../errors.js'
import { native } from '../fs/native.js'
import { ObjectStore } from '../repo/object-store.js'
import type { RepoConfig } from '../repo/config.js'
import { newBackupId, writeSummary, type SavesetSummary, SUMMARY_VERSION } from '../repo/saveset.js'
import { EntryType, type Entry } from '../tree/entry.js'
import { writeTree } from '../tree/tree-store.js'
import { ObjectKind } from '../codec/object-header.js'
import { entryFromStat, entryType } from './entry-from-stat.js'
import { Excluder } from './exclude.js'
import { readSourceFile, SourceReadError, type FileContent } from './file-reader.js'
import { HardlinkIndex } from './hardlink-index.js'
import { PutWindow } from './put-window.js'
import { joinPath, type SelectionNode } from './source-paths.js'
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
  /** Called often with running counters; cheap. */
  onProgress?: (p: SaveProgress) => void
  workers?: number
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
  objectsNew: number
  bytesNew: number
  seconds: number
}

/** A file whose mtime is this close to the save's start may change again unseen (git's racy rule). */
const RACY_NS = 2_000_000_000n
const WINDOW_BYTES = 64 * 1024 * 1024

interface Pending {
  entry: Entry
  content?: FileContent
}

const SLASH = Buffer.from('/')

export async function save(opts: SaveOptions): Promise<SaveResult> {
  const t0 = Date.now()
  const start = new Date()
  const startNs = BigInt(start.getTime()) * 1_000_000n
  const host = opts.host ?? hostname().split('.')[0]?.replace(/[^A-Za-z0-9._-]/g, '_') ?? 'localhost'
  const store = new ObjectStore(opts.savedir, opts.config, {
    dryRun: opts.dryRun ?? false,
    ...(opts.compression ? { compression: opts.compression } : {}),
    ...(opts.workers ? { workers: opts.workers } : {}),
  })
  const window = new PutWindow(store, WINDOW_BYTES)
  const excluder = new Excluder(opts.exclude ?? [])
  const links = new HardlinkIndex()
  const reporter = opts.reporter
  const progress: SaveProgress = { files: 0, dirs: 0, bytesRead: 0, bytesTotal: 0, current: null }
  let filesRead = 0
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
    references: [],
    version: SUMMARY_VERSION,
  }
  const ctx = { chunker: opts.config.chunker, window }
  const report = (): void => opts.onProgress?.(progress)

  function xattrsOf(path: Buffer): Array<[Buffer, Buffer]> {
    try {
      return native.lgetxattrs(path)
    } catch (e) {
      if (isSystemError(e, 'ENOENT')) throw e
      reporter.warn(path, (e as { code?: string }).code ?? '', 'cannot read extended attributes; saved without them')
      return []
    }
  }

  /** Save a directory's listed contents; returns its tree hash. */
  async function saveDir(dirPath: Buffer, node: SelectionNode | null, rootDev: bigint | null): Promise<Buffer> {
    const walkAll = node === null || node.recursive
    let names: Buffer[]
    if (walkAll) {
      try {
        names = readdirSync(dirPath, { encoding: 'buffer' })
      } catch (e) {
        if (!isSystemError(e)) throw e
        reporter.warn(dirPath, e.code ?? '', e.code === 'ENOENT' ? 'directory vanished while saving' : `cannot list directory: ${e.message}; saved as empty`)
        names = []
      }
    } else {
      names = [...(node as SelectionNode).children.keys()].map(k => Buffer.from(k, 'latin1'))
    }
    names.sort(Buffer.compare)
    const pending: Pending[] = []
    let inlineBudget = opts.config.inlineDirLimit
    for (const name of names) {
      if (window.failure !== null) throw window.failure
      const path = joinPath(dirPath, name)
      const childSel = walkAll ? null : ((node as SelectionNode).children.get(name.toString('latin1')) ?? null)
      if (excluder.excludes(path, name)) continue
      let st: BigIntStats
      try {
        st = lstatSync(path, { bigint: true })
      } catch (e) {
        if (!isSystemError(e)) throw e
        reporter.warn(path, e.code ?? '', !walkAll ? 'no such file (listed, but not found)' : 'vanished before it could be saved')
        continue
      }
      const type = entryType(st)
      if (type === null) {
        reporter.note(path, st.isSocket() ? 'socket not saved' : 'unknown file type not saved')
        continue
      }
      let xattrs: Array<[Buffer, Buffer]>
      try {
        xattrs = xattrsOf(path)
      } catch {
        reporter.warn(path, 'ENOENT', 'vanished before it could be saved')
        continue
      }
      progress.current = path
      if (type === EntryType.Dir) {
        const entry = entryFromStat(name, type, st, xattrs, opts.atime ?? false)
        const descend = !opts.oneFileSystem || rootDev === null || st.dev === rootDev
        if (descend) {
          // A recursive walk starts here or goes on: remember the device it started on.
          const walkDev = childSel === null || childSel.recursive ? (rootDev ?? st.dev) : null
          entry.tree = await saveDir(path, childSel, walkDev)
        } else {
          reporter.note(path, 'mount point of another file system; saved empty (--one-file-system)')
          entry.tree = await writeTree(store, [])
        }
        progress.dirs++
        pending.push({ entry })
        continue
      }
      if (type !== EntryType.File) {
        const entry = entryFromStat(name, type, st, xattrs, opts.atime ?? false)
        if (type === EntryType.Symlink) {
          try {
            entry.target = readlinkSync(path, { encoding: 'buffer' })
          } catch (e) {
            if (!isSystemError(e)) throw e
            reporter.warn(path, e.code ?? '', 'symlink vanished before it could be read')
            continue
          }
        }
        progress.files++
        pending.push({ entry })
        continue
      }
      // Regular file.
      const group = links.get(st)
      if (group) {
        const entry = entryFromStat(name, type, group.stat, xattrs, opts.atime ?? false)
        entry.size = group.size
        entry.link = group.key
        progress.files++
        progress.bytesTotal += group.size
        pending.push({ entry, content: group.content })
        continue
      }
      const inlineMax = Math.min(opts.config.inlineLimit, inlineBudget)
      let r
      try {
        r = await readSourceFile(path, inlineMax, ctx)
      } catch (e) {
        if (!(e instanceof SourceReadError)) throw e
        reporter.warn(path, e.code, e.message)
        continue
      }
      filesRead++
      if (r.unstable) reporter.warn(path, '', 'changed while being read; saved as read, and will be read again next time')
      if (r.content.kind === 'inline') inlineBudget -= r.size
      const entry = entryFromStat(name, type, r.stat, xattrs, opts.atime ?? false)
      entry.size = r.size
      if (r.unstable || r.stat.mtimeNs >= startNs - RACY_NS) entry.racy = true
      if (r.stat.nlink > 1n) {
        entry.link = path
        links.add(r.stat, { key: path, content: r.content, size: r.size, stat: r.stat })
      }
      progress.files++
      progress.bytesRead += r.bytesRead
      progress.bytesTotal += r.size
      report()
      pending.push({ entry, content: r.content })
    }
    const entries: Entry[] = []
    for (const p of pending) {
      const c = p.content
      if (c?.kind === 'inline') p.entry.data = c.data
      else if (c?.kind === 'chunks') p.entry.chunks = await c.chunks
      entries.push(p.entry)
    }
    report()
    return writeTree(store, entries)
  }

  try {
    if (!opts.dryRun) writeSummary(opts.savedir, summary)
    const root = await saveDir(SLASH, opts.selection, null)
    if (window.failure !== null) throw window.failure
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
    summary.finish = new Date().toISOString()
    if (!opts.dryRun) writeSummary(opts.savedir, summary)
    return { summary, filesRead, objectsNew: store.stats.objectsNew, bytesNew: store.stats.bytesNew, seconds: (Date.now() - t0) / 1000 }
  } finally {
    await store.close()
  }
}
