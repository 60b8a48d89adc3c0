// The object store's worker thread: hashes, compresses and writes objects atomically, and
// reads and verifies them. Synchronous file calls here are deliberate: per-object promise
// overhead on the main thread is what makes small-object stores slow (DESIGN.md §9).
import { parentPort, workerData } from 'node:worker_threads'
import { closeSync, existsSync, fstatSync, openSync, readSync, statSync, utimesSync, constants } from 'node:fs'
import { dirname } from 'node:path'
import { codecById } from '../codec/codec.js'
import { frameObject, frameObjectNow, sha256hex, unframeObject, unframeObjectInto } from '../codec/object-frame.js'
import { HEADER_SIZE, type ObjectKind } from '../codec/object-header.js'
import { CorruptObjectError, MissingObjectError, isSystemError, savedirIoError } from '../errors.js'
import { writeFileAtomic, fsyncDir } from './atomic-write.js'
import { dataPath, setFanoutDigits, timePath } from './layout.js'
import { objectDurability, type ObjectDurability } from './object-durability.js'
import { WORKER_READY, ownsItsMemory, serializeError, type SerializedError } from './worker-pool.js'

/**
 * The bytes of a put: in the message (`data`, transferred), or `length` bytes at `at` in the
 * ring shared with the main thread (shared-ring.ts), which are not to be read after the reply.
 */
export type PutBytes = { data: Uint8Array; at?: undefined; length?: undefined } | { data?: undefined; at: number; length: number }

export type StoreRequest =
  | ({ op: 'put'; id: number; kind: ObjectKind; codecId: number; dryRun: boolean; refreshMs: number } & PutBytes)
  | ({ op: 'putMany'; id: number; items: Array<{ kind: ObjectKind; length: number }>; codecId: number; dryRun: boolean; refreshMs: number } & PutBytes)
  | { op: 'get'; id: number; hash: string }
  | { op: 'getMany'; id: number; hashes: string[] }
  /** Objects read into slots of the shared ring: hashes[i] into `lengths[i]` bytes at `at[i]`. */
  | { op: 'getManyInto'; id: number; hashes: string[]; at: number[]; lengths: number[] }
  | { op: 'sync'; id: number; skip?: boolean }
  | { op: 'ensure'; id: number; hashes: string[]; refreshMs: number; dryRun: boolean }

export interface PutReply {
  hash: string
  isNew: boolean
  storedBytes: number
  /** The object's last-use time (ms) after this put; null in a dry run (nothing touched). */
  lastUse: number | null
}

export interface GotObject {
  kind: ObjectKind
  data: Uint8Array
}

/** One reply per object of a getMany, in order: each get succeeds or fails on its own. */
export type GetManyReply = Array<{ ok: true; value: GotObject } | { ok: false; error: SerializedError }>

/** One reply per object of a getManyInto, in order: the object's kind, or why it failed. */
export type GetManyIntoReply = Array<{ ok: true; value: ObjectKind } | { ok: false; error: SerializedError }>

/** One reply per object of a putMany, in order: each put succeeds or fails on its own. */
export type PutManyReply = Array<{ ok: true; value: PutReply } | { ok: false; error: SerializedError }>

const savedir = (workerData as { savedir: string }).savedir
const ringBuffer = (workerData as { ring?: SharedArrayBuffer }).ring
const ring = ringBuffer ? Buffer.from(ringBuffer) : null

/** `length` bytes at `at` of the shared ring. */
function ringSlot(at: number, length: number): Buffer {
  if (ring === null || at < 0 || length < 0 || at + length > ring.length) throw new Error(`internal: ${length} bytes at ${at} outside the shared ring`)
  return ring.subarray(at, at + length)
}

/** A put's bytes, as a Buffer (a view of the message's data, or of the shared ring). */
function putBytes(req: PutBytes): Buffer {
  if (req.data !== undefined) return Buffer.from(req.data.buffer, req.data.byteOffset, req.data.byteLength)
  return ringSlot(req.at, req.length)
}
setFanoutDigits(savedir, (workerData as { fanoutDigits: number }).fanoutDigits)
/** Objects written since the last sync: their names (directories) made durable in one batch. */
let unsynced: string[] = []
/** How a new object's data is made durable before its rename (object-durability.ts); found at the first put. */
let durability: ObjectDurability | null = null

async function put(req: Extract<StoreRequest, { op: 'put' }>): Promise<PutReply> {
  const data = putBytes(req)
  const hash = sha256hex(data)
  const target = dataPath(savedir, hash)
  // An existing object is reused and refreshed. One missing (or vanished meanwhile: a
  // concurrent expire) or shorter than a header (damaged) is written below.
  if (req.dryRun) {
    if (lastUse(hash) !== null) return { hash, isNew: false, storedBytes: 0, lastUse: null }
  } else {
    const last = refresh(hash, req.refreshMs)
    if (last !== null) return { hash, isNew: false, storedBytes: 0, lastUse: last }
  }
  const codec = codecById(req.codecId)
  if (!codec) throw new Error(`unknown codec id ${req.codecId}`)
  // With a scratch-compressing codec (zstd), nothing runs between compressing and writing. An
  // asynchronous one (xz) compresses on another thread: from a copy, not the shared ring.
  const own = codec.compressScratch || codec.id === 0 || ring === null || data.buffer !== ring.buffer ? data : Buffer.from(data)
  const parts = codec.compressScratch ? frameObjectNow(req.kind, codec, data) : await frameObject(req.kind, codec, own)
  const storedBytes = parts.reduce((n, p) => n + p.length, 0)
  if (req.dryRun) return { hash, isNew: true, storedBytes, lastUse: null }
  try {
    // Its data made durable before the rename, as the file system needs (object-durability.ts).
    durability ??= objectDurability(savedir)
    writeFileAtomic(target, parts, { mode: 0o600, durability })
  } catch (e) {
    throw savedirIoError(e, 'writing an object', target)
  }
  unsynced.push(target)
  return { hash, isNew: true, storedBytes, lastUse: Date.now() }
}

/**
 * A new saveset uses an existing object: make sure its last-use time (the newer of the .data
 * and .time mtimes) is no older than `refreshMs`, touching .time only when it is stale
 * (DESIGN.md §4). Returns the last-use time (ms) it ends with, null when the .data is gone
 * (expired by someone else) or shorter than an object's header (damaged: a crash on a file
 * system that broke the order of object-durability.ts).
 */
function refresh(hash: string, refreshMs: number): number | null {
  const now = Date.now()
  const d = dataPath(savedir, hash)
  let last: number
  try {
    const st = statSync(d)
    if (st.size < HEADER_SIZE) return null
    last = st.mtimeMs
  } catch (e) {
    if (isSystemError(e, 'ENOENT')) return null
    throw savedirIoError(e, 'stat of an object', d)
  }
  if (now - last < refreshMs) return last
  const t = timePath(savedir, hash)
  try {
    last = Math.max(last, statSync(t).mtimeMs)
    if (now - last < refreshMs) return last
    const when = new Date(now)
    utimesSync(t, when, when)
  } catch (e) {
    if (!isSystemError(e, 'ENOENT')) throw savedirIoError(e, 'touching an object', t)
    try {
      closeSync(openSync(t, constants.O_WRONLY | constants.O_CREAT, 0o600))
    } catch (e2) {
      throw savedirIoError(e2, 'touching an object', t)
    }
  }
  // The .data may have been removed between the stat and the touch: check again.
  return existsSync(d) ? now : null
}

/** Last-use time (ms) without touching anything (dry run); null when the .data is missing or damaged. */
function lastUse(hash: string): number | null {
  const d = dataPath(savedir, hash)
  const t = timePath(savedir, hash)
  try {
    const data = statSync(d, { throwIfNoEntry: false })
    if (!data || data.size < HEADER_SIZE) return null
    return Math.max(data.mtimeMs, statSync(t, { throwIfNoEntry: false })?.mtimeMs ?? 0)
  } catch (e) {
    throw savedirIoError(e, 'stat of an object', d)
  }
}

/** Per hash: its last-use time after the refresh, or null when it is missing. */
function ensure(req: Extract<StoreRequest, { op: 'ensure' }>): Array<number | null> {
  return req.hashes.map(h => (req.dryRun ? lastUse(h) : refresh(h, req.refreshMs)))
}

/**
 * Read buffers for objects, reused: a fresh buffer per object read is garbage this thread
 * collects only when V8's external-memory limit is reached, and four restore workers held up to
 * ~250 MB of read objects that way. A buffer is taken for one get and given back after it, so
 * an asynchronous decompression (xz) never sees its input overwritten.
 */
const spare: Buffer[] = []

function readObject(p: string): { framed: Buffer; backing: Buffer } {
  const fd = openSync(p, constants.O_RDONLY)
  try {
    const size = fstatSync(fd).size
    let backing = spare.pop()
    if (backing === undefined || backing.length < size + 1) backing = Buffer.allocUnsafeSlow(Math.max(size + 1, 1 << 20))
    let got = 0
    // One byte more than the size: an object that grew since fstat is read whole, and fails
    // its checks below rather than being cut short silently.
    for (let n = -1; n !== 0 && got < backing.length; got += n) n = readSync(fd, backing, got, backing.length - got, got)
    return { framed: backing.subarray(0, got), backing }
  } finally {
    closeSync(fd)
  }
}

/**
 * Read object `hash` and give its framed bytes to `use` (which unframes and verifies them):
 * a missing file is a MissingObjectError, what `use` throws a CorruptObjectError naming the
 * object. The read buffer goes back to the spares afterwards.
 */
async function withObject<T>(hash: string, use: (framed: Buffer, backing: Buffer) => Promise<T>): Promise<T> {
  const p = dataPath(savedir, hash)
  let read: { framed: Buffer; backing: Buffer }
  try {
    read = readObject(p)
  } catch (e) {
    if (isSystemError(e, 'ENOENT')) throw new MissingObjectError(hash, p)
    throw savedirIoError(e, 'reading an object', p)
  }
  try {
    return await use(read.framed, read.backing)
  } catch (e) {
    throw new CorruptObjectError(hash, p, (e as Error).message)
  } finally {
    if (spare.length < 2) spare.push(read.backing)
  }
}

function get(hash: string): Promise<{ kind: ObjectKind; data: Uint8Array }> {
  return withObject(hash, async (framed, backing) => {
    const { kind, data } = await unframeObject(framed, hash)
    // A raw ('none') object is a view of the read buffer, which goes back to the spares.
    return { kind, data: data.buffer === backing.buffer ? Buffer.from(data) : data }
  })
}

/** get() into a slot of the shared ring, which must be the object's exact length. */
function getInto(hash: string, dst: Buffer): Promise<ObjectKind> {
  return withObject(hash, framed => unframeObjectInto(framed, hash, dst))
}

function sync(skip: boolean): number {
  if (skip) { const n = unsynced.length; unsynced = []; return n }
  // Each object's data was made durable before its rename: their directories now.
  const dirs = new Set(unsynced.map(f => dirname(f)))
  for (const d of dirs) {
    try { fsyncDir(d) } catch (e) { throw savedirIoError(e, 'making a directory durable', d) }
  }
  const n = unsynced.length
  unsynced = []
  return n
}

parentPort?.on('message', (req: StoreRequest) => {
  const run = async (): Promise<{ value: unknown; transfer: ArrayBuffer[] }> => {
    switch (req.op) {
      case 'put': return { value: await put(req), transfer: [] }
      case 'putMany': {
        // The objects lie one after another in the batch's bytes; each is put as a view of them.
        const out: PutManyReply = []
        const all = putBytes(req)
        let at = 0
        for (const it of req.items) {
          const data = all.subarray(at, at + it.length)
          at += it.length
          try {
            out.push({ ok: true, value: await put({ op: 'put', id: req.id, kind: it.kind, codecId: req.codecId, data, dryRun: req.dryRun, refreshMs: req.refreshMs }) })
          } catch (e) {
            out.push({ ok: false, error: serializeError(e) })
          }
        }
        return { value: out, transfer: [] }
      }
      case 'get': {
        const r = await get(req.hash)
        return { value: r, transfer: ownsItsMemory(r.data) ? [r.data.buffer as ArrayBuffer] : [] }
      }
      case 'getMany': {
        const out: GetManyReply = []
        const transfer: ArrayBuffer[] = []
        for (const hash of req.hashes) {
          try {
            const r = await get(hash)
            if (ownsItsMemory(r.data)) transfer.push(r.data.buffer as ArrayBuffer)
            out.push({ ok: true, value: r })
          } catch (e) {
            out.push({ ok: false, error: serializeError(e) })
          }
        }
        return { value: out, transfer }
      }
      case 'getManyInto': {
        const out: GetManyIntoReply = []
        for (const [i, hash] of req.hashes.entries()) {
          try {
            out.push({ ok: true, value: await getInto(hash, ringSlot(req.at[i] as number, req.lengths[i] as number)) })
          } catch (e) {
            out.push({ ok: false, error: serializeError(e) })
          }
        }
        return { value: out, transfer: [] }
      }
      case 'ensure': return { value: ensure(req), transfer: [] }
      case 'sync': return { value: sync(req.skip ?? false), transfer: [] }
    }
  }
  run().then(
    ({ value, transfer }) => parentPort?.postMessage({ id: req.id, ok: true, value }, transfer),
    e => parentPort?.postMessage({ id: req.id, ok: false, error: serializeError(e) }),
  )
})

// Imports done, native modules loaded: from here on the pool may terminate this thread.
parentPort?.postMessage(WORKER_READY)
