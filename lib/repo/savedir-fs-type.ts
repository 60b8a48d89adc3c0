// The type of the file system a savedir is on (statfs f_type), found once per savedir and
// process: the store decides by it how an object is made durable (object-durability.ts) and
// whether objects are read ahead into the page cache (page-cache-kept.ts).
import { statfsSync } from 'node:fs'
import { savedirIoError } from '../errors.js'

export const EXT_MAGIC = 0xef53
export const TMPFS_MAGIC = 0x01021994
export const FUSE_SUPER_MAGIC = 0x65735546
/**
 * The local file systems, on which one syncfs() makes everything written durable: ext2/3/4,
 * xfs, btrfs, tmpfs, zfs, f2fs. bin/remote-savedir.cjs, which runs before any module is
 * loaded, holds the same list (tests/bin/remote-savedir.test.ts keeps them equal).
 */
export const LOCAL_TYPES: ReadonlySet<number> = new Set([EXT_MAGIC, 0x58465342 /* xfs */, 0x9123683e /* btrfs */, TMPFS_MAGIC, 0x2fc12fc1 /* zfs */, 0xf2f52010 /* f2fs */])

const known = new Map<string, number>()

/** statfs(savedir).type; a savedir I/O error (statfs) when it cannot be had. */
export function savedirFsType(savedir: string): number {
  let type = known.get(savedir)
  if (type === undefined) {
    try {
      type = statfsSync(savedir).type
    } catch (e) {
      throw savedirIoError(e, 'statfs', savedir)
    }
    known.set(savedir, type)
  }
  return type
}
