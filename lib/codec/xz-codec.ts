import { createRequire } from 'node:module'
import type { Codec } from './codec.js'

const require = createRequire(import.meta.url)
const lzma = require('lzma-native') as {
  compress(data: Buffer, opts: { preset: number }, cb: (out: Buffer, err?: Error) => void): void
  decompress(data: Buffer, opts: object, cb: (out: Buffer, err?: Error) => void): void
}

/** xz preset 6: backshift-style frugality; slow (2–7 MB/s), opt-in only. */
export const xzCodec: Codec = {
  id: 2,
  name: 'xz',
  compress(data) {
    return new Promise((resolve, reject) => {
      lzma.compress(data, { preset: 6 }, (out, err) => (err ? reject(err) : resolve(out)))
    })
  },
  decompress(payload) {
    return new Promise((resolve, reject) => {
      lzma.decompress(payload, {}, (out, err) => (err ? reject(err) : resolve(out)))
    })
  },
}
