// Build a tree entry's metadata from lstat (lib/fs/file-stat.ts) and the xattrs.
// What changes without the file changing stays out: no st_dev, no link count, no atime
// unless asked (DESIGN.md §2).
import type { BigIntStats } from 'node:fs'
import { EntryType, type Entry } from '../tree/entry.js'
import { fileType, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, type FileStat } from '../fs/file-stat.js'
import { groupName, userName } from '../fs/owner-names.js'

export function entryType(st: FileStat): EntryType | null {
  switch (fileType(st)) {
    case S_IFREG: return EntryType.File
    case S_IFDIR: return EntryType.Dir
    case S_IFLNK: return EntryType.Symlink
    case S_IFCHR: return EntryType.CharDev
    case S_IFBLK: return EntryType.BlockDev
    case S_IFIFO: return EntryType.Fifo
    default: return null // socket, or unknown
  }
}

export function entryFromStat(name: Buffer, type: EntryType, st: FileStat, xattrs: Array<[Buffer, Buffer]>, atime: boolean): Entry {
  const uid = st.uid
  const gid = st.gid
  const e: Entry = {
    name,
    type,
    mode: st.mode & 0o7777,
    uid,
    gid,
    size: type === EntryType.File ? st.size : 0,
    mtime: st.mtime,
    ctime: st.ctime,
    ino: st.ino,
  }
  const un = userName(uid)
  if (un !== undefined) e.uname = un
  const gn = groupName(gid)
  if (gn !== undefined) e.gname = gn
  if (atime) e.atime = st.atime
  if (type === EntryType.CharDev || type === EntryType.BlockDev) e.rdev = st.rdev
  if (xattrs.length > 0) e.xattrs = xattrs.slice().sort((a, b) => Buffer.compare(a[0], b[0]))
  return e
}

/** Same file content and identity as far as stat can tell. */
export function sameStat(a: BigIntStats, b: BigIntStats): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs && a.ctimeNs === b.ctimeNs && a.ino === b.ino
}
