/*
 * getObjects(chunksDir: Buffer, fanoutDigits: number, hashes: string,
 *            into: Uint8Array | null, at: Float64Array | null, lengths: Float64Array | null)
 *   : Promise<Array<Got | Error>>
 *
 * The object store's reads for the codecs that need no JavaScript (none, zstd), off the
 * JavaScript threads, as the store worker does them (lib/repo/store-worker.ts): read the .data
 * file, check its header, decompress, check the length and the SHA-256 against the name. The
 * work runs on libuv's thread pool (napi async work); a restore then needs no store worker,
 * each of which is a V8 isolate of its own.
 *
 * `hashes` is the 64-hex names one after another. With `into`, object i is decompressed into
 * `lengths[i]` bytes at `at[i]` of it (a slot of the ring shared with the main thread, which
 * must be the object's exact length) and its result is its kind (a number). Without, each
 * result is {kind, data}, data a Buffer of its own. A failed object's result is an Error with
 * .reason: 'missing' (ENOENT), 'corrupt' (.why says what is wrong), 'io' (.code, .errno,
 * .syscall), or 'codec' (an xz object: the caller reads it the other way), and .path.
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
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "object-files.h"
#include "read-ahead.h"

extern unsigned char *SHA256(const unsigned char *d, size_t n, unsigned char *md);

#define HEADER_SIZE 16

enum reason { G_OK = 0, G_MISSING, G_CORRUPT, G_IO, G_CODEC };

typedef struct {
  int reason;
  int err;
  const char *syscall;
  char why[160];
  int kind;
  uint8_t *data;     /* without `into`: the object's bytes (malloc'd), handed to a Buffer */
  size_t len;
} got_t;

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref into_ref;
  uint8_t *into;
  size_t into_len;
  double *at;
  double *lengths;
  char *dir;
  int digits;
  char *hashes;
  uint32_t n;
  got_t *got;
  int job_err;
} get_job_t;

/* Decompression contexts, reused across calls. */
typedef struct {
  pool_link_t link;
  ZSTD_DCtx *d;
} dctx_t;
static ctx_pool_t dctx_pool = CTX_POOL_INIT;

static dctx_t *dctx_take(void) {
  dctx_t *z = ctx_pool_take(&dctx_pool);
  if (z) return z;
  z = calloc(1, sizeof *z);
  if (z && !(z->d = ZSTD_createDCtx())) { free(z); z = NULL; }
  return z;
}

static void dctx_give(dctx_t *z) {
  ctx_pool_give(&dctx_pool, z);
}

#define CORRUPT(g, ...) do { (g)->reason = G_CORRUPT; snprintf((g)->why, sizeof (g)->why, __VA_ARGS__); } while (0)

/* Read the whole file at `path` into *buf (grown as needed); returns its length or -1 (g set). */
static ssize_t read_file(got_t *g, const char *path, uint8_t **buf, size_t *cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) g->reason = G_MISSING;
    else { g->reason = G_IO; g->err = errno; g->syscall = "open"; }
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) { g->reason = G_IO; g->err = errno; g->syscall = "fstat"; close(fd); return -1; }
  /* One byte more than the size: a file that grew since fstat is read whole, and fails its
   * checks, rather than being cut short silently. */
  size_t want = (size_t)st.st_size + 1;
  if (*cap < want) {
    size_t c = want < (1 << 20) ? (1 << 20) : want;
    uint8_t *b = realloc(*buf, c);
    if (!b) { g->reason = G_IO; g->err = ENOMEM; g->syscall = "malloc"; close(fd); return -1; }
    *buf = b;
    *cap = c;
  }
  size_t got = 0;
  for (;;) {
    ssize_t r = pread(fd, *buf + got, *cap - got, (off_t)got);
    if (r < 0) {
      if (errno == EINTR) continue;
      g->reason = G_IO; g->err = errno; g->syscall = "read";
      close(fd);
      return -1;
    }
    if (r == 0 || (got += (size_t)r) >= *cap) break;
  }
  close(fd);
  return (ssize_t)got;
}

static void get_one(get_job_t *j, uint32_t i, char *path, size_t dirlen0, uint8_t **buf, size_t *cap) {
  got_t *g = &j->got[i];
  const char *h = j->hashes + (size_t)i * HASH_LEN;
  object_path(path, dirlen0, h, j->digits);
  ssize_t n = read_file(g, path, buf, cap);
  if (n < 0) return;
  const uint8_t *b = *buf;
  if (n < HEADER_SIZE) { CORRUPT(g, "truncated header (%lld bytes)", (long long)n); return; }
  if (memcmp(b, "TSOB", 4) != 0) { CORRUPT(g, "bad magic"); return; }
  if (b[4] != 1) { CORRUPT(g, "unsupported object version %d", b[4]); return; }
  if (b[5] > 2) { CORRUPT(g, "unknown object kind %d", b[5]); return; }
  uint64_t length = 0;
  for (int k = 0; k < 8; k++) length = (length << 8) | b[8 + k];
  if (length > 9007199254740991ull) { CORRUPT(g, "absurd length"); return; }
  int codec = b[6];
  if (codec == 2) { g->reason = G_CODEC; return; }
  if (codec != 0 && codec != 1) { CORRUPT(g, "unknown codec id %d", codec); return; }
  g->kind = b[5];
  uint8_t *dst;
  if (j->into) {
    size_t want = (size_t)j->lengths[i];
    if (length != want) { CORRUPT(g, "header says length %llu, expected %llu", (unsigned long long)length, (unsigned long long)want); return; }
    dst = j->into + (size_t)j->at[i];
  } else {
    dst = malloc(length ? length : 1);
    if (!dst) { g->reason = G_IO; g->err = ENOMEM; g->syscall = "malloc"; return; }
    g->data = dst;
  }
  g->len = length;
  const uint8_t *payload = b + HEADER_SIZE;
  size_t plen = (size_t)n - HEADER_SIZE;
  size_t out;
  if (codec == 0) {
    out = plen;
    if (out != length) { CORRUPT(g, "length %llu, header says %llu", (unsigned long long)out, (unsigned long long)length); return; }
    memcpy(dst, payload, plen);
  } else {
    dctx_t *z = dctx_take();
    if (!z) { g->reason = G_IO; g->err = ENOMEM; g->syscall = "ZSTD_createDCtx"; return; }
    out = ZSTD_decompressDCtx(z->d, dst, length, payload, plen);
    if (ZSTD_isError(out)) {
      ZSTD_DCtx_reset(z->d, ZSTD_reset_session_only);
      dctx_give(z);
      CORRUPT(g, "zstd decompression failed: %s", ZSTD_getErrorName(out));
      return;
    }
    dctx_give(z);
    if (out != length) { CORRUPT(g, "length %llu, header says %llu", (unsigned long long)out, (unsigned long long)length); return; }
  }
  unsigned char md[32];
  SHA256(dst, length, md);
  char got[HASH_LEN + 1];
  hash_hex(md, got);
  if (memcmp(got, h, HASH_LEN) != 0) { CORRUPT(g, "content hash is %s", got); return; }
  g->reason = G_OK;
}

static void get_execute(napi_env env, void *data) {
  (void)env;
  get_job_t *j = data;
  batch_this_thread();
  size_t dirlen0;
  char *path = object_path_buffer(j->dir, j->digits, &dirlen0);
  if (!path) { j->job_err = ENOMEM; return; }
  uint8_t *buf = NULL;
  size_t cap = 0;
  for (uint32_t i = 0; i < j->n; i++) get_one(j, i, path, dirlen0, &buf, &cap);
  free(buf);
  free(path);
}

static void free_data(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

static void set_str(napi_env env, napi_value o, const char *name, const char *s) {
  napi_value v;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, o, name, v);
}

static void get_complete(napi_env env, napi_status status, void *data) {
  get_job_t *j = data;
  size_t dirlen0;
  char *path = object_path_buffer(j->dir, j->digits, &dirlen0);
  if (status != napi_ok || j->job_err || !path) {
    napi_value m, e;
    napi_create_string_utf8(env, "getObjects: the work failed (out of memory, or cancelled)", NAPI_AUTO_LENGTH, &m);
    napi_create_error(env, NULL, m, &e);
    napi_reject_deferred(env, j->deferred, e);
  } else {
    napi_value arr, o, v;
    napi_create_array_with_length(env, j->n, &arr);
    for (uint32_t i = 0; i < j->n; i++) {
      got_t *g = &j->got[i];
      if (g->reason == G_OK) {
        if (j->into) {
          napi_create_int32(env, g->kind, &o);
        } else {
          napi_create_object(env, &o);
          napi_create_int32(env, g->kind, &v);
          napi_set_named_property(env, o, "kind", v);
          if (napi_create_external_buffer(env, g->len, g->data, free_data, NULL, &v) != napi_ok) {
            napi_create_buffer_copy(env, g->len, g->data, NULL, &v);
            free(g->data);
          }
          g->data = NULL;
          napi_set_named_property(env, o, "data", v);
        }
      } else {
        const char *h = j->hashes + (size_t)i * HASH_LEN;
        object_path(path, dirlen0, h, j->digits);
        const char *reason = g->reason == G_MISSING ? "missing" : g->reason == G_CORRUPT ? "corrupt" : g->reason == G_CODEC ? "codec" : "io";
        if (g->reason == G_IO) {
          o = errno_error(env, g->err, g->syscall, path, NULL);
        } else {
          char msg[4400];
          if (g->reason == G_CORRUPT) snprintf(msg, sizeof msg, "%s", g->why);
          else snprintf(msg, sizeof msg, "%s object %s", reason, path);
          napi_value m;
          napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
          napi_create_error(env, NULL, m, &o);
          set_str(env, o, "path", path);
        }
        set_str(env, o, "reason", reason);
        if (g->reason == G_CORRUPT) set_str(env, o, "why", g->why);
      }
      napi_set_element(env, arr, i, o);
    }
    napi_resolve_deferred(env, j->deferred, arr);
  }
  free(path);
  napi_delete_async_work(env, j->work);
  if (j->into_ref) napi_delete_reference(env, j->into_ref);
  for (uint32_t i = 0; i < j->n; i++) free(j->got[i].data);
  free(j->got); free(j->dir); free(j->hashes); free(j->at); free(j->lengths); free(j);
}

#define GET_OBJECTS_USAGE "getObjects(chunksDir: Buffer, fanoutDigits: 1..8, hashes: string of 64-character names, into, at, lengths)"

static napi_value get_objects_js(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t3 = napi_undefined;
  if (argc < 6 || napi_typeof(env, argv[3], &t3) != napi_ok) {
    napi_throw_type_error(env, NULL, GET_OBJECTS_USAGE);
    return NULL;
  }
  char *dir, *hashes;
  int digits;
  uint32_t n;
  if (object_args(env, argv, 1, "getObjects", GET_OBJECTS_USAGE, &dir, &digits, &hashes, &n) != 0) return NULL;
  get_job_t *j = calloc(1, sizeof *j);
  if (j) j->got = calloc(n ? n : 1, sizeof(got_t));
  if (!j || !j->got) {
    free(j); free(dir); free(hashes);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  j->dir = dir;
  j->hashes = hashes;
  j->digits = digits;
  j->n = n;
  if (t3 != napi_null) {
    napi_typedarray_type it, at, lt;
    size_t ilen = 0, alen = 0, llen = 0, off;
    void *idata = NULL, *adata = NULL, *ldata = NULL;
    napi_value ab;
    if (napi_get_typedarray_info(env, argv[3], &it, &ilen, &idata, &ab, &off) != napi_ok || it != napi_uint8_array ||
        napi_get_typedarray_info(env, argv[4], &at, &alen, &adata, &ab, &off) != napi_ok || at != napi_float64_array || alen != n ||
        napi_get_typedarray_info(env, argv[5], &lt, &llen, &ldata, &ab, &off) != napi_ok || lt != napi_float64_array || llen != n) {
      free(j->dir); free(j->hashes); free(j->got); free(j);
      napi_throw_type_error(env, NULL, "getObjects: into must be a Uint8Array, at and lengths Float64Arrays of one number per hash");
      return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
      double a = ((double *)adata)[i], l = ((double *)ldata)[i];
      if (!(a >= 0 && l >= 0 && a + l <= (double)ilen)) {
        free(j->dir); free(j->hashes); free(j->got); free(j);
        napi_throw_range_error(env, NULL, "getObjects: a slot lies outside `into`");
        return NULL;
      }
    }
    j->at = malloc((n ? n : 1) * sizeof(double));
    j->lengths = malloc((n ? n : 1) * sizeof(double));
    if (!j->at || !j->lengths) goto oom;
    memcpy(j->at, adata, n * sizeof(double));
    memcpy(j->lengths, ldata, n * sizeof(double));
    j->into = idata;
    j->into_len = ilen;
    napi_create_reference(env, argv[3], 1, &j->into_ref);
  }
  napi_value promise = queue_promise_work(env, "tarshift:getObjects", get_execute, get_complete, j, &j->work, &j->deferred);
  if (!promise) {
    if (j->into_ref) napi_delete_reference(env, j->into_ref);
    free(j->dir); free(j->hashes); free(j->got); free(j->at); free(j->lengths); free(j);
    napi_throw_error(env, NULL, "getObjects: could not queue the work");
    return NULL;
  }
  return promise;
oom:
  free(j->dir); free(j->hashes); free(j->got); free(j->at); free(j->lengths); free(j);
  napi_throw_error(env, NULL, "out of memory");
  return NULL;
}

void get_objects_register(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    {"getObjects", 0, get_objects_js, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
}
