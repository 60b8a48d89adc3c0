// Locks (DESIGN.md §5): files in locks/ created with O_EXCL (safe on NFS v3+ and sshfs),
// carrying host, pid, operation and start time, refreshed while held. A save and every
// reader hold a shared lock; expire and check --repair the exclusive one. Protocol: create
// your own lock first, then list the others; an exclusive taker on a network filesystem lists
// again after a pause longer than the attribute-cache window before it acts.
import { closeSync, openSync, readdirSync, readFileSync, statSync, statfsSync, unlinkSync, utimesSync, writeSync, constants } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { TarshiftError, isSystemError, savedirIoError } from '../errors.js'
import { LOCKS_DIR } from './layout.js'

export type LockKind = 'shared' | 'exclusive'

export interface LockInfo {
  host: string
  pid: number
  operation: string
  kind: LockKind
  start: string
  /** File name in locks/. */
  file: string
  /** mtime of the lock file: its last refresh (ms). */
  refreshed: number
}

export const STALE_MS = 30 * 60 * 1000
export const REFRESH_MS = 5 * 60 * 1000
/** Local filesystems: no attribute cache to wait out. */
const LOCAL_FS = new Set([0xef53, 0x58465342, 0x9123683e, 0x01021994, 0x2fc12fc1, 0xf2f52010])

const HOST = hostname()

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return !isSystemError(e, 'ESRCH')
  }
}

/** This host's name as lock file names carry it. */
const NAME_HOST = HOST.replace(/[^A-Za-z0-9_.-]/g, '_')

/** host.pid.random.kind.lock, as create() names a lock (the host may hold dots). */
export function lockName(file: string): { host: string; pid: number; kind: LockKind } | null {
  const m = /^(.+)\.([0-9]+)\.[0-9a-f]+\.(shared|exclusive)\.lock$/.exec(file)
  return m ? { host: m[1] as string, pid: Number(m[2]), kind: m[3] as LockKind } : null
}

export function isStale(l: LockInfo, now = Date.now()): boolean {
  if (now - l.refreshed > STALE_MS) return true
  return (l.host === HOST || l.host === NAME_HOST) && l.pid > 0 && !pidAlive(l.pid)
}

export function listLocks(savedir: string): LockInfo[] {
  const dir = join(savedir, LOCKS_DIR)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch (e) {
    throw savedirIoError(e, 'listing locks', dir)
  }
  const out: LockInfo[] = []
  for (const n of names) {
    if (!n.endsWith('.lock')) continue
    const p = join(dir, n)
    try {
      const st = statSync(p)
      const j = JSON.parse(readFileSync(p, 'utf8')) as Omit<LockInfo, 'file' | 'refreshed'>
      out.push({ ...j, file: n, refreshed: st.mtimeMs })
    } catch (e) {
      if (isSystemError(e, 'ENOENT')) continue // released meanwhile
      if (e instanceof SyntaxError) {
        // Not written yet (its taker is between create and write), or never (a crash there, or
        // a power loss before the write reached the disk): the name, given at create, says
        // whose it is and of which kind. One whose name says nothing counts as exclusive.
        let refreshed = 0
        try { refreshed = statSync(p).mtimeMs } catch { continue }
        const named = lockName(n)
        out.push({ host: named?.host ?? '?', pid: named?.pid ?? 0, operation: '?', kind: named?.kind ?? 'exclusive', start: '?', file: n, refreshed })
        continue
      }
      throw savedirIoError(e, 'reading a lock', p)
    }
  }
  return out
}

function describe(l: LockInfo): string {
  return `${l.kind} lock of ${l.operation} by pid ${l.pid} on ${l.host} since ${l.start}`
}

export interface LockOptions {
  /** Wait up to this long for the lock instead of failing at once (ms). */
  waitMs?: number
  /** Pause between the two listings of an exclusive taker on a network fs (ms). */
  settleMs?: number
}

export class Lock {
  private timer: NodeJS.Timeout | null = null
  private refreshError: unknown = null
  private lastRefresh = Date.now()
  released = false

  private constructor(readonly savedir: string, readonly file: string, readonly kind: LockKind) {}

  get path(): string {
    return join(this.savedir, LOCKS_DIR, this.file)
  }

  static async acquire(savedir: string, kind: LockKind, operation: string, opts: LockOptions = {}): Promise<Lock> {
    const deadline = performance.now() + (opts.waitMs ?? 0) // monotonic: a clock step must not cut or stretch the wait
    for (let attempt = 0; ; attempt++) {
      const lock = Lock.create(savedir, kind, operation)
      let blocker = lock.blocker()
      if (!blocker && kind === 'exclusive' && !Lock.isLocal(savedir)) {
        await new Promise(r => setTimeout(r, opts.settleMs ?? 30_000))
        blocker = lock.blocker()
      }
      if (!blocker) {
        lock.startRefresh()
        return lock
      }
      lock.remove()
      if (performance.now() >= deadline) {
        throw new TarshiftError('TARSHIFT_LOCKED', `savedir is locked: ${describe(blocker)}; try again later, use --wait, or run tarshift unlock if that process is gone`, { path: join(savedir, LOCKS_DIR, blocker.file) })
      }
      await new Promise(r => setTimeout(r, Math.min(5000, 200 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random())))
    }
  }

  private static isLocal(savedir: string): boolean {
    try {
      return LOCAL_FS.has(statfsSync(savedir).type)
    } catch {
      return false
    }
  }

  private static create(savedir: string, kind: LockKind, operation: string): Lock {
    const file = `${NAME_HOST}.${process.pid}.${randomBytes(4).toString('hex')}.${kind}.lock`
    const p = join(savedir, LOCKS_DIR, file)
    const body = JSON.stringify({ host: HOST, pid: process.pid, operation, kind, start: new Date().toISOString() }) + '\n'
    let fd: number
    try {
      fd = openSync(p, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600)
    } catch (e) {
      throw savedirIoError(e, 'creating a lock', p)
    }
    try {
      try {
        writeSync(fd, body)
      } finally {
        closeSync(fd)
      }
    } catch (e) {
      // Created but not written (ENOSPC, EDQUOT; NFS reports them at close): an empty lock file
      // reads as a foreign exclusive lock and would block every command for 30 minutes.
      try {
        unlinkSync(p)
      } catch (e2) {
        if (!isSystemError(e2, 'ENOENT')) throw savedirIoError(e2, 'removing a lock', p)
      }
      throw savedirIoError(e, 'creating a lock', p)
    }
    return new Lock(savedir, file, kind)
  }

  /** Another live lock that conflicts with ours, if any. */
  private blocker(): LockInfo | undefined {
    const now = Date.now()
    return listLocks(this.savedir).find(l => l.file !== this.file && !isStale(l, now) && (this.kind === 'exclusive' || l.kind === 'exclusive'))
  }

  private startRefresh(): void {
    this.timer = setInterval(() => this.refresh(), REFRESH_MS)
    this.timer.unref()
  }

  refresh(): void {
    try {
      const now = new Date()
      utimesSync(this.path, now, now)
      this.lastRefresh = now.getTime()
    } catch (e) {
      this.refreshError = e
    }
  }

  /**
   * Before a save writes its final summary: the lock must still be ours and fresh, or an
   * expire may have acted meanwhile (DESIGN.md §5).
   */
  verify(): void {
    if (this.refreshError !== null || Date.now() - this.lastRefresh > STALE_MS) {
      throw new TarshiftError('TARSHIFT_LOCKED', 'lost the savedir lock (refresh failed or was late); the saveset is left as a checkpoint: run the save again')
    }
    try {
      statSync(this.path)
    } catch (e) {
      throw new TarshiftError('TARSHIFT_LOCKED', `our lock file vanished (${(e as Error).message}); someone ran unlock --force? run the save again`)
    }
  }

  private remove(): void {
    try {
      unlinkSync(this.path)
    } catch (e) {
      if (!isSystemError(e, 'ENOENT')) throw savedirIoError(e, 'removing a lock', this.path)
    }
  }

  release(): void {
    if (this.released) return
    this.released = true
    if (this.timer) clearInterval(this.timer)
    this.remove()
  }
}

/** tarshift unlock: remove stale locks, or all with force. Returns the removed ones. */
export function removeLocks(savedir: string, force: boolean): LockInfo[] {
  const removed: LockInfo[] = []
  for (const l of listLocks(savedir)) {
    if (!force && !isStale(l)) continue
    try {
      unlinkSync(join(savedir, LOCKS_DIR, l.file))
      removed.push(l)
    } catch (e) {
      if (!isSystemError(e, 'ENOENT')) throw savedirIoError(e, 'removing a lock', l.file)
    }
  }
  return removed
}
