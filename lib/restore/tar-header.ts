// lib/restore/tar-header.ts is the tar header encoder's public face: a TarMember in, the bytes
// of all its header blocks out (pax extended header or GNU long-name blocks, then the main
// 512-byte header), but neither its data nor the data's padding. Pure: no I/O. The formats live
// in tar-pax.ts, tar-gnu.ts and tar-ustar.ts; a stream writer assembles
// encodeMember + data + paddingFor(size) for each member, then END_OF_ARCHIVE.
import type { TarFormat, TarMember } from './tar-member.js'
import { BLOCK } from './tar-fields.js'
import { memberPath } from './tar-names.js'
import { showPath } from './show-path.js'
import { encodePax } from './tar-pax.js'
import { encodeGnu } from './tar-gnu.js'
import { encodeUstar } from './tar-ustar.js'

export { TarFormatError } from './tar-format-error.js'
export { formatLosses } from './tar-losses.js'
export type { TarFormat, TarMember, TarType } from './tar-member.js'

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK)

/** Zero bytes that pad `size` bytes of data to a multiple of 512. */
export function paddingFor(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK
}

/**
 * All header blocks for one member. Throws TarFormatError when the format cannot hold the member
 * exactly (ustar only: pax holds everything, gnu drops what formatLosses lists), and RangeError
 * for a member no tar format can describe (empty name, NUL byte, leading '/', bad numbers).
 */
export function encodeMember(m: TarMember, format: TarFormat = 'pax'): Buffer {
  checkMember(m)
  const path = memberPath(m.name, m.type === 'dir')
  switch (format) {
    case 'pax': return encodePax(m, path)
    case 'gnu': return encodeGnu(m, path)
    case 'ustar': return encodeUstar(m, path)
  }
}

function checkMember(m: TarMember): void {
  const bad = (why: string): never => {
    throw new RangeError(`cannot encode tar member ${showPath(m.name)}: ${why}`)
  }
  if (m.name.length === 0) bad('empty name')
  if (m.name[0] === 0x2f) bad("name starts with '/'")
  if (m.name.includes(0)) bad('NUL byte in name')
  if (!Number.isInteger(m.mode) || m.mode < 0 || m.mode > 0o7777) bad(`mode ${m.mode} is not within 07777`)
  for (const [what, v] of [['uid', m.uid], ['gid', m.gid], ['size', m.size], ['devmajor', m.devmajor ?? 0], ['devminor', m.devminor ?? 0]] as const) {
    if (!Number.isSafeInteger(v) || v < 0) bad(`${what} ${v} is not a non-negative integer`)
  }
  if (m.type !== 'file' && m.size !== 0) bad(`a ${m.type} has size ${m.size}, not 0`)
  const needsLink = m.type === 'symlink' || m.type === 'hardlink'
  if (needsLink && (m.linkname === undefined || m.linkname.length === 0)) bad(`a ${m.type} needs a link target`)
  if (!needsLink && m.linkname !== undefined) bad(`a ${m.type} has no link target`)
  if (m.linkname?.includes(0)) bad('NUL byte in link target')
  for (const [name] of m.xattrs ?? []) {
    if (name.length === 0 || name.includes(0)) bad('empty xattr name or NUL byte in it')
  }
}
