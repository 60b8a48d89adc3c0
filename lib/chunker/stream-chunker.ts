// lib/chunker owns content-defined chunking: pure bytes in, cut points out; no I/O.
// This file: the streaming wrapper. Data arrives in pieces of any size (file reads); chunks
// come out exactly as chunkBuffer would cut the concatenation. The hash state is carried
// across pieces, so no byte is hashed twice however small the pieces are, and only the bytes
// of the one chunk still open are kept (fewer than `max`).
import { FastCdc, type ChunkerParams, type CutState } from './fastcdc.js'

export class StreamChunker {
  private readonly cdc: FastCdc
  private readonly state: CutState = { pos: 0, hash: 0 }
  /** The bytes of the open chunk: open[0..openLength). Grows up to `max` as needed. */
  private open: Buffer = Buffer.alloc(0)
  private openLength = 0

  /**
   * `alloc`: where the chunks' buffers come from (default: a fresh buffer each). The save gives
   * slots of the ring it shares with the store workers (ObjectStore.chunkBuffer).
   */
  constructor(p: ChunkerParams, private readonly alloc: (n: number) => Buffer = Buffer.allocUnsafeSlow) {
    this.cdc = new FastCdc(p)
  }

  /** Bytes held for the chunk still open; always below `max`. */
  get pendingBytes(): number {
    return this.openLength
  }

  /**
   * Feed the next piece of the stream; returns the chunks it completed, in order. Each is a
   * buffer from `alloc`; by default a fresh Buffer that owns its whole ArrayBuffer (byteOffset
   * 0, not pooled): the caller may keep it or transfer it to a worker. `data` is not retained:
   * the caller may reuse it as soon as push returns.
   */
  push(data: Uint8Array): Buffer[] {
    return [...this.pieces(data, false)]
  }

  /**
   * push(data), or with `last` end(data), one chunk at a time: each chunk's buffer is taken
   * from `alloc` only when the caller asks for the next one. The save waits for room in its
   * pipeline between chunks, so that a 4 MiB read does not take the slots of all its chunks
   * at once (with push, a quarter of corpus B's chunk bytes found the shared ring full and
   * went to fresh buffers). `data` must stay unchanged until the iteration ends.
   */
  *pieces(data: Uint8Array, last: boolean): Generator<Buffer, void, undefined> {
    yield* this.cut(data, last)
    if (last) {
      const tail = this.finish()
      if (tail) yield tail
    }
  }

  /**
   * End of the stream: returns the last chunk (same ownership as push's), or null when the
   * stream was empty or ended on a cut. The chunker is then ready for a new stream.
   */
  finish(): Buffer | null {
    const n = this.openLength
    this.openLength = 0
    this.state.pos = 0
    this.state.hash = 0
    if (n === 0) return null
    const chunk = this.alloc(n)
    chunk.set(this.open.subarray(0, n), 0)
    return chunk
  }

  /**
   * The last piece of the stream: push(data) and finish() in one, same chunks, but the tail is
   * copied once, straight into its chunk, instead of into the open buffer first. A file read
   * whole in one piece (most files) then never allocates an open buffer (64 KiB at least).
   */
  end(data: Uint8Array): Buffer[] {
    return [...this.pieces(data, true)]
  }

  /** The chunks `data` completes; the rest is kept open, or with `final` is a chunk too. */
  private *cut(data: Uint8Array, final: boolean): Generator<Buffer, void, undefined> {
    let from = 0
    while (from < data.length) {
      const at = this.cdc.resume(this.state, data, from, data.length)
      if (at < 0 && !final) {
        this.keep(data, from)
        break
      }
      const to = at < 0 ? data.length : at
      const chunk = this.alloc(this.openLength + to - from)
      if (this.openLength > 0) chunk.set(this.open.subarray(0, this.openLength), 0)
      chunk.set(data.subarray(from, to), this.openLength)
      this.openLength = 0
      from = to
      yield chunk
    }
  }

  /** Append data[from..] to the open chunk (the scan has established it stays under max). */
  private keep(data: Uint8Array, from: number): void {
    const need = this.openLength + data.length - from
    if (need > this.open.length) {
      // Doubling keeps copies amortized; small files never pay for a max-sized window.
      const grown = Buffer.allocUnsafeSlow(Math.min(this.cdc.params.max, Math.max(need, 2 * this.open.length, 65536)))
      grown.set(this.open.subarray(0, this.openLength), 0)
      this.open = grown
    }
    this.open.set(data.subarray(from), this.openLength)
    this.openLength = need
  }
}
