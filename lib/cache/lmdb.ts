// lmdb-js, as the local cache uses it (object-cache.ts, summary-store.ts): the one place that
// loads it (a CommonJS package) and the part of its API used, typed.
import { createRequire } from 'node:module'

/** The part of an lmdb-js database used here. */
export interface LmdbDb {
  get(k: string | number): unknown
  getBinary(k: string | number): Buffer | undefined
  doesExist(k: string | number): boolean
  put(k: string | number, v: unknown): Promise<boolean>
  getKeys(o: { reverse?: boolean; limit?: number; start?: string; end?: string }): Iterable<unknown>
  remove(k: string): Promise<boolean>
  clearAsync(): Promise<void>
}

/** An environment's main database, which closes the environment. */
export interface LmdbRoot extends LmdbDb {
  close(): Promise<void>
}

const lmdb = createRequire(import.meta.url)('lmdb') as {
  open(o: { path: string; compression?: boolean; noSync?: boolean; encoding?: 'binary' }): LmdbRoot
}

/** Open (or make) an LMDB environment in directory `path`, uncompressed, without syncs. */
export function openLmdb(path: string, encoding?: 'binary'): LmdbRoot {
  return lmdb.open({ path, compression: false, noSync: true, ...(encoding ? { encoding } : {}) })
}
