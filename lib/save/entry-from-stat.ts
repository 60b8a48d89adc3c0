// Build a tree entry's metadata from lstat (bigint, for nanoseconds) and the xattrs.
// What changes without the file changing stays out: no st_dev, no link count, no atime
// unless asked (DESIGN.md §2).
import type { BigIntStats } from 'node:fs'
import { EntryType, timespecFromNs, type Entry } from '../tree/entry.js'
import { major, minor } from '../fs/device-numbers.js'
import { groupName, userName } from '../fs/owner-names.js'

export function entryType(st: BigIntStats): EntryType | null {
  if (st.isFile()) return EntryType.File
  if (st.isDirectory()) return EntryType.Dir
  if (st.isSymbolicLink()) return EntryType.Symlink
  if (st.isCharacterDevice()) return EntryType.CharDev
  if (st.isBlockDevice()) return EntryType.BlockDev
  if (st.isFIFO()) return EntryType.Fifo
  return null // socket, or unknown
}

/** The inode number as a tree records it: a number, or a decimal string beyond 2^53. */
export function entryIno(st: BigIntStats): number | string {
  return st.ino <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(st.ino) : st.ino.toString()
}

export function entryFromStat(name: Buffer, type: EntryType, st: BigIntStats, xattrs: Array<[Buffer, Buffer]>, atime: boolean): Entry {
  const uid = Number(st.uid)
  const gid = Number(st.gid)
  const e: Entry = {
    name,
    type,
    mode: Number(st.mode & 0o7777n),
    uid,
    gid,
    size: type === EntryType.File ? Number(st.size) : 0,
    mtime: timespecFromNs(st.mtimeNs),
    ctime: timespecFromNs(st.ctimeNs),
    ino: entryIno(st),
  }
  const un = userName(uid)
  if (un !== undefined) e.uname = un
  const gn = groupName(gid)
  if (gn !== undefined) e.gname = gn
  if (atime) e.atime = timespecFromNs(st.atimeNs)
  if (type === EntryType.CharDev || type === EntryType.BlockDev) e.rdev = [major(st.rdev), minor(st.rdev)]
  if (xattrs.length > 0) e.xattrs = xattrs.slice().sort((a, b) => Buffer.compare(a[0], b[0]))
  return e
}

/** Same file content and identity as far as stat can tell. */
export function sameStat(a: BigIntStats, b: BigIntStats): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino
}
