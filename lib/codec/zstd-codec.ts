import { createRequire } from 'node:module'
import type { Codec } from './codec.js'
import { native } from '../fs/native.js'

const require = createRequire(import.meta.url)
interface ZstdNapi {
  compress(data: Uint8Array, p?: { compressionLevel?: number }): Buffer
  decompress(data: Uint8Array): Buffer
}
interface ZstdBinding {
  CCtx: new () => { setParameter(param: number, value: number): void; compress2(dst: Uint8Array, src: Uint8Array): number }
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number }
  CParameter: { compressionLevel: number }
  compressBound(n: number): number
}
// Loaded on first use: with the store's work in C (native/put-objects.c, get-objects.c), most
// processes never call it, and loading the addon costs ~3.6 MB of resident memory.
let loaded: { zstd: ZstdNapi; binding: ZstdBinding } | null = null
const napi = (): { zstd: ZstdNapi; binding: ZstdBinding } => (loaded ??= { zstd: require('zstd-napi') as ZstdNapi, binding: require('zstd-napi/binding') as ZstdBinding })

/** zstd level 3: the default codec (DESIGN.md §2). */
export const ZSTD_LEVEL = 3

/**
 * One zstd frame of `data` (level 3), at once on this thread: small things, not objects. In the
 * addon (lib/fs/native.ts), which links libzstd: zstd-napi is not loaded for these.
 */
export function zstdFrame(data: Uint8Array): Buffer {
  return native.zstdFrame(data, ZSTD_LEVEL)
}

/** The bytes of one zstd frame that records their length; throws if it is not one. */
export function zstdUnframe(frame: Uint8Array): Buffer {
  return native.zstdUnframe(frame)
}

let cctx: InstanceType<ZstdBinding['CCtx']> | null = null
let dctx: InstanceType<ZstdBinding['DCtx']> | null = null
let scratch = Buffer.alloc(0)

export const zstdCodec: Codec = {
  id: 1,
  name: 'zstd',
  async compress(data) {
    return napi().zstd.compress(data, { compressionLevel: ZSTD_LEVEL })
  },
  compressScratch(data) {
    // A store worker compresses every chunk it writes: into one reused buffer, not a fresh one
    // per chunk that stays allocated until the thread's next garbage collection.
    const { binding } = napi()
    if (cctx === null) {
      cctx = new binding.CCtx()
      cctx.setParameter(binding.CParameter.compressionLevel, ZSTD_LEVEL)
    }
    const bound = binding.compressBound(data.length)
    if (scratch.length < bound) scratch = Buffer.allocUnsafeSlow(Math.max(bound, 1 << 20))
    return scratch.subarray(0, cctx.compress2(scratch, data))
  },
  async decompress(payload) {
    return napi().zstd.decompress(payload)
  },
  decompressInto(payload, dst) {
    // One frame, into the caller's memory (a slot of the ring shared with the main thread).
    dctx ??= new (napi().binding.DCtx)()
    return dctx.decompress(dst, payload)
  },
}
