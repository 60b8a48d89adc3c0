import { createRequire } from 'node:module'
import type { Codec } from './codec.js'

const require = createRequire(import.meta.url)
const zstd = require('zstd-napi') as {
  compress(data: Uint8Array, p?: { compressionLevel?: number }): Buffer
  decompress(data: Uint8Array): Buffer
}

/** zstd level 3: the default codec (DESIGN.md §2). */
export const ZSTD_LEVEL = 3

export const zstdCodec: Codec = {
  id: 1,
  name: 'zstd',
  async compress(data) {
    return zstd.compress(data, { compressionLevel: ZSTD_LEVEL })
  },
  async decompress(payload) {
    return zstd.decompress(payload)
  },
}
