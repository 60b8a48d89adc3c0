// lib/cache owns the local LMDB cache (never in the savedir): which objects this host knows
// to exist and when it last touched them, so that a save over NFS or sshfs does not stat
// every chunk (DESIGN.md §6). It is a hint: deleting it only costs time. It is dropped when
// the savedir's generation (bumped by expire and check --repair) differs from its own.
import { mkdirSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const lmdb = require('lmdb') as {
  open(o: { path: string; compression?: boolean; noSync?: boolean }): LmdbDb
}

interface LmdbDb {
  get(k: string): unknown
  put(k: string, v: unknown): Promise<boolean>
  clearAsync(): Promise<void>
  close(): Promise<void>
}

export function cacheDir(repoId: string): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache')
  return join(base, 'tarshift', repoId)
}

const GENERATION_KEY = '!generation'

export class ObjectCache {
  private constructor(private readonly db: LmdbDb | null) {}

  /**
   * Open the cache for a savedir; a cache from another generation is cleared. A cache that
   * cannot be opened (read-only home, full disk) is not an error: the save runs without it.
   */
  static async open(repoId: string, generation: number, disabled = false): Promise<ObjectCache> {
    if (disabled) return new ObjectCache(null)
    let db: LmdbDb
    try {
      const dir = cacheDir(repoId)
      mkdirSync(dir, { recursive: true, mode: 0o700 })
      db = lmdb.open({ path: dir, compression: false, noSync: true })
    } catch (e) {
      process.stderr.write(`tarshift: note: local cache unavailable (${(e as Error).message}); continuing without it\n`)
      return new ObjectCache(null)
    }
    if (db.get(GENERATION_KEY) !== generation) {
      await db.clearAsync()
      await db.put(GENERATION_KEY, generation)
    }
    return new ObjectCache(db)
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

  async close(): Promise<void> {
    await this.db?.close()
  }
}
