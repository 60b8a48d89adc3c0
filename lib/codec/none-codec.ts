import type { Codec } from './codec.js'

export const noneCodec: Codec = {
  id: 0,
  name: 'none',
  async compress(data) {
    return data
  },
  async decompress(payload) {
    return payload
  },
  decompressInto(payload, dst) {
    if (payload.length > dst.length) throw new Error(`${payload.length} bytes do not fit in ${dst.length}`)
    dst.set(payload)
    return payload.length
  },
}
