// A small pool of worker threads with request/response messages. The object store runs its
// hashing, compression and object file I/O here so that both cores are busy and the main
// thread only walks, reads and chunks.
import type { Worker } from 'node:worker_threads'
import { createRequire } from 'node:module'
import type { SharedRing } from './shared-ring.js'

/**
 * node:worker_threads, loaded when the first worker starts: with the store's work in C most
 * commands start none (it and node:vm loaded lazily: B's unchanged save 55.2 → 55.0 MB).
 */
let workers: typeof Worker | null = null
function workerClass(): typeof Worker {
  workers ??= (createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads')).Worker
  return workers
}

interface Pending {
  resolve: (v: unknown) => void
  reject: (e: unknown) => void
}

export interface WorkerReply {
  id: number
  ok: boolean
  value?: unknown
  error?: SerializedError
}

export interface SerializedError {
  name: string
  message: string
  code?: string
  syscall?: string
  path?: string
  hash?: string
  why?: string
}

/**
 * The workers' young generation, in MB: they allocate few JavaScript objects (their data is in
 * buffers), and V8's default reserve cost each of them about 8 MB more resident memory
 * (measured: first save of /usr/share, peak RSS 257 -> 241 MB, the same time). 4 -> 2 MB (and
 * the read-ahead worker's, when it was one): 3 MB less on the first saves of corpora A and B,
 * no slower (3 alternated runs each).
 */
export const YOUNG_GENERATION_MB = 2

/**
 * Whether `d` owns all of its memory, which can then be transferred to the other thread
 * instead of copied (posting a view would clone its whole backing memory).
 */
export function ownsItsMemory(d: Uint8Array): boolean {
  return d.byteOffset === 0 && d.byteLength === d.buffer.byteLength && d.buffer instanceof ArrayBuffer
}

/** A worker posts this once its imports are done (see close()). */
export const WORKER_READY = 'tarshift-worker-ready'

export class WorkerPool {
  private readonly workers: Worker[] = []
  private readonly pending = new Map<number, Pending>()
  private readonly load: number[] = []
  private nextId = 1
  private closed = false
  /** A worker died: every later call fails with this instead of waiting forever. */
  private broken: Error | null = null
  /** close() waits here for the requests still running (never cut a write in half). */
  private drained: (() => void) | null = null
  /** Settles when each worker has loaded its modules (or died): see close(). */
  private readonly ready: Promise<void>[] = []
  private closing: Promise<void> | null = null

  /**
   * `ring`: memory the workers share with this thread for the bytes of requests (its buffer
   * is in their workerData); null when there is none. `initial`: workers started now, the
   * others (up to `max`) by grow().
   */
  constructor(
    private readonly script: URL,
    private readonly max: number,
    private readonly workerData: unknown,
    private readonly revive: (e: SerializedError) => Error,
    readonly ring: SharedRing | null = null,
    initial = max,
  ) {
    for (let i = 0; i < Math.min(initial, max); i++) this.start()
  }

  private start(): void {
    const i = this.workers.length
    const w = new (workerClass())(this.script, { workerData: this.workerData, resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } })
    let loaded = (): void => {}
    this.ready.push(new Promise<void>(r => { loaded = r }))
    w.on('message', (m: WorkerReply | typeof WORKER_READY) => {
      if (m === WORKER_READY) loaded()
      else this.settle(i, m)
    })
    w.on('error', e => { loaded(); this.failAll(e) })
    w.on('exit', code => {
      loaded()
      if (!this.closed) this.failAll(new Error(`store worker ${i} exited (code ${code})`))
    })
    w.unref()
    this.workers.push(w)
    this.load.push(0)
  }

  /**
   * Start the workers not started yet: there is work for all of them (data to hash, compress
   * and write). A save starts with one: an unchanged save only reads trees, which one worker
   * keeps up with, and each worker more is an isolate to boot and to compile the same code in.
   */
  grow(): void {
    if (this.closed || this.broken) return
    while (this.workers.length < this.max) this.start()
  }

  /** The workers the pool may start (grow() starts them all). */
  get capacity(): number {
    return this.max
  }

  /** The workers started so far. */
  get size(): number {
    return this.workers.length
  }

  /** Send to the least loaded worker (or to worker `index`). */
  call<T>(msg: object, transfer: ArrayBuffer[] = [], index?: number): Promise<T> {
    if (this.closed) return Promise.reject(new Error('worker pool closed'))
    if (this.broken) return Promise.reject(this.broken)
    if (this.workers.length === 0) this.start() // started with none: the first request starts one
    let i = index ?? 0
    if (index === undefined) for (let k = 1; k < this.load.length; k++) if ((this.load[k] as number) < (this.load[i] as number)) i = k
    const id = this.nextId++
    this.load[i] = (this.load[i] as number) + 1
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
      const w = this.workers[i] as Worker
      w.ref()
      w.postMessage({ ...msg, id, worker: i }, transfer)
    })
  }

  /** Send the same message to every worker; resolves with all replies. */
  broadcast<T>(msg: object): Promise<T[]> {
    return Promise.all(this.workers.map((_, i) => this.call<T>(msg, [], i)))
  }

  private settle(i: number, m: WorkerReply): void {
    this.load[i] = (this.load[i] as number) - 1
    if (this.load[i] === 0 && !this.closed) this.workers[i]?.unref()
    const p = this.pending.get(m.id)
    if (!p) return
    this.pending.delete(m.id)
    if (m.ok) p.resolve(m.value)
    else p.reject(this.revive(m.error as SerializedError))
    if (this.closed && this.pending.size === 0) this.drained?.()
  }

  private failAll(e: unknown): void {
    this.broken ??= e instanceof Error ? e : new Error(String(e))
    for (const p of this.pending.values()) p.reject(e)
    this.pending.clear()
    this.drained?.()
  }

  /** Wait for the running requests, then end the workers. Calling it again waits for the first call. */
  close(): Promise<void> {
    this.closing ??= this.shutDown()
    return this.closing
  }

  private async shutDown(): Promise<void> {
    this.closed = true
    // Keep the process alive and let running requests finish: terminating a worker in the
    // middle of a write would leave a temporary behind (on a full disk, too).
    for (const w of this.workers) w.ref()
    if (this.pending.size > 0 && this.broken === null) await new Promise<void>(r => { this.drained = r })
    // Never terminate a worker that is still loading its native modules: lzma-native's module
    // initialisation throws a C++ exception into a dying environment and aborts the whole
    // process (SIGABRT, exit 134), which a quick refusal (restore of an unknown PATH) hit.
    await Promise.all(this.ready)
    await Promise.all(this.workers.map(w => w.terminate()))
  }
}

export function serializeError(e: unknown): SerializedError {
  const x = e as SerializedError & Error
  const out: SerializedError = { name: x?.name ?? 'Error', message: x?.message ?? String(e) }
  if (typeof x?.code === 'string') out.code = x.code
  if (typeof x?.syscall === 'string') out.syscall = x.syscall
  if (typeof x?.path === 'string') out.path = x.path
  if (typeof x?.hash === 'string') out.hash = x.hash
  if (typeof x?.why === 'string') out.why = x.why
  return out
}
