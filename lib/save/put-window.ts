// The pipeline window between the reading main thread and the store workers: chunks in
// flight are bounded in bytes, so memory stays bounded however large the files are.
import type { ObjectStore } from '../repo/object-store.js'
import { ObjectKind } from '../codec/object-header.js'
import type { ChunkRef } from '../tree/entry.js'

export class PutWindow {
  private inFlight = 0
  private waiters: Array<() => void> = []
  /** The first store error: fatal, the save stops at the next opportunity. */
  failure: unknown = null

  constructor(private readonly store: ObjectStore, private readonly limit: number) {}

  /** Wait until there is room for another chunk. */
  async room(): Promise<void> {
    while (this.inFlight >= this.limit && this.failure === null) await new Promise<void>(r => this.waiters.push(r))
    if (this.failure !== null) throw this.failure
  }

  submit(data: Buffer): Promise<ChunkRef> {
    const n = data.length
    this.inFlight += n
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
      const w = this.waiters
      this.waiters = []
      for (const f of w) f()
    })
    return p
  }
}
