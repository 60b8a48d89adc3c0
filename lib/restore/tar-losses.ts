// lib/restore/tar-losses.ts owns the list of what a tar format drops from a member without
// refusing it (pax drops nothing a TarMember holds; gnu drops sub-second times, atime, xattrs,
// ACLs and cuts long owner names; ustar drops sub-second times and atime). The restore calls it
// to warn instead of losing metadata silently. Pure: it encodes nothing.
import type { TarFormat, TarMember } from './tar-member.js'
import { floorSeconds } from './tar-fields.js'
import { OWNER_NAME_MAX } from './tar-names.js'

export function formatLosses(m: TarMember, format: TarFormat): string[] {
  if (format === 'pax') return []
  const lost: string[] = []
  if (floorSeconds(m.mtimeNs) * 1_000_000_000n !== m.mtimeNs) lost.push('sub-second mtime')
  if (m.atimeNs !== undefined) lost.push('atime')
  if (format === 'gnu') {
    const xattrs = m.xattrs?.length ?? 0
    if (xattrs > 0) lost.push(`${xattrs} extended attribute(s)`)
    if (m.aclAccess !== undefined || m.aclDefault !== undefined) lost.push('POSIX ACLs')
    if (Buffer.byteLength(m.uname) > OWNER_NAME_MAX) lost.push('user name cut to 31 bytes')
    if (Buffer.byteLength(m.gname) > OWNER_NAME_MAX) lost.push('group name cut to 31 bytes')
  }
  return lost
}
