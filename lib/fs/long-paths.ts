// Paths longer than the kernel resolves in one call (PATH_MAX: 4,096 bytes with the NUL).
// A file deep in a tree has such a path; Node has no openat() and no fstatat(), so the save
// reaches it through directories opened on the way down: /proc/self/fd/N/rest, where N is an
// O_PATH descriptor of a directory of the path and rest is short enough. Descriptors are
// opened at slashes at most STRIDE bytes apart, so a directory's entries share them, and kept
// in a small LRU. A reached path is good only until the next reach(): use it at once, in the
// same synchronous step (all the save's calls on source paths are).
import { closeSync, constants, openSync } from 'node:fs'

/** The longest path the kernel takes in one call: PATH_MAX (4,096) less its NUL. */
export const PATH_MAX_BYTES = 4095
/** An anchor is the last slash at most this many bytes past the one before it. */
const STRIDE = 2048
/** Anchors kept open (least recently used closed first). */
const ANCHORS_MAX = 64
/** O_PATH (Linux, all architectures Node runs on): a descriptor to resolve paths from, no more. */
const O_PATH = 0o10000000
const SLASH = 0x2f

export class LongPaths {
  /** Open anchors by the path they stand for (latin1 text), least recently used first. */
  private readonly anchors = new Map<string, number>()

  /**
   * A path the kernel takes for `path`: itself when short enough, else one through anchors.
   * Throws as open(2) would (ENOENT, EACCES, ENOTDIR...) when a directory on the way cannot be
   * opened; ENAMETOOLONG only for a name of more than STRIDE bytes, which no Linux file system has.
   */
  reach(path: Buffer): Buffer {
    if (path.length <= PATH_MAX_BYTES) return path
    this.trim()
    let base = ''
    let at = 0
    while (base.length + path.length - at > PATH_MAX_BYTES) {
      const cut = path.lastIndexOf(SLASH, at + STRIDE)
      if (cut <= at) throw Object.assign(new Error(`ENAMETOOLONG: name too long, reach '${path.toString('latin1', 0, 64)}...'`), { code: 'ENAMETOOLONG', errno: -36, syscall: 'open' })
      const key = path.toString('latin1', 0, cut)
      let fd = this.anchors.get(key)
      if (fd === undefined) {
        fd = openSync(Buffer.concat([Buffer.from(base, 'latin1'), path.subarray(at, cut)]), O_PATH | constants.O_DIRECTORY)
      } else {
        this.anchors.delete(key)
      }
      this.anchors.set(key, fd)
      base = `/proc/self/fd/${fd}/`
      at = cut + 1
    }
    return Buffer.concat([Buffer.from(base, 'latin1'), path.subarray(at)])
  }

  /** How many anchors are open (for tests). */
  get open(): number {
    return this.anchors.size
  }

  /** Close every anchor. */
  close(): void {
    for (const fd of this.anchors.values()) closeSync(fd)
    this.anchors.clear()
  }

  /** Close the least recently used anchors beyond ANCHORS_MAX (never during a reach()). */
  private trim(): void {
    for (const [key, fd] of this.anchors) {
      if (this.anchors.size <= ANCHORS_MAX) break
      this.anchors.delete(key)
      closeSync(fd)
    }
  }
}
