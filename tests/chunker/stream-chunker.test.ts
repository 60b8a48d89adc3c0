import t from 'tap'
import { chunkBuffer, DEFAULT_CHUNKER, type ChunkerParams } from '../../lib/chunker/fastcdc.js'
import { StreamChunker } from '../../lib/chunker/stream-chunker.js'
import { chunkHashes, KiB, MiB, sha256hex, testData } from './fixtures.js'

const SMALL: ChunkerParams = { min: 2 * KiB, avg: 8 * KiB, max: 32 * KiB, seed: DEFAULT_CHUNKER.seed }

const big = testData(64 * MiB, 1)

interface Streamed {
  lengths: number[]
  hashes: string[]
  /** Every chunk owned its whole ArrayBuffer. */
  owned: boolean
  /** The most bytes the chunker held between pushes. */
  maxPending: number
}

/** Stream `data` in pieces of the sizes `sizes` yields (cycled), reusing one read buffer. */
function stream(data: Buffer, p: ChunkerParams, sizes: readonly number[]): Streamed {
  const sc = new StreamChunker(p)
  const out: Streamed = { lengths: [], hashes: [], owned: true, maxPending: 0 }
  const take = (c: Buffer) => {
    out.lengths.push(c.length)
    out.hashes.push(sha256hex(c))
    if (c.byteOffset !== 0 || c.buffer.byteLength !== c.length) out.owned = false
  }
  // Like a file reader: one buffer, overwritten by every read, then scribbled on after push.
  const readBuf = Buffer.alloc(Math.max(...sizes))
  for (let at = 0, k = 0; at < data.length; k++) {
    const n = Math.min(sizes[k % sizes.length] as number, data.length - at)
    data.copy(readBuf, 0, at, at + n)
    for (const c of sc.push(readBuf.subarray(0, n))) take(c)
    readBuf.fill(0xee, 0, n)
    out.maxPending = Math.max(out.maxPending, sc.pendingBytes)
    at += n
  }
  const last = sc.finish()
  if (last !== null) take(last)
  return out
}

function whole(data: Buffer, p: ChunkerParams): { lengths: number[]; hashes: string[] } {
  const lengths = chunkBuffer(data, p)
  return { lengths, hashes: chunkHashes(data, lengths) }
}

t.test('streaming equals whole-buffer chunking for any read size (64 MiB, defaults)', async t => {
  const want = whole(big, DEFAULT_CHUNKER)
  for (const size of [4093, 65536, MiB + 3, 10 * MiB, 64 * MiB]) {
    const got = stream(big, DEFAULT_CHUNKER, [size])
    t.same(got.lengths, want.lengths, `reads of ${size}: lengths`)
    t.same(got.hashes, want.hashes, `reads of ${size}: chunk hashes`)
    t.ok(got.owned, `reads of ${size}: chunks own their memory`)
    t.ok(got.maxPending < DEFAULT_CHUNKER.max, `reads of ${size}: holds ${got.maxPending} < max bytes`)
  }
  const varied = [1, 7, 300000, 4096, 9 * MiB, 13, 65536, 2 * MiB + 1, 511 * KiB]
  const got = stream(big, DEFAULT_CHUNKER, varied)
  t.same(got.hashes, want.hashes, 'mixed read sizes')
})

t.test('streaming equals whole-buffer chunking for tiny reads (smaller inputs)', async t => {
  const data = big.subarray(0, 12 * MiB)
  const want = whole(data, DEFAULT_CHUNKER)
  t.ok(want.lengths.length >= 4, `${want.lengths.length} chunks`)
  for (const size of [1, 7]) {
    const got = stream(data, DEFAULT_CHUNKER, [size])
    t.same(got.hashes, want.hashes, `defaults, reads of ${size}`)
  }
  const small = big.subarray(5, 5 + MiB)
  const wantSmall = whole(small, SMALL)
  for (const sizes of [[1], [7], [4093], [65536], [MiB + 3], [3, 40000, 1, 32 * KiB, 32 * KiB - 1]]) {
    const got = stream(small, SMALL, sizes)
    t.same(got.hashes, wantSmall.hashes, `small parameters, reads of ${sizes.join(',')}`)
    t.ok(got.maxPending < SMALL.max, `small parameters, holds ${got.maxPending} < max bytes`)
  }
})

t.test('zeros, empty streams, exact-max streams and reuse after finish', async t => {
  const { max } = DEFAULT_CHUNKER
  const zeros = Buffer.alloc(3 * max + 100)
  t.same(stream(zeros, DEFAULT_CHUNKER, [MiB]).lengths, [max, max, max, 100])
  t.same(stream(Buffer.alloc(2 * max), DEFAULT_CHUNKER, [max]).lengths, [max, max], 'ends on a cut: no empty last chunk')

  const sc = new StreamChunker(DEFAULT_CHUNKER)
  t.same(sc.push(Buffer.alloc(0)), [])
  t.equal(sc.finish(), null, 'empty stream: no chunk')
  t.same(sc.push(Buffer.from('hello')), [])
  t.equal(sc.pendingBytes, 5)
  t.same(sc.finish(), Buffer.from('hello'), 'a short stream is one chunk')
  t.equal(sc.pendingBytes, 0)
  // The same chunker, reused for the next stream, starts afresh.
  const data = big.subarray(0, 20 * MiB)
  const first = stream(data, DEFAULT_CHUNKER, [MiB])
  const again: Buffer[] = []
  for (let at = 0; at < data.length; at += MiB) again.push(...sc.push(data.subarray(at, at + MiB)))
  const last = sc.finish()
  if (last) again.push(last)
  t.same(again.map(c => sha256hex(c)), first.hashes, 'reused after finish')
})

t.test('chunks stay intact when the caller reuses its buffer or transfers them', async t => {
  const sc = new StreamChunker(SMALL)
  const data = testData(300 * KiB, 9)
  const kept: Buffer[] = []
  const buf = Buffer.alloc(10000)
  for (let at = 0; at < data.length; at += buf.length) {
    const n = data.copy(buf, 0, at, at + buf.length)
    kept.push(...sc.push(buf.subarray(0, n)))
    buf.fill(0)
  }
  const last = sc.finish()
  if (last) kept.push(last)
  t.ok(Buffer.concat(kept).equals(data), 'the chunks concatenate to the input')
  // Transferring one chunk's memory leaves every other chunk usable.
  const before = kept.map(c => sha256hex(c))
  const { port1, port2 } = new MessageChannel()
  const first = kept[0] as Buffer
  port1.postMessage(first.buffer, [first.buffer])
  port1.close()
  port2.close()
  t.equal(first.length, 0, 'the transferred chunk is detached')
  t.same(kept.slice(1).map(c => sha256hex(c)), before.slice(1), 'other chunks unaffected')
})

t.test('end(last piece) cuts exactly as push + finish, and holds nothing for a one-piece stream', async t => {
  const data = testData(300 * KiB, 7)
  const want = whole(data, SMALL)
  for (const split of [0, 1, 5000, 150 * KiB, 300 * KiB - 1, 300 * KiB]) {
    const sc = new StreamChunker(SMALL)
    const got: Buffer[] = [...sc.push(data.subarray(0, split)), ...sc.end(data.subarray(split))]
    t.same(got.map(c => c.length), want.lengths, `split at ${split}: lengths`)
    t.same(chunkHashes(Buffer.concat(got), got.map(c => c.length)), want.hashes, `split at ${split}: hashes`)
    t.ok(got.every(c => c.byteOffset === 0 && c.buffer.byteLength === c.length), `split at ${split}: chunks own their memory`)
    t.equal(sc.pendingBytes, 0, 'nothing held after end')
    t.same(sc.end(Buffer.alloc(0)), [], 'the chunker starts a new, empty stream')
  }
  const one = new StreamChunker(DEFAULT_CHUNKER)
  const small = testData(20 * KiB, 3)
  const chunks = one.end(small)
  t.equal(chunks.length, 1)
  t.ok(chunks[0]?.equals(small), 'a file smaller than min is one chunk, its bytes')
  t.equal((one as unknown as { open: Buffer }).open.length, 0, 'no open buffer was allocated')
})

t.test('pieces: the same chunks as push and end, each buffer taken only when asked for', async t => {
  const data = big.subarray(0, 3 * MiB + 12345)
  const whole = stream(data, SMALL, [MiB])
  let taken = 0
  const sc = new StreamChunker(SMALL, n => { taken++; return Buffer.allocUnsafeSlow(n) })
  const hashes: string[] = []
  let early = 0
  for (let at = 0; at < data.length; at += MiB) {
    const piece = data.subarray(at, at + MiB)
    const it = sc.pieces(piece, at + MiB >= data.length)
    for (;;) {
      if (taken !== hashes.length) early++
      const c = it.next()
      if (c.done === true) break
      hashes.push(sha256hex(c.value))
    }
  }
  t.equal(early, 0, 'no buffer was taken before its chunk was asked for')
  t.equal(sc.pendingBytes, 0, 'the last piece ended the stream')
  t.same(hashes, whole.hashes, 'same chunks as one push per piece')
  t.equal(taken, hashes.length)
})
