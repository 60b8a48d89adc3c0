/* What the addon's C files that work on the savedir's objects share (objects-exist.c,
 * put-objects.c, get-objects.c): object paths, hash checks, errors, promise-returning work. */
#ifndef TARSHIFT_OBJECT_FILES_H
#define TARSHIFT_OBJECT_FILES_H
#include <node_api.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_LEN 64

/* A buffer for the paths of objects under chunksDir `dir`, which it starts with (malloc'd, or
 * NULL); *dirlen is the length of `dir`. object_path() completes it. */
char *object_path_buffer(const char *dir, int digits, size_t *dirlen);

/* Write "/<hash[0:digits]>/<hash>.data" at path + dirlen (path starts with chunksDir); returns
 * the offset of the ".data" suffix (for ".time"). */
size_t object_path(char *path, size_t dirlen, const char *hash, int digits);

/* Mark the calling thread (one of libuv's pool, doing the store's work) SCHED_BATCH, once: it
 * keeps its fair share of the CPU, but waking it no longer preempts the thread that woke it.
 * The JavaScript thread queues a put or a get and wakes a pool thread each time; on 2 busy
 * cores it lost its CPU to that thread at the call (a first save of /usr/share: 822 ms of its
 * main thread inside 2,614 calls of putObjects that do nothing but queue). */
void batch_this_thread(void);

/* A free list of reusable contexts (zstd's), shared by libuv's threads. An item starts with
 * its pool_link_t. */
typedef struct pool_link { struct pool_link *next; } pool_link_t;
typedef struct { pthread_mutex_t lock; pool_link_t *free; } ctx_pool_t;
#define CTX_POOL_INIT { PTHREAD_MUTEX_INITIALIZER, NULL }
/* An item from the pool, or NULL when it holds none (the caller makes one). */
void *ctx_pool_take(ctx_pool_t *pool);
void ctx_pool_give(ctx_pool_t *pool, void *item);

/* Write the file's dirty pages out and wait for them: sync_file_range(WAIT_BEFORE | WRITE |
 * WAIT_AFTER), or fsync where that is not supported (EINVAL, ENOSYS, ESPIPE). 0; or -1 with
 * errno set and *syscall the call that failed. */
int write_out(int fd, const char **syscall);

/* A SHA-256 digest (32 bytes) as the 64 lowercase hex digits of an object's name, NUL-terminated. */
void hash_hex(const unsigned char *md, char *out);

/* Whether s[0..n) are lowercase hex digits only. */
int is_lower_hex(const char *s, size_t n);

/* The (chunksDir: Buffer, fanoutDigits: 1..8, hashes: string of 64-character names) arguments
 * the object calls take first, copied: *dir and *hashes malloc'd and NUL-terminated, *n names.
 * 0; or -1 with an error thrown (a TypeError saying `usage`, or with check_hex "<name>: hashes
 * must be lowercase hex"; or out of memory) and nothing left allocated. */
int object_args(napi_env env, const napi_value *argv, int check_hex, const char *name, const char *usage,
                char **dir, int *digits, char **hashes, uint32_t *n);

/* An Error "<strerror>, <syscall> '<path>'" with .code, .errno, .syscall, .path and, when
 * `what` is not NULL, .what (what was being done). */
napi_value errno_error(napi_env env, int err, const char *syscall, const char *path, const char *what);

/* Create a promise and queue `job` on libuv's thread pool; the promise or NULL (nothing queued,
 * nothing thrown: the caller frees the job and throws). */
napi_value queue_promise_work(napi_env env, const char *name, napi_async_execute_callback execute,
                              napi_async_complete_callback complete, void *job,
                              napi_async_work *work, napi_deferred *deferred);
#endif
