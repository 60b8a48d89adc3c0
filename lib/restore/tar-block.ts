// lib/restore/tar-block.ts owns the layout of one 512-byte tar header block (POSIX ustar, and
// GNU's variant with its own magic and base-256 numbers). Callers decide what goes into each
// field; this file only places bytes and computes the checksum.
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
  const b = Buffer.alloc(BLOCK)
  const num = dialect === 'gnu' ? writeNumeric : writeOctal
  writeBytes(b, 0, 100, f.name)
  writeOctal(b, 100, 8, BigInt(f.mode))
  num(b, 108, 8, f.uid)
  num(b, 116, 8, f.gid)
  num(b, 124, 12, f.size)
  num(b, 136, 12, f.mtime)
  b.write(f.typeflag, 156, 1, 'latin1')
  if (f.linkname) writeBytes(b, 157, 100, f.linkname)
  MAGIC[dialect].copy(b, 257)
  writeBytes(b, 265, 32, f.uname.subarray(0, 31))
  writeBytes(b, 297, 32, f.gname.subarray(0, 31))
  if (f.devmajor !== undefined || dialect === 'ustar') num(b, 329, 8, f.devmajor ?? 0n)
  if (f.devminor !== undefined || dialect === 'ustar') num(b, 337, 8, f.devminor ?? 0n)
  if (f.prefix && f.prefix.length > 0) {
    if (dialect === 'gnu') throw new RangeError('GNU headers have no prefix field')
    writeBytes(b, 345, 155, f.prefix)
  }
  writeChecksum(b)
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
    uname: Buffer.from(m.uname, 'utf8'),
    gname: Buffer.from(m.gname, 'utf8'),
  }
  if (m.linkname !== undefined) f.linkname = m.linkname
  if (isDevice) {
    f.devmajor = BigInt(m.devmajor ?? 0)
    f.devminor = BigInt(m.devminor ?? 0)
  }
  return f
}
