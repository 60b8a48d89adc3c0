// The object store's worker threads, started on their own: this file imports little, so a
// command can start the workers first and load the rest of tarshift while they boot.
import { availableParallelism } from 'node:os'
import { CorruptObjectError, MissingObjectError, TarshiftError, type ErrorCode } from '../errors.js'
import { fanoutDigits } from './layout.js'
import { WorkerPool, type SerializedError } from './worker-pool.js'
import { SharedRing } from './shared-ring.js'

/**
 * The ring the store's puts pass their bytes through (shared-ring.ts): room for the save's
 * window of chunks in flight (6 MiB) and the chunk cut past it (up to the largest chunk size),
 * a batch of small objects (1.1 MiB), and slack for free ranges too small to use. Slots are
 * first-fit from the lowest free range, so only the pages a save needs become resident: a
 * larger ring costs address space, not memory (20 against 14 MiB: the same peak RSS).
 */
export const RING_BYTES = 20 * 1024 * 1024

/** An error a worker sent back, as the class it had there. */
export function revive(e: SerializedError): Error {
  if (e.name === 'CorruptObjectError' && e.hash && e.path) {
    return new CorruptObjectError(e.hash, e.path, e.why ?? e.message)
  }
  if (e.name === 'MissingObjectError' && e.hash && e.path) return new MissingObjectError(e.hash, e.path)
  if (e.code?.startsWith('TARSHIFT_')) {
    return new TarshiftError(e.code as ErrorCode, e.message, { ...(e.path ? { path: e.path } : {}), ...(e.syscall ? { syscall: e.syscall } : {}) })
  }
  const err = new Error(e.message) as Error & { code?: string }
  if (e.code) err.code = e.code
  return err
}

/**
 * Start the store's worker threads. Each takes ~0.1 s of Node's own start-up before it answers.
 * `initial` of the `size` start now (a first save with xz starts them all before it loads its
 * modules, takes its lock and opens the cache), the others at the pool's first request (one) or
 * grow() (all). Other saves start none: with zstd or none the store works in C, and a save
 * with a reference may need none (save-command.ts).
 */
export function startStoreWorkers(savedir: string, size = Math.max(1, Math.min(4, availableParallelism())), ringBytes = RING_BYTES, initial = size): WorkerPool {
  const ring = new SharedRing(ringBytes)
  return new WorkerPool(new URL('./store-worker.js', import.meta.url), size, { savedir, fanoutDigits: fanoutDigits(savedir), ring: ring.buffer }, revive, ring, initial)
}
