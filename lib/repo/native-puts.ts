// The object store's puts done in C (native/put-objects.c) for the codecs that need no
// JavaScript (zstd, none): hashed, looked for, refreshed or compressed and written atomically
// on libuv's thread pool, with no store worker. Each worker is a V8 isolate (15-20 MB
// resident) and every object cost it messages, replies and buffers; a first save of many small
// files needs no worker at all now. Other codecs (xz) still put through the workers.
import { dirname, join } from 'node:path'
import { savedirIoError } from '../errors.js'
import { ZSTD_LEVEL } from '../codec/zstd-codec.js'
import type { ObjectKind } from '../codec/object-header.js'
import { native } from '../fs/native.js'
import { tempTag } from './atomic-write.js'
import { CHUNKS_DIR, dataPath, fanoutDigits } from './layout.js'
import { DURABILITY_ID, objectDurability, type ObjectDurability } from './object-durability.js'
import type { PutReply } from './store-worker.js'

/** The codecs putObjects() handles (ids of lib/codec): none and zstd. */
export function putsNatively(codecId: number): boolean {
  return codecId === 0 || codecId === 1
}

/** The threads of libuv's pool: UV_THREADPOOL_SIZE as libuv reads it (1 to 1024), else its 4. */
export function libuvPoolThreads(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number.parseInt(env.UV_THREADPOOL_SIZE ?? '', 10)
  return Number.isFinite(n) && n > 0 ? Math.min(n, 1024) : 4
}

/** Most put calls at once over the network: each holds a thread of libuv's pool while it waits. */
const NETWORK_PUTS = 32

/**
 * How many put calls may run at once. On a local file system two more than the store's cores
 * (see the constructor of NativePuts). Over the network (`fsync`) a call spends its time
 * waiting on round trips, not on a core: as many as libuv's pool has threads (bin/tarshift
 * gives a save 32), at most NETWORK_PUTS, at least the local number.
 */
export function putConcurrency(durability: ObjectDurability, cores: number, poolThreads = libuvPoolThreads()): number {
  const local = cores + 2
  return durability === 'fsync' ? Math.max(local, Math.min(NETWORK_PUTS, poolThreads)) : local
}

export type PutSettled = { ok: true; value: PutReply } | { ok: false; error: Error }

/** Whether the store does its work in C for this codec: zstd or none, unless TARSHIFT_STORE=workers. */
export function storeWorksInC(codecId: number): boolean {
  return putsNatively(codecId) && process.env.TARSHIFT_STORE !== 'workers'
}

interface NativeError extends Error {
  path?: string
  what?: string
}

/** A failure of the C code as the savedir error to report: its own `what` and path, or these. */
function savedirError(e: unknown, what: string, path: string): Error {
  const err = e as NativeError
  return savedirIoError(e, err.what ?? what, err.path ?? path)
}

export class NativePuts {
  private readonly chunksDir: Buffer
  private readonly digits: number
  private readonly tag = tempTag()
  /** How each object's data is made durable before its rename (object-durability.ts). */
  private readonly durability: 0 | 1 | 2
  private running = 0
  private readonly waiting: Array<() => void> = []
  /** New objects whose names are not yet durable (for a file system without syncfs, their directories). */
  private written: string[] = []
  /** Calls not settled yet: close() waits for them (idle()). */
  private readonly inFlight = new Set<Promise<unknown>>()

  /**
   * At most `concurrency` calls run at once (the others wait here, in order). The store asks
   * for two more than it has cores for workers: a call that ends waits for the main thread to
   * start the next, and with only as many calls as cores the threads idled meanwhile (corpus B's
   * first save, 2 GB in chunks of ~512 KiB: 4.28 s against 3.87 s with two workers; with four
   * calls, 4.33 s against 4.46 s, alternated, on 2 cores). libuv's pool has four threads.
   */
  constructor(
    private readonly savedir: string,
    private readonly codecId: number,
    private readonly dryRun: boolean,
    private readonly refreshMs: number,
    private readonly concurrency: number,
  ) {
    if (!putsNatively(codecId)) throw new Error(`internal: codec ${codecId} is not put natively`)
    this.chunksDir = Buffer.from(join(savedir, CHUNKS_DIR))
    this.digits = fanoutDigits(savedir)
    this.durability = DURABILITY_ID[objectDurability(savedir)]
  }

  /**
   * Put the objects that lie one after another in `bytes` (`items` gives each one's length and
   * kind). `bytes` must stay unchanged until the promise settles. One result per object, in
   * order; a failed object's error is the savedir error to report.
   */
  putMany(bytes: Uint8Array, items: ReadonlyArray<{ kind: ObjectKind; length: number }>): Promise<PutSettled[]> {
    // Tracked from now, waiting for its turn included: close() waits for it all the same.
    return this.track(this.putManyInTurn(bytes, items))
  }

  private async putManyInTurn(bytes: Uint8Array, items: ReadonlyArray<{ kind: ObjectKind; length: number }>): Promise<PutSettled[]> {
    const pairs = new Uint32Array(items.length * 2)
    items.forEach((it, i) => {
      pairs[2 * i] = it.length
      pairs[2 * i + 1] = it.kind
    })
    // A call that ends hands its place to the next waiting one.
    if (this.running >= this.concurrency) await new Promise<void>(r => this.waiting.push(r))
    else this.running++
    let results: Array<PutReply | NativeError>
    try {
      results = await native.putObjects(this.chunksDir, this.digits, bytes, pairs, this.codecId, ZSTD_LEVEL, this.dryRun, this.refreshMs, this.tag, this.durability)
    } catch (e) {
      throw savedirError(e, 'writing objects', this.chunksDir.toString())
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.running--
    }
    return results.map(r => {
      if (r instanceof Error) return { ok: false, error: savedirError(r, 'writing an object', this.chunksDir.toString()) }
      if (r.isNew && !this.dryRun) this.written.push(dataPath(this.savedir, r.hash))
      return { ok: true, value: r }
    })
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p)
    const forget = (): void => { this.inFlight.delete(p) }
    p.then(forget, forget)
    return p
  }

  /**
   * Wait until no call is running: a process that exits meanwhile would stop a write between
   * its temporary and its rename, and leave the temporary behind.
   */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight])
  }

  /** put() of one object. */
  async put(bytes: Uint8Array, kind: ObjectKind): Promise<PutReply> {
    const [r] = await this.putMany(bytes, [{ kind, length: bytes.length }])
    if (r === undefined) throw new Error('internal: no result for a put')
    if (!r.ok) throw r.error
    return r.value
  }

  /**
   * Existing objects a saveset is about to use: each one's last use made no older than the
   * refresh interval (as a put of it would; a dry run touches nothing) and returned, null for
   * one that is missing.
   */
  async refresh(hashes: readonly string[]): Promise<Array<number | null>> {
    let times: Float64Array
    try {
      times = await this.track(native.refreshObjects(this.chunksDir, this.digits, hashes.join(''), this.refreshMs, this.dryRun))
    } catch (e) {
      throw savedirError(e, 'checking objects', this.chunksDir.toString())
    }
    return Array.from(times, t => (t < 0 ? null : t))
  }

  /**
   * Make the names of the objects written so far durable: each object was fsynced before its
   * rename, so an fsync of each directory written into. `skip`: they are durable already (a
   * syncfs of the whole file system); only forget them.
   */
  async sync(skip = false): Promise<number> {
    const files = this.written
    this.written = []
    if (skip || files.length === 0) return files.length
    const dirs = [...new Set(files.map(f => dirname(f)))]
    const list = (paths: string[]): Buffer => Buffer.from(paths.map(p => `${p}\0`).join(''))
    // In parallel (each fsync is a round trip over NFS or sshfs), as many calls as puts may
    // run at once.
    const calls = Math.min(this.concurrency, dirs.length)
    const shares = Array.from({ length: calls }, (_, c) => dirs.filter((_, i) => i % calls === c))
    try {
      await Promise.all(shares.map(share => native.syncFiles(list([]), list(share))))
    } catch (e) {
      throw savedirError(e, 'making objects durable', this.savedir)
    }
    return files.length
  }
}
