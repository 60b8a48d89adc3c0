// The object store's reads done in C (native/get-objects.c) for objects stored raw or with
// zstd: read, unframed, decompressed and verified on libuv's thread pool, with no store worker
// (each is a V8 isolate of its own). An xz object is answered "not here" and the store reads
// it through a worker.
import { join } from 'node:path'
import { CorruptObjectError, MissingObjectError, savedirIoError } from '../errors.js'
import type { ObjectKind } from '../codec/object-header.js'
import { native } from '../fs/native.js'
import { CHUNKS_DIR, fanoutDigits } from './layout.js'

/** One object's answer: its value, its error, or `other` (a codec the C code does not read). */
export type GetSettled<T> = { ok: true; value: T } | { ok: false; error: Error } | { ok: 'other' }

interface NativeGetError extends Error {
  reason?: 'missing' | 'corrupt' | 'io' | 'codec'
  path?: string
  why?: string
}

export class NativeGets {
  private readonly chunksDir: Buffer
  private readonly digits: number

  constructor(savedir: string) {
    this.chunksDir = Buffer.from(join(savedir, CHUNKS_DIR))
    this.digits = fanoutDigits(savedir)
  }

  /** Read objects into buffers of their own. */
  async getMany(hashes: readonly string[]): Promise<Array<GetSettled<{ kind: ObjectKind; data: Buffer }>>> {
    const r = await native.getObjects(this.chunksDir, this.digits, hashes.join(''), null, null, null)
    return r.map((x, i) => settle(hashes[i] as string, x as { kind: ObjectKind; data: Buffer } | NativeGetError))
  }

  /**
   * Read objects into slots of `into` (objects[i] into `slots[i]`, a view of `into` the
   * object's exact length). `into` must stay unchanged elsewhere until the promise settles.
   */
  async getManyInto(hashes: readonly string[], into: Uint8Array, slots: readonly Buffer[]): Promise<Array<GetSettled<ObjectKind>>> {
    const at = new Float64Array(slots.map(s => s.byteOffset - into.byteOffset))
    const lengths = new Float64Array(slots.map(s => s.length))
    const r = await native.getObjects(this.chunksDir, this.digits, hashes.join(''), into, at, lengths)
    return r.map((x, i) => settle(hashes[i] as string, x as ObjectKind | NativeGetError))
  }
}

function settle<T>(hash: string, x: T | NativeGetError): GetSettled<T> {
  if (!(x instanceof Error)) return { ok: true, value: x }
  const path = x.path ?? ''
  switch (x.reason) {
    case 'codec': return { ok: 'other' }
    case 'missing': return { ok: false, error: new MissingObjectError(hash, path) }
    case 'corrupt': return { ok: false, error: new CorruptObjectError(hash, path, x.why ?? x.message) }
    default: return { ok: false, error: savedirIoError(x, 'reading an object', path) }
  }
}
