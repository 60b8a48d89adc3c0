// lib/fs: what the save needs of an inode's metadata (FileStat), from Node's fstat (BigIntStats)
// or from the native lstatMany, which stats a window of a directory's names in one call
// relative to the directory (no BigIntStats per entry, no path resolved from the root).
import type { BigIntStats } from 'node:fs'
import { constants } from 'node:os'
import type { Timespec } from '../tree/entry.js'
import { timespecFromNs } from '../tree/entry.js'
import { major, minor } from './device-numbers.js'
import { native } from './native.js'

export interface FileStat {
  /** st_mode: the type bits and the permission bits. */
  mode: number
  uid: number
  gid: number
  size: number
  mtime: Timespec
  ctime: Timespec
  atime: Timespec
  /** The inode number as trees record it: a number, or a decimal string beyond 2^53. */
  ino: number | string
  /** st_dev, as a string: compared and used as a key only. */
  dev: string
  nlink: number
  rdev: [major: number, minor: number]
}

export const S_IFMT = 0o170000
export const S_IFREG = 0o100000
export const S_IFDIR = 0o040000
export const S_IFLNK = 0o120000
export const S_IFCHR = 0o020000
export const S_IFBLK = 0o060000
export const S_IFIFO = 0o010000
export const S_IFSOCK = 0o140000

export function fileType(st: FileStat): number {
  return st.mode & S_IFMT
}

export function fileStatOf(st: BigIntStats): FileStat {
  return {
    mode: Number(st.mode),
    uid: Number(st.uid),
    gid: Number(st.gid),
    size: Number(st.size),
    mtime: timespecFromNs(st.mtimeNs),
    ctime: timespecFromNs(st.ctimeNs),
    atime: timespecFromNs(st.atimeNs),
    ino: st.ino <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(st.ino) : st.ino.toString(),
    dev: st.dev.toString(),
    nlink: Number(st.nlink),
    rdev: [major(st.rdev), minor(st.rdev)],
  }
}

/** Whether a is earlier than b. */
export function timeBefore(a: Timespec, b: Timespec): boolean {
  return a[0] < b[0] || (a[0] === b[0] && a[1] < b[1])
}

export function sameTimespec(a: Timespec, b: Timespec): boolean {
  return a[0] === b[0] && a[1] === b[1]
}

/** Numbers per name in lstatRaw's output. */
export const STAT_SLOTS = 18
const SLOTS = STAT_SLOTS
const ERRNO_NAMES = new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]))

/** Error code (ENOENT...) of a failed lstat. */
export class LstatFailure {
  constructor(readonly code: string) {}
}

function u64(hi: number, lo: number): number | string {
  if (hi < 0x200000) return hi * 0x100000000 + lo
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString()
}

/**
 * lstat of each of `names` (latin1 strings: one char per byte) in directory `dir`, in order:
 * a FileStat, or a LstatFailure with the error's code.
 */
export function lstatMany(dir: Buffer, names: readonly string[]): Array<FileStat | LstatFailure> {
  return decodeStats(lstatRaw(dir, names), names.length)
}

/**
 * lstatMany's answer as it comes from the native call: STAT_SLOTS numbers a name (the error
 * number first), to be decoded with decodeStats, here or on another thread.
 */
export function lstatRaw(dir: Buffer, names: readonly string[]): Float64Array {
  const out = new Float64Array(names.length * SLOTS)
  native.lstatMany(dir, names as string[], out)
  return out
}

/**
 * Fields of result `i` of lstatRaw read without decoding it (no objects: the read-ahead
 * looks at every entry of a save, most of them only for their type). Valid when `rawError`
 * is 0.
 */
export const rawError = (out: Float64Array, i: number): number => out[i * SLOTS] as number
export const rawMode = (out: Float64Array, i: number): number => out[i * SLOTS + 1] as number
export const rawSize = (out: Float64Array, i: number): number => out[i * SLOTS + 4] as number
/** The later of mtime and ctime, in ms. */
export const rawChangedMs = (out: Float64Array, i: number): number => Math.max(
  (out[i * SLOTS + 5] as number) * 1000 + (out[i * SLOTS + 6] as number) / 1e6,
  (out[i * SLOTS + 7] as number) * 1000 + (out[i * SLOTS + 8] as number) / 1e6)
export const rawDev = (out: Float64Array, i: number): string => String(u64(out[i * SLOTS + 13] as number, out[i * SLOTS + 14] as number))

/** The first `n` results of lstatRaw. */
export function decodeStats(out: Float64Array, n: number): Array<FileStat | LstatFailure> {
  const res: Array<FileStat | LstatFailure> = new Array(n)
  // A window's entries are nearly always on one device: its string is made once.
  let devHi = -1
  let devLo = -1
  let dev = ''
  for (let i = 0; i < n; i++) {
    const o = i * SLOTS
    const err = out[o] as number
    if (err !== 0) {
      res[i] = new LstatFailure(ERRNO_NAMES.get(err) ?? `errno ${err}`)
      continue
    }
    const hi = out[o + 13] as number
    const lo = out[o + 14] as number
    if (hi !== devHi || lo !== devLo) {
      devHi = hi
      devLo = lo
      dev = String(u64(hi, lo))
    }
    res[i] = {
      mode: out[o + 1] as number,
      uid: out[o + 2] as number,
      gid: out[o + 3] as number,
      size: out[o + 4] as number,
      mtime: [out[o + 5] as number, out[o + 6] as number],
      ctime: [out[o + 7] as number, out[o + 8] as number],
      atime: [out[o + 9] as number, out[o + 10] as number],
      ino: u64(out[o + 11] as number, out[o + 12] as number),
      dev,
      nlink: out[o + 15] as number,
      rdev: [out[o + 16] as number, out[o + 17] as number],
    }
  }
  return res
}
