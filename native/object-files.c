/* Helpers shared by objects-exist.c, put-objects.c and get-objects.c (object-files.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

int is_lower_hex(const char *s, size_t n) {
  for (size_t k = 0; k < n; k++) {
    char c = s[k];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
  }
  return 1;
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
