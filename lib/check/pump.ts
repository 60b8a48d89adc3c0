// Bounded concurrency for the check: keep up to `limit` reads in flight (trees in the walk,
// chunks with --read-data) so that every worker of the object store's pool stays busy while
// memory holds only those few objects. Work may produce more work (a tree names subtrees).

/**
 * Run `work` for every item `next` hands out, `limit` at a time, until `next` has nothing and
 * nothing is running (work may make more items). Rejects with the first error.
 */
export function pump<T>(next: () => T | undefined, work: (item: T) => Promise<void>, limit: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let running = 0
    let failed = false
    const go = (): void => {
      if (failed) return
      while (running < limit) {
        const item = next()
        if (item === undefined) break
        running++
        work(item).then(
          () => {
            running--
            go()
          },
          e => {
            failed = true
            reject(e)
          },
        )
      }
      if (running === 0) resolve()
    }
    go()
  })
}
