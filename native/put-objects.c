/*
 * putObjects(chunksDir: Buffer, fanoutDigits: number, bytes: Uint8Array, items: Uint32Array,
 *            codecId: 0 | 1, level: number, dryRun: boolean, refreshMs: number,
 *            tempTag: string, durability: 0 | 1 | 2): Promise<Array<PutResult | Error>>
 *
 * The object store's puts for the codecs that need no JavaScript (none, zstd), off the
 * JavaScript threads: hash (SHA-256, OpenSSL's, which node exports), look for the object,
 * refresh it when it exists, else compress (libzstd), frame and write it atomically, as the
 * store worker does (lib/repo/store-worker.ts) for every codec. The work runs on libuv's
 * thread pool (napi async work). A save of many small files spent ~1 s of its 2 cores in the
 * workers' JavaScript around each object (messages, replies, buffers), and each worker is a
 * V8 isolate of its own: 15-20 MB of resident memory.
 *
 * `items` holds (length, kind) pairs: object i is the next `length` bytes of `bytes`. `bytes`
 * is held (a reference) until the promise settles; it is read, never written. One result per
 * object, in order: {hash, isNew, storedBytes, lastUse} (lastUse null in a dry run that wrote
 * nothing), or an Error with .code, .errno, .syscall, .path (the object's) and .what (what was
 * being done: the caller words the savedir error from it).
 *
 * The object format is doc/format.md's "Objects": a 16-byte header (magic "TSOB", version 1,
 * kind, codec id, 0, uncompressed length big-endian), then the payload: zstd's frame of the
 * bytes, or the bytes themselves when compressing does not make them smaller. A new object is
 * written to `.<hash>.data.<tempTag>.<8 hex>.tmp` in its fan-out directory (O_EXCL; a name
 * taken is drawn again), its data made durable before the rename as `durability` says
 * (lib/repo/object-durability.ts: 0 ordered, the writeback started; 1 writeOut, written out and
 * waited for; 2 fsync), then renamed into place. A crash may lose the name, never leave it
 * naming a short file. The names are made durable by the caller, in batches (syncFiles below,
 * or one syncfs). An existing .data shorter than an object's header (16 bytes: an empty file
 * left by a crash on a file system that broke the order) is not trusted: the object is written
 * again over it.
 *
 * refreshObjects(chunksDir: Buffer, fanoutDigits: number, hashes: string, refreshMs: number,
 *                dryRun: boolean): Promise<Float64Array>
 *   A saveset is about to use these existing objects: each one's last use made no older than
 *   refreshMs, as a put of an existing object does (a dry run touches nothing), and reported:
 *   one number per hash (ms), -1 for an object whose .data is missing or shorter than a
 *   header. Rejects on the first failure (code, errno, syscall, path, what).
 *
 * syncFiles(files: Buffer of NUL-terminated paths, dirs: same): Promise<void>
 *   fsync each file (opened read-only), then each directory (EINVAL, ENOTSUP, ENOSYS and EPERM
 *   on a directory ignored, as sshfs refuses them); rejects on the first failure.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "object-files.h"
#include "read-ahead.h"

/* node's own OpenSSL: the symbol is exported by the node binary. */
extern unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md);

#define HEADER_SIZE 16

/* Compression contexts and their output buffers, reused: one per put compressing, not per thread
 * of libuv's pool. At most ZCTX_MAX exist: over the network up to 32 puts run at once
 * (lib/repo/native-puts.ts), mostly waiting on round trips; a context (~1.3 MB at level 3, and
 * its output buffer) for each would cost memory and no speed on a few cores. */
typedef struct {
  pool_link_t link;
  ZSTD_CCtx *cctx;
  int level;
  uint8_t *out;
  size_t cap;
} zctx_t;
static ctx_pool_t zctx_pool = CTX_POOL_INIT;
#define ZCTX_MAX 6
static pthread_mutex_t zctx_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t zctx_freed = PTHREAD_COND_INITIALIZER;
static int zctx_taken; /* contexts out of the pool now */

static zctx_t *zctx_take(void) {
  pthread_mutex_lock(&zctx_lock);
  while (zctx_taken >= ZCTX_MAX) pthread_cond_wait(&zctx_freed, &zctx_lock);
  zctx_taken++;
  pthread_mutex_unlock(&zctx_lock);
  zctx_t *z = ctx_pool_take(&zctx_pool);
  if (!z) {
    z = calloc(1, sizeof *z);
    if (z && !(z->cctx = ZSTD_createCCtx())) { free(z); z = NULL; }
  }
  if (!z) {
    pthread_mutex_lock(&zctx_lock);
    zctx_taken--;
    pthread_cond_signal(&zctx_freed);
    pthread_mutex_unlock(&zctx_lock);
  }
  return z;
}

static void zctx_give(zctx_t *z) {
  ctx_pool_give(&zctx_pool, z);
  pthread_mutex_lock(&zctx_lock);
  zctx_taken--;
  pthread_cond_signal(&zctx_freed);
  pthread_mutex_unlock(&zctx_lock);
}

/* The last part of temporary names: random where a thread starts, then counted up (as
 * lib/repo/atomic-write.ts does). */
static __thread uint32_t temp_seq;
static __thread int temp_seeded;

static void temp_reseed(void) {
  uint32_t r = 0;
  if (getrandom(&r, sizeof r, 0) != (ssize_t)sizeof r) r = (uint32_t)time(NULL) ^ (uint32_t)(uintptr_t)&r ^ (uint32_t)getpid();
  temp_seq = r;
  temp_seeded = 1;
}

typedef struct {
  char hash[HASH_LEN + 1];
  int is_new;
  double stored;
  double last_use;    /* < 0: null */
  int err;
  const char *syscall;
  const char *what;
  char *err_path;
} result_t;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref bytes_ref;
  const uint8_t *bytes;
  size_t bytes_len;
  uint32_t *items;    /* n (length, kind) pairs */
  uint32_t n;
  char *dir;
  int digits;
  int codec;
  int level;
  int dry_run;
  double refresh_ms;
  char *tag;
  int durability;     /* 0 ordered, 1 writeOut, 2 fsync */
  result_t *results;
  int job_err;        /* a failure of the whole call (bad lengths, no memory) */
  char *hashes;       /* refreshObjects: the n names, 64 hex characters each (no bytes, no items) */
} put_job_t;

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (double)ts.tv_sec * 1000.0 + (double)(ts.tv_nsec / 1000000);
}

static double mtime_ms(const struct stat *st) {
  return (double)st->st_mtim.tv_sec * 1000.0 + (double)st->st_mtim.tv_nsec / 1e6;
}

static void fail(result_t *r, int e, const char *syscall, const char *what, const char *path) {
  r->err = e;
  r->syscall = syscall;
  r->what = what;
  r->err_path = strdup(path);
}

/*
 * An existing object is used by a new saveset: its last-use time (the newer of the .data and
 * .time mtimes) is made no older than refresh_ms, touching .time only when stale (DESIGN.md §4).
 * 1: done, r->last_use set; 0: the .data is gone (expired meanwhile), write it again; -1: failed.
 */
static int refresh(put_job_t *j, result_t *r, char *path, size_t suffix_at, double last) {
  double now = now_ms();
  if (now - last < j->refresh_ms) { r->last_use = last; return 1; }
  memcpy(path + suffix_at, ".time", 6);
  /* The .time's new mtime, touched or created: the `now` reported, not the kernel's coarser
   * clock at the creation. */
  struct timespec ts[2];
  ts[0].tv_sec = (time_t)(now / 1000);
  ts[0].tv_nsec = (long)((now - (double)ts[0].tv_sec * 1000) * 1e6);
  ts[1] = ts[0];
  struct stat st;
  int e = 0;
  const char *sc = NULL;
  if (stat(path, &st) == 0) {
    double t = mtime_ms(&st);
    if (t > last) last = t;
    if (now - last < j->refresh_ms) { r->last_use = last; memcpy(path + suffix_at, ".data", 6); return 1; }
    if (utimensat(AT_FDCWD, path, ts, 0) != 0) { e = errno; sc = "utime"; }
  } else {
    e = errno;
    sc = "stat";
  }
  if (e != 0 && e != ENOENT) { fail(r, e, sc, "touching an object", path); return -1; }
  if (e == ENOENT) {
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) { fail(r, errno, "open", "touching an object", path); return -1; }
    (void)futimens(fd, ts);
    close(fd);
  }
  /* The .data may have been removed between the stat and the touch: check again. */
  memcpy(path + suffix_at, ".data", 6);
  if (stat(path, &st) != 0) return 0;
  r->last_use = now;
  return 1;
}

static int write_all(int fd, struct iovec *iov, int cnt) {
  while (cnt > 0) {
    ssize_t n = writev(fd, iov, cnt);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    while (cnt > 0 && (size_t)n >= iov->iov_len) { n -= (ssize_t)iov->iov_len; iov++; cnt--; }
    if (cnt > 0) { iov->iov_base = (uint8_t *)iov->iov_base + n; iov->iov_len -= (size_t)n; }
  }
  return 0;
}

/*
 * Objects written leave the page cache once written out. A first save of large files wrote
 * 1.2 GB of objects into pages taken fresh, which this kind of machine pays for dearly (system
 * time), while the pages of objects written a moment before sat there, clean and unused. An
 * object of DROP_MIN bytes or more is queued once renamed into place; once DROP_LAG bytes more
 * have been queued after it (its writeback, started at once, has had time to finish), its clean
 * pages are dropped (posix_fadvise DONTNEED: dirty pages or pages under writeback stay; nothing
 * is lost, only a later read may go to the disk). Only with ordered durability (0: a local
 * disk's file system; the others write out before the rename). The last DROP_LAG bytes of a
 * save stay cached.
 */
#define DROP_MIN (64 * 1024)
#define DROP_LAG ((size_t)32 << 20)
#define DROP_SLOTS 1024
static pthread_mutex_t drop_lock = PTHREAD_MUTEX_INITIALIZER;
static char *drop_path[DROP_SLOTS];
static size_t drop_size[DROP_SLOTS];
static unsigned drop_head, drop_count;
static size_t drop_bytes;

static void drop_later(const char *path, size_t bytes) {
  char *copy = strdup(path);
  if (!copy) return;
  char *due[DROP_SLOTS];
  unsigned n = 0;
  pthread_mutex_lock(&drop_lock);
  /* The oldest go: when the queue is full, and while DROP_LAG bytes or more come after them. */
  while (drop_count > 0 && (drop_count == DROP_SLOTS || drop_bytes - drop_size[drop_head] + bytes >= DROP_LAG)) {
    due[n++] = drop_path[drop_head];
    drop_bytes -= drop_size[drop_head];
    drop_head = (drop_head + 1) % DROP_SLOTS;
    drop_count--;
  }
  unsigned tail = (drop_head + drop_count) % DROP_SLOTS;
  drop_path[tail] = copy;
  drop_size[tail] = bytes;
  drop_count++;
  drop_bytes += bytes;
  pthread_mutex_unlock(&drop_lock);
  for (unsigned i = 0; i < n; i++) {
    int fd = open(due[i], O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
      (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      close(fd);
    }
    free(due[i]);
  }
}

/* Write header + payload to `path` (the object's .data) atomically. 0, or -1 after fail(). */
static int write_object(put_job_t *j, result_t *r, const char *path, size_t dirlen, const uint8_t *header, const uint8_t *payload, size_t plen) {
  size_t tmplen = strlen(path) + strlen(j->tag) + 16;
  char *tmp = malloc(tmplen);
  if (!tmp) { fail(r, ENOMEM, "malloc", "writing an object", path); return -1; }
  if (!temp_seeded) temp_reseed();
  int fd = -1;
  for (int attempt = 0; ; attempt++) {
    temp_seq++;
    snprintf(tmp, tmplen, "%.*s/.%s.%s.%08x.tmp", (int)dirlen, path, path + dirlen + 1, j->tag, temp_seq);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0) break;
    if (errno != EEXIST || attempt >= 8) { fail(r, errno, "open", "writing an object", path); free(tmp); return -1; }
    temp_reseed();
  }
  struct iovec iov[2] = {{(void *)header, HEADER_SIZE}, {(void *)payload, plen}};
  if (write_all(fd, iov, plen > 0 ? 2 : 1) != 0) {
    int e = errno;
    close(fd); unlink(tmp); free(tmp);
    fail(r, e, "write", "writing an object", path);
    return -1;
  }
  const char *syscall = "fsync";
  if (j->durability == 0) (void)sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
  else if (j->durability == 1 ? write_out(fd, &syscall) != 0 : fsync(fd) != 0) {
    int e = errno;
    close(fd); unlink(tmp); free(tmp);
    fail(r, e, syscall, "writing an object", path);
    return -1;
  }
  if (close(fd) != 0) {
    int e = errno;
    unlink(tmp); free(tmp);
    fail(r, e, "close", "writing an object", path);
    return -1;
  }
  if (rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp); free(tmp);
    fail(r, e, "rename", "writing an object", path);
    return -1;
  }
  free(tmp);
  if (j->durability == 0 && HEADER_SIZE + plen >= DROP_MIN) drop_later(path, HEADER_SIZE + plen);
  return 0;
}

static void put_one(put_job_t *j, result_t *r, const uint8_t *data, size_t len, int kind, char *path, size_t dirlen0) {
  unsigned char md[32];
  SHA256(data, len, md);
  hash_hex(md, r->hash);
  r->last_use = -1;
  size_t suffix_at = object_path(path, dirlen0, r->hash, j->digits);
  size_t dirlen = dirlen0 + 1 + (size_t)j->digits;
  struct stat st;
  if (stat(path, &st) != 0) {
    if (errno != ENOENT) { fail(r, errno, "stat", "stat of an object", path); return; }
  } else if (st.st_size >= HEADER_SIZE) {
    if (j->dry_run) return;
    int done = refresh(j, r, path, suffix_at, mtime_ms(&st));
    if (done != 0) return;
  } /* else: shorter than a header, damaged: written again over it */
  uint8_t header[HEADER_SIZE] = {'T', 'S', 'O', 'B', 1, (uint8_t)kind, 0, 0};
  uint64_t l = len;
  for (int i = 0; i < 8; i++) header[8 + i] = (uint8_t)(l >> (56 - 8 * i));
  const uint8_t *payload = data;
  size_t plen = len;
  zctx_t *z = NULL;
  if (j->codec == 1 && len > 0) {
    z = zctx_take();
    if (!z) { fail(r, ENOMEM, "ZSTD_createCCtx", "writing an object", path); return; }
    size_t bound = ZSTD_compressBound(len);
    if (z->cap < bound) {
      size_t cap = bound < (1 << 20) ? (1 << 20) : bound;
      uint8_t *out = realloc(z->out, cap);
      if (!out) { zctx_give(z); fail(r, ENOMEM, "malloc", "writing an object", path); return; }
      z->out = out;
      z->cap = cap;
    }
    if (z->level != j->level) {
      ZSTD_CCtx_setParameter(z->cctx, ZSTD_c_compressionLevel, j->level);
      z->level = j->level;
    }
    size_t c = ZSTD_compress2(z->cctx, z->out, z->cap, data, len);
    if (ZSTD_isError(c)) {
      /* Not a savedir problem: say what zstd said. */
      ZSTD_CCtx_reset(z->cctx, ZSTD_reset_session_and_parameters);
      z->level = 0;
      zctx_give(z);
      fail(r, EIO, "ZSTD_compress2", ZSTD_getErrorName(c), path);
      return;
    }
    if (c < len) {
      payload = z->out;
      plen = c;
      header[6] = 1;
    }
  }
  r->stored = (double)(HEADER_SIZE + plen);
  r->is_new = 1;
  /* Over the network the write waits on round trips: the context goes back first, the
   * compressed bytes copied out of its buffer. */
  uint8_t *own = NULL;
  if (z && j->durability == 2 && !j->dry_run) {
    if (payload == z->out) {
      own = malloc(plen ? plen : 1);
      if (!own) { zctx_give(z); fail(r, ENOMEM, "malloc", "writing an object", path); return; }
      memcpy(own, payload, plen);
      payload = own;
    }
    zctx_give(z);
    z = NULL;
  }
  int ok = j->dry_run ? 0 : write_object(j, r, path, dirlen, header, payload, plen);
  free(own);
  if (z) zctx_give(z);
  if (ok == 0 && !j->dry_run) r->last_use = now_ms();
}

static void put_execute(napi_env env, void *data) {
  (void)env;
  put_job_t *j = data;
  batch_this_thread();
  size_t dirlen0;
  char *path = object_path_buffer(j->dir, j->digits, &dirlen0);
  if (!path) { j->job_err = ENOMEM; return; }
  size_t at = 0;
  for (uint32_t i = 0; i < j->n; i++) {
    size_t len = j->items[2 * i];
    put_one(j, &j->results[i], j->bytes + at, len, (int)j->items[2 * i + 1], path, dirlen0);
    at += len;
  }
  free(path);
}

/* refreshObjects: each object's last use after the refresh (a dry run: as it is), -1 if its
 * .data is missing; r->err set on a failure. */
static void refresh_execute(napi_env env, void *data) {
  (void)env;
  put_job_t *j = data;
  size_t dirlen0;
  char *path = object_path_buffer(j->dir, j->digits, &dirlen0);
  if (!path) { j->job_err = ENOMEM; return; }
  for (uint32_t i = 0; i < j->n; i++) {
    result_t *r = &j->results[i];
    const char *h = j->hashes + (size_t)i * HASH_LEN;
    r->last_use = -1;
    size_t suffix_at = object_path(path, dirlen0, h, j->digits);
    struct stat st;
    if (stat(path, &st) != 0) {
      if (errno != ENOENT) { fail(r, errno, "stat", "stat of an object", path); break; }
      continue;
    }
    if (st.st_size < HEADER_SIZE) continue; /* damaged: missing, for the caller to write again */
    if (!j->dry_run) {
      if (refresh(j, r, path, suffix_at, mtime_ms(&st)) < 0) break;
      continue;
    }
    double last = mtime_ms(&st);
    memcpy(path + suffix_at, ".time", 6);
    if (stat(path, &st) == 0) { if (mtime_ms(&st) > last) last = mtime_ms(&st); }
    else if (errno != ENOENT) { fail(r, errno, "stat", "stat of an object", path); break; }
    r->last_use = last;
  }
  free(path);
}


static void put_complete(napi_env env, napi_status status, void *data) {
  put_job_t *j = data;
  if (status != napi_ok || j->job_err) {
    napi_reject_deferred(env, j->deferred, errno_error(env, j->job_err ? j->job_err : ECANCELED, "putObjects", j->dir, "writing objects"));
  } else {
    napi_value arr, o, v;
    napi_create_array_with_length(env, j->n, &arr);
    for (uint32_t i = 0; i < j->n; i++) {
      result_t *r = &j->results[i];
      if (r->err) {
        o = errno_error(env, r->err, r->syscall, r->err_path, r->what);
      } else {
        napi_create_object(env, &o);
        napi_create_string_latin1(env, r->hash, HASH_LEN, &v);
        napi_set_named_property(env, o, "hash", v);
        napi_get_boolean(env, r->is_new != 0, &v);
        napi_set_named_property(env, o, "isNew", v);
        napi_create_double(env, r->stored, &v);
        napi_set_named_property(env, o, "storedBytes", v);
        if (r->last_use < 0) napi_get_null(env, &v);
        else napi_create_double(env, r->last_use, &v);
        napi_set_named_property(env, o, "lastUse", v);
      }
      napi_set_element(env, arr, i, o);
    }
    napi_resolve_deferred(env, j->deferred, arr);
  }
  napi_delete_async_work(env, j->work);
  napi_delete_reference(env, j->bytes_ref);
  for (uint32_t i = 0; i < j->n; i++) free(j->results[i].err_path);
  free(j->results); free(j->items); free(j->dir); free(j->tag); free(j);
}

static void refresh_complete(napi_env env, napi_status status, void *data) {
  put_job_t *j = data;
  result_t *bad = NULL;
  for (uint32_t i = 0; i < j->n && !bad; i++) if (j->results[i].err) bad = &j->results[i];
  if (status != napi_ok || j->job_err) {
    napi_reject_deferred(env, j->deferred, errno_error(env, j->job_err ? j->job_err : ECANCELED, "refreshObjects", j->dir, "checking objects"));
  } else if (bad) {
    napi_reject_deferred(env, j->deferred, errno_error(env, bad->err, bad->syscall, bad->err_path, bad->what));
  } else {
    void *bytes;
    napi_value ab, out;
    napi_create_arraybuffer(env, (size_t)j->n * sizeof(double), &bytes, &ab);
    for (uint32_t i = 0; i < j->n; i++) ((double *)bytes)[i] = j->results[i].last_use;
    napi_create_typedarray(env, napi_float64_array, j->n, ab, 0, &out);
    napi_resolve_deferred(env, j->deferred, out);
  }
  napi_delete_async_work(env, j->work);
  for (uint32_t i = 0; i < j->n; i++) free(j->results[i].err_path);
  free(j->results); free(j->dir); free(j->hashes); free(j);
}

#define REFRESH_USAGE "refreshObjects(chunksDir: Buffer, fanoutDigits: 1..8, hashes: string of 64-character names, refreshMs, dryRun)"

/* refreshObjects(chunksDir: Buffer, fanoutDigits, hashes: string, refreshMs, dryRun): Promise<Float64Array> */
static napi_value refresh_objects_js(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool dry = false;
  double refresh_ms = 0;
  if (argc < 5 || napi_get_value_double(env, argv[3], &refresh_ms) != napi_ok || napi_get_value_bool(env, argv[4], &dry) != napi_ok) {
    napi_throw_type_error(env, NULL, REFRESH_USAGE);
    return NULL;
  }
  char *dir, *hashes;
  int digits;
  uint32_t n;
  if (object_args(env, argv, 1, "refreshObjects", REFRESH_USAGE, &dir, &digits, &hashes, &n) != 0) return NULL;
  put_job_t *j = calloc(1, sizeof *j);
  if (j) j->results = calloc(n ? n : 1, sizeof(result_t));
  if (!j || !j->results) {
    free(j); free(dir); free(hashes);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  j->dir = dir;
  j->hashes = hashes;
  j->digits = digits;
  j->n = n;
  j->refresh_ms = refresh_ms;
  j->dry_run = dry;
  napi_value promise = queue_promise_work(env, "tarshift:refreshObjects", refresh_execute, refresh_complete, j, &j->work, &j->deferred);
  if (!promise) {
    free(j->dir); free(j->hashes); free(j->results); free(j);
    napi_throw_error(env, NULL, "refreshObjects: could not queue the work");
    return NULL;
  }
  return promise;
}

static napi_value put_objects_js(napi_env env, napi_callback_info info) {
  size_t argc = 10;
  napi_value argv[10];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *dirdata = NULL; size_t dirlen = 0; bool isbuf = false;
  int32_t digits = 0, codec = -1, level = 0;
  bool dry = false;
  int32_t durability = -1;
  double refresh = 0;
  napi_typedarray_type bt, it;
  size_t blen = 0, ilen = 0, taglen = 0;
  void *bdata = NULL, *idata = NULL;
  napi_value ab;
  size_t off;
  if (argc < 10 || napi_is_buffer(env, argv[0], &isbuf) != napi_ok || !isbuf ||
      napi_get_buffer_info(env, argv[0], &dirdata, &dirlen) != napi_ok ||
      napi_get_value_int32(env, argv[1], &digits) != napi_ok || digits < 1 || digits > 8 ||
      napi_get_typedarray_info(env, argv[2], &bt, &blen, &bdata, &ab, &off) != napi_ok || bt != napi_uint8_array ||
      napi_get_typedarray_info(env, argv[3], &it, &ilen, &idata, &ab, &off) != napi_ok || it != napi_uint32_array || ilen % 2 != 0 ||
      napi_get_value_int32(env, argv[4], &codec) != napi_ok || (codec != 0 && codec != 1) ||
      napi_get_value_int32(env, argv[5], &level) != napi_ok ||
      napi_get_value_bool(env, argv[6], &dry) != napi_ok ||
      napi_get_value_double(env, argv[7], &refresh) != napi_ok ||
      napi_get_value_string_utf8(env, argv[8], NULL, 0, &taglen) != napi_ok || taglen == 0 || taglen > 200 ||
      napi_get_value_int32(env, argv[9], &durability) != napi_ok || durability < 0 || durability > 2 ||
      dirlen == 0 || dirlen > 4000 || memchr(dirdata, 0, dirlen) != NULL) {
    napi_throw_type_error(env, NULL, "putObjects(chunksDir: Buffer, fanoutDigits: 1..8, bytes: Uint8Array, items: Uint32Array of (length, kind) pairs, codecId: 0 | 1, level, dryRun, refreshMs, tempTag, durability: 0 | 1 | 2)");
    return NULL;
  }
  uint32_t n = (uint32_t)(ilen / 2);
  uint64_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    total += ((uint32_t *)idata)[2 * i];
    if (((uint32_t *)idata)[2 * i + 1] > 2) { napi_throw_range_error(env, NULL, "putObjects: unknown object kind"); return NULL; }
  }
  if (total > blen) { napi_throw_range_error(env, NULL, "putObjects: items longer than bytes"); return NULL; }
  put_job_t *j = calloc(1, sizeof *j);
  if (!j) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  j->n = n;
  j->items = malloc((n ? n : 1) * 2 * sizeof(uint32_t));
  j->results = calloc(n ? n : 1, sizeof(result_t));
  j->dir = malloc(dirlen + 1);
  j->tag = malloc(taglen + 1);
  if (!j->items || !j->results || !j->dir || !j->tag) {
    free(j->items); free(j->results); free(j->dir); free(j->tag); free(j);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  memcpy(j->items, idata, (size_t)n * 2 * sizeof(uint32_t));
  memcpy(j->dir, dirdata, dirlen); j->dir[dirlen] = 0;
  napi_get_value_string_utf8(env, argv[8], j->tag, taglen + 1, &taglen);
  j->bytes = bdata;
  j->bytes_len = blen;
  j->digits = digits;
  j->codec = codec;
  j->level = level;
  j->dry_run = dry;
  j->refresh_ms = refresh;
  j->durability = durability;
  napi_create_reference(env, argv[2], 1, &j->bytes_ref);
  napi_value promise = queue_promise_work(env, "tarshift:putObjects", put_execute, put_complete, j, &j->work, &j->deferred);
  if (!promise) {
    napi_delete_reference(env, j->bytes_ref);
    free(j->items); free(j->results); free(j->dir); free(j->tag); free(j);
    napi_throw_error(env, NULL, "putObjects: could not queue the work");
    return NULL;
  }
  return promise;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *files;   /* NUL-terminated paths one after another */
  size_t files_len;
  char *dirs;
  size_t dirs_len;
  int err;
  const char *syscall;
  const char *what;
  char *err_path;
} sync_job_t;

static void sync_execute(napi_env env, void *data) {
  (void)env;
  sync_job_t *j = data;
  for (size_t at = 0; at < j->files_len; at += strlen(j->files + at) + 1) {
    const char *p = j->files + at;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0) {
      j->err = errno; j->syscall = fd < 0 ? "open" : "fsync"; j->what = "making an object durable"; j->err_path = strdup(p);
      if (fd >= 0) close(fd);
      return;
    }
    close(fd);
  }
  for (size_t at = 0; at < j->dirs_len; at += strlen(j->dirs + at) + 1) {
    const char *p = j->dirs + at;
    int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) { j->err = errno; j->syscall = "open"; j->what = "making a directory durable"; j->err_path = strdup(p); return; }
    if (fsync(fd) != 0 && errno != EINVAL && errno != ENOTSUP && errno != ENOSYS && errno != EPERM) {
      j->err = errno; j->syscall = "fsync"; j->what = "making a directory durable"; j->err_path = strdup(p);
      close(fd);
      return;
    }
    close(fd);
  }
}

static void sync_complete(napi_env env, napi_status status, void *data) {
  sync_job_t *j = data;
  if (status != napi_ok && j->err == 0) { j->err = ECANCELED; j->syscall = "syncFiles"; }
  if (j->err) {
    napi_reject_deferred(env, j->deferred, errno_error(env, j->err, j->syscall, j->err_path, j->what));
  } else {
    napi_value u;
    napi_get_undefined(env, &u);
    napi_resolve_deferred(env, j->deferred, u);
  }
  napi_delete_async_work(env, j->work);
  free(j->files); free(j->dirs); free(j->err_path); free(j);
}

static char *copy_buffer(napi_env env, napi_value v, size_t *len) {
  bool isbuf = false;
  void *d = NULL;
  if (napi_is_buffer(env, v, &isbuf) != napi_ok || !isbuf || napi_get_buffer_info(env, v, &d, len) != napi_ok) return NULL;
  if (*len > 0 && ((char *)d)[*len - 1] != 0) return NULL;
  char *c = malloc(*len + 1);
  if (c) memcpy(c, d, *len);
  return c;
}

static napi_value sync_files_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  sync_job_t *j = calloc(1, sizeof *j);
  if (!j) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  if (argc < 2 || !(j->files = copy_buffer(env, argv[0], &j->files_len)) || !(j->dirs = copy_buffer(env, argv[1], &j->dirs_len))) {
    free(j->files); free(j);
    napi_throw_type_error(env, NULL, "syncFiles(files: Buffer, dirs: Buffer), each NUL-terminated paths");
    return NULL;
  }
  napi_value promise = queue_promise_work(env, "tarshift:syncFiles", sync_execute, sync_complete, j, &j->work, &j->deferred);
  if (!promise) {
    free(j->files); free(j->dirs); free(j);
    napi_throw_error(env, NULL, "syncFiles: could not queue the work");
    return NULL;
  }
  return promise;
}

void put_objects_register(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    {"putObjects", 0, put_objects_js, 0, 0, 0, napi_default, 0},
    {"syncFiles", 0, sync_files_js, 0, 0, 0, napi_default, 0},
    {"refreshObjects", 0, refresh_objects_js, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
}
