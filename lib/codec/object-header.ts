// The fixed 16-byte header that starts every .data object (doc/format.md, "Objects"):
//   0  4  magic "TSOB"
//   4  1  format version (1)
//   5  1  kind: 0 data chunk, 1 tree, 2 tree index
//   6  1  codec id: 0 none, 1 zstd, 2 xz
//   7  1  reserved, 0
//   8  8  uncompressed length, unsigned big-endian
// The payload (the compressed bytes) follows. A pure module: bytes in, fields out.

export const OBJECT_MAGIC = Buffer.from('TSOB', 'latin1')
export const OBJECT_VERSION = 1
export const HEADER_SIZE = 16

export enum ObjectKind {
  Data = 0,
  Tree = 1,
  TreeIndex = 2,
}

export interface ObjectHeader {
  version: number
  kind: ObjectKind
  codecId: number
  length: number
}

export function encodeHeader(h: Omit<ObjectHeader, 'version'>): Buffer {
  const b = Buffer.alloc(HEADER_SIZE)
  OBJECT_MAGIC.copy(b, 0)
  b[4] = OBJECT_VERSION
  b[5] = h.kind
  b[6] = h.codecId
  b[7] = 0
  b.writeBigUInt64BE(BigInt(h.length), 8)
  return b
}

/** Decode a header; returns a reason string instead when the bytes are not a valid header. */
export function decodeHeader(b: Buffer): ObjectHeader | string {
  if (b.length < HEADER_SIZE) return `truncated header (${b.length} bytes)`
  if (!b.subarray(0, 4).equals(OBJECT_MAGIC)) return 'bad magic'
  const version = b[4] as number
  if (version !== OBJECT_VERSION) return `unsupported object version ${version}`
  const kind = b[5] as number
  if (kind > ObjectKind.TreeIndex) return `unknown object kind ${kind}`
  const length = b.readBigUInt64BE(8)
  if (length > BigInt(Number.MAX_SAFE_INTEGER)) return 'absurd length'
  return { version, kind, codecId: b[6] as number, length: Number(length) }
}
