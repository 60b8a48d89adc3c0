// lib/restore/tar-pax.ts owns the pax (POSIX.1-2001) encoding of a member: an 'x' extended
// header carrying what the ustar fields cannot (see pax-records.ts), then the ustar header
// with stand-ins where a record holds the real value — an ASCII-safe cut name, 0 for numbers
// out of range — as GNU tar writes them. Lossless for everything a TarMember holds.
import type { TarMember } from './tar-member.js'
import { headerBlock, headerBlockInto, memberFields, type HeaderFields } from './tar-block.js'
import { BLOCK, fitsOctal } from './tar-fields.js'
import { zeroed } from './header-slab.js'
import { paxNeeds, paxRecordsFor } from './pax-records.js'
import { LINKNAME_WIDTH, NAME_WIDTH, OWNER_NAME_MAX, asciiSafe, paxHeaderName, splitUstar } from './tar-names.js'

export function encodePax(m: TarMember, path: Buffer): Buffer {
  const needs = paxNeeds(m, path)
  const f = memberFields(m, path)

  const shownName = needs.path ? asciiSafe(path, path.length) : path
  const split = splitUstar(shownName)
  f.name = split ? split.name : shownName.subarray(0, NAME_WIDTH)
  if (split) f.prefix = split.prefix
  if (needs.linkpath && f.linkname) f.linkname = asciiSafe(f.linkname, LINKNAME_WIDTH)
  if (needs.size) f.size = 0n
  if (needs.uid) f.uid = 0n
  if (needs.gid) f.gid = 0n
  if (needs.uname) f.uname = asciiSafe(f.uname, OWNER_NAME_MAX)
  if (needs.gname) f.gname = asciiSafe(f.gname, OWNER_NAME_MAX)
  if (!fitsOctal(f.mtime, 12)) f.mtime = 0n
  if (needs.devmajor) f.devmajor = 0n
  if (needs.devminor) f.devminor = 0n

  const records = paxRecordsFor(m, path, needs)
  if (records.length === 0) return headerBlock(f, 'ustar')
  // One buffer for the extended header, its records padded to a block, and the main header.
  let size = 0
  for (const r of records) size += r.length
  const padded = size + ((BLOCK - (size % BLOCK)) % BLOCK)
  const out = zeroed(BLOCK + padded + BLOCK)
  const x: HeaderFields = {
    name: paxHeaderName(path),
    mode: 0o644,
    uid: 0n,
    gid: 0n,
    size: BigInt(size),
    mtime: f.mtime,
    typeflag: 'x',
    uname: NO_OWNER,
    gname: NO_OWNER,
  }
  headerBlockInto(out, 0, x, 'ustar')
  let at = BLOCK
  for (const r of records) at += r.copy(out, at)
  headerBlockInto(out, BLOCK + padded, f, 'ustar')
  return out
}

const NO_OWNER = Buffer.alloc(0)
