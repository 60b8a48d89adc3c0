// lib/tree owns the per-directory entry database ("tree"): the entry model, its byte
// encoding, storing and reading trees through the object store, and walking them.
// It never touches source files and knows nothing of tar.

export enum EntryType {
  File = 0,
  Dir = 1,
  Symlink = 2,
  CharDev = 3,
  BlockDev = 4,
  Fifo = 5,
}

/** The names of the entry types, as ls --json and tar member types spell them. */
export const ENTRY_TYPE_NAMES = {
  [EntryType.File]: 'file',
  [EntryType.Dir]: 'dir',
  [EntryType.Symlink]: 'symlink',
  [EntryType.CharDev]: 'chardev',
  [EntryType.BlockDev]: 'blockdev',
  [EntryType.Fifo]: 'fifo',
} as const satisfies Record<EntryType, string>

/** A time as whole seconds (may be negative) and nanoseconds 0..999,999,999. */
export type Timespec = [sec: number, nsec: number]

/**
 * One stored piece of a file: an object's name (SHA-256 of its plain bytes) and the length of
 * the piece. Without `offset`, the piece is the whole object (a chunk), exactly `length` bytes.
 * With it, the piece is a slice: bytes [offset, offset + length) of the object's plain bytes,
 * whatever the object's kind (a save refers so to inline data kept in an earlier tree part:
 * doc/format.md, "Slices").
 */
export interface ChunkRef {
  hash: Buffer
  length: number
  offset?: number
}

/** Whether a piece is a slice of a larger object rather than a whole chunk. */
export function isSlice(c: ChunkRef): c is ChunkRef & { offset: number } {
  return c.offset !== undefined
}

export interface Entry {
  name: Buffer
  type: EntryType
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number
  uid: number
  gid: number
  uname?: string
  gname?: string
  /** Regular files: length in bytes; 0 otherwise. */
  size: number
  mtime: Timespec
  ctime: Timespec
  atime?: Timespec
  /** Inode number on the source filesystem (decimal string when beyond 2^53). */
  ino: number | string
  /** Devices: major and minor numbers. */
  rdev?: [major: number, minor: number]
  /** Symlinks: target bytes. */
  target?: Buffer
  /** Extended attributes, sorted by name bytes; POSIX ACLs as system.posix_acl_*. */
  xattrs?: Array<[Buffer, Buffer]>
  /** Hardlink group key: the full path of the group's first member met by the save. */
  link?: Buffer
  /** Regular files: content stored inline in the tree... */
  data?: Buffer
  /** ...or as chunks (empty files have neither). */
  chunks?: ChunkRef[]
  /** Directories: the object name of this directory's tree (or tree index). */
  tree?: Buffer
  /** mtime too close to the save's start to trust an equal mtime next time (DESIGN.md §3). */
  racy?: boolean
}

export function compareNames(a: Buffer, b: Buffer): number {
  return Buffer.compare(a, b)
}

export function timespecFromNs(ns: bigint): Timespec {
  let sec = ns / 1_000_000_000n
  let nsec = ns % 1_000_000_000n
  if (nsec < 0n) {
    nsec += 1_000_000_000n
    sec -= 1n
  }
  return [Number(sec), Number(nsec)]
}

export function timespecToNs(t: Timespec): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1])
}
