// The pipeline window between the reading main thread and the store workers: chunks in
// flight are bounded in bytes, so memory stays bounded however large the files are, and in
// number: each put in flight costs a few KiB of promises and messages besides its bytes, and
// a directory of many small files (man1: 18,000 gzipped pages of 2-4 KiB) once had 14,000 of
// them in flight within the byte bound, 80 MB of heap.
import type { ObjectStore } from '../repo/object-store.js'
import { ObjectKind } from '../codec/object-header.js'
import type { ChunkRef } from '../tree/entry.js'

export class PutWindow {
  private inFlight = 0
  private puts = 0
  private waiters: Array<() => void> = []
  /** The first store error: fatal, the save stops at the next opportunity. */
  failure: unknown = null

  constructor(private readonly store: ObjectStore, private readonly limit: number, private readonly maxPuts = 512) {}

  /** Wait until there is room for another chunk. */
  async room(): Promise<void> {
    while ((this.inFlight >= this.limit || this.puts >= this.maxPuts) && this.failure === null) await new Promise<void>(r => this.waiters.push(r))
    if (this.failure !== null) throw this.failure
  }

  submit(data: Buffer): Promise<ChunkRef> {
    const n = data.length
    this.inFlight += n
    this.puts++
    // The chunk is given up: the worker takes its memory without a copy.
    const p = this.store.put(data, ObjectKind.Data, { transfer: true }).then(
      r => ({ hash: Buffer.from(r.hash, 'hex'), length: n }),
      e => {
        if (this.failure === null) this.failure = e
        throw e
      },
    )
    p.catch(() => undefined).finally(() => {
      this.inFlight -= n
      this.puts--
      const w = this.waiters
      this.waiters = []
      for (const f of w) f()
    })
    return p
  }
}
