// lib/restore/tar-ustar.ts owns the strict POSIX.1-1988 ustar encoding of a member. ustar has
// no extension mechanism, so whatever its fields cannot hold exactly — a name that no
// prefix/name split fits, a link target over 100 bytes, numbers beyond octal (uid/gid over
// 07777777, 8 GiB files, mtimes before 1970 or after 2242), xattrs, ACLs, owner names over 31
// bytes — is refused with a TarFormatError, never truncated. Name bytes go out raw (non-UTF-8
// names are byte-exact). Sub-second times and atime are dropped, as in every ustar writer.
import type { TarMember } from './tar-member.js'
import { headerBlock, memberFields } from './tar-block.js'
import { fitsOctal } from './tar-fields.js'
import { LINKNAME_WIDTH, OWNER_NAME_MAX, splitUstar } from './tar-names.js'
import { TarFormatError } from './tar-format-error.js'
import { showPath } from './show-path.js'

const HINT = 'use --format pax to restore it'

/** The first thing ustar cannot hold, or null. */
function unrepresentable(m: TarMember, path: Buffer): string | null {
  const f = memberFields(m, path)
  if (splitUstar(path) === null) return `a name of ${path.length} bytes (max 256, split at a '/' into 155 + 100)`
  if (f.linkname && f.linkname.length > LINKNAME_WIDTH) return `a link target of ${f.linkname.length} bytes (max 100)`
  if (!fitsOctal(f.uid, 8)) return `the uid ${f.uid} (max 2097151)`
  if (!fitsOctal(f.gid, 8)) return `the gid ${f.gid} (max 2097151)`
  if (!fitsOctal(f.size, 12)) return `a size of ${f.size} bytes (max 8 GiB - 1)`
  if (f.mtime < 0n) return `an mtime before 1970 (${f.mtime} s)`
  if (!fitsOctal(f.mtime, 12)) return `an mtime after 2242 (${f.mtime} s)`
  if (f.devmajor !== undefined && !fitsOctal(f.devmajor, 8)) return `the device major ${f.devmajor}`
  if (f.devminor !== undefined && !fitsOctal(f.devminor, 8)) return `the device minor ${f.devminor}`
  if (f.uname.length > OWNER_NAME_MAX) return `the user name ${JSON.stringify(m.uname)} (max 31 bytes)`
  if (f.gname.length > OWNER_NAME_MAX) return `the group name ${JSON.stringify(m.gname)} (max 31 bytes)`
  if (m.xattrs && m.xattrs.length > 0) return `${m.xattrs.length} extended attribute(s)`
  if (m.aclAccess !== undefined || m.aclDefault !== undefined) return 'POSIX ACLs'
  return null
}

export function encodeUstar(m: TarMember, path: Buffer): Buffer {
  const why = unrepresentable(m, path)
  if (why !== null) throw new TarFormatError('ustar', showPath(path), why, HINT)
  const f = memberFields(m, path)
  const split = splitUstar(path)
  if (split) {
    f.name = split.name
    f.prefix = split.prefix
  }
  return headerBlock(f, 'ustar')
}
