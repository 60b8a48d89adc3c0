// POSIX ACL xattr values (system.posix_acl_access / _default, the kernel's binary form)
// as the text GNU tar reads from SCHILY.acl.* records ("user::rw-,user:1000:r--,...").
// Pure. Returns null for a value it does not recognise, so the caller keeps it as a raw xattr.

const TAGS: Record<number, string> = { 0x01: 'user', 0x02: 'user', 0x04: 'group', 0x08: 'group', 0x10: 'mask', 0x20: 'other' }

function perms(p: number): string {
  return `${p & 4 ? 'r' : '-'}${p & 2 ? 'w' : '-'}${p & 1 ? 'x' : '-'}`
}

export function aclToText(v: Buffer): string | null {
  if (v.length < 4 || (v.length - 4) % 8 !== 0 || v.readUInt32LE(0) !== 2) return null
  const out: string[] = []
  for (let off = 4; off < v.length; off += 8) {
    const tag = v.readUInt16LE(off)
    const perm = v.readUInt16LE(off + 2)
    const id = v.readUInt32LE(off + 4)
    const name = TAGS[tag]
    if (!name) return null
    const qualified = tag === 0x02 || tag === 0x08
    out.push(`${name}:${qualified ? String(id) : ''}:${perms(perm)}`)
  }
  return out.join(',')
}
