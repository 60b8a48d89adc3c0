// Gathering requests to the store workers into one message: items wait until the batch is
// full (a number of items, or of bytes) or until the event loop turns, whichever comes first.
// The caller awaiting anything lets the loop turn, so nothing waits longer than that. A batch
// made with `onTurn: false` waits to be full or flushed: for requests whose answers nobody
// awaits soon (each message costs the main thread ~20-50 µs to post).

export class TurnBatch<T> {
  private items: T[] = []
  private bytes = 0
  private timer: NodeJS.Immediate | null = null

  constructor(private readonly send: (items: T[]) => void, private readonly maxItems: number, private readonly maxBytes = Infinity, private readonly onTurn = true) {}

  add(item: T, bytes = 0): void {
    this.items.push(item)
    this.bytes += bytes
    if (this.items.length >= this.maxItems || this.bytes >= this.maxBytes) this.flush()
    else if (this.onTurn) this.timer ??= setImmediate(() => this.flush())
  }

  /** Send what is gathered now. */
  flush(): void {
    this.cancelTimer()
    if (this.items.length === 0) return
    const items = this.items
    this.items = []
    this.bytes = 0
    this.send(items)
  }

  /** Drop what is gathered, unsent. */
  discard(): void {
    this.cancelTimer()
    this.items = []
    this.bytes = 0
  }

  private cancelTimer(): void {
    if (this.timer !== null) clearImmediate(this.timer)
    this.timer = null
  }
}
