// lib/cache owns the local cache (never in the savedir): which objects this host knows to
// exist and when it last touched them, so that a save over NFS or sshfs does not stat every
// chunk (DESIGN.md §6), and tree summaries (lib/tree/tree-summary.ts). It is a hint: deleting
// it only costs time. It is dropped when the savedir's generation (bumped by expire and check
// --repair) differs from its own, and when the savedir lacks the last saveset this host
// started in it (put back from an older copy). Three files of tarshift's own in
// $XDG_CACHE_HOME/tarshift/<repository id>/: state.json, objects (object-times.ts), summaries
// and summaries.index (summary-file.ts); doc/format.md §10 says why not LMDB any more.
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { LastUseCache } from '../repo/object-store.js'
import type { SummaryCache } from '../tree/tree-summary.js'
import { summaryPath } from '../repo/saveset.js'
import { writeFileAtomic } from '../repo/atomic-write.js'
import { ObjectTimes, OBJECTS_FILE } from './object-times.js'
import { SummaryFile, SUMMARIES_FILE, SUMMARIES_INDEX_FILE } from './summary-file.js'
import { native } from '../fs/native.js'

export function cacheDir(repoId: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'tarshift', repoId)
}

/** The cache's state: `{"generation": N, "saveset": ID}` (the saveset once this host started one). */
export const STATE_FILE = 'state.json'
/** Files of the LMDB cache of earlier versions, removed when found. */
const LMDB_FILES = ['data.mdb', 'lock.mdb']
/**
 * Tree summaries are all dropped when their bytes pass this (they are made again as trees
 * are read). /usr/share's 3,300 trees have 8.3 MB of summaries; expire clears them anyway
 * (a new generation), so this only bounds a savedir that is saved to and never expired.
 */
export const SUMMARY_LIMIT = 512 * 1024 * 1024

interface CacheState {
  generation?: number
  saveset?: string
}

function readState(dir: string): CacheState {
  try {
    const v = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as unknown
    return typeof v === 'object' && v !== null ? v as CacheState : {}
  } catch {
    return {}
  }
}

function writeState(dir: string, state: CacheState): void {
  writeFileAtomic(join(dir, STATE_FILE), [Buffer.from(JSON.stringify(state) + '\n')])
}

export class ObjectCache implements LastUseCache, SummaryCache {
  private broken = false

  private constructor(
    private readonly dir: string,
    private readonly generation: number,
    private readonly times: ObjectTimes | null,
    private readonly summaries: SummaryFile | null,
  ) {}

  /**
   * Open the cache for a savedir; a cache from another generation is cleared. A cache that
   * cannot be opened (read-only home, full disk) is not an error: the save runs without it.
   */
  static async open(savedir: string, repoId: string, generation: number, disabled = false, summaryLimit = SUMMARY_LIMIT): Promise<ObjectCache> {
    const dir = cacheDir(repoId)
    if (disabled) return new ObjectCache(dir, generation, null, null)
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      ObjectCache.dropLmdb(dir)
      const state = readState(dir)
      const last = state.saveset
      const wentBack = typeof last === 'string' && !existsSync(summaryPath(savedir, last))
      if (wentBack) {
        process.stderr.write(`tarshift: note: the savedir lacks saveset ${last}, which this host wrote; it may have been put back from an older copy: the local cache is dropped\n`)
      }
      if (state.generation !== generation || wentBack) {
        ObjectTimes.clear(dir)
        SummaryFile.remove(dir)
        writeState(dir, { generation })
      }
      // Read ahead by the native prefetch threads: a save looks up summaries in no order.
      native.prefetch([Buffer.from(join(dir, SUMMARIES_FILE))])
      return new ObjectCache(dir, generation, ObjectTimes.open(dir), SummaryFile.open(dir, summaryLimit))
    } catch (e) {
      process.stderr.write(`tarshift: note: local cache unavailable (${(e as Error).message}); continuing without it\n`)
      return new ObjectCache(dir, generation, null, null)
    }
  }

  /** The LMDB files of earlier versions' caches (and their `summaries/` directory) go. */
  private static dropLmdb(dir: string): void {
    for (const f of LMDB_FILES) rmSync(join(dir, f), { force: true })
    const old = join(dir, SUMMARIES_FILE)
    if (statSync(old, { throwIfNoEntry: false })?.isDirectory()) rmSync(old, { recursive: true, force: true })
  }

  /** Run a write to the cache; the first failure is noted and the cache written no more. */
  private guard(what: string, f: () => void): void {
    if (this.broken) return
    try {
      f()
    } catch (e) {
      this.broken = true
      process.stderr.write(`tarshift: note: local cache not updated (${what}: ${(e as Error).message}); it is a hint, the save goes on\n`)
    }
  }

  /**
   * A save of this host has written the first summary of saveset `id`: every object recorded
   * from now on was written after it, so a savedir without that summary is older than this cache.
   */
  noteSaveset(id: string): void {
    if (this.times !== null) this.guard('state', () => writeState(this.dir, { generation: this.generation, saveset: id }))
  }

  /** When this host last saw the object exist with a fresh last-use time (ms), or undefined. */
  touchedAt(hash: string): number | undefined {
    return this.times?.touchedAt(hash)
  }

  record(hash: string, when: number): void {
    const times = this.times
    if (times !== null) this.guard(OBJECTS_FILE, () => times.record(hash, when))
  }

  summary(hex: string): Buffer | undefined {
    return this.summaries?.get(hex)
  }

  hasSummary(hex: string): boolean {
    return this.summaries?.has(hex) ?? false
  }

  recordSummary(hex: string, summary: Buffer): void {
    const summaries = this.summaries
    if (summaries !== null) this.guard(SUMMARIES_INDEX_FILE, () => summaries.put(hex, summary))
  }

  async close(): Promise<void> {
    const { times, summaries } = this
    if (times !== null) this.guard(OBJECTS_FILE, () => times.close())
    if (summaries !== null) {
      try {
        summaries.close()
      } catch (e) {
        if (!this.broken) process.stderr.write(`tarshift: note: local cache not updated (${SUMMARIES_FILE}: ${(e as Error).message}); it is a hint\n`)
        this.broken = true
      }
    }
  }
}
