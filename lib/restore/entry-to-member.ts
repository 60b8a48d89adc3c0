// A tree entry as a tar member (name bytes already decided by the caller).
import { ENTRY_TYPE_NAMES, EntryType, timespecToNs, type Entry } from '../tree/entry.js'
import type { TarMember, TarType } from './tar-member.js'
import { aclToText } from './posix-acl.js'

/** Entry type names and tar member types are the same words. */
const TYPES: Record<EntryType, TarType> = ENTRY_TYPE_NAMES

const ACL_ACCESS = 'system.posix_acl_access'
const ACL_DEFAULT = 'system.posix_acl_default'

export function entryToMember(e: Entry, name: Buffer): TarMember {
  const m: TarMember = {
    name,
    type: TYPES[e.type],
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: e.uname ?? '',
    gname: e.gname ?? '',
    size: e.type === EntryType.File ? e.size : 0,
    mtimeNs: timespecToNs(e.mtime),
  }
  if (e.atime) m.atimeNs = timespecToNs(e.atime)
  if (e.target) m.linkname = e.target
  if (e.rdev) {
    m.devmajor = e.rdev[0]
    m.devminor = e.rdev[1]
  }
  if (e.xattrs) {
    const rest: Array<[Buffer, Buffer]> = []
    for (const [k, v] of e.xattrs) {
      const key = k.toString('latin1')
      const text = key === ACL_ACCESS || key === ACL_DEFAULT ? aclToText(v) : null
      if (text !== null && key === ACL_ACCESS) m.aclAccess = text
      else if (text !== null) m.aclDefault = text
      else rest.push([k, v])
    }
    if (rest.length > 0) m.xattrs = rest
  }
  return m
}
