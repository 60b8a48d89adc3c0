// Stand-ins for inline file data that a save has not read: an entry decoded from a tree
// summary (tree-summary.ts) carries the SHA-256 of its data in place of the data, registered
// here with where the real bytes are (the tree object and the entry's index in it). It
// compares as the data would (by digest); the tree writer swaps the real bytes in before it
// encodes the entry. An unchanged directory never needs them.
import { createHash } from 'node:crypto'
import type { Entry } from './entry.js'

/** A placeholder is the data's SHA-256: 32 bytes. */
export const DIGEST_BYTES = 32

export function inlineDigest(data: Uint8Array): Buffer {
  return createHash('sha256').update(data).digest()
}

/** Where a placeholder's real bytes are, and who can fetch them. */
export interface PlaceholderOrigin {
  /** The tree object (a single tree or a tree index's part) holding the entry. */
  part: Buffer
  index: number
  /** The entry's name: the real entry at `index` must have it. */
  name: Buffer
  /** Where the real data starts in the tree object's plain bytes (it is the entry's size long). */
  offset: number
  source: PlaceholderSource
}

export interface PlaceholderSource {
  /** The real inline data of the entry at origin.index of origin.part. */
  fetch(origin: PlaceholderOrigin): Buffer | Promise<Buffer>
}

const origins = new WeakMap<Buffer, PlaceholderOrigin>()

/** Make `digest` (a Buffer of its own, DIGEST_BYTES long) the placeholder of an entry's data. */
export function placeholder(digest: Buffer, origin: PlaceholderOrigin): void {
  origins.set(digest, origin)
}

export function placeholderOrigin(b: Buffer): PlaceholderOrigin | undefined {
  return b.length === DIGEST_BYTES ? origins.get(b) : undefined
}

/**
 * Whether two inline data buffers are the same bytes, either of them possibly a placeholder:
 * two placeholders by their digests, a placeholder and real bytes by the digest of those.
 */
export function sameInlineData(a: Buffer, b: Buffer): boolean {
  if (a === b) return true
  if (a.length === DIGEST_BYTES || b.length === DIGEST_BYTES) {
    const pa = placeholderOrigin(a) !== undefined
    const pb = placeholderOrigin(b) !== undefined
    if (pa && !pb) return inlineDigest(b).equals(a)
    if (pb && !pa) return inlineDigest(a).equals(b)
  }
  return a.equals(b)
}

/** Where real inline data read from a tree object lies in it: the object, and the offset. */
export interface InlineOrigin {
  part: Buffer
  offset: number
}

const inlineOrigins = new WeakMap<Buffer, InlineOrigin>()

/**
 * Record that `data` (an entry's inline data, a view of a tree object's plain bytes as the tree
 * was decoded) lies in tree object `part` at `offset`: a save can then make it a slice of that
 * object (doc/format.md §5.6) instead of writing the bytes again.
 */
export function inlineAt(data: Buffer, origin: InlineOrigin): void {
  inlineOrigins.set(data, origin)
}

/** Where an inline data lies: a placeholder's origin, or a real data's recorded by inlineAt. */
export function inlineOrigin(data: Buffer): InlineOrigin | undefined {
  return (data.length === DIGEST_BYTES ? origins.get(data) : undefined) ?? inlineOrigins.get(data)
}

/** `e` with real data in place of a placeholder: `e` itself when it has none, else a copy. */
export function withRealData(e: Entry): Entry | Promise<Entry> {
  const d = e.data
  if (d === undefined || d.length !== DIGEST_BYTES) return e
  const origin = origins.get(d)
  if (origin === undefined) return e
  const real = origin.source.fetch(origin)
  if (Buffer.isBuffer(real)) return { ...e, data: real }
  return real.then(data => ({ ...e, data }))
}
