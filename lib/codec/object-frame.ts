// Framing of one object: header + payload, the payload compressed with the requested codec,
// or stored raw when compression does not shrink it. Unframing checks the header, the length
// and the SHA-256 against the object's name, so a reader can never return wrong bytes.
import { createHash } from 'node:crypto'
import { codecById, type Codec } from './codec.js'
import { noneCodec } from './none-codec.js'
import { decodeHeader, encodeHeader, HEADER_SIZE, type ObjectKind } from './object-header.js'

export function sha256hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex')
}

/** Frame `data` for storage: returns the header and payload as separate buffers (no copy). */
export async function frameObject(kind: ObjectKind, codec: Codec, data: Buffer): Promise<Buffer[]> {
  let use = codec
  let payload = data
  if (codec !== noneCodec && data.length > 0) {
    const c = await codec.compress(data)
    if (c.length < data.length) payload = c
    else use = noneCodec
  } else {
    use = noneCodec
  }
  return [encodeHeader({ kind, codecId: use.id, length: data.length }), payload]
}

/**
 * frameObject for a codec with compressScratch, at once: the payload may be the codec's reused
 * buffer, valid until its next call, so the caller writes the parts before anything else runs.
 */
export function frameObjectNow(kind: ObjectKind, codec: Codec, data: Buffer): Buffer[] {
  if (!codec.compressScratch) throw new Error(`codec ${codec.name} has no compressScratch`)
  if (data.length > 0) {
    const c = codec.compressScratch(data)
    if (c.length < data.length) return [encodeHeader({ kind, codecId: codec.id, length: data.length }), c]
  }
  return [encodeHeader({ kind, codecId: noneCodec.id, length: data.length }), data]
}

/**
 * unframeObject into `dst`, which must be exactly the object's length: decompressed there
 * (straight, with a codec that can), then verified there. Returns the object's kind.
 */
export async function unframeObjectInto(framed: Buffer, expectedHash: string, dst: Buffer): Promise<ObjectKind> {
  const h = decodeHeader(framed)
  if (typeof h === 'string') throw new Error(h)
  const codec = codecById(h.codecId)
  if (!codec) throw new Error(`unknown codec id ${h.codecId}`)
  if (h.length !== dst.length) throw new Error(`header says length ${h.length}, expected ${dst.length}`)
  const payload = framed.subarray(HEADER_SIZE)
  let n: number
  try {
    if (codec.decompressInto) {
      n = codec.decompressInto(payload, dst)
    } else {
      const data = await codec.decompress(payload, h.length)
      if (data.length !== h.length) throw new Error(`length ${data.length}, header says ${h.length}`)
      dst.set(data)
      n = data.length
    }
  } catch (e) {
    throw new Error(`${codec.name} decompression failed: ${(e as Error).message}`)
  }
  if (n !== h.length) throw new Error(`length ${n}, header says ${h.length}`)
  const got = sha256hex(dst)
  if (got !== expectedHash) throw new Error(`content hash is ${got}`)
  return h.kind
}

export interface Unframed {
  kind: ObjectKind
  data: Buffer
}

/**
 * Unframe and verify. Throws a plain Error with the reason; the caller (the object store)
 * turns it into a CorruptObjectError that names the object and its path.
 */
export async function unframeObject(framed: Buffer, expectedHash: string): Promise<Unframed> {
  const h = decodeHeader(framed)
  if (typeof h === 'string') throw new Error(h)
  const codec = codecById(h.codecId)
  if (!codec) throw new Error(`unknown codec id ${h.codecId}`)
  const payload = framed.subarray(HEADER_SIZE)
  let data: Buffer
  try {
    data = await codec.decompress(payload, h.length)
  } catch (e) {
    throw new Error(`${codec.name} decompression failed: ${(e as Error).message}`)
  }
  if (data.length !== h.length) throw new Error(`length ${data.length}, header says ${h.length}`)
  const got = sha256hex(data)
  if (got !== expectedHash) throw new Error(`content hash is ${got}`)
  return { kind: h.kind, data }
}
