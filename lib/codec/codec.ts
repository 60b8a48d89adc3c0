// lib/codec owns compression behind one interface (zstd, xz, none) and the object framing
// (header + payload). It knows nothing of files, paths or the savedir layout.
import { zstdCodec } from './zstd-codec.js'
import { xzCodec } from './xz-codec.js'
import { noneCodec } from './none-codec.js'
import { UsageError } from '../errors.js'

export interface Codec {
  /** The id written into object headers; never reused for another codec. */
  readonly id: number
  readonly name: CodecName
  compress(data: Buffer): Promise<Buffer>
  /**
   * Compress at once into a buffer the codec reuses: the result is valid only until the next
   * call (the object is written before anything else runs). Codecs without it use compress().
   */
  compressScratch?(data: Buffer): Buffer
  /** Decompress; `length` is the uncompressed length the header promises. */
  decompress(payload: Buffer, length: number): Promise<Buffer>
  /** Decompress at once into `dst`; returns the bytes written (throws when they do not fit). */
  decompressInto?(payload: Buffer, dst: Uint8Array): number
}

export type CodecName = 'none' | 'zstd' | 'xz'

export const codecs: readonly Codec[] = [noneCodec, zstdCodec, xzCodec]

export function codecById(id: number): Codec | undefined {
  return codecs.find(c => c.id === id)
}

export function codecByName(name: string): Codec {
  const c = codecs.find(c => c.name === name)
  if (!c) throw new UsageError(`unknown compression "${name}": use zstd, xz or none`)
  return c
}
