// Atomic file creation: write to a unique temporary name in the target directory, close,
// rename. A reader never sees a half-written file. Durability is the caller's choice: an
// object's data before its rename, its name in a batch (object-durability.ts); summaries one by
// one (fsync: true).
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writevSync, constants } from 'node:fs'
import { hostname } from 'node:os'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { isSystemError } from '../errors.js'
import { native } from '../fs/native.js'
import type { ObjectDurability } from './object-durability.js'

const HOST = hostname().replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32)

/**
 * The last part of this thread's temporary names: random where the thread starts, then counted
 * up. A random part drawn for every object (randomBytes, 20-30 us a call) was 185 ms of the
 * store workers' CPU in a first save of /usr/share (6,907 objects). Another writer may still
 * pick the same name (another thread or host with nearby numbers): the O_EXCL open then fails,
 * and writeFileAtomic draws anew.
 */
let tempSeq = randomBytes(4).readUInt32BE(0)

function nextTempPart(): string {
  tempSeq = (tempSeq + 1) >>> 0
  return tempSeq.toString(16).padStart(8, '0')
}

/** What a temporary name holds between the target's name and the counted part: host and pid. */
export function tempTag(): string {
  return `${HOST}.${process.pid}`
}

export function tempNameFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${tempTag()}.${nextTempPart()}.tmp`)
}

/** Open a new temporary for `target` with O_EXCL, drawing a fresh name when one is taken. */
function openTemp(target: string, mode: number): { tmp: string; fd: number } {
  for (let attempt = 0; ; attempt++) {
    const tmp = tempNameFor(target)
    try {
      return { tmp, fd: openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode) }
    } catch (e) {
      if (!isSystemError(e, 'EEXIST') || attempt >= 8) throw e
      tempSeq = randomBytes(4).readUInt32BE(0)
    }
  }
}

export function isTempName(name: string): boolean {
  return name.startsWith('.') && name.endsWith('.tmp')
}

/** write(2) (writev) until every byte of `parts` is written: a regular file can take less. */
export function writeAll(fd: number, parts: Buffer[]): void {
  let pending = parts.filter(p => p.length > 0)
  while (pending.length > 0) {
    let n = writevSync(fd, pending)
    const rest: Buffer[] = []
    for (const p of pending) {
      if (n >= p.length) { n -= p.length; continue }
      rest.push(n > 0 ? p.subarray(n) : p)
      n = 0
    }
    pending = rest
  }
}

export interface AtomicWriteOptions {
  mode?: number
  /** fsync the file before the rename and its directory after: durable when this returns. */
  fsync?: boolean
  /**
   * An object's data made durable before the rename (`writeOut` or `fsync`, by the file
   * system: object-durability.ts); its name is made durable later, with a batch.
   */
  durability?: ObjectDurability
}

/**
 * Write `parts` to `target` atomically. On any error the temporary is removed and the error
 * rethrown (with its syscall and path); the target is untouched.
 */
export function writeFileAtomic(target: string, parts: Buffer[], opts: AtomicWriteOptions = {}): void {
  writeFileAtomicWith(target, fd => writeAll(fd, parts), opts)
}

/**
 * writeFileAtomic for contents written piece by piece: `write` writes them to the temporary's
 * descriptor (the local cache's object log, written anew without holding all of it at once).
 */
export function writeFileAtomicWith(target: string, write: (fd: number) => void, opts: AtomicWriteOptions = {}): void {
  const { tmp, fd } = openTemp(target, opts.mode ?? 0o600)
  try {
    write(fd)
    if (opts.fsync || opts.durability === 'fsync') fsyncSync(fd)
    else if (opts.durability === 'writeOut') native.writeOut(fd)
    else if (opts.durability === 'ordered') native.startWriteback(fd)
  } catch (e) {
    closeSync(fd)
    removeQuietly(tmp)
    throw e
  }
  closeSync(fd)
  try {
    renameSync(tmp, target)
  } catch (e) {
    removeQuietly(tmp)
    throw e
  }
  if (opts.fsync) fsyncDir(dirname(target))
}

export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    fsyncSync(fd)
  } catch (e) {
    // Some filesystems (sshfs without fsync extension) refuse fsync on directories.
    if (!isSystemError(e, 'EINVAL', 'ENOTSUP', 'ENOSYS', 'EPERM')) throw e
  } finally {
    closeSync(fd)
  }
}

/** Remove a temporary we created; only ENOENT is expected (already gone). */
function removeQuietly(p: string): void {
  try {
    unlinkSync(p)
  } catch (e) {
    if (!isSystemError(e, 'ENOENT')) throw e
  }
}
