// Gathering requests to the store workers into one message: items wait until the batch is
// full (a number of items, or of bytes) or until the event loop turns, whichever comes first.
// The caller awaiting anything lets the loop turn, so nothing waits longer than that.

export class TurnBatch<T> {
  private items: T[] = []
  private bytes = 0
  private timer: NodeJS.Immediate | null = null

  constructor(private readonly send: (items: T[]) => void, private readonly maxItems: number, private readonly maxBytes = Infinity) {}

  add(item: T, bytes = 0): void {
    this.items.push(item)
    this.bytes += bytes
    if (this.items.length >= this.maxItems || this.bytes >= this.maxBytes) this.flush()
    else this.timer ??= setImmediate(() => this.flush())
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
