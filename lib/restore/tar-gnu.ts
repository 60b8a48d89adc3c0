// lib/restore/tar-gnu.ts owns the GNU tar format encoding of a member: "././@LongLink" blocks
// ('K' for a long link target, then 'L' for a long name; raw bytes, NUL-terminated) and a header
// with GNU magic whose numbers fall back to base-256 (negative mtimes, uids past 07777777, sizes
// of 8 GiB and more). What GNU format cannot hold — sub-second times, atime, xattrs, ACLs — is
// dropped; tar-losses.ts lists it so the caller can say so.
import type { TarMember } from './tar-member.js'
import { headerBlock, memberFields } from './tar-block.js'
import { BLOCK, fitsBase256 } from './tar-fields.js'
import { LINKNAME_WIDTH, NAME_WIDTH } from './tar-names.js'
import { TarFormatError } from './tar-format-error.js'
import { showPath } from './show-path.js'

const LONGLINK_NAME = Buffer.from('././@LongLink')
const ROOT = Buffer.from('root')

function longLink(typeflag: 'K' | 'L', bytes: Buffer): Buffer {
  const data = Buffer.concat([bytes, Buffer.alloc(1)]) // NUL-terminated; size counts the NUL
  const header = headerBlock({
    name: LONGLINK_NAME,
    mode: 0o644,
    uid: 0n,
    gid: 0n,
    size: BigInt(data.length),
    mtime: 0n,
    typeflag,
    uname: ROOT,
    gname: ROOT,
  }, 'gnu')
  const pad = Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)
  return Buffer.concat([header, data, pad])
}

export function encodeGnu(m: TarMember, path: Buffer): Buffer {
  const f = memberFields(m, path)
  for (const [field, value] of [['mtime', f.mtime], ['uid', f.uid], ['gid', f.gid]] as const) {
    if (!fitsBase256(value, field === 'mtime' ? 12 : 8)) {
      throw new TarFormatError('gnu', showPath(path), `the ${field} ${value}`, 'the value is out of range for any tar format')
    }
  }
  const blocks: Buffer[] = []
  if (f.linkname && f.linkname.length > LINKNAME_WIDTH) {
    blocks.push(longLink('K', f.linkname))
    f.linkname = f.linkname.subarray(0, LINKNAME_WIDTH)
  }
  if (path.length > NAME_WIDTH) {
    blocks.push(longLink('L', path))
    f.name = path.subarray(0, NAME_WIDTH)
  }
  blocks.push(headerBlock(f, 'gnu'))
  return Buffer.concat(blocks)
}
