import { createRequire } from 'node:module'
import type { Codec } from './codec.js'

const require = createRequire(import.meta.url)
interface Lzma {
  compress(data: Buffer, opts: { preset: number }, cb: (out: Buffer, err?: Error) => void): void
  decompress(data: Buffer, opts: object, cb: (out: Buffer, err?: Error) => void): void
}
// Loaded on first use: most savedirs never hold an xz object, and every store worker would
// otherwise load the addon at start (slower start, and one more native init to race with exit).
let loaded: Lzma | null = null
const lzma = (): Lzma => (loaded ??= require('lzma-native') as Lzma)

/** xz preset 6: backshift-style frugality; slow (2–7 MB/s), opt-in only. */
export const xzCodec: Codec = {
  id: 2,
  name: 'xz',
  compress(data) {
    return new Promise((resolve, reject) => {
      lzma().compress(data, { preset: 6 }, (out, err) => (err ? reject(err) : resolve(out)))
    })
  },
  decompress(payload) {
    return new Promise((resolve, reject) => {
      lzma().decompress(payload, {}, (out, err) => (err ? reject(err) : resolve(out)))
    })
  },
}
