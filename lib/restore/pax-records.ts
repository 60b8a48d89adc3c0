// lib/restore/pax-records.ts owns POSIX pax extended header records: their byte encoding
// ("<len> <keyword>=<value>\n", len counting its own digits, all arithmetic in bytes), the
// decimal time format GNU tar reads and writes, and the choice of records a member needs
// beyond what the ustar fields can hold. Values are raw bytes: a non-UTF-8 path goes out as
// is, as GNU tar itself writes it (GNU tar 1.34 does not know hdrcharset=BINARY and warns on
// every such member, so we leave it out; it keeps raw bytes anyway); xattr values are binary.
import type { TarMember } from './tar-member.js'
import { floorSeconds, maxOctal } from './tar-fields.js'
import { LINKNAME_WIDTH, OWNER_NAME_MAX, isPlainAscii, splitUstar } from './tar-names.js'
import { ownerNameBytes } from './tar-block.js'

const NS_PER_S = 1_000_000_000n

/** One record. The length prefix counts the whole record, its own digits included. */
export function paxRecord(keyword: string | Buffer, value: string | Buffer): Buffer {
  const k = typeof keyword === 'string' ? Buffer.byteLength(keyword, 'utf8') : keyword.length
  const v = typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length
  const body = k + v + 3 // ' ', '=', '\n'
  let digits = 1
  while (String(body + digits).length > digits) digits++
  const total = body + digits
  const out = Buffer.allocUnsafe(total)
  let at = out.write(String(total), 0, 'latin1')
  out[at++] = 0x20
  at += typeof keyword === 'string' ? out.write(keyword, at, 'utf8') : keyword.copy(out, at)
  out[at++] = 0x3d
  at += typeof value === 'string' ? out.write(value, at, 'utf8') : value.copy(out, at)
  out[at] = 0x0a
  return out
}

/**
 * Seconds as GNU tar writes them: "-123456789.5", "4102444800.123456789", "7" — the signed
 * real value, at most 9 fractional digits, trailing zeros dropped. -0.5 s is "-0.5".
 */
export function paxTime(ns: bigint): string {
  const neg = ns < 0n
  const abs = neg ? -ns : ns
  const frac = abs % NS_PER_S
  const fracText = frac === 0n ? '' : '.' + frac.toString().padStart(9, '0').replace(/0+$/, '')
  return (neg ? '-' : '') + (abs / NS_PER_S).toString() + fracText
}

/** GNU tar's SCHILY.xattr keyword: '%' and '=' in the xattr name escaped as %25 and %3D. */
export function xattrKeyword(name: Buffer): Buffer {
  const parts: Buffer[] = [Buffer.from('SCHILY.xattr.')]
  let from = 0
  for (let i = 0; i < name.length; i++) {
    const c = name[i]
    if (c === 0x25 || c === 0x3d) {
      parts.push(name.subarray(from, i), Buffer.from(c === 0x25 ? '%25' : '%3D'))
      from = i + 1
    }
  }
  parts.push(name.subarray(from))
  return Buffer.concat(parts)
}

/** Which of the member's header values need a pax record (what the ustar fields cannot hold). */
export interface PaxNeeds {
  path: boolean
  linkpath: boolean
  size: boolean
  uid: boolean
  gid: boolean
  uname: boolean
  gname: boolean
  mtime: boolean
  devmajor: boolean
  devminor: boolean
}

function ownerNameNeedsRecord(s: string): boolean {
  const b = ownerNameBytes(s)
  return b.length > OWNER_NAME_MAX || !isPlainAscii(b)
}

/** maxOctal's limits of 8- and 12-byte fields as numbers: compared once or more per member. */
const MAX_OCTAL_8 = Number(maxOctal(8))
const MAX_OCTAL_12 = Number(maxOctal(12))

export function paxNeeds(m: TarMember, path: Buffer): PaxNeeds {
  const secs = floorSeconds(m.mtimeNs)
  const link = m.linkname
  return {
    path: splitUstar(path) === null || !isPlainAscii(path),
    linkpath: link !== undefined && (link.length > LINKNAME_WIDTH || !isPlainAscii(link)),
    size: m.size > MAX_OCTAL_12,
    uid: m.uid > MAX_OCTAL_8,
    gid: m.gid > MAX_OCTAL_8,
    uname: ownerNameNeedsRecord(m.uname),
    gname: ownerNameNeedsRecord(m.gname),
    mtime: secs * NS_PER_S !== m.mtimeNs || secs < 0n || secs > maxOctal(12),
    devmajor: (m.devmajor ?? 0) > MAX_OCTAL_8,
    devminor: (m.devminor ?? 0) > MAX_OCTAL_8,
  }
}

/** The records of a member's extended header, in GNU tar's order; empty when none is needed. */
export function paxRecordsFor(m: TarMember, path: Buffer, needs: PaxNeeds): Buffer[] {
  const out: Buffer[] = []
  const link = m.linkname ?? Buffer.alloc(0)
  if (needs.path) out.push(paxRecord('path', path))
  if (needs.linkpath) out.push(paxRecord('linkpath', link))
  if (needs.size) out.push(paxRecord('size', String(m.size)))
  if (needs.uid) out.push(paxRecord('uid', String(m.uid)))
  if (needs.gid) out.push(paxRecord('gid', String(m.gid)))
  if (needs.uname) out.push(paxRecord('uname', m.uname))
  if (needs.gname) out.push(paxRecord('gname', m.gname))
  if (needs.mtime) out.push(paxRecord('mtime', paxTime(m.mtimeNs)))
  if (m.atimeNs !== undefined) out.push(paxRecord('atime', paxTime(m.atimeNs)))
  if (needs.devmajor) out.push(paxRecord('SCHILY.devmajor', String(m.devmajor)))
  if (needs.devminor) out.push(paxRecord('SCHILY.devminor', String(m.devminor)))
  if (m.aclAccess !== undefined) out.push(paxRecord('SCHILY.acl.access', m.aclAccess))
  if (m.aclDefault !== undefined) out.push(paxRecord('SCHILY.acl.default', m.aclDefault))
  for (const [name, value] of m.xattrs ?? []) out.push(paxRecord(xattrKeyword(name), value))
  return out
}
