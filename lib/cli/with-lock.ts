// Take the savedir lock a command needs (DESIGN.md §5), run, release. --no-lock skips it
// (a read-only savedir), --wait DURATION waits for a holder to go instead of exiting 11.
import { Lock, type LockKind } from '../repo/lock.js'
import { parseDuration } from './options.js'
import { UsageError } from '../errors.js'
import { readConfig } from '../repo/config.js'

export async function withLock<T>(savedir: string, kind: LockKind, operation: string, values: Record<string, unknown>, fn: (lock: Lock | null) => Promise<T>): Promise<T> {
  readConfig(savedir) // never create a lock in a directory that is not a savedir we can read
  if (values['no-lock'] === true) {
    if (kind === 'exclusive') throw new UsageError(`${operation} changes the savedir and needs its lock: --no-lock is only for readers`)
    return fn(null)
  }
  const waitMs = values.wait === undefined ? 0 : parseDuration(values.wait as string, '--wait')
  const settle = process.env.TARSHIFT_LOCK_SETTLE_MS
  const lock = await Lock.acquire(savedir, kind, operation, { waitMs, ...(settle ? { settleMs: Number(settle) } : {}) })
  const release = (): void => lock.release()
  process.once('exit', release)
  try {
    return await fn(lock)
  } finally {
    process.off('exit', release)
    lock.release()
  }
}

export const lockOptions = {
  'no-lock': { type: 'boolean' as const },
  wait: { type: 'string' as const },
}
