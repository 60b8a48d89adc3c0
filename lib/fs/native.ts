// lib/fs owns the few OS calls Node lacks: xattrs on byte paths without following symlinks,
// user/group names, syncfs, statvfs, lstat of many names, fadvise. They come from a small N-API addon (native/tarshift-fs.c)
// because fs-xattr takes string paths and follows symlinks (see doc/dependencies.md).
import { createRequire } from 'node:module'

interface NativeFs {
  lgetxattrs(path: Buffer): Array<[Buffer, Buffer]>
  lsetxattr(path: Buffer, name: Buffer, value: Buffer): void
  getpwuid(uid: number): string | null
  getgrgid(gid: number): string | null
  syncfs(fd: number): void
  /** zlib's CRC-32 of the bytes (the local cache's checks: lib/cache/crc32.ts). */
  crc32(bytes: Uint8Array): number
  /** flock(fd, LOCK_EX) when `exclusive`, else flock(fd, LOCK_UN); waits for the lock. */
  flock(fd: number, exclusive: boolean): void
  /** sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE): start writing the file's dirty pages, not waiting. */
  startWriteback(fd: number): void
  /**
   * Write the file's dirty pages out and wait for them (sync_file_range WAIT_BEFORE | WRITE |
   * WAIT_AFTER; an fsync where that is not supported). Throws (code, errno, syscall).
   */
  writeOut(fd: number): void
  statvfs(path: Buffer): { bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number }
  /** glibc's malloc_trim(0): give freed heap pages back to the kernel (false elsewhere). */
  mallocTrim(): boolean
  /** glibc's mallopt(M_MMAP_THRESHOLD, bytes), which also stops its dynamic raising (false elsewhere). */
  mallocMmapThreshold(bytes: number): boolean
  /** fstatat(dir, name, AT_SYMLINK_NOFOLLOW) of each name; 18 numbers per name into out (lib/fs/file-stat.ts). */
  lstatMany(dir: Buffer, names: string[], out: Float64Array): void
  /** Open, posix_fadvise(WILLNEED) the whole file, close: its reads are queued, not waited for. 0 or an errno. */
  willNeed(path: Buffer): number
  /** posix_fadvise(fd, offset, length, DONTNEED): the range's clean pages leave the page cache. 0 or an errno. */
  dropCache(fd: number, offset: number, length: number): number
  /** One zstd frame of the bytes at `level` (libzstd; it records their length). */
  zstdFrame(bytes: Uint8Array, level: number): Buffer
  /** The bytes of one zstd frame that records its length; throws (code TARSHIFT_ZSTD) otherwise. */
  zstdUnframe(frame: Uint8Array): Buffer
  /**
   * Make the pipe at fd hold up to `bytes` (F_SETPIPE_SZ), or the most below that allowed; the
   * pipe's size after, or -errno (a descriptor that is not a pipe: -EBADF).
   */
  growPipe(fd: number, bytes: number): number
  /** Whether any page of the file's first `size` bytes is in the page cache (mincore); true when that cannot be told. */
  anyCached(fd: number, size: number): boolean
  /**
   * Queue files for a pool of native threads that ask the kernel to read each into its page
   * cache (as willNeed), many at a time, and return at once (the number queued; the rest
   * dropped when the queue is full). A hint only: nothing is reported, failures are skipped.
   */
  prefetch(paths: Buffer[]): number
  /**
   * Which objects have a .data file under chunksDir (fan-out directories of fanoutDigits hex
   * digits), for hashes given one after another: one byte each, 1 there, 0 not. Runs on libuv's
   * thread pool; rejects (code, errno, syscall, path) on any failure other than ENOENT.
   */
  objectsExist(chunksDir: Buffer, fanoutDigits: number, hashes: string): Promise<Uint8Array>
  /**
   * The object store's puts in C (native/put-objects.c, lib/repo/native-puts.ts): the objects
   * one after another in `bytes`, `items` their (length, kind) pairs; codec 0 (none) or 1
   * (zstd at `level`). One result per object: its PutReply, or an Error with code, errno,
   * syscall, path and `what` (what was being done).
   */
  putObjects(chunksDir: Buffer, fanoutDigits: number, bytes: Uint8Array, items: Uint32Array, codecId: number, level: number, dryRun: boolean, refreshMs: number, tempTag: string, durability: 0 | 1 | 2): Promise<Array<{ hash: string; isNew: boolean; storedBytes: number; lastUse: number | null } | (Error & { path?: string; what?: string })>>
  /**
   * The object store's reads in C (native/get-objects.c, lib/repo/native-gets.ts) of the
   * objects named one after another in `hashes`: each into a Buffer of its own ({kind, data}),
   * or with `into`, into `lengths[i]` bytes at `at[i]` of it (its kind). A failure is an Error
   * with `reason` (missing, corrupt with `why`, io with code/errno/syscall, codec: an xz
   * object, not read here) and `path`.
   */
  getObjects(chunksDir: Buffer, fanoutDigits: number, hashes: string, into: Uint8Array | null, at: Float64Array | null, lengths: Float64Array | null): Promise<unknown[]>
  /** Existing objects' last use refreshed (none touched in a dry run) and reported, ms; -1: the .data is missing. */
  refreshObjects(chunksDir: Buffer, fanoutDigits: number, hashes: string, refreshMs: number, dryRun: boolean): Promise<Float64Array>
  /** fsync each file, then each directory (NUL-terminated paths one after another); rejects on the first failure. */
  syncFiles(files: Buffer, dirs: Buffer): Promise<void>
  /** Exclude patterns (bytes, no NUL) compiled for excludesPath (native/read-ahead.c). */
  excluder(patterns: Buffer[]): unknown
  /** fnmatch(3), flags 0, C locale, of any pattern against the path or its last `nameLength` bytes. */
  excludesPath(excluder: unknown, path: Buffer, nameLength: number): boolean
  /** The save's read-ahead thread (lib/save/read-ahead.ts, native/read-ahead.c). */
  readAheadStart(opts: {
    exclude: Buffer[]
    oneFileSystem: boolean
    share: boolean
    report: boolean
    lookahead: number
    lookaheadMiB: number
    contentsSince: number | null
    contentMax: number
    /** Pre-read what the save reads of entries changed since contentsSince (lib/save/pre-read.ts). */
    preread?: boolean
    inlineMax?: number
    heldMiB?: number
  }): unknown
  readAheadWalk(handle: unknown, dir: Buffer): void
  readAheadProgress(handle: unknown, entries: number, mibRead: number): void
  /** The next window or report, null if none came within waitMs, 'end' if none will come. */
  readAheadTake(handle: unknown, waitMs: number, entries: number): unknown
  readAheadClose(handle: unknown): void
  /** Directories the read-ahead's warmers have listed (on a cold cache; none on a warm one). */
  readAheadWarmed(handle: unknown): number
}

const require = createRequire(import.meta.url)
// dist/lib/fs/native.js → ../../../build/Release
export const native: NativeFs = require('../../../build/Release/tarshift_fs.node') as NativeFs
