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
}
