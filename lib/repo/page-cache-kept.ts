// Whether reading a savedir's object ahead into the page cache helps its later read: whether
// the savedir's file system keeps a file's cached pages from one open to the next. The store
// asks the native prefetch threads to read objects ahead (open, posix_fadvise WILLNEED,
// close) only where it does.
//
// FUSE file systems (sshfs) drop a file's cached pages when it is opened again, unless the
// file system asks otherwise (sshfs does not by default): each object read ahead was then
// fetched twice, with two more round trips (open, close) to a server that answers one request
// at a time. Restoring corpus A from a savedir on sshfs, 3 alternated cold runs each: 6.08-6.43 s
// with the read-ahead, 5.28-5.65 s without it (doc/performance.md, session 18). NFS keeps
// the pages (close-to-open consistency only checks the attributes).
import { FUSE_SUPER_MAGIC, savedirFsType } from './savedir-fs-type.js'

/** Whether objects of `savedir` read ahead stay cached for their read (false on FUSE; true when unknown). */
export function pageCacheKept(savedir: string): boolean {
  try {
    return savedirFsType(savedir) !== FUSE_SUPER_MAGIC
  } catch {
    return true // the store's own calls report a savedir that cannot be reached
  }
}
