// The object store: content-addressed objects in chunks/abc/<sha256>.data, written once,
// never modified; .time files record a later use (DESIGN.md §2, §4). Work runs in a pool of
// worker threads; this class is the main-thread face of it.
import { existsSync, closeSync, openSync, constants } from 'node:fs'
import { join } from 'node:path'
import { CorruptObjectError, MissingObjectError, TarshiftError, savedirIoError, type ErrorCode } from '../errors.js'
import { codecByName } from '../codec/codec.js'
import { sha256hex } from '../codec/object-frame.js'
import type { ObjectKind } from '../codec/object-header.js'
import { native } from '../fs/native.js'
import { CHUNKS_DIR, dataPath, fanoutDigits } from './layout.js'
import type { RepoConfig } from './config.js'
import { ownsItsMemory, type WorkerPool } from './worker-pool.js'
import { revive, startStoreWorkers } from './store-workers.js'
import { TurnBatch } from './turn-batch.js'
import { NativePuts, putConcurrency, putsNatively, storeWorksInC, type PutSettled } from './native-puts.js'
import { NativeGets } from './native-gets.js'
import { objectDurability, syncfsServes } from './object-durability.js'
import { pageCacheKept } from './page-cache-kept.js'
import type { GetManyIntoReply, GetManyReply, GotObject, PutManyReply, PutReply } from './store-worker.js'

/**
 * What this host knows of objects' last-use times (the local cache, lib/cache): lets a save
 * skip the stat, touch and write of an object it used recently (DESIGN.md §6).
 */
export interface LastUseCache {
  /** The last-use time (ms) the object had when this host last saw it, or undefined. */
  touchedAt(hash: string): number | undefined
  record(hash: string, lastUseMs: number): void
}

export interface ObjectStoreOptions {
  workers?: number
  /** Workers started earlier (startStoreWorkers), so that they boot while the caller gets ready; the store owns them from now on. */
  pool?: WorkerPool
  cache?: LastUseCache
  /** Objects a save uses must end with a last-use time no older than this (DESIGN.md §4). */
  refreshMs?: number
  dryRun?: boolean
  compression?: string
  /** Size of the ring shared with the workers (store-workers.ts RING_BYTES), when they are started here. */
  ringBytes?: number
  /**
   * Puts and gets in C (native-puts.ts, native-gets.ts) when the codec allows (zstd, none);
   * false: always in the workers (default true; TARSHIFT_STORE=workers in the environment
   * also says false).
   */
  native?: boolean
}

export interface StoreStats {
  objectsNew: number
  bytesNew: number
  /** Uncompressed bytes of the new objects. */
  rawBytesNew: number
  /** Times the savedir was made durable (syncfs, or the workers' fsyncs). */
  syncs: number
}

/** Requests to the store workers that change nothing in the savedir. */
const READ_ONLY_OPS = new Set(['get', 'getMany', 'getManyInto'])

export const DEFAULT_REFRESH_MS = 24 * 3600 * 1000
/** Bytes of deferred (tree) puts in flight before writeTree waits. */
const DEFERRED_LIMIT = 16 * 1024 * 1024
/** Puts of fewer bytes than this are sent in batches of up to BATCH_ITEMS or BATCH_BYTES. */
const BATCH_ITEM_MAX = 64 * 1024
const BATCH_ITEMS = 128
/**
 * Over the network (durability `fsync`) a batch is written one object after another, each a
 * few round trips: batches of two, many at once (putConcurrency). A first save of /usr/share
 * onto sshfs: 17.4 s with batches of 128 and 4 calls at once, 11.5-13.6 with 2 and 64.
 */
const NETWORK_BATCH_ITEMS = 2
/** Tree gets sent in one message at most. */
const GET_BATCH = 16
const BATCH_BYTES = 1024 * 1024

/** A put waiting in a batch (putBatched). */
interface BatchedPut {
  kind: ObjectKind
  length: number
  resolve: (r: PutReply) => void
  reject: (e: unknown) => void
}

interface BatchedGetInto {
  hash: string
  slot: Buffer
  resolve: (r: Buffer) => void
  reject: (e: unknown) => void
}

interface BatchedGet {
  hash: string
  resolve: (r: { kind: ObjectKind; data: Buffer }) => void
  reject: (e: unknown) => void
}

function asBuffer(r: GotObject): { kind: ObjectKind; data: Buffer } {
  return { kind: r.kind, data: Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength) }
}

/** Objects taken on the cache's word are checked to exist in batches of this many. */
const CLAIM_BATCH = 8192

export class ObjectStore {
  readonly stats: StoreStats = { objectsNew: 0, bytesNew: 0, rawBytesNew: 0, syncs: 0 }
  private readonly pool: WorkerPool
  private readonly codecId: number
  private readonly dryRun: boolean
  private readonly refreshMs: number
  private readonly cache: LastUseCache | null
  /** Puts in C, when the codec allows; null: puts go to the workers. */
  private readonly natives: NativePuts | null
  /** Reads in C (xz objects still through the workers); null: reads go to the workers. */
  private readonly nativeGets: NativeGets | null
  /** The whole shared ring, as bytes: where the reads in C put objects (getInto). */
  private ringBytes: Uint8Array | null = null
  /** New objects written since the last flush: told to the cache once they are durable. */
  private unflushedNew: Array<[string, number | null]> = []
  private trustCache = true
  /** Whether a request that may change the savedir went to the workers since the last sync. */
  private unsynced = false
  /** Objects referenced on the cache's word, gathered to be checked; the checks sent. */
  // Sent when full or when missingClaimed() asks, not at every turn of the event loop: an
  // unchanged save of /usr/share posted a message of a few claims at nearly every turn.
  private readonly claimed = new TurnBatch<string>(hashes => this.checkClaims(hashes), CLAIM_BATCH, Infinity, false)
  private claimChecks: Array<Promise<string[]>> = []
  /** The last hash claimed (claimFresh). */
  private lastClaimed: string | null = null
  private readonly deferred = new Set<Promise<void>>()
  private deferredFailure: unknown = null
  private deferredBytes = 0
  /** Puts sent so far; the sequence numbers of those not yet answered (ascending). */
  private submitted = 0
  private readonly open = new Set<number>()
  /** Hashes reported new, each with the number of puts submitted at that moment (put()). */
  private readonly recentNew = new Map<string, number>()
  /** Small puts not yet sent (putBatched). */
  private readonly batch: TurnBatch<BatchedPut>
  /** The bytes a batch's buffer holds: BATCH_BYTES, or less when batches are of few items. */
  private readonly batchCapacity: number
  /** The objects of the batch being gathered, one after another (room for one past the limit); null between batches. */
  private batchBytes: Uint8Array | null = null
  private batchAt = 0
  private readonly gets = new TurnBatch<BatchedGet>(gets => this.sendGets(gets), GET_BATCH)
  /** Batched gets sent and not yet answered. */
  private getsInFlight = 0
  private readonly getsInto = new TurnBatch<BatchedGetInto>(gets => this.sendGetsInto(gets), GET_BATCH)

  /** Whether objects read ahead into the page cache stay there for their read (prefetchObjects). */
  private readonly readAheadPays: boolean

  constructor(readonly savedir: string, readonly config: RepoConfig, opts: ObjectStoreOptions = {}) {
    this.codecId = codecByName(opts.compression ?? config.compression).id
    const inC = opts.native !== false && storeWorksInC(this.codecId)
    // With puts and gets in C, a worker is started only when a request needs one (xz objects,
    // freshness checks): none, for most commands.
    this.pool = opts.pool ?? startStoreWorkers(savedir, opts.workers, opts.ringBytes, inC ? 0 : undefined)
    this.dryRun = opts.dryRun ?? false
    this.refreshMs = opts.refreshMs ?? DEFAULT_REFRESH_MS
    this.cache = opts.cache ?? null
    const durability = inC ? objectDurability(savedir) : 'ordered'
    this.natives = inC ? new NativePuts(savedir, this.codecId, this.dryRun, this.refreshMs, putConcurrency(durability, this.pool.capacity)) : null
    const items = durability === 'fsync' ? NETWORK_BATCH_ITEMS : BATCH_ITEMS
    this.batchCapacity = Math.min(BATCH_BYTES, items * BATCH_ITEM_MAX)
    this.batch = new TurnBatch<BatchedPut>(puts => this.sendPuts(puts), items, this.batchCapacity)
    // Reads too, unless the savedir's objects are mostly xz (each would be read twice).
    this.nativeGets = inC && putsNatively(codecByName(config.compression).id) ? new NativeGets(savedir) : null
    this.readAheadPays = pageCacheKept(savedir)
  }

  /**
   * True when the cache says this object existed with a last-use time less than half the
   * refresh interval old: a save may reference it without a touch, and without waiting for a
   * stat. A true answer is a claim the store records and checks. The cache cannot know that the object is still there (one removed by hand, or by a
   * tool that did not bump the generation), so every object taken on its word is checked all
   * the same, in the workers, in batches, while the save goes on; missingClaimed() reports
   * those that were not there, and the save then runs again without trusting the cache.
   */
  claimFresh(hash: string): boolean {
    if (!this.trustCache) return false
    // The files of a directory written with slices all reference the same tree part, one
    // after another: claimed once, checked once.
    if (hash === this.lastClaimed) return true
    const t = this.cache?.touchedAt(hash)
    if (t === undefined || Date.now() - t > this.refreshMs / 2) return false
    this.claimed.add(hash)
    this.lastClaimed = hash
    return true
  }

  /**
   * On libuv's thread pool, in C (native/objects-exist.c), not in a store worker: the check
   * can start before any worker has booted, and it costs the workers nothing. An unchanged
   * save of a few large files (corpus B) waited 40-90 ms at its end for a worker to boot and
   * list the fan-out directories.
   */
  private checkClaims(hashes: string[]): void {
    const chunks = join(this.savedir, CHUNKS_DIR)
    const p = native.objectsExist(Buffer.from(chunks), fanoutDigits(this.savedir), hashes.join(''))
      .then(found => hashes.filter((_, i) => found[i] !== 1), (e: unknown) => { throw savedirIoError(e, 'checking that objects exist', (e as { path?: string }).path ?? chunks) })
    p.catch(() => undefined) // awaited in missingClaimed()
    this.claimChecks.push(p)
  }

  /** Objects taken on the cache's word (claimFresh) since the last call that are missing. */
  async missingClaimed(): Promise<string[]> {
    this.claimed.flush()
    const checks = this.claimChecks
    this.claimChecks = []
    return (await Promise.all(checks)).flat()
  }

  /** From now on every object is checked (and touched when stale) before it is referenced. */
  distrustCache(): void {
    this.trustCache = false
    this.lastClaimed = null
  }

  /** Tell the cache the last-use time an object has now (never in a dry run: nothing was touched). */
  private remember(hash: string, lastUse: number | null): void {
    if (this.cache && !this.dryRun && lastUse !== null) this.cache.record(hash, Math.min(Date.now(), lastUse))
  }

  get workers(): number {
    return this.pool.size
  }

  /**
   * A buffer for a chunk that will be given to put() with `transfer`: a slot of the ring the
   * workers share (no allocation, nothing to transfer), or a buffer of its own when the ring
   * is full. A slot must go to put(), which gives it back.
   */
  chunkBuffer(n: number): Buffer {
    return this.pool.ring?.alloc(n) ?? Buffer.allocUnsafeSlow(n)
  }

  /** Hash, compress and store `data` unless an object of that name exists. */
  async put(data: Buffer, kind: ObjectKind, opts: { transfer?: boolean } = {}): Promise<PutReply> {
    // Something to write in the workers: every one will be needed (a save may start with none).
    if (this.natives === null) this.pool.grow()
    const length = data.length
    const ring = this.pool.ring
    // A small object is copied into the batch buffer at once (putBatched). A large one is
    // passed through the shared ring: in the slot it came in (chunkBuffer), or copied into one.
    // With no room there, it goes to the worker without a copy when the caller gives it up and
    // it owns its whole memory (chunks from the StreamChunker do; pooled or shared buffers do
    // not); otherwise exactly its bytes are copied: posting a view would clone its whole
    // backing memory (an 8 KiB pool slab, or msgpackr's multi-megabyte output buffer for every
    // tree). Either way the caller may reuse `data` as soon as put() returns its promise.
    const seq = ++this.submitted
    this.open.add(seq)
    let slot: Buffer | null = ring !== null && ring.owns(data) ? data : null
    let r: PutReply
    try {
      if (length < BATCH_ITEM_MAX) {
        const p = this.putBatched(data, kind)
        if (slot !== null) {
          ring?.free(slot)
          slot = null
        }
        r = await p
      } else {
        const common = { op: 'put', kind, codecId: this.codecId, dryRun: this.dryRun, refreshMs: this.refreshMs }
        if (slot === null && !(opts.transfer === true && ownsItsMemory(data))) {
          slot = ring?.alloc(length) ?? null
          slot?.set(data)
        }
        if (this.natives !== null) {
          // C reads the bytes where they are, until the promise settles.
          this.unsynced = true
          const bytes = slot ?? (opts.transfer === true && ownsItsMemory(data) ? data : Buffer.from(data))
          r = await this.natives.put(bytes, kind)
        } else if (slot !== null) {
          r = await this.call<PutReply>({ ...common, at: slot.byteOffset, length })
        } else {
          const payload = opts.transfer === true && ownsItsMemory(data) ? data : new Uint8Array(data)
          r = await this.call<PutReply>({ ...common, data: payload }, [payload.buffer as ArrayBuffer])
        }
      }
    } finally {
      this.open.delete(seq)
      // The worker has answered (or failed): it no longer reads the slot.
      if (slot !== null) ring?.free(slot)
    }
    // Written by this put: not durable before the next flush, so the cache hears of it then.
    const written = r.isNew
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
    if (written) {
      if (this.cache && !this.dryRun) this.unflushedNew.push([r.hash, r.lastUse])
    } else {
      this.remember(r.hash, r.lastUse)
    }
    this.forgetSettled()
    return r
  }

  /**
   * A small put joins a batch: one message and one buffer for up to BATCH_ITEMS objects instead
   * of one each. A first save of many small files sent 21,000 messages, and each object's own
   * buffer stayed allocated in a worker until that worker's next garbage collection. The batch
   * goes when full, or as soon as the event loop turns (the caller awaits something).
   */
  private putBatched(data: Uint8Array, kind: ObjectKind): Promise<PutReply> {
    return new Promise<PutReply>((resolve, reject) => {
      // Copied now, into the buffer that goes to the worker: no buffer of its own per object
      // (the chunk buffers of a first save of many small files waited for a full collection
      // in the main thread's malloc arena: ~100 MB at the peak). The batch's buffer is a slot
      // of the shared ring when there is room.
      this.batchBytes ??= this.pool.ring?.alloc(this.batchCapacity + BATCH_ITEM_MAX) ?? new Uint8Array(this.batchCapacity + BATCH_ITEM_MAX)
      this.batchBytes.set(data, this.batchAt)
      this.batchAt += data.byteLength
      this.batch.add({ kind, length: data.byteLength, resolve, reject }, data.byteLength)
    })
  }

  /** One putMany message: the objects one after another in one buffer (a ring slot, or transferred). */
  private sendPuts(puts: BatchedPut[]): void {
    const whole = this.batchBytes as Uint8Array
    const data = whole.subarray(0, this.batchAt)
    this.batchBytes = null
    this.batchAt = 0
    const ring = this.pool.ring
    const inRing = ring !== null && ring.owns(whole)
    const items = puts.map(p => ({ kind: p.kind, length: p.length }))
    let sent: Promise<PutSettled[]>
    if (this.natives !== null) {
      this.unsynced = true
      sent = this.natives.putMany(data, items)
    } else {
      const common = { op: 'putMany', items, codecId: this.codecId, dryRun: this.dryRun, refreshMs: this.refreshMs }
      const replies = inRing ? this.call<PutManyReply>({ ...common, at: data.byteOffset, length: data.byteLength }) : this.call<PutManyReply>({ ...common, data }, [data.buffer as ArrayBuffer])
      sent = replies.then(rs => rs.map(r => (r.ok ? r : { ok: false, error: revive(r.error) })))
    }
    sent.then(
      replies => puts.forEach((p, i) => {
        const r = replies[i]
        if (r?.ok) p.resolve(r.value)
        else p.reject(r ? r.error : new Error('no reply for a batched put'))
      }),
      e => { for (const p of puts) p.reject(e) },
    ).finally(() => { if (inRing) ring.free(whole) })
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
    // An unchanged directory's tree was written (or refreshed) by a recent save of this host.
    if (this.claimFresh(hash)) return hash
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
    if (this.nativeGets !== null) {
      const [r] = await this.nativeGets.getMany([hash])
      if (r?.ok === true) return r.value
      if (r?.ok === false) throw r.error
    }
    return asBuffer(await this.call<GotObject>({ op: 'get', hash }))
  }

  /**
   * get() for small objects (trees; a restore's small chunks): sent to a worker with the other
   * gets of the same turn, up to GET_BATCH in one message (an unchanged save reads thousands
   * of small trees; a message each cost 30 us of the main thread), and the worker asks the
   * kernel for all of them before reading the first, so their disk reads overlap.
   */
  getBatched(hash: string): Promise<{ kind: ObjectKind; data: Buffer }> {
    return new Promise((resolve, reject) => this.gets.add({ hash, resolve, reject }))
  }

  /**
   * Send the batched gets gathered so far now, without waiting for the event loop to turn,
   * unless some are still being answered: those go when the last answer comes (or the batch
   * is full). Each message wakes a worker, ~70 us of this thread here: sent at once every
   * time, an unchanged save of /usr/share posted 1,430 of them for 3,700 trees.
   */
  sendBatchedGets(): void {
    if (this.getsInFlight === 0) this.gets.flush()
  }

  /**
   * get() of a data object of `length` bytes into a slot of the ring shared with the workers:
   * decompressed and verified there, with no buffer allocated or transferred for it (a
   * restore's chunks). Batched as getBatched unless `batched` is false (large objects: one
   * message each spreads them over the workers). Null when the ring has no room now: use get().
   * The slot is the caller's until it gives it back with releaseChunk().
   */
  getInto(hash: string, length: number, batched = true): Promise<Buffer> | null {
    const slot = this.pool.ring?.alloc(length) ?? null
    if (slot === null) return null
    return new Promise((resolve, reject) => {
      const g = { hash, slot, resolve, reject }
      if (batched) this.getsInto.add(g)
      else this.sendGetsInto([g])
    })
  }

  /** Give back a buffer that getInto() returned (any other buffer is left alone). */
  releaseChunk(b: Uint8Array): void {
    const ring = this.pool.ring
    if (ring !== null && b.length > 0 && ring.owns(b)) ring.free(b)
  }

  private sendGetsInto(gets: BatchedGetInto[]): void {
    this.prefetch(gets.map(g => g.hash))
    const ring = this.pool.ring
    if (this.nativeGets !== null && ring !== null) {
      this.ringBytes ??= new Uint8Array(ring.buffer)
      this.nativeGets.getManyInto(gets.map(g => g.hash), this.ringBytes, gets.map(g => g.slot)).then(
        replies => {
          const others: BatchedGetInto[] = []
          gets.forEach((g, i) => {
            const r = replies[i]
            if (r?.ok === true) return g.resolve(g.slot)
            if (r?.ok === 'other') return others.push(g)
            this.releaseChunk(g.slot)
            g.reject(r ? r.error : new Error('no reply for a batched get'))
          })
          if (others.length > 0) this.sendGetsIntoWorkers(others)
        },
        e => {
          for (const g of gets) {
            this.releaseChunk(g.slot)
            g.reject(e)
          }
        },
      )
      return
    }
    this.sendGetsIntoWorkers(gets)
  }

  private sendGetsIntoWorkers(gets: BatchedGetInto[]): void {
    const msg = { op: 'getManyInto', hashes: gets.map(g => g.hash), at: gets.map(g => g.slot.byteOffset), lengths: gets.map(g => g.slot.length) }
    this.call<GetManyIntoReply>(msg).then(
      replies => gets.forEach((g, i) => {
        const r = replies[i]
        if (r?.ok) return g.resolve(g.slot)
        this.releaseChunk(g.slot)
        g.reject(r ? revive(r.error) : new Error('no reply for a batched get'))
      }),
      e => {
        for (const g of gets) {
          this.releaseChunk(g.slot)
          g.reject(e)
        }
      },
    )
  }

  /**
   * Objects about to be read go to the native prefetch threads as they are sent, not when a
   * worker comes to them: on a cold cache the reads of all the batches waiting in the workers'
   * queues are then in flight together (an unchanged save waits for thousands of trees).
   */
  private prefetch(hashes: readonly string[]): void {
    if (hashes.length > 1) this.prefetchObjects(hashes)
  }

  /**
   * Have the native prefetch threads read these objects' files into the page cache, no more;
   * nothing where the page cache would not keep them for their read (page-cache-kept.ts).
   */
  prefetchObjects(hashes: readonly string[]): void {
    if (!this.readAheadPays) return
    native.prefetch(hashes.map(h => Buffer.from(dataPath(this.savedir, h))))
  }

  private sendGets(gets: BatchedGet[]): void {
    this.prefetch(gets.map(g => g.hash))
    this.getsInFlight++
    this.getMany(gets.map(g => g.hash)).then(
      replies => gets.forEach((g, i) => {
        const r = replies[i]
        if (r?.ok) g.resolve(r.value)
        else g.reject(r ? r.error : new Error('no reply for a batched get'))
      }),
      e => { for (const g of gets) g.reject(e) },
    ).finally(() => {
      // The workers have room for more: what gathered meanwhile goes now.
      if (--this.getsInFlight === 0) this.gets.flush()
    })
  }

  /** Objects read into buffers of their own: in C, and in a worker those it leaves (xz) or all. */
  private async getMany(hashes: string[]): Promise<Array<{ ok: true; value: { kind: ObjectKind; data: Buffer } } | { ok: false; error: Error }>> {
    const inC = this.nativeGets !== null ? await this.nativeGets.getMany(hashes) : null
    const rest = inC === null ? hashes : hashes.filter((_, i) => inC[i]?.ok === 'other')
    const fromWorkers = rest.length === 0 ? [] : await this.call<GetManyReply>({ op: 'getMany', hashes: rest })
    let w = 0
    return hashes.map((_, i) => {
      const c = inC?.[i]
      if (c !== undefined && c.ok !== 'other') return c
      const r = fromWorkers[w++]
      if (r === undefined) return { ok: false, error: new Error('no reply for a batched get') }
      return r.ok ? { ok: true, value: asBuffer(r.value) } : { ok: false, error: revive(r.error) }
    })
  }

  /**
   * A saveset is about to reference these existing objects without writing them (DESIGN.md
   * §4): those the cache knows fresh are taken as they are; each of the others is checked to
   * exist and its last-use time refreshed when stale, in a worker. False when one is missing.
   * A dry run touches nothing; it only checks.
   */
  async ensureFresh(hashes: readonly string[]): Promise<boolean> {
    return this.ensureFreshNow(hashes)
  }

  /**
   * ensureFresh, answered at once when the local cache vouches for every object (as it does
   * for nearly all of an unchanged save's): true, or a promise when some must be checked.
   */
  ensureFreshNow(hashes: readonly string[]): true | Promise<boolean> {
    const stale = hashes.filter(h => !this.claimFresh(h))
    return stale.length === 0 ? true : this.refresh(stale)
  }

  private async refresh(stale: string[]): Promise<boolean> {
    let times: Array<number | null>
    if (this.natives !== null) {
      // It may touch .time files: made durable with the next flush, like a put.
      if (!this.dryRun) this.unsynced = true
      times = await this.natives.refresh(stale)
    } else {
      times = await this.call<Array<number | null>>({ op: 'ensure', hashes: stale, refreshMs: this.refreshMs, dryRun: this.dryRun })
    }
    stale.forEach((h, i) => this.remember(h, times[i] ?? null))
    return times.every(t => t !== null)
  }

  has(hash: string): boolean {
    return existsSync(dataPath(this.savedir, hash))
  }

  /**
   * Make every object written so far durable. Each one's data was before its rename
   * (object-durability.ts); their names now: one syncfs on a local file system, else an fsync
   * of each directory written into, in parallel.
   */
  async flush(): Promise<void> {
    await this.settle()
    if (this.dryRun) return
    const written = this.unflushedNew
    this.unflushedNew = []
    await this.syncAll()
    for (const [h, lastUse] of written) this.remember(h, lastUse)
  }

  /**
   * A request to the workers. Any but a read (a put, a freshness check that may touch an
   * object) leaves the savedir to be made durable at the next flush.
   */
  private call<T>(msg: { op: string; [field: string]: unknown }, transfer: ArrayBuffer[] = []): Promise<T> {
    if (!READ_ONLY_OPS.has(msg.op)) this.unsynced = true
    return this.pool.call<T>(msg, transfer)
  }

  private async syncAll(): Promise<void> {
    // Nothing written or touched since the last sync (an unchanged save, a checkpoint with
    // nothing new): no syncfs, which would wait for every dirty page of the whole file
    // system, other programs' included. Cleared first: a put sent meanwhile sets it again.
    if (!this.unsynced) return
    this.unsynced = false
    this.stats.syncs++
    if (syncfsServes(objectDurability(this.savedir))) {
      const fd = openSync(this.savedir, constants.O_RDONLY | constants.O_DIRECTORY)
      try {
        native.syncfs(fd)
      } catch (e) {
        throw savedirIoError(e, 'syncfs', this.savedir)
      } finally {
        closeSync(fd)
      }
      // The workers' lists are now durable too; clear them without per-file fsyncs.
      await Promise.all([this.pool.broadcast({ op: 'sync', skip: true }), this.natives?.sync(true)])
      return
    }
    await Promise.all([this.pool.broadcast({ op: 'sync' }), this.natives?.sync()])
  }

  async close(): Promise<void> {
    this.claimed.discard() // nobody waits for these checks any more
    this.batch.flush() // puts not sent yet go now: close() waits for what is running
    this.gets.flush() // and gets: a caller still awaits them
    this.getsInto.flush()
    await Promise.all([this.natives?.idle(), this.pool.close()])
  }
}
