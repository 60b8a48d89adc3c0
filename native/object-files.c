/* Helpers shared by objects-exist.c, put-objects.c and get-objects.c (object-files.h). */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <sched.h>
#include <sys/syscall.h>

#include "object-files.h"
#include "read-ahead.h"

char *object_path_buffer(const char *dir, int digits, size_t *dirlen) {
  *dirlen = strlen(dir);
  char *path = malloc(*dirlen + 1 + (size_t)digits + 1 + HASH_LEN + 6 + 1);
  if (path) memcpy(path, dir, *dirlen);
  return path;
}

size_t object_path(char *path, size_t dirlen, const char *hash, int digits) {
  path[dirlen] = '/';
  memcpy(path + dirlen + 1, hash, (size_t)digits);
  size_t at = dirlen + 1 + (size_t)digits;
  path[at] = '/';
  memcpy(path + at + 1, hash, HASH_LEN);
  memcpy(path + at + 1 + HASH_LEN, ".data", 6);
  return at + 1 + HASH_LEN;
}

void *ctx_pool_take(ctx_pool_t *pool) {
  pthread_mutex_lock(&pool->lock);
  pool_link_t *item = pool->free;
  if (item) pool->free = item->next;
  pthread_mutex_unlock(&pool->lock);
  return item;
}

void ctx_pool_give(ctx_pool_t *pool, void *item) {
  pool_link_t *link = item;
  pthread_mutex_lock(&pool->lock);
  link->next = pool->free;
  pool->free = link;
  pthread_mutex_unlock(&pool->lock);
}

int write_out(int fd, const char **syscall) {
  int r;
  do r = sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
  while (r != 0 && errno == EINTR);
  if (r == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS && errno != ESPIPE) { *syscall = "sync_file_range"; return -1; }
  *syscall = "fsync";
  return fsync(fd);
}

void hash_hex(const unsigned char *md, char *out) {
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++) {
    out[2 * i] = hex[md[i] >> 4];
    out[2 * i + 1] = hex[md[i] & 15];
  }
  out[HASH_LEN] = 0;
}

int is_lower_hex(const char *s, size_t n) {
  for (size_t k = 0; k < n; k++) {
    char c = s[k];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
  }
  return 1;
}

int object_args(napi_env env, const napi_value *argv, int check_hex, const char *name, const char *usage,
                char **dir, int *digits, char **hashes, uint32_t *n) {
  void *dirdata = NULL;
  size_t dirlen = 0, hlen = 0;
  bool isbuf = false;
  int32_t d = 0;
  if (napi_is_buffer(env, argv[0], &isbuf) != napi_ok || !isbuf ||
      napi_get_buffer_info(env, argv[0], &dirdata, &dirlen) != napi_ok ||
      napi_get_value_int32(env, argv[1], &d) != napi_ok || d < 1 || d > 8 ||
      napi_get_value_string_latin1(env, argv[2], NULL, 0, &hlen) != napi_ok || hlen % HASH_LEN != 0 ||
      dirlen == 0 || dirlen > 4000 || memchr(dirdata, 0, dirlen) != NULL) {
    napi_throw_type_error(env, NULL, usage);
    return -1;
  }
  *dir = malloc(dirlen + 1);
  *hashes = malloc(hlen + 1);
  if (!*dir || !*hashes) {
    free(*dir); free(*hashes);
    napi_throw_error(env, NULL, "out of memory");
    return -1;
  }
  memcpy(*dir, dirdata, dirlen);
  (*dir)[dirlen] = 0;
  napi_get_value_string_latin1(env, argv[2], *hashes, hlen + 1, &hlen);
  if (check_hex && !is_lower_hex(*hashes, hlen)) {
    free(*dir); free(*hashes);
    char msg[200];
    snprintf(msg, sizeof msg, "%s: hashes must be lowercase hex", name);
    napi_throw_type_error(env, NULL, msg);
    return -1;
  }
  *digits = d;
  *n = (uint32_t)(hlen / HASH_LEN);
  return 0;
}

napi_value errno_error(napi_env env, int err, const char *syscall, const char *path, const char *what) {
  char msg[4400];
  snprintf(msg, sizeof msg, "%s, %s '%s'", strerror(err), syscall, path ? path : "");
  napi_value m, e, v;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &m);
  napi_create_error(env, NULL, m, &e);
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "code", v);
  napi_create_int32(env, -err, &v);
  napi_set_named_property(env, e, "errno", v);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(env, e, "syscall", v);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, e, "path", v);
  }
  if (what) {
    napi_create_string_utf8(env, what, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, e, "what", v);
  }
  return e;
}

napi_value queue_promise_work(napi_env env, const char *name, napi_async_execute_callback execute,
                              napi_async_complete_callback complete, void *job,
                              napi_async_work *work, napi_deferred *deferred) {
  napi_value promise, label;
  if (napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &label) != napi_ok ||
      napi_create_async_work(env, NULL, label, execute, complete, job, work) != napi_ok) return NULL;
  if (napi_create_promise(env, deferred, &promise) != napi_ok) {
    napi_delete_async_work(env, *work);
    return NULL;
  }
  if (napi_queue_async_work(env, *work) != napi_ok) {
    /* Never settled: the caller throws instead. */
    napi_value u;
    napi_get_undefined(env, &u);
    napi_resolve_deferred(env, *deferred, u);
    napi_delete_async_work(env, *work);
    return NULL;
  }
  return promise;
}

void batch_this_thread(void) {
  static __thread bool done;
  if (done) return;
  done = true;
  struct sched_param sp = { .sched_priority = 0 };
  (void)sched_setscheduler((pid_t)syscall(SYS_gettid), SCHED_BATCH, &sp);
}
