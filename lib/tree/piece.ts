// A file's bytes from one of its pieces (entry.ts, ChunkRef): a whole chunk must be exactly
// the length its tree says; a slice must lie within its object. The one check every reader of
// file contents makes (restore, cat, diff, check), so that a damaged tree is never read past.
import { CorruptObjectError } from '../errors.js'
import { dataPath } from '../repo/layout.js'
import type { ObjectStore } from '../repo/object-store.js'
import type { ChunkRef, Entry } from './entry.js'

/** The piece's bytes out of its object's plain bytes, or why they cannot be had. */
export function pieceBytes(data: Buffer, ref: ChunkRef): Buffer | string {
  const length = ref.length
  if (!Number.isSafeInteger(length) || length < 0) return `the tree gives a length of ${length}`
  if (ref.offset === undefined) return data.length === length ? data : `length ${data.length}, tree says ${length}`
  const offset = ref.offset
  if (!Number.isSafeInteger(offset) || offset < 0) return `the tree gives a slice offset of ${offset}`
  if (offset + length > data.length) return `length ${data.length}, the tree's slice needs ${offset + length}`
  return data.subarray(offset, offset + length)
}

/** pieceBytes, or a CorruptObjectError naming the object (`hex`, in `savedir`) and why. */
export function pieceOf(savedir: string, hex: string, data: Buffer, ref: ChunkRef): Buffer {
  const piece = pieceBytes(data, ref)
  if (typeof piece === 'string') throw new CorruptObjectError(hex, dataPath(savedir, hex), piece)
  return piece
}

/**
 * A regular file's whole content, read from the savedir (each object verified) where it is not
 * inline. For comparisons and small files; a restore streams instead (tar-stream.ts). `read`
 * gives an object's plain bytes (default: the store's get).
 */
export async function fileBytes(store: ObjectStore, e: Entry, read = async (hex: string): Promise<Buffer> => (await store.get(hex)).data): Promise<Buffer> {
  if (e.data) return e.data
  const pieces: Buffer[] = []
  for (const c of e.chunks ?? []) {
    const hex = c.hash.toString('hex')
    pieces.push(pieceOf(store.savedir, hex, await read(hex), c))
  }
  return Buffer.concat(pieces)
}
