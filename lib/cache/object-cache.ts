// lib/cache owns the local LMDB cache (never in the savedir): which objects this host knows
// to exist and when it last touched them, so that a save over NFS or sshfs does not stat
// every chunk (DESIGN.md §6). It is a hint: deleting it only costs time. It is dropped when
// the savedir's generation (bumped by expire and check --repair) differs from its own, and
// when the savedir lacks the last saveset this host started in it (put back from an older copy).
// It also keeps tree summaries (lib/tree/tree-summary.ts), in an LMDB environment of their own
// (summary-store.ts).
import { existsSync, mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import type { LastUseCache } from '../repo/object-store.js'
import type { SummaryCache } from '../tree/tree-summary.js'
import { summaryPath } from '../repo/saveset.js'
import { SummaryStore } from './summary-store.js'
import { openLmdb, type LmdbRoot } from './lmdb.js'
import { native } from '../fs/native.js'

export function cacheDir(repoId: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'tarshift', repoId)
}

const GENERATION_KEY = '!generation'
/** The id of the last saveset this host started in the savedir (its summary is written first). */
const SAVESET_KEY = '!saveset'
/**
 * Tree summaries are all dropped when their bytes pass this (they are made again as trees
 * are read). /usr/share's 3,300 trees have 8.3 MB of summaries; expire clears them anyway
 * (a new generation), so this only bounds a savedir that is saved to and never expired.
 */
export const SUMMARY_LIMIT = 512 * 1024 * 1024

export class ObjectCache implements LastUseCache, SummaryCache {
  private constructor(private readonly db: LmdbRoot | null, private readonly summaries: SummaryStore | null) {}

  /**
   * Open the cache for a savedir; a cache from another generation is cleared. A cache that
   * cannot be opened (read-only home, full disk) is not an error: the save runs without it.
   */
  static async open(savedir: string, repoId: string, generation: number, disabled = false, summaryLimit = SUMMARY_LIMIT): Promise<ObjectCache> {
    if (disabled) return new ObjectCache(null, null)
    let db: LmdbRoot
    let summaries: SummaryStore
    try {
      const dir = cacheDir(repoId)
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      // Read in whole, ahead, by the native prefetch threads: a save looks up every object it
      // reuses, in no order, and on a cold cache each lookup could wait for its page.
      native.prefetch([Buffer.from(join(dir, 'data.mdb')), Buffer.from(join(dir, 'summaries', 'data.mdb'))])
      db = openLmdb(dir)
      summaries = SummaryStore.open(join(dir, 'summaries'), db, summaryLimit)
    } catch (e) {
      process.stderr.write(`tarshift: note: local cache unavailable (${(e as Error).message}); continuing without it\n`)
      return new ObjectCache(null, null)
    }
    const last = db.get(SAVESET_KEY)
    const wentBack = typeof last === 'string' && !existsSync(summaryPath(savedir, last))
    if (wentBack) {
      process.stderr.write(`tarshift: note: the savedir lacks saveset ${last}, which this host wrote; it may have been put back from an older copy: the local cache is dropped\n`)
    }
    if (db.get(GENERATION_KEY) !== generation || wentBack) {
      await Promise.all([db.clearAsync(), summaries.clear()])
      await db.put(GENERATION_KEY, generation)
    }
    return new ObjectCache(db, summaries)
  }

  /**
   * A save of this host has written the first summary of saveset `id`: every object recorded
   * from now on was written after it, so a savedir without that summary is older than this cache.
   */
  noteSaveset(id: string): void {
    void this.db?.put(SAVESET_KEY, id)
  }

  /** When this host last saw the object exist with a fresh last-use time (ms), or undefined. */
  touchedAt(hash: string): number | undefined {
    const v = this.db?.get(hash)
    return typeof v === 'number' ? v : undefined
  }

  record(hash: string, when: number): void {
    // Writes are batched by lmdb-js; their completion is awaited in close().
    void this.db?.put(hash, when)
  }

  summary(hex: string): Buffer | undefined {
    return this.summaries?.get(hex)
  }

  hasSummary(hex: string): boolean {
    return this.summaries?.has(hex) ?? false
  }

  recordSummary(hex: string, summary: Buffer): void {
    this.summaries?.put(hex, summary)
  }

  async close(): Promise<void> {
    // The summaries still gathered go first: their index is in the main environment.
    this.summaries?.flush()
    await Promise.all([this.db?.close(), this.summaries?.close()])
  }
}
