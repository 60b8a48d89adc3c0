/*
 * objectsExist(chunksDir: Buffer, fanoutDigits: number, hashes: string): Promise<Uint8Array>
 *
 * Which of many objects have a .data file in the savedir, off the JavaScript threads: the work
 * runs on libuv's thread pool (napi async work), so it can start at once, before any store
 * worker has booted (a store worker is an isolate: ~0.1-0.2 s of start-up on two busy cores,
 * which an unchanged save of a few large files waited for at its end).
 *
 * `hashes` is the 64-hex names one after another. Object h is `chunksDir/<h[0:fanoutDigits]>/
 * <h>.data` (lib/repo/layout.ts). The names are grouped by fan-out directory; a directory
 * asked for LIST_FROM or more of its objects is listed once (on a cold cache its blocks are
 * read once for all of them), the others are stat'd one by one. The result has one byte per
 * hash, in the order given: 1 there, 0 not (ENOENT, of the file or of its directory). Any other
 * failure rejects with an Error carrying .code, .errno, .syscall and .path: the savedir cannot
 * be read, which the save must not take for "missing".
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "object-files.h"
#include "read-ahead.h"

/* From this many objects asked about in one fan-out directory on, the directory is listed once
 * instead of each object stat'ed: 28,000 stats cost an unchanged save of /usr/share ~400 ms;
 * listing the 256 directories a fraction of that, and over NFS or sshfs one listing is a few
 * round trips where the stats are one each. */
#define LIST_FROM 16

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  char *dir;          /* chunksDir, NUL-terminated */
  int digits;
  char *hashes;       /* n * HASH_LEN hex characters */
  uint32_t n;
  uint8_t *found;     /* n bytes */
  int err;            /* errno of the failure, 0 if none */
  const char *syscall;
  char *err_path;
} job_t;

static int by_hash(const void *a, const void *b, void *job) {
  const char *hashes = ((const job_t *)job)->hashes;
  const uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
  return memcmp(hashes + (size_t)i * HASH_LEN, hashes + (size_t)j * HASH_LEN, HASH_LEN);
}

static void fail(job_t *j, int e, const char *syscall, const char *path) {
  j->err = e;
  j->syscall = syscall;
  j->err_path = strdup(path);
}

/* Index (in order[lo..hi)) of the hash equal to name's first 64 bytes, or -1. */
static long find(const job_t *j, const uint32_t *order, size_t lo, size_t hi, const char *name) {
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = memcmp(j->hashes + (size_t)order[mid] * HASH_LEN, name, HASH_LEN);
    if (c == 0) return (long)mid;
    if (c < 0) lo = mid + 1; else hi = mid;
  }
  return -1;
}

/* One fan-out directory: order[lo..hi) are its hashes, sorted. 0, or -1 after fail(). */
static int check_dir(job_t *j, const uint32_t *order, size_t lo, size_t hi, char *path, size_t dirlen) {
  if (hi - lo < LIST_FROM) {
    for (size_t k = lo; k < hi; k++) {
      const char *h = j->hashes + (size_t)order[k] * HASH_LEN;
      memcpy(path + dirlen, "/", 1);
      memcpy(path + dirlen + 1, h, HASH_LEN);
      memcpy(path + dirlen + 1 + HASH_LEN, ".data", 6);
      struct stat st;
      if (stat(path, &st) == 0) j->found[order[k]] = 1;
      else if (errno != ENOENT && errno != ENOTDIR) { fail(j, errno, "stat", path); return -1; }
    }
    path[dirlen] = 0;
    return 0;
  }
  DIR *d = opendir(path);
  if (!d) {
    if (errno == ENOENT || errno == ENOTDIR) return 0;
    fail(j, errno, "opendir", path);
    return -1;
  }
  for (;;) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (!e) {
      if (errno != 0) { int err = errno; closedir(d); fail(j, err, "readdir", path); return -1; }
      break;
    }
    if (strlen(e->d_name) != HASH_LEN + 5 || memcmp(e->d_name + HASH_LEN, ".data", 5) != 0) continue;
    long at = find(j, order, lo, hi, e->d_name);
    /* Equal hashes asked twice sit next to each other: mark them all. */
    if (at < 0) continue;
    for (long k = at; k >= (long)lo && memcmp(j->hashes + (size_t)order[k] * HASH_LEN, e->d_name, HASH_LEN) == 0; k--) j->found[order[k]] = 1;
    for (size_t k = (size_t)at + 1; k < hi && memcmp(j->hashes + (size_t)order[k] * HASH_LEN, e->d_name, HASH_LEN) == 0; k++) j->found[order[k]] = 1;
  }
  closedir(d);
  return 0;
}

static void execute(napi_env env, void *data) {
  (void)env;
  job_t *j = data;
  uint32_t *order = malloc((size_t)(j->n ? j->n : 1) * sizeof *order);
  size_t dirlen0 = strlen(j->dir);
  char *path = malloc(dirlen0 + 1 + (size_t)j->digits + 1 + HASH_LEN + 6 + 1);
  if (!order || !path) { free(order); free(path); fail(j, ENOMEM, "malloc", j->dir); return; }
  for (uint32_t i = 0; i < j->n; i++) order[i] = i;
  qsort_r(order, j->n, sizeof *order, by_hash, j);
  memcpy(path, j->dir, dirlen0);
  size_t lo = 0;
  while (lo < j->n) {
    const char *first = j->hashes + (size_t)order[lo] * HASH_LEN;
    size_t hi = lo + 1;
    while (hi < j->n && memcmp(j->hashes + (size_t)order[hi] * HASH_LEN, first, (size_t)j->digits) == 0) hi++;
    path[dirlen0] = '/';
    memcpy(path + dirlen0 + 1, first, (size_t)j->digits);
    size_t dirlen = dirlen0 + 1 + (size_t)j->digits;
    path[dirlen] = 0;
    if (check_dir(j, order, lo, hi, path, dirlen) != 0) break;
    lo = hi;
  }
  free(order);
  free(path);
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *j = data;
  napi_value result;
  if (status != napi_ok && j->err == 0) {
    j->err = ECANCELED;
    j->syscall = "objectsExist";
  }
  if (j->err == 0) {
    void *bytes;
    napi_value ab;
    napi_create_arraybuffer(env, j->n, &bytes, &ab);
    if (j->n) memcpy(bytes, j->found, j->n);
    napi_create_typedarray(env, napi_uint8_array, j->n, ab, 0, &result);
    napi_resolve_deferred(env, j->deferred, result);
  } else {
    napi_reject_deferred(env, j->deferred, errno_error(env, j->err, j->syscall, j->err_path, NULL));
  }
  napi_delete_async_work(env, j->work);
  free(j->dir); free(j->hashes); free(j->found); free(j->err_path); free(j);
}

#define OBJECTS_EXIST_USAGE "objectsExist(chunksDir: Buffer, fanoutDigits: 1..8, hashes: string of 64-character names)"

static napi_value objects_exist_js(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  char *dir, *hashes;
  int digits;
  uint32_t n;
  if (argc < 3) {
    napi_throw_type_error(env, NULL, OBJECTS_EXIST_USAGE);
    return NULL;
  }
  if (object_args(env, argv, 0, "objectsExist", OBJECTS_EXIST_USAGE, &dir, &digits, &hashes, &n) != 0) return NULL;
  job_t *j = calloc(1, sizeof *j);
  if (j) j->found = calloc(n ? n : 1, 1);
  if (!j || !j->found) {
    free(j); free(dir); free(hashes);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  j->dir = dir;
  j->hashes = hashes;
  j->digits = digits;
  j->n = n;
  napi_value promise = queue_promise_work(env, "tarshift:objectsExist", execute, complete, j, &j->work, &j->deferred);
  if (!promise) {
    free(j->dir); free(j->hashes); free(j->found); free(j);
    napi_throw_error(env, NULL, "objectsExist: could not queue the work");
    return NULL;
  }
  return promise;
}

void objects_exist_register(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    {"objectsExist", 0, objects_exist_js, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
}
