// lib/restore/tar-member.ts owns the description of one tar member as the restore hands it to the
// header encoder: names and link targets as raw bytes (Linux names need not be UTF-8), times in
// nanoseconds, xattrs as raw name/value bytes. It holds no logic: the encoder is tar-header.ts.

export type TarType = 'file' | 'hardlink' | 'symlink' | 'chardev' | 'blockdev' | 'dir' | 'fifo'

export interface TarMember {
  /** Bytes, no leading '/'; directories WITHOUT a trailing slash (the encoder adds it). */
  name: Buffer
  type: TarType
  /** Permission bits incl. setuid/setgid/sticky (07777). */
  mode: number
  uid: number
  gid: number
  uname: string
  gname: string
  /** Bytes of data that follow the header: 0 for everything but regular files. */
  size: number
  /** Nanoseconds since the epoch; may be negative (before 1970) or past 2038. */
  mtimeNs: bigint
  atimeNs?: bigint
  /** Symlink target, or for a hardlink the name of the member it links to (bytes). */
  linkname?: Buffer
  devmajor?: number
  devminor?: number
  /** name → value, raw bytes (user.foo, security.capability, ...). */
  xattrs?: Array<[Buffer, Buffer]>
  /** POSIX ACLs as text, emitted as SCHILY.acl.access / SCHILY.acl.default (GNU tar --acls). */
  aclAccess?: string
  aclDefault?: string
}

/** pax: POSIX.1-2001 (default, lossless); gnu: GNU tar's own; ustar: POSIX.1-1988, strict. */
export type TarFormat = 'pax' | 'gnu' | 'ustar'

/** The typeflag byte of each member type. */
export const TYPEFLAG: Readonly<Record<TarType, string>> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  chardev: '3',
  blockdev: '4',
  dir: '5',
  fifo: '6',
}
