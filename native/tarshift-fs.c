/*
 * The few OS calls Node.js lacks, for lib/fs (see lib/fs/native.ts):
 * xattrs of a path given as bytes without following symlinks (lgetxattr family),
 * user and group names, syncfs and statvfs, flock, CRC-32, malloc tuning, lstat of many names at once, and
 * asking the kernel to read a file into its cache, and a pool of threads that does such reads
 * ahead, many at a time (prefetch). objects-exist.c: which objects a savedir has, on libuv's
 * thread pool; read-ahead.c: the save's walk and reader threads. Paths are Buffers: Linux names are bytes.
 * Every failure throws an Error with .code (errno name), .errno and .syscall.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/file.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <sys/mman.h>
#include <unistd.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <semaphore.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>

#include <zstd.h>

#include "object-files.h"
#include "read-ahead.h"

const char *errno_name(int e) {
  switch (e) {
    case ENOENT: return "ENOENT"; case EACCES: return "EACCES"; case EPERM: return "EPERM";
    case ENOTSUP: return "ENOTSUP"; case ENODATA: return "ENODATA"; case ERANGE: return "ERANGE";
    case ENOSPC: return "ENOSPC"; case EIO: return "EIO"; case ENOTDIR: return "ENOTDIR";
    case ENAMETOOLONG: return "ENAMETOOLONG"; case ELOOP: return "ELOOP"; case EBADF: return "EBADF";
    case E2BIG: return "E2BIG"; case EDQUOT: return "EDQUOT"; case EROFS: return "EROFS";
    case EINVAL: return "EINVAL"; case ENOMEM: return "ENOMEM"; case EMFILE: return "EMFILE";
    case ENFILE: return "ENFILE"; case ECANCELED: return "ECANCELED"; case ESTALE: return "ESTALE";
    default: return "EUNKNOWN";
  }
}

static napi_value throw_errno(napi_env env, int e, const char *syscall) {
  napi_value msg, code, err, num, sc;
  char buf[256];
  snprintf(buf, sizeof buf, "%s: %s", syscall, strerror(e));
  napi_create_string_utf8(env, buf, NAPI_AUTO_LENGTH, &msg);
  napi_create_string_utf8(env, errno_name(e), NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, msg, &err);
  napi_create_int32(env, -e, &num);
  napi_set_named_property(env, err, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, err, "syscall", sc);
  napi_throw(env, err);
  return NULL;
}

/* Copy a Buffer argument into a NUL-terminated C string (caller frees). */
static char *buffer_arg(napi_env env, napi_value v) {
  void *data; size_t len; bool isbuf = false;
  napi_is_buffer(env, v, &isbuf);
  if (!isbuf) { napi_throw_type_error(env, NULL, "expected a Buffer"); return NULL; }
  napi_get_buffer_info(env, v, &data, &len);
  char *s = malloc(len + 1);
  if (!s) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  memcpy(s, data, len); s[len] = 0;
  return s;
}

/* lgetxattrs(path: Buffer): Array<[name: Buffer, value: Buffer]>, in the kernel's order. */
static napi_value lgetxattrs(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = buffer_arg(env, argv[0]);
  if (!path) return NULL;
  ssize_t n;
  char *names = NULL;
  for (;;) {
    n = llistxattr(path, NULL, 0);
    if (n < 0) { int e = errno; free(path); if (e == ENOTSUP) { napi_value a; napi_create_array(env, &a); return a; } return throw_errno(env, e, "llistxattr"); }
    if (n == 0) break;
    names = realloc(names, n);
    ssize_t m = llistxattr(path, names, n);
    if (m < 0 && errno == ERANGE) continue;
    if (m < 0) { int e = errno; free(path); free(names); return throw_errno(env, e, "llistxattr"); }
    n = m; break;
  }
  napi_value result; napi_create_array(env, &result);
  uint32_t idx = 0;
  for (ssize_t off = 0; off < n; ) {
    const char *name = names + off;
    size_t nl = strlen(name);
    off += nl + 1;
    ssize_t vl; char *val = NULL;
    for (;;) {
      vl = lgetxattr(path, name, NULL, 0);
      if (vl < 0) break;
      val = realloc(val, vl ? vl : 1);
      ssize_t m = lgetxattr(path, name, val, vl);
      if (m < 0 && errno == ERANGE) continue;
      vl = m; break;
    }
    if (vl < 0) {
      int e = errno; free(val);
      if (e == ENODATA) continue; /* removed between list and get */
      free(path); free(names);
      return throw_errno(env, e, "lgetxattr");
    }
    napi_value pair, nb, vb; void *tmp;
    napi_create_buffer_copy(env, nl, name, &tmp, &nb);
    napi_create_buffer_copy(env, vl, val ? val : "", &tmp, &vb);
    free(val);
    napi_create_array_with_length(env, 2, &pair);
    napi_set_element(env, pair, 0, nb);
    napi_set_element(env, pair, 1, vb);
    napi_set_element(env, result, idx++, pair);
  }
  free(path); free(names);
  return result;
}

/* lsetxattr(path: Buffer, name: Buffer, value: Buffer): undefined */
static napi_value lsetxattr_js(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = buffer_arg(env, argv[0]); if (!path) return NULL;
  char *name = buffer_arg(env, argv[1]); if (!name) { free(path); return NULL; }
  void *val; size_t vl;
  napi_get_buffer_info(env, argv[2], &val, &vl);
  int r = lsetxattr(path, name, val, vl, 0);
  int e = errno;
  free(path); free(name);
  if (r < 0) return throw_errno(env, e, "lsetxattr");
  return NULL;
}

static napi_value name_result(napi_env env, const char *s) {
  napi_value v;
  if (!s) { napi_get_null(env, &v); return v; }
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

/* getpwuid(uid): string | null */
static napi_value getpwuid_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; uint32_t uid;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_uint32(env, argv[0], &uid);
  struct passwd pw, *res = NULL; char buf[16384];
  getpwuid_r(uid, &pw, buf, sizeof buf, &res);
  return name_result(env, res ? res->pw_name : NULL);
}

/* getgrgid(gid): string | null */
static napi_value getgrgid_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; uint32_t gid;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_uint32(env, argv[0], &gid);
  struct group gr, *res = NULL; char buf[65536];
  getgrgid_r(gid, &gr, buf, sizeof buf, &res);
  return name_result(env, res ? res->gr_name : NULL);
}

/* syncfs(fd): undefined */
static napi_value syncfs_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int32_t fd;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  if (syncfs(fd) < 0) return throw_errno(env, errno, "syncfs");
  return NULL;
}

/* The bytes of a Uint8Array argument, or NULL after throwing a TypeError saying `usage`
 * (a missing argument is undefined: N-API fills argv up to the count asked for). */
static const uint8_t *bytes_arg(napi_env env, napi_value v, size_t *len, const char *usage) {
  void *data = NULL;
  napi_typedarray_type type;
  napi_value ab;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, len, &data, &ab, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  return data != NULL ? data : (const uint8_t *)"";
}

/* crc32(bytes): zlib's CRC-32 (ISO-HDLC) of a Buffer (a Uint8Array), for the local cache's blocks
 * and records (lib/cache). Here, not node:zlib's crc32 (only from Node 20.15; bin/load-bundle.cjs
 * uses it where there, for the code cache alone) nor JavaScript (its loop tiered up to TurboFan
 * in a short save: +3.8 MB peak RSS). */
static uint32_t crc_table[256];
static napi_value crc32_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t len = 0;
  const uint8_t *p = bytes_arg(env, argv[0], &len, "crc32 takes a Buffer");
  if (p == NULL) return NULL;
  if (crc_table[1] == 0) {
    for (uint32_t n = 0; n < 256; n++) {
      uint32_t c = n;
      for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
      crc_table[n] = c;
    }
  }
  uint32_t c = 0xffffffffu;
  for (size_t i = 0; i < len; i++) c = crc_table[(c ^ p[i]) & 0xff] ^ (c >> 8);
  napi_value out;
  napi_create_uint32(env, c ^ 0xffffffffu, &out);
  return out;
}

/*
 * zstdFrame(bytes, level): Buffer — one zstd frame of the bytes (it records their length).
 * zstdUnframe(frame): Buffer — the bytes of one such frame; throws (code TARSHIFT_ZSTD) if it
 * is not one, or does not record its length. The local cache's summaries are packed with these
 * (lib/codec/zstd-codec.ts): with libzstd, which this addon links for the store's reads and
 * writes, a save no longer loads zstd-napi (its own copy of libzstd and six modules: ~10 ms and
 * ~3.6 MB resident) for a few small frames.
 */
static napi_value zstd_error(napi_env env, const char *what) {
  napi_throw_error(env, "TARSHIFT_ZSTD", what);
  return NULL;
}

/* The contexts of zstdFrame and zstdUnframe, one of each per JavaScript thread, kept: ZSTD_compress
 * and ZSTD_decompress make and free one per call (~1.3 MB at level 3, ~160 KB), which for the
 * ~3,300 summaries an unchanged save of /usr/share reads was most of their cost. Freed with
 * the thread's environment (a worker's, at its end). */
static __thread ZSTD_CCtx *frame_cctx;
static __thread ZSTD_DCtx *frame_dctx;
static __thread bool frame_hook;

static void frame_contexts_free(void *arg) {
  (void)arg;
  ZSTD_freeCCtx(frame_cctx);
  ZSTD_freeDCtx(frame_dctx);
  frame_cctx = NULL;
  frame_dctx = NULL;
  frame_hook = false;
}

static void frame_contexts_hook(napi_env env) {
  if (frame_hook) return;
  if (napi_add_env_cleanup_hook(env, frame_contexts_free, NULL) == napi_ok) frame_hook = true;
}

static napi_value zstd_frame_js(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  static const char usage[] = "zstdFrame takes a Uint8Array and a level";
  size_t len = 0;
  int32_t level = 0;
  const uint8_t *src = bytes_arg(env, argv[0], &len, usage);
  if (src == NULL) return NULL;
  if (napi_get_value_int32(env, argv[1], &level) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return NULL;
  }
  size_t bound = ZSTD_compressBound(len);
  void *tmp = malloc(bound ? bound : 1);
  if (tmp == NULL) return zstd_error(env, "zstdFrame: out of memory");
  if (frame_cctx == NULL) {
    frame_cctx = ZSTD_createCCtx();
    if (frame_cctx == NULL) { free(tmp); return zstd_error(env, "zstdFrame: out of memory"); }
    frame_contexts_hook(env);
  }
  size_t n = ZSTD_compressCCtx(frame_cctx, tmp, bound, src, len, level);
  if (ZSTD_isError(n)) {
    free(tmp);
    return zstd_error(env, ZSTD_getErrorName(n));
  }
  napi_status st = napi_create_buffer_copy(env, n, tmp, NULL, &out);
  free(tmp);
  return st == napi_ok ? out : NULL;
}

static napi_value zstd_unframe_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  size_t len = 0;
  const uint8_t *src = bytes_arg(env, argv[0], &len, "zstdUnframe takes a Uint8Array");
  if (src == NULL) return NULL;
  unsigned long long size = ZSTD_getFrameContentSize(src, len);
  if (size == ZSTD_CONTENTSIZE_ERROR) return zstd_error(env, "not a zstd frame");
  if (size == ZSTD_CONTENTSIZE_UNKNOWN) return zstd_error(env, "the zstd frame does not record its length");
  if (size > ((unsigned long long)1 << 31)) return zstd_error(env, "the zstd frame is too large");
  void *dst = NULL;
  if (napi_create_buffer(env, (size_t)size, &dst, &out) != napi_ok) return NULL;
  if (frame_dctx == NULL) {
    frame_dctx = ZSTD_createDCtx();
    if (frame_dctx == NULL) return zstd_error(env, "zstdUnframe: out of memory");
    frame_contexts_hook(env);
  }
  size_t n = ZSTD_decompressDCtx(frame_dctx, dst, (size_t)size, src, len);
  if (ZSTD_isError(n)) return zstd_error(env, ZSTD_getErrorName(n));
  if (n != size) return zstd_error(env, "the zstd frame holds fewer bytes than it records");
  return out;
}

/* flock(fd, exclusive): LOCK_EX when true, LOCK_UN when false; waits for the lock. The local
 * cache's summaries file (lib/cache/summary-file.ts): a writer takes it to learn the offset its
 * records land at. */
static napi_value flock_js(napi_env env, napi_callback_info info) {
  size_t argc = 2; napi_value argv[2]; int32_t fd; bool exclusive = false;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_get_value_int32(env, argv[0], &fd);
  napi_get_value_bool(env, argv[1], &exclusive);
  int r;
  do r = flock(fd, exclusive ? LOCK_EX : LOCK_UN); while (r < 0 && errno == EINTR);
  if (r < 0) return throw_errno(env, errno, "flock");
  return NULL;
}

/* startWriteback(fd): have the kernel start writing the file's dirty pages now
 * (sync_file_range SYNC_FILE_RANGE_WRITE), without waiting for them. On ext3/4 with ordered data
 * this allocates the blocks in the running transaction, whose commit then waits for the data
 * (lib/repo/object-durability.ts). Failures are ignored: the syncfs that follows reports them. */
static napi_value start_writeback_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1 && napi_get_value_int32(env, argv[0], &fd) == napi_ok && fd >= 0) (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  return NULL;
}

/* writeOut(fd): write the file's dirty pages out and wait for them (sync_file_range
 * WAIT_BEFORE | WRITE | WAIT_AFTER): no cache flush and no metadata, but on a journaling file
 * system a rename committed after it comes with the data (lib/repo/object-durability.ts). Where
 * sync_file_range is not supported (EINVAL, ENOSYS, ESPIPE), an fsync instead. Throws (code,
 * errno, syscall) on a failure: a write error the file's close would not report. */
static napi_value write_out_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1]; int32_t fd = -1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "writeOut(fd: number)");
    return NULL;
  }
  const char *syscall = NULL;
  if (write_out(fd, &syscall) != 0) return throw_errno(env, errno, syscall);
  return NULL;
}

/* statvfs(path: Buffer): {bsize, blocks, bfree, bavail, files, ffree} (numbers) */
static napi_value statvfs_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = buffer_arg(env, argv[0]); if (!path) return NULL;
  struct statvfs s;
  int r = statvfs(path, &s); int e = errno; free(path);
  if (r < 0) return throw_errno(env, e, "statvfs");
  napi_value o, v; napi_create_object(env, &o);
#define SETF(k, x) napi_create_double(env, (double)(x), &v); napi_set_named_property(env, o, k, v);
  SETF("bsize", s.f_frsize ? s.f_frsize : s.f_bsize); SETF("blocks", s.f_blocks); SETF("bfree", s.f_bfree);
  SETF("bavail", s.f_bavail); SETF("files", s.f_files); SETF("ffree", s.f_ffree);
#undef SETF
  return o;
}

/* malloc_trim(0): hand the free pages of every malloc arena back to the kernel; returns 1 if
 * any memory was released. glibc keeps freed chunk buffers mapped (fragmented arenas), which
 * shows up as resident memory long after the bytes were used. */
static napi_value malloc_trim_js(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
#ifdef __GLIBC__
  napi_get_boolean(env, malloc_trim(0) != 0, &v);
#else
  napi_get_boolean(env, false, &v);
#endif
  return v;
}

/* mallopt(M_MMAP_THRESHOLD, n): allocations of n bytes or more get their own mapping, returned
 * to the kernel when freed. glibc otherwise raises the threshold each time such a block is
 * freed (up to 32 MiB), after which chunk-sized buffers come from the arenas and their pages
 * stay resident, fragmented, until a trim. Returns whether glibc accepted it. */
static napi_value malloc_mmap_threshold_js(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  int64_t n = 0;
  if (argc < 1 || napi_get_value_int64(env, argv[0], &n) != napi_ok || n <= 0 || n > (1 << 30)) {
    napi_throw_range_error(env, NULL, "mallocMmapThreshold: a byte count from 1 to 2^30");
    return NULL;
  }
#ifdef __GLIBC__
  napi_get_boolean(env, mallopt(M_MMAP_THRESHOLD, (int)n) == 1, &v);
#else
  napi_get_boolean(env, false, &v);
#endif
  return v;
}

/* lstatMany(dir: Buffer, names: string[] (latin1: one char per byte), out: Float64Array)
 * fstatat(AT_SYMLINK_NOFOLLOW) of each name relative to dir, opened once with O_PATH (search
 * permission is all lstat needs too). Writes LSTAT_SLOTS numbers per name into out: slot 0 is
 * 0 or the errno of that name's failure (every name gets the open's errno when dir fails).
 * The save's walk spent ~5 us per entry in Node's lstat (a BigIntStats of 18 BigInts, a path
 * resolved from the root); this is one call per window of a directory. */
static napi_value lstat_many_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 3) {
    napi_throw_type_error(env, NULL, "lstatMany(dir: Buffer, names: string[], out: Float64Array)");
    return NULL;
  }
  char *dir = buffer_arg(env, argv[0]);
  if (!dir) return NULL;
  uint32_t n = 0;
  napi_typedarray_type tt;
  size_t outlen;
  void *outdata;
  if (napi_get_array_length(env, argv[1], &n) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &tt, &outlen, &outdata, NULL, NULL) != napi_ok ||
      tt != napi_float64_array || outlen < (size_t)n * LSTAT_SLOTS) {
    free(dir);
    napi_throw_type_error(env, NULL, "lstatMany: names must be an array and out a Float64Array of 18 slots per name");
    return NULL;
  }
  double *out = outdata;
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int dirErr = dfd < 0 ? errno : 0;
  free(dir);
  char name[1024];
  for (uint32_t i = 0; i < n; i++) {
    double *o = out + (size_t)i * LSTAT_SLOTS;
    memset(o, 0, LSTAT_SLOTS * sizeof *o);
    if (dirErr) { o[0] = dirErr; continue; }
    napi_value v;
    size_t len = 0;
    if (napi_get_element(env, argv[1], i, &v) != napi_ok ||
        napi_get_value_string_latin1(env, v, name, sizeof name, &len) != napi_ok) {
      o[0] = EINVAL;
      continue;
    }
    if (len >= sizeof name - 1) { o[0] = ENAMETOOLONG; continue; }
    struct stat st;
    if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) { o[0] = errno; continue; }
    o[1] = st.st_mode; o[2] = st.st_uid; o[3] = st.st_gid; o[4] = (double)st.st_size;
    o[5] = (double)st.st_mtim.tv_sec; o[6] = st.st_mtim.tv_nsec;
    o[7] = (double)st.st_ctim.tv_sec; o[8] = st.st_ctim.tv_nsec;
    o[9] = (double)st.st_atim.tv_sec; o[10] = st.st_atim.tv_nsec;
    o[11] = (double)((uint64_t)st.st_ino >> 32); o[12] = (double)((uint64_t)st.st_ino & 0xffffffffu);
    o[13] = (double)((uint64_t)st.st_dev >> 32); o[14] = (double)((uint64_t)st.st_dev & 0xffffffffu);
    o[15] = (double)st.st_nlink; o[16] = major(st.st_rdev); o[17] = minor(st.st_rdev);
  }
  if (dfd >= 0) close(dfd);
  return NULL;
}

/*
 * willNeed(path: Buffer): 0 or an errno. Opens the file (never following a symlink, never
 * blocking on a fifo put there meanwhile), asks the kernel to read it all into the page cache
 * (posix_fadvise WILLNEED: the reads are queued and the call returns without waiting for
 * them), and closes it. The atime is not changed: nothing is read here. (advise_file: the
 * same for the prefetch threads below.)
 */
int advise_file(const char *path) {
  int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return errno;
  int err = posix_fadvise(fd, 0, 0, POSIX_FADV_WILLNEED);
  close(fd);
  return err;
}

static napi_value will_need_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1], v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *path = buffer_arg(env, argv[0]);
  if (!path) return NULL;
  int err = advise_file(path);
  free(path);
  napi_create_int32(env, err, &v);
  return v;
}

/*
 * The arguments of a call on an open file: a descriptor (>= 0) and `n` integers (at most 3).
 * False when one is missing or not a number: the caller answers as it does for a failed hint.
 */
static bool fd_args(napi_env env, napi_callback_info info, int32_t *fd, int64_t *nums, size_t n) {
  size_t argc = 4; napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (napi_get_value_int32(env, argv[0], fd) != napi_ok || *fd < 0) return false;
  for (size_t i = 0; i < n; i++) if (napi_get_value_int64(env, argv[i + 1], &nums[i]) != napi_ok) return false;
  return true;
}

/*
 * anyCached(fd, size): whether any page of the file's first `size` bytes is in the page cache
 * (mincore over a read-only shared mapping, 1 GiB at a time). True when that cannot be told (a
 * file that cannot be mapped): the caller then leaves the cache alone.
 */
static napi_value any_cached_js(napi_env env, napi_callback_info info) {
  napi_value v;
  int32_t fd = -1;
  int64_t size = 0;
  bool any = true;
  if (fd_args(env, info, &fd, &size, 1) && size > 0) {
    const long page = sysconf(_SC_PAGESIZE);
    const int64_t window = (int64_t)1 << 30;
    unsigned char *vec = malloc((size_t)(window / page) + 1);
    any = vec == NULL;
    for (int64_t at = 0; !any && at < size; at += window) {
      size_t len = (size_t)(size - at < window ? size - at : window);
      void *m = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)at);
      if (m == MAP_FAILED) { any = true; break; }
      if (mincore(m, len, vec) != 0) any = true;
      else for (size_t i = 0, n = (len + (size_t)page - 1) / (size_t)page; i < n; i++) if (vec[i] & 1) { any = true; break; }
      munmap(m, len);
    }
    free(vec);
  }
  napi_get_boolean(env, any, &v);
  return v;
}

/*
 * dropCache(fd, offset, length): posix_fadvise(DONTNEED) of that range of an open file: its
 * clean pages leave the page cache (only whole pages: the range should be page-aligned).
 * 0 or an errno; a hint, never an error.
 */
static napi_value drop_cache_js(napi_env env, napi_callback_info info) {
  napi_value v;
  int32_t fd = -1;
  int64_t range[2] = {0, 0}; /* offset, length */
  int err = EINVAL;
  if (fd_args(env, info, &fd, range, 2) && range[0] >= 0 && range[1] >= 0)
    err = posix_fadvise(fd, range[0], range[1], POSIX_FADV_DONTNEED);
  napi_create_int32(env, err, &v);
  return v;
}

/*
 * growPipe(fd, bytes): make the pipe at fd hold up to `bytes` (fcntl F_SETPIPE_SZ), or the
 * most below that it may (an unprivileged process is held to /proc/sys/fs/pipe-max-size and
 * its user's pipe pages). The pipe's size after, or -errno (EBADF: not a pipe). A restore
 * into `tar -x` wrote 64 KiB at a time into the default pipe and waited for tar after each.
 */
static napi_value grow_pipe_js(napi_env env, napi_callback_info info) {
  napi_value v;
  int32_t fd = -1;
  int64_t want = 0;
  int size = -EINVAL;
  if (fd_args(env, info, &fd, &want, 1)) {
    size = fcntl(fd, F_GETPIPE_SZ);
    if (size < 0) size = -errno;
    for (int n = want > INT_MAX ? INT_MAX : (int)want; size >= 0 && n > size; n /= 2) {
      int r = fcntl(fd, F_SETPIPE_SZ, n);
      if (r >= 0) { size = r; break; }
      if (errno != EPERM) break;
    }
  }
  napi_create_int32(env, size, &v);
  return v;
}

/*
 * prefetch(paths: Buffer[]): number — hand files to a pool of threads that ask the kernel to
 * read them into its page cache (as willNeed), PREFETCH_THREADS at a time, and return at once
 * (the number of paths queued). On a cold cache one thread waits for one disk read after
 * another: each open() of a file not seen yet reads its directory entry and inode first. Here
 * those waits overlap. Nothing is reported back and nothing depends on it: a path that cannot
 * be opened is skipped, and when the queue is full, paths are dropped. The threads are started
 * at the first call, for the life of the process; the queue is shared by every thread of it
 * (main, workers).
 */
#define PREFETCH_THREADS 4
#define PREFETCH_QUEUE 65536

/* A call's paths. Callers push batches onto `incoming` with a compare-and-swap and post the
 * semaphore once a path: they never take a lock, so a prefetch thread (at nice 10, often not
 * running on a busy machine) cannot hold up the caller. The threads move what came in to
 * their own queue under a lock that only they take. (With one lock for all, a call waited up
 * to 9 ms for a preempted prefetch thread holding it: 128 ms of an unchanged save's main
 * thread.) */
typedef struct prefetch_batch {
  struct prefetch_batch *next;
  uint32_t n, at;
  char *paths[];
} prefetch_batch_t;

static _Atomic(prefetch_batch_t *) prefetch_incoming;
static atomic_long prefetch_pending;   /* paths queued and not yet taken */
static sem_t prefetch_sem;
static prefetch_batch_t *prefetch_head, *prefetch_tail;   /* the threads' queue, FIFO */
static pthread_mutex_t prefetch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t prefetch_once = PTHREAD_ONCE_INIT;

static char *prefetch_take(void) {
  pthread_mutex_lock(&prefetch_lock);
  while (prefetch_head != NULL && prefetch_head->at == prefetch_head->n) {
    prefetch_batch_t *done = prefetch_head;
    prefetch_head = done->next;
    if (prefetch_head == NULL) prefetch_tail = NULL;
    free(done);
  }
  if (prefetch_head == NULL) {
    /* What came in, newest first: reversed into call order and appended. */
    prefetch_batch_t *in = atomic_exchange(&prefetch_incoming, NULL), *rev = NULL;
    while (in != NULL) { prefetch_batch_t *nx = in->next; in->next = rev; rev = in; in = nx; }
    for (prefetch_batch_t *b = rev, *nx; b != NULL; b = nx) {
      nx = b->next;
      b->next = NULL;
      if (prefetch_tail) prefetch_tail->next = b; else prefetch_head = b;
      prefetch_tail = b;
    }
  }
  char *path = NULL;
  if (prefetch_head != NULL && prefetch_head->at < prefetch_head->n) path = prefetch_head->paths[prefetch_head->at++];
  pthread_mutex_unlock(&prefetch_lock);
  return path;
}

static void *prefetch_thread(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "ts-prefetch"); /* named for probes (thread-cpu.mjs) */
  /* Below the threads that do the work: these mostly wait for the disk, and when everything
   * is cached already, their calls only take CPU from the others. SCHED_IDLE, not only a nice
   * value: a woken thread at nice 10 still preempted the thread that woke it (a call to
   * prefetch took up to 6 ms; 55 ms of an unchanged save's main thread in all); one of
   * SCHED_IDLE never preempts a normal one. (Linux: per thread.) */
  struct sched_param sp = { .sched_priority = 0 };
  if (sched_setscheduler((pid_t)syscall(SYS_gettid), SCHED_IDLE, &sp) != 0) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19);
  for (;;) {
    while (sem_wait(&prefetch_sem) != 0) { /* EINTR */ }
    /* One post a path: there is one to take (pushed before its posts). */
    char *path = prefetch_take();
    if (path == NULL) continue;
    atomic_fetch_sub(&prefetch_pending, 1);
    advise_file(path);
    free(path);
  }
  return NULL;
}

/* Threads started: none (pthread_create failed) means nothing is queued, ever. */
static int prefetch_threads;

static void prefetch_start(void) {
  if (sem_init(&prefetch_sem, 0, 0) != 0) return;
  for (int i = 0; i < PREFETCH_THREADS; i++) {
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&a, 64 * 1024);
    if (pthread_create(&t, &a, prefetch_thread, NULL) == 0) prefetch_threads++;
    pthread_attr_destroy(&a);
  }
}

static napi_value prefetch_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1], v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  uint32_t n = 0;
  bool isarr = false;
  if (argc < 1 || napi_is_array(env, argv[0], &isarr) != napi_ok || !isarr || napi_get_array_length(env, argv[0], &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "prefetch(paths: Buffer[])");
    return NULL;
  }
  pthread_once(&prefetch_once, prefetch_start);
  if (prefetch_threads == 0) n = 0;
  /* Beyond the queue's bound, paths are dropped. */
  long room = PREFETCH_QUEUE - atomic_load(&prefetch_pending);
  uint32_t take = room <= 0 ? 0 : (long)n < room ? n : (uint32_t)room;
  prefetch_batch_t *b = malloc(sizeof *b + (take ? take : 1) * sizeof(char *));
  if (!b) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  b->n = 0;
  b->at = 0;
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    void *data; size_t len; bool isbuf = false;
    if (napi_get_element(env, argv[0], i, &e) != napi_ok || napi_is_buffer(env, e, &isbuf) != napi_ok || !isbuf) {
      for (uint32_t j = 0; j < b->n; j++) free(b->paths[j]);
      free(b);
      napi_throw_type_error(env, NULL, "prefetch: paths must be Buffers");
      return NULL;
    }
    if (b->n == take) continue;
    napi_get_buffer_info(env, e, &data, &len);
    char *path = malloc(len + 1);
    if (!path) continue;
    memcpy(path, data, len); path[len] = 0;
    b->paths[b->n++] = path;
  }
  uint32_t queued = b->n;
  if (queued == 0) {
    free(b);
  } else {
    atomic_fetch_add(&prefetch_pending, queued);
    b->next = atomic_load(&prefetch_incoming);
    while (!atomic_compare_exchange_weak(&prefetch_incoming, &b->next, b)) { /* retry */ }
    for (uint32_t i = 0; i < queued; i++) sem_post(&prefetch_sem);
  }
  napi_create_uint32(env, queued, &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    {"lgetxattrs", 0, lgetxattrs, 0, 0, 0, napi_default, 0},
    {"lsetxattr", 0, lsetxattr_js, 0, 0, 0, napi_default, 0},
    {"getpwuid", 0, getpwuid_js, 0, 0, 0, napi_default, 0},
    {"getgrgid", 0, getgrgid_js, 0, 0, 0, napi_default, 0},
    {"syncfs", 0, syncfs_js, 0, 0, 0, napi_default, 0},
    {"flock", 0, flock_js, 0, 0, 0, napi_default, 0},
    {"crc32", 0, crc32_js, 0, 0, 0, napi_default, 0},
    {"startWriteback", 0, start_writeback_js, 0, 0, 0, napi_default, 0},
    {"writeOut", 0, write_out_js, 0, 0, 0, napi_default, 0},
    {"statvfs", 0, statvfs_js, 0, 0, 0, napi_default, 0},
    {"mallocTrim", 0, malloc_trim_js, 0, 0, 0, napi_default, 0},
    {"mallocMmapThreshold", 0, malloc_mmap_threshold_js, 0, 0, 0, napi_default, 0},
    {"lstatMany", 0, lstat_many_js, 0, 0, 0, napi_default, 0},
    {"willNeed", 0, will_need_js, 0, 0, 0, napi_default, 0},
    {"dropCache", 0, drop_cache_js, 0, 0, 0, napi_default, 0},
    {"anyCached", 0, any_cached_js, 0, 0, 0, napi_default, 0},
    {"prefetch", 0, prefetch_js, 0, 0, 0, napi_default, 0},
    {"growPipe", 0, grow_pipe_js, 0, 0, 0, napi_default, 0},
    {"zstdFrame", 0, zstd_frame_js, 0, 0, 0, napi_default, 0},
    {"zstdUnframe", 0, zstd_unframe_js, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  read_ahead_register(env, exports);
  objects_exist_register(env, exports);
  put_objects_register(env, exports);
  get_objects_register(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
