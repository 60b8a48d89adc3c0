// --read-data: read back data chunks, decompress them and verify each one's SHA-256 against
// its name (the object store's get does both, in its worker threads), and compare its length
// with what the entries say (the exact length of a whole chunk; at least the end of every slice of it). Up to 8 reads are in flight, so every worker stays busy while
// memory stays at a few chunks. --read-data-subset P: a random P% of the distinct chunks.
import { CorruptObjectError, MissingObjectError } from '../errors.js'
import type { ObjectStore } from '../repo/object-store.js'
import { corruptWhy } from './describe.js'
import { pump } from './pump.js'
import type { ObjectProblem } from './walk.js'

export const READS_IN_FLIGHT = 8

export interface LengthMismatch {
  hash: string
  /** Bytes the object holds. */
  got: number
  /** Bytes the entries that use it say (slice: the bytes their slices need at least). */
  want: number
  slice: boolean
}

/** What the entries say of an object's length: exactly (used whole), at least (sliced). */
export interface ExpectedLength {
  exact: number | undefined
  atLeast: number
}

export interface ReadDataResult {
  read: number
  bytes: number
  problems: ObjectProblem[]
  lengths: LengthMismatch[]
}

export interface ReadDataProgress {
  read: number
  total: number
  bytes: number
}

/**
 * A random `percent` (0 < percent ≤ 100) of `items`: ceil(n × percent / 100) of them, drawn
 * without repetition (a partial Fisher-Yates shuffle), returned in their original order so
 * that reads go through the fan-out directories in order. Pure given `random`.
 */
export function pickSubset<T>(items: readonly T[], percent: number, random: () => number = Math.random): T[] {
  if (!(percent > 0 && percent <= 100)) throw new RangeError(`percent must be in (0, 100], not ${percent}`)
  const n = items.length
  const k = Math.min(n, Math.ceil((n * percent) / 100 - 1e-9))
  if (k >= n) return [...items]
  const idx = Array.from({ length: n }, (_, i) => i)
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i))
    const t = idx[i] as number
    idx[i] = idx[j] as number
    idx[j] = t
  }
  return idx.slice(0, k).sort((a, b) => a - b).map(i => items[i] as T)
}

/**
 * Read and verify each object of `hashes` (data chunks, warning lists). `expectLength` gives
 * the length its users say, or undefined when nobody says one.
 */
export async function readData(store: ObjectStore, hashes: readonly string[], what: 'chunk' | 'warnings',
  expectLength: (hash: string) => ExpectedLength | undefined, onProgress?: (p: ReadDataProgress) => void): Promise<ReadDataResult> {
  const r: ReadDataResult = { read: 0, bytes: 0, problems: [], lengths: [] }
  let i = 0
  await pump(() => (i < hashes.length ? hashes[i++] : undefined), async hash => {
    try {
      const { data } = await store.get(hash)
      r.bytes += data.length
      const want = expectLength(hash)
      if (want?.exact !== undefined && want.exact !== data.length) r.lengths.push({ hash, got: data.length, want: want.exact, slice: false })
      else if (want !== undefined && want.atLeast > data.length) r.lengths.push({ hash, got: data.length, want: want.atLeast, slice: true })
    } catch (e) {
      if (e instanceof MissingObjectError) r.problems.push({ hash, what, state: 'missing', why: 'no such object' })
      else if (e instanceof CorruptObjectError) r.problems.push({ hash, what, state: 'corrupt', why: corruptWhy(e) })
      else throw e
    }
    r.read++
    onProgress?.({ read: r.read, total: hashes.length, bytes: r.bytes })
  }, READS_IN_FLIGHT)
  return r
}
