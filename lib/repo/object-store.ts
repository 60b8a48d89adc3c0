// The object store: content-addressed objects in chunks/abc/<sha256>.data, written once,
// never modified; .time files record a later use (DESIGN.md §2, §4). Work runs in a pool of
// worker threads; this class is the main-thread face of it.
import { existsSync, closeSync, openSync, statfsSync, constants } from 'node:fs'
import { availableParallelism } from 'node:os'
import { CorruptObjectError, MissingObjectError, TarshiftError, savedirIoError, type ErrorCode } from '../errors.js'
import { codecByName } from '../codec/codec.js'
import { sha256hex } from '../codec/object-frame.js'
import type { ObjectKind } from '../codec/object-header.js'
import { native } from '../fs/native.js'
import { dataPath } from './layout.js'
import type { RepoConfig } from './config.js'
import { WorkerPool, type SerializedError } from './worker-pool.js'
import type { PutReply } from './store-worker.js'

export interface ObjectStoreOptions {
  workers?: number
  /** Objects a save uses must end with a last-use time no older than this (DESIGN.md §4). */
  refreshMs?: number
  dryRun?: boolean
  compression?: string
}

export interface StoreStats {
  objectsNew: number
  bytesNew: number
  /** Uncompressed bytes of the new objects. */
  rawBytesNew: number
}

export const DEFAULT_REFRESH_MS = 24 * 3600 * 1000
/** Bytes of deferred (tree) puts in flight before writeTree waits. */
const DEFERRED_LIMIT = 16 * 1024 * 1024

/** Local filesystems on which one syncfs() makes everything written durable. */
const SYNCFS_TYPES = new Set([0xef53 /* ext2/3/4 */, 0x58465342 /* xfs */, 0x9123683e /* btrfs */, 0x01021994 /* tmpfs */, 0x2fc12fc1 /* zfs */, 0xf2f52010 /* f2fs */])

function revive(e: SerializedError): Error {
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

export class ObjectStore {
  readonly stats: StoreStats = { objectsNew: 0, bytesNew: 0, rawBytesNew: 0 }
  private readonly pool: WorkerPool
  private readonly codecId: number
  private readonly dryRun: boolean
  private readonly refreshMs: number
  private readonly deferred = new Set<Promise<void>>()
  private deferredFailure: unknown = null
  private deferredBytes = 0
  /** Puts sent so far; the sequence numbers of those not yet answered (ascending). */
  private submitted = 0
  private readonly open = new Set<number>()
  /** Hashes reported new, each with the number of puts submitted at that moment (put()). */
  private readonly recentNew = new Map<string, number>()

  constructor(readonly savedir: string, readonly config: RepoConfig, opts: ObjectStoreOptions = {}) {
    const size = opts.workers ?? Math.max(1, Math.min(4, availableParallelism()))
    this.pool = new WorkerPool(new URL('./store-worker.js', import.meta.url), size, { savedir }, revive)
    this.codecId = codecByName(opts.compression ?? config.compression).id
    this.dryRun = opts.dryRun ?? false
    this.refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS
  }

  get workers(): number {
    return this.pool.size
  }

  /** Hash, compress and store `data` unless an object of that name exists. */
  async put(data: Buffer, kind: ObjectKind, opts: { transfer?: boolean } = {}): Promise<PutReply> {
    const length = data.length
    // Hand the bytes to the worker without a copy when the caller gives them up and they own
    // their whole memory (chunks from the StreamChunker do; pooled or shared buffers do not).
    // Otherwise copy exactly the bytes: posting a view would clone its whole backing memory
    // (an 8 KiB pool slab, or msgpackr's multi-megabyte output buffer for every tree).
    const owns = data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer
    const payload = opts.transfer === true && owns ? data : new Uint8Array(data)
    const transfer = [payload.buffer as ArrayBuffer]
    const seq = ++this.submitted
    this.open.add(seq)
    let r: PutReply
    try {
      r = await this.pool.call<PutReply>({ op: 'put', kind, codecId: this.codecId, data: payload, dryRun: this.dryRun, refreshMs: this.refreshMs }, transfer)
    } finally {
      this.open.delete(seq)
    }
    if (r.isNew && this.recentNew.has(r.hash)) {
      // Two puts of the same bytes were in flight in different workers: both found no object
      // and both wrote it (harmless, same content). Count it once.
      r = { ...r, isNew: false, storedBytes: 0 }
    } else if (r.isNew) {
      this.stats.objectsNew++
      this.stats.bytesNew += r.storedBytes
      this.stats.rawBytesNew += length
      this.recentNew.set(r.hash, this.submitted)
    }
    this.forgetSettled()
    return r
  }

  /**
   * A put submitted after an object's first "new" reply finds the object written, so only the
   * puts in flight at that moment can report it new again: a hash is forgotten once they have
   * all settled. A dry run writes nothing, so it remembers every new hash.
   */
  private forgetSettled(): void {
    if (this.dryRun) return
    const oldestOpen = this.open.values().next().value ?? Infinity
    // Insertion order: the recorded sequence numbers never decrease.
    for (const [hash, lastSubmitted] of this.recentNew) {
      if (lastSubmitted >= oldestOpen) break
      this.recentNew.delete(hash)
    }
  }

  /**
   * Store `data` without waiting: its name is computed here (SHA-256 on this thread, cheap
   * for the small objects this is meant for: trees) and returned at once; the write goes on in
   * the workers. flush() waits for every deferred put and rethrows the first failure.
   */
  putDeferred(data: Buffer, kind: ObjectKind): string {
    if (this.deferredFailure !== null) throw this.deferredFailure
    const hash = sha256hex(data)
    const n = data.length
    this.deferredBytes += n
    const p = this.put(data, kind).then(
      () => undefined,
      e => {
        this.deferredFailure ??= e
      },
    )
    this.deferred.add(p)
    void p.finally(() => {
      this.deferred.delete(p)
      this.deferredBytes -= n
    })
    return hash
  }

  /** Wait while more than `limit` bytes of deferred puts are in flight (bounded memory). */
  async deferredRoom(limit = DEFERRED_LIMIT): Promise<void> {
    while (this.deferredBytes > limit && this.deferred.size > 0) await Promise.race([...this.deferred])
    if (this.deferredFailure !== null) throw this.deferredFailure
  }

  /** Wait for every deferred put; rethrow the first failure. */
  async settle(): Promise<void> {
    while (this.deferred.size > 0) await Promise.all([...this.deferred])
    if (this.deferredFailure !== null) throw this.deferredFailure
  }

  /** Read, decompress and verify an object. Throws MissingObjectError / CorruptObjectError. */
  async get(hash: string): Promise<{ kind: ObjectKind; data: Buffer }> {
    const r = await this.pool.call<{ kind: ObjectKind; data: Uint8Array }>({ op: 'get', hash })
    return { kind: r.kind, data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength) }
  }

  /**
   * A saveset is about to reference these existing objects without writing them: check each
   * still exists and refresh stale last-use times (DESIGN.md §4, in the workers). Reports per
   * hash the last-use time (ms) the object ends with, or null when it is missing: what a local cache may record (an object found fresh was not touched, so its
   * last-use time is older than now). A dry run touches nothing and reports the times found.
   */
  async ensureTimes(hashes: string[]): Promise<Array<number | null>> {
    if (hashes.length === 0) return []
    return this.pool.call<Array<number | null>>({ op: 'ensure', hashes, refreshMs: this.refreshMs, dryRun: this.dryRun })
  }

  has(hash: string): boolean {
    return existsSync(dataPath(this.savedir, hash))
  }

  /**
   * Make every object written so far durable: one syncfs on a local filesystem, else an
   * fsync of each new object and its directory, in the workers, in parallel.
   */
  async flush(): Promise<void> {
    await this.settle()
    if (this.dryRun) return
    let local = false
    try {
      local = SYNCFS_TYPES.has(statfsSync(this.savedir).type)
    } catch (e) {
      throw savedirIoError(e, 'statfs', this.savedir)
    }
    if (local) {
      const fd = openSync(this.savedir, constants.O_RDONLY | constants.O_DIRECTORY)
      try {
        native.syncfs(fd)
      } catch (e) {
        throw savedirIoError(e, 'syncfs', this.savedir)
      } finally {
        closeSync(fd)
      }
      // The workers' lists are now durable too; clear them without per-file fsyncs.
      await this.pool.broadcast({ op: 'sync', skip: true })
      return
    }
    await this.pool.broadcast({ op: 'sync' })
  }

  async close(): Promise<void> {
    await this.pool.close()
  }
}
