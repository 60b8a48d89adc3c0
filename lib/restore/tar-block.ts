// lib/restore/tar-block.ts owns the layout of one 512-byte tar header block (POSIX ustar, and
// GNU's variant with its own magic and base-256 numbers). Callers decide what goes into each
// field; this file only places bytes and computes the checksum.
import { zeroed } from './header-slab.js'
import { BLOCK, floorSeconds, writeBytes, writeChecksum, writeNumeric, writeOctal } from './tar-fields.js'
import { TYPEFLAG, type TarMember } from './tar-member.js'

export interface HeaderFields {
  name: Buffer // ≤ 100 bytes
  prefix?: Buffer // ≤ 155 bytes, ustar dialect only
  mode: number
  uid: bigint
  gid: bigint
  size: bigint
  mtime: bigint // whole seconds
  typeflag: string // one ASCII character
  linkname?: Buffer // ≤ 100 bytes
  uname: Buffer // ≤ 31 bytes
  gname: Buffer // ≤ 31 bytes
  /** Device numbers; absent for non-devices (ustar writes 0, GNU leaves the fields empty, as GNU tar). */
  devmajor?: bigint
  devminor?: bigint
}

/** ustar: magic "ustar\0" version "00", octal only. gnu: magic "ustar  \0", base-256 where octal cannot hold a value. */
export type Dialect = 'ustar' | 'gnu'

const MAGIC: Record<Dialect, Buffer> = {
  ustar: Buffer.from('ustar\x0000', 'latin1'),
  gnu: Buffer.from('ustar  \x00', 'latin1'),
}

export function headerBlock(f: HeaderFields, dialect: Dialect): Buffer {
  const b = zeroed(BLOCK)
  headerBlockInto(b, 0, f, dialect)
  return b
}

/** Write the header block into b[at .. at + 512), which must be zero. */
export function headerBlockInto(b: Buffer, at: number, f: HeaderFields, dialect: Dialect): void {
  const num = dialect === 'gnu' ? writeNumeric : writeOctal
  writeBytes(b, at, 100, f.name)
  writeOctal(b, at + 100, 8, BigInt(f.mode))
  num(b, at + 108, 8, f.uid)
  num(b, at + 116, 8, f.gid)
  num(b, at + 124, 12, f.size)
  num(b, at + 136, 12, f.mtime)
  b[at + 156] = f.typeflag.charCodeAt(0)
  if (f.linkname) writeBytes(b, at + 157, 100, f.linkname)
  MAGIC[dialect].copy(b, at + 257)
  writeBytes(b, at + 265, 32, f.uname.length > 31 ? f.uname.subarray(0, 31) : f.uname)
  writeBytes(b, at + 297, 32, f.gname.length > 31 ? f.gname.subarray(0, 31) : f.gname)
  if (f.devmajor !== undefined || dialect === 'ustar') num(b, at + 329, 8, f.devmajor ?? 0n)
  if (f.devminor !== undefined || dialect === 'ustar') num(b, at + 337, 8, f.devminor ?? 0n)
  if (f.prefix && f.prefix.length > 0) {
    if (dialect === 'gnu') throw new RangeError('GNU headers have no prefix field')
    writeBytes(b, at + 345, 155, f.prefix)
  }
  writeChecksum(b, at)
}

/** Owner names as bytes, kept: a restore meets the same few names on every member. */
const ownerBytes = new Map<string, Buffer>()

export function ownerNameBytes(name: string): Buffer {
  let b = ownerBytes.get(name)
  if (b === undefined) {
    if (ownerBytes.size >= 1024) ownerBytes.clear()
    b = Buffer.from(name, 'utf8')
    ownerBytes.set(name, b)
  }
  return b
}

/**
 * The header fields of a member before any format has fitted them: the full path and link
 * target, the exact numbers, mtime in whole seconds rounded down. Each format then replaces what
 * it cannot hold (tar-pax.ts, tar-gnu.ts) or refuses (tar-ustar.ts).
 */
export function memberFields(m: TarMember, path: Buffer): HeaderFields {
  const isDevice = m.type === 'chardev' || m.type === 'blockdev'
  const f: HeaderFields = {
    name: path,
    mode: m.mode & 0o7777,
    uid: BigInt(m.uid),
    gid: BigInt(m.gid),
    size: m.type === 'file' ? BigInt(m.size) : 0n,
    mtime: floorSeconds(m.mtimeNs),
    typeflag: TYPEFLAG[m.type],
    uname: ownerNameBytes(m.uname),
    gname: ownerNameBytes(m.gname),
  }
  if (m.linkname !== undefined) f.linkname = m.linkname
  if (isDevice) {
    f.devmajor = BigInt(m.devmajor ?? 0)
    f.devminor = BigInt(m.devminor ?? 0)
  }
  return f
}
