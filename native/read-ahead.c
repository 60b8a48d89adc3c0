/*
 * The save's read-ahead thread (lib/save/read-ahead.ts) and --exclude matching.
 *
 * One native thread walks the directories the save is about to walk, in the save's order
 * (names sorted by bytes, depth first), a window of WINDOW names at a time: it lists each
 * directory, leaves out the names an --exclude pattern matches, lstats the rest relative to the
 * directory, and queues the window (names and stats) for the main thread, which takes it
 * instead of listing and lstat'ing again. It asks the kernel to read ahead the contents of the
 * files the save will probably read (posix_fadvise WILLNEED, as willNeed), and stays within a
 * number of entries and of MiB ahead of the save, whose progress the main thread reports.
 * Nothing it does changes what is saved; only how fast. (It was a worker thread running
 * JavaScript: an isolate of its own, ~0.4 s of CPU for 46,000 entries against ~0.1 s here.)
 *
 * With pre-reading on, a second thread (the reader) takes each window after the walk queued
 * it and, for the entries changed since `contentsSince`, reads what the save would read of
 * them itself: the whole contents of small regular files (opened as file-reader.ts opens
 * them; kept only when the fstat after reading agrees with the walk's lstat), symlink targets
 * and extended attributes. The main thread takes a window only once the reader is done with
 * it, and uses what was read instead of its own calls (lib/save/pre-read.ts): those calls
 * were a third of its time on a first save of many small files. Anything unusual (an error, a
 * file that changed, a list of attributes over 4 KiB) is left out, and the save does that
 * entry itself, as it would have without the reader, reporting what goes wrong. The reader
 * fills at most READER_AHEAD windows, and `heldMiB`, ahead of the main thread.
 *
 * On a cold cache the walk waits on the disk for each directory block and inode block, one
 * read at a time. Once the kernel has counted blocks read for the walk thread (getrusage:
 * directory and inode blocks count, and the reads its WILLNEED advice starts), the walk hands
 * the directories it is about to go down into to WARMERS more threads (the warmers), which
 * list them and lstat their names too, side by side, so that the walk finds them cached: the
 * disk serves several reads at once (a cold `find -ls` of /usr/share: 0.84 s alone, 0.48 s as
 * four). They only read what the walk reads after them; a warm walk never starts them working.
 *
 * Exclude patterns are matched with fnmatch(3), flags 0 (a `*` or `?` also matches `/`, a
 * leading `.` is not special, `\` escapes), in the C locale (one character a byte: names are
 * bytes), against the full path and against the name: GNU tar's --exclude. The save's own walk
 * matches through the same function (excludesPath), so both walks always agree.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "read-ahead.h"

/* ---------------------------------------------------------------------------------------- */
/* Exclude patterns */

typedef struct {
  size_t n;
  char **pats;
} excludes_t;

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static void c_locale_init(void) { c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0); }

static bool excludes_match(const excludes_t *x, const char *full, const char *base) {
  if (x == NULL || x->n == 0) return false;
  pthread_once(&c_locale_once, c_locale_init);
  locale_t old = c_locale ? uselocale(c_locale) : (locale_t)0;
  bool hit = false;
  for (size_t i = 0; i < x->n && !hit; i++) hit = fnmatch(x->pats[i], base, 0) == 0 || fnmatch(x->pats[i], full, 0) == 0;
  if (c_locale) uselocale(old);
  return hit;
}

static void excludes_free(excludes_t *x) {
  if (x == NULL) return;
  for (size_t i = 0; i < x->n; i++) free(x->pats[i]);
  free(x->pats);
  free(x);
}

static void excludes_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  excludes_free(data);
}

/* Copies Buffer patterns (no NUL bytes; a trailing '/' already taken off by the caller). */
static excludes_t *excludes_from(napi_env env, napi_value arr) {
  uint32_t n = 0;
  bool isarr = false;
  if (napi_is_array(env, arr, &isarr) != napi_ok || !isarr || napi_get_array_length(env, arr, &n) != napi_ok) {
    napi_throw_type_error(env, NULL, "exclude patterns: an array of Buffers");
    return NULL;
  }
  excludes_t *x = calloc(1, sizeof *x);
  if (x == NULL || (n > 0 && (x->pats = calloc(n, sizeof *x->pats)) == NULL)) {
    free(x);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value b;
    void *data; size_t len; bool isbuf = false;
    if (napi_get_element(env, arr, i, &b) != napi_ok || napi_is_buffer(env, b, &isbuf) != napi_ok || !isbuf ||
        napi_get_buffer_info(env, b, &data, &len) != napi_ok || memchr(data, 0, len) != NULL) {
      excludes_free(x);
      napi_throw_type_error(env, NULL, "exclude patterns: Buffers without NUL bytes");
      return NULL;
    }
    char *p = malloc(len + 1);
    if (p == NULL) { excludes_free(x); napi_throw_error(env, NULL, "out of memory"); return NULL; }
    memcpy(p, data, len); p[len] = 0;
    x->pats[x->n++] = p;
  }
  return x;
}

/* excluder(patterns: Buffer[]): External */
static napi_value excluder_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1], v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1) { napi_throw_type_error(env, NULL, "excluder(patterns: Buffer[])"); return NULL; }
  excludes_t *x = excludes_from(env, argv[0]);
  if (x == NULL) return NULL;
  if (napi_create_external(env, x, excludes_finalize, NULL, &v) != napi_ok) { excludes_free(x); return NULL; }
  return v;
}

/* excludesPath(excluder: External, path: Buffer, nameLength: number): boolean — the name is
 * the last nameLength bytes of the path. */
static napi_value excludes_path_js(napi_env env, napi_callback_info info) {
  size_t argc = 3; napi_value argv[3], v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  void *x = NULL, *data = NULL;
  size_t len = 0;
  uint32_t namelen = 0;
  bool isbuf = false;
  if (argc < 3 || napi_get_value_external(env, argv[0], &x) != napi_ok || napi_is_buffer(env, argv[1], &isbuf) != napi_ok || !isbuf ||
      napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok || napi_get_value_uint32(env, argv[2], &namelen) != napi_ok || namelen > len) {
    napi_throw_type_error(env, NULL, "excludesPath(excluder, path: Buffer, nameLength: number)");
    return NULL;
  }
  char stackbuf[4096];
  char *full = len < sizeof stackbuf ? stackbuf : malloc(len + 1);
  if (full == NULL) { napi_throw_error(env, NULL, "out of memory"); return NULL; }
  memcpy(full, data, len); full[len] = 0;
  /* A NUL inside a path cannot be on disk: such a path is matched up to it, as the kernel would take it. */
  bool hit = excludes_match(x, full, full + len - namelen);
  if (full != stackbuf) free(full);
  napi_get_boolean(env, hit, &v);
  return v;
}

/* ---------------------------------------------------------------------------------------- */
/* The read-ahead thread */

#define WINDOW 512

typedef struct window {
  struct window *next;
  char *dir;          /* the directory, dirlen bytes */
  size_t dirlen;
  uint32_t from, to, total;
  uint32_t n;         /* names kept */
  char *names;        /* n names, each NUL-terminated, one after another */
  double *raw;        /* n * LSTAT_SLOTS */
  bool failed;        /* the directory could not be listed here */
  bool listed;        /* a "listed" report (report mode), not a window: from holds `seen` */
  /* Pre-reading (the reader thread). The main thread takes only filled windows. */
  bool filled;        /* the reader is done with it (or it needs no reading) */
  bool busy;          /* the reader is reading for it, outside the lock */
  bool orphan;        /* closed while busy: the reader frees it */
  bool read_ahead;    /* filled by the reader (counts in held_windows until taken) */
  double *pre;        /* n * PRE_SLOTS, or NULL: nothing was read */
  char *pre_data;     /* contents, targets and attributes read, pre_len bytes */
  size_t pre_len;
} window_t;

/*
 * Per entry of a filled window, PRE_SLOTS numbers (lib/save/pre-read.ts reads them):
 * [0] what was read: 0 nothing, 1 a regular file's whole contents, 2 a symlink's target;
 * [1] [2] offset and length of those bytes in pre_data;
 * [3] [4] offset and length of the extended attributes in pre_data ([3] = -1: not read), as
 *         (u32 LE name length, name, u32 LE value length, value) for each, in the kernel's order;
 * [5 ..]  for a regular file, the fstat after reading, LSTAT_SLOTS numbers as lstatMany's.
 */
#define PRE_SLOTS (5 + LSTAT_SLOTS)

/* Warming (see the top): threads, and the directories queued at most (more are left to the walk). */
#define WARMERS 2
#define WARM_QUEUE 1024

typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t go;      /* the thread waits here: roots, progress, the end */
  pthread_cond_t ready;   /* the main thread waits here: a window */
  pthread_cond_t fill;    /* the reader waits here: a window to fill, and room ahead */
  int refs;               /* the JS handle and the thread */
  bool stop;              /* the save is over */
  bool idle;              /* the thread waits for roots, having walked all it was given */
  /* roots to walk, in order */
  char **roots; size_t *rootlens; size_t nroots, roots_head, roots_cap;
  /* the save's progress */
  double their_entries, their_mib;
  bool waiting;           /* the save waits for a window: go on, whatever the limits */
  /* configuration */
  excludes_t *ex;
  bool one_fs, share, report, has_since;
  double lookahead, lookahead_mib, since_ms, content_max;
  /* pre-reading: on or off, the largest file read whole, bytes the reader may hold */
  bool preread;
  double inline_max, held_max;
  /* windows for the main thread */
  window_t *head, *tail;
  /* the first window the reader has not filled (NULL: none); bytes held in windows it filled
   * and the main thread has not taken, and how many such windows */
  window_t *fill_next;
  double held;
  int held_windows;
  /* the thread's own counts (read by the thread only, except under the lock for reports) */
  double seen, bytes;
  /* warming: directories for the warmers (a ring of WARM_QUEUE paths), whether the walk found
   * the cache cold (the walk thread's own) */
  pthread_cond_t warm;
  char *warm_q[WARM_QUEUE];
  size_t warm_head, warm_tail;
  bool cold;
  double warmed;          /* directories the warmers listed */
  long inblock_at_start;  /* the walk thread's blocks read when it started */
} ra_t;

static void window_free(window_t *w) {
  if (w == NULL) return;
  free(w->dir); free(w->names); free(w->raw); free(w->pre); free(w->pre_data); free(w);
}

static void ra_unref_locked(ra_t *ra, bool *freed) {
  *freed = --ra->refs == 0;
}

static void ra_free(ra_t *ra) {
  for (window_t *w = ra->head, *nx; w != NULL; w = nx) { nx = w->next; window_free(w); }
  for (size_t i = ra->roots_head; i < ra->nroots; i++) free(ra->roots[i]);
  free(ra->roots); free(ra->rootlens);
  excludes_free(ra->ex);
  for (size_t i = ra->warm_head; i != ra->warm_tail; i = (i + 1) % WARM_QUEUE) free(ra->warm_q[i]);
  pthread_cond_destroy(&ra->warm);
  pthread_mutex_destroy(&ra->lock);
  pthread_cond_destroy(&ra->go);
  pthread_cond_destroy(&ra->ready);
  pthread_cond_destroy(&ra->fill);
  free(ra);
}

static void ra_emit(ra_t *ra, window_t *w) {
  pthread_mutex_lock(&ra->lock);
  if (ra->stop) {
    pthread_mutex_unlock(&ra->lock);
    window_free(w);
    return;
  }
  w->next = NULL;
  /* Only windows with names to look at wait for the reader. */
  w->filled = !ra->preread || w->listed || w->failed || w->n == 0;
  if (ra->tail) ra->tail->next = w; else ra->head = w;
  ra->tail = w;
  if (!w->filled && ra->fill_next == NULL) {
    ra->fill_next = w;
    pthread_cond_signal(&ra->fill);
  }
  pthread_cond_broadcast(&ra->ready);
  pthread_mutex_unlock(&ra->lock);
}

static window_t *window_new(const char *dir, size_t dirlen) {
  window_t *w = calloc(1, sizeof *w);
  if (w == NULL) return NULL;
  w->dir = malloc(dirlen + 1);
  if (w->dir == NULL) { free(w); return NULL; }
  memcpy(w->dir, dir, dirlen); w->dir[dirlen] = 0;
  w->dirlen = dirlen;
  return w;
}

static void emit_empty(ra_t *ra, const char *dir, size_t dirlen, bool failed) {
  if (!ra->share) return;
  window_t *w = window_new(dir, dirlen);
  if (w == NULL) return;
  w->failed = failed;
  ra_emit(ra, w);
}

static void emit_listed(ra_t *ra, const char *dir, size_t dirlen) {
  if (!ra->report) return;
  window_t *w = window_new(dir, dirlen);
  if (w == NULL) return;
  w->listed = true;
  w->from = (uint32_t)ra->seen;
  ra_emit(ra, w);
}

/* The CLOCK_REALTIME time `ms` from now, for pthread_cond_timedwait. */
static struct timespec deadline_in(double ms) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  long ns = (long)(ms * 1e6);
  ts.tv_sec += ns / 1000000000L;
  ts.tv_nsec += ns % 1000000000L;
  if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
  return ts;
}

/* Wait while the thread is too far ahead of the save; false once the save is over. */
static bool may_go_on(ra_t *ra) {
  bool go = false;
  pthread_mutex_lock(&ra->lock);
  for (;;) {
    if (ra->stop) break;
    if (ra->waiting || (ra->seen - ra->their_entries <= ra->lookahead && ra->bytes / 1048576.0 - ra->their_mib <= ra->lookahead_mib)) {
      go = true;
      break;
    }
    struct timespec ts = deadline_in(20);
    pthread_cond_timedwait(&ra->go, &ra->lock, &ts);
  }
  pthread_mutex_unlock(&ra->lock);
  return go;
}

static int name_cmp(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* dir + '/' + name, as joinPathText: no doubled slash after the root. */
static char *join(const char *dir, size_t dirlen, const char *name, size_t *outlen) {
  size_t at = dirlen == 1 && dir[0] == '/' ? 1 : dirlen + 1;
  size_t nl = strlen(name);
  char *p = malloc(at + nl + 1);
  if (p == NULL) return NULL;
  memcpy(p, dir, dirlen);
  p[at - 1] = '/';
  memcpy(p + at, name, nl + 1);
  *outlen = at + nl;
  return p;
}

/* The later of an lstat's mtime and ctime, in ms. */
static double changed_ms(const double *o) {
  double m = o[5] * 1000 + o[6] / 1e6, c = o[7] * 1000 + o[8] / 1e6;
  return c > m ? c : m;
}

static void fill_stat(double *o, const struct stat *st) {
  o[1] = st->st_mode; o[2] = st->st_uid; o[3] = st->st_gid; o[4] = (double)st->st_size;
  o[5] = (double)st->st_mtim.tv_sec; o[6] = st->st_mtim.tv_nsec;
  o[7] = (double)st->st_ctim.tv_sec; o[8] = st->st_ctim.tv_nsec;
  o[9] = (double)st->st_atim.tv_sec; o[10] = st->st_atim.tv_nsec;
  o[11] = (double)((uint64_t)st->st_ino >> 32); o[12] = (double)((uint64_t)st->st_ino & 0xffffffffu);
  o[13] = (double)((uint64_t)st->st_dev >> 32); o[14] = (double)((uint64_t)st->st_dev & 0xffffffffu);
  o[15] = (double)st->st_nlink; o[16] = major(st->st_rdev); o[17] = minor(st->st_rdev);
}

/* Per directory being walked: one window's names, paths and stats (on the heap: the walk
 * recurses once a directory level). */
typedef struct {
  double stats[WINDOW * LSTAT_SLOTS];
  char *paths[WINDOW];
  size_t pathlens[WINDOW];
  const char *names[WINDOW];
  dev_t devs[WINDOW];
} window_work_t;

/* All names of a directory but . and .., sorted by bytes; NULL when it cannot be listed whole
 * (the save then lists it itself, and reports why). *blobp holds the names. */
static char **list_sorted(const char *dir, size_t *np, char **blobp) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (d == NULL) {
    if (fd >= 0) close(fd);
    return NULL;
  }
  size_t cap = 4096, used = 0, n = 0, ncap = 64;
  char *blob = malloc(cap);
  size_t *offs = malloc(ncap * sizeof *offs);
  bool ok = blob != NULL && offs != NULL;
  while (ok) {
    errno = 0;
    struct dirent *e = readdir(d);
    if (e == NULL) { ok = errno == 0; break; }
    const char *nm = e->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    size_t l = strlen(nm) + 1;
    if (used + l > cap) {
      while (used + l > cap) cap *= 2;
      char *nb = realloc(blob, cap);
      if (nb == NULL) { ok = false; break; }
      blob = nb;
    }
    if (n == ncap) {
      ncap *= 2;
      size_t *no = realloc(offs, ncap * sizeof *no);
      if (no == NULL) { ok = false; break; }
      offs = no;
    }
    memcpy(blob + used, nm, l);
    offs[n++] = used;
    used += l;
  }
  closedir(d);
  char **names = ok ? malloc((n ? n : 1) * sizeof *names) : NULL;
  if (names == NULL) {
    free(blob); free(offs);
    return NULL;
  }
  for (size_t i = 0; i < n; i++) names[i] = blob + offs[i];
  free(offs);
  qsort(names, n, sizeof *names, name_cmp);
  *np = n;
  *blobp = blob;
  return names;
}

/* Queue names [w, end) as kept in ww (kept of them) for the main thread. */
static void share_window(ra_t *ra, const char *dir, size_t dirlen, size_t w, size_t end, size_t n, const window_work_t *ww, uint32_t kept) {
  window_t *win = window_new(dir, dirlen);
  if (win == NULL) return;
  size_t keptlen = 0;
  for (uint32_t k = 0; k < kept; k++) keptlen += strlen(ww->names[k]) + 1;
  win->from = (uint32_t)w; win->to = (uint32_t)end; win->total = (uint32_t)n; win->n = kept;
  win->names = malloc(keptlen ? keptlen : 1);
  win->raw = malloc((kept ? kept : 1) * LSTAT_SLOTS * sizeof(double));
  if (win->names == NULL || win->raw == NULL) {
    /* Nothing sent for this window: the next one the save gets differs from what it asks
     * for, and it lists and lstats the rest itself (read-ahead.ts). */
    window_free(win);
    return;
  }
  size_t at = 0;
  for (uint32_t k = 0; k < kept; k++) {
    size_t l = strlen(ww->names[k]) + 1;
    memcpy(win->names + at, ww->names[k], l);
    at += l;
  }
  memcpy(win->raw, ww->stats, (size_t)kept * LSTAT_SLOTS * sizeof(double));
  ra_emit(ra, win);
}

/* Whether this thread had blocks read from a disk (the kernel counts a thread's reads,
 * directory and inode blocks too) since the walk began: the cache is cold. */
static bool went_to_disk(ra_t *ra) {
  struct rusage ru;
  return getrusage(RUSAGE_THREAD, &ru) == 0 && ru.ru_inblock > ra->inblock_at_start;
}

/* Queue the directories of a window (the walk goes down into them next) for the warmers. */
static void warm_ahead(ra_t *ra, const window_work_t *ww, uint32_t kept, dev_t dev) {
  bool queued = false;
  pthread_mutex_lock(&ra->lock);
  for (uint32_t k = 0; k < kept && !ra->stop; k++) {
    const double *o = ww->stats + (size_t)k * LSTAT_SLOTS;
    if (o[0] != 0 || ((mode_t)o[1] & S_IFMT) != S_IFDIR || (ra->one_fs && ww->devs[k] != dev)) continue;
    size_t next = (ra->warm_tail + 1) % WARM_QUEUE;
    if (next == ra->warm_head) break; /* full: the walk lists the rest on its own */
    char *p = strdup(ww->paths[k]);
    if (p == NULL) break;
    ra->warm_q[ra->warm_tail] = p;
    ra->warm_tail = next;
    queued = true;
  }
  if (queued) pthread_cond_broadcast(&ra->warm);
  pthread_mutex_unlock(&ra->lock);
}

/* List a directory and lstat its names, for the kernel's caches only. */
static void warm_dir(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (d == NULL) {
    if (fd >= 0) close(fd);
    return;
  }
  struct dirent *e;
  struct stat st;
  while ((e = readdir(d)) != NULL) {
    const char *nm = e->d_name;
    if (nm[0] == '.' && (nm[1] == 0 || (nm[1] == '.' && nm[2] == 0))) continue;
    (void)fstatat(dirfd(d), nm, &st, AT_SYMLINK_NOFOLLOW);
  }
  closedir(d);
}

static void *warmer_thread(void *arg) {
  ra_t *ra = arg;
  pthread_setname_np(pthread_self(), "ts-warm");
  pthread_mutex_lock(&ra->lock);
  for (;;) {
    while (!ra->stop && ra->warm_head == ra->warm_tail) pthread_cond_wait(&ra->warm, &ra->lock);
    if (ra->stop) break;
    char *dir = ra->warm_q[ra->warm_head];
    ra->warm_head = (ra->warm_head + 1) % WARM_QUEUE;
    pthread_mutex_unlock(&ra->lock);
    warm_dir(dir);
    free(dir);
    pthread_mutex_lock(&ra->lock);
    ra->warmed++;
  }
  bool freed;
  ra_unref_locked(ra, &freed);
  pthread_mutex_unlock(&ra->lock);
  if (freed) ra_free(ra);
  return NULL;
}

/* Lists, sorts and walks one directory; false once the save is over. */
static bool walk(ra_t *ra, const char *dir, size_t dirlen, dev_t dev) {
  size_t n = 0;
  char *blob = NULL;
  char **names = list_sorted(dir, &n, &blob);
  if (names == NULL) {
    emit_empty(ra, dir, dirlen, true);
    return true;
  }
  emit_listed(ra, dir, dirlen);
  if (n == 0) emit_empty(ra, dir, dirlen, false);
  window_work_t *ww = n ? malloc(sizeof *ww) : NULL;
  bool go = ww != NULL || n == 0;
  if (!go) emit_empty(ra, dir, dirlen, true);
  for (size_t w = 0; w < n && go; w += WINDOW) {
    if (!may_go_on(ra)) { go = false; break; }
    size_t end = w + WINDOW < n ? w + WINDOW : n;
    /* Opened for each window, and closed before the walk goes down: no descriptor is held
     * a directory level (a deep tree would run out of them). O_PATH: search permission is
     * all fstatat needs; a directory that cannot be opened fails each name's lstat. */
    int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    int dirErr = dfd < 0 ? errno : 0;
    uint32_t kept = 0;
    for (size_t i = w; i < end; i++) {
      size_t pl;
      char *p = join(dir, dirlen, names[i], &pl);
      if (p == NULL) continue;
      if (excludes_match(ra->ex, p, p + pl - strlen(names[i]))) { free(p); continue; }
      double *o = ww->stats + (size_t)kept * LSTAT_SLOTS;
      memset(o, 0, LSTAT_SLOTS * sizeof *o);
      struct stat st;
      ww->devs[kept] = 0;
      if (dirErr) o[0] = dirErr;
      else if (fstatat(dfd, names[i], &st, AT_SYMLINK_NOFOLLOW) != 0) o[0] = errno;
      else { fill_stat(o, &st); ww->devs[kept] = st.st_dev; }
      ww->paths[kept] = p;
      ww->pathlens[kept] = pl;
      ww->names[kept] = names[i];
      kept++;
    }
    if (dfd >= 0) close(dfd);
    if (!ra->cold) ra->cold = went_to_disk(ra);
    if (ra->cold) warm_ahead(ra, ww, kept, dev);
    if (ra->share) share_window(ra, dir, dirlen, w, end, n, ww, kept);
    ra->seen += (double)(end - w - kept);
    for (uint32_t k = 0; k < kept && go; k++) {
      if (!may_go_on(ra)) { go = false; break; }
      ra->seen++;
      const double *o = ww->stats + (size_t)k * LSTAT_SLOTS;
      if (o[0] != 0) continue;
      mode_t type = (mode_t)o[1] & S_IFMT;
      if (type == S_IFREG) {
        double size = o[4];
        if (ra->has_since && size > 0 && size <= ra->content_max && changed_ms(o) >= ra->since_ms &&
            advise_file(ww->paths[k]) == 0) ra->bytes += size;
        continue;
      }
      if (type != S_IFDIR) continue;
      if (ra->one_fs && ww->devs[k] != dev) continue;
      /* The window's state is this level's own: the walk below uses a window_work_t of its own. */
      if (!walk(ra, ww->paths[k], ww->pathlens[k], dev)) go = false;
    }
    for (uint32_t j = 0; j < kept; j++) free(ww->paths[j]);
  }
  free(ww);
  free(names);
  free(blob);
  return go;
}

/* ---------------------------------------------------------------------------------------- */
/* The reader thread (pre-reading) */

typedef struct {
  char *data;
  size_t len, cap;
} blob_t;

/* Room for `more` bytes at b->data + b->len; false when out of memory. */
static bool blob_reserve(blob_t *b, size_t more) {
  if (b->len + more <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < b->len + more) cap *= 2;
  char *nd = realloc(b->data, cap);
  if (nd == NULL) return false;
  b->data = nd;
  b->cap = cap;
  return true;
}

static bool blob_put(blob_t *b, const void *p, size_t n) {
  if (!blob_reserve(b, n)) return false;
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return true;
}

static bool blob_put_u32(blob_t *b, uint32_t v) {
  unsigned char le[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16), (unsigned char)(v >> 24)};
  return blob_put(b, le, 4);
}

/* The extended attributes of fd (fd >= 0) or of path (not followed), into the blob; [3] and
 * [4] of p say where. Left unread (false, [3] = -1) on any failure, or a list or value over
 * 4 KiB: the save reads them itself, and reports what goes wrong. */
static bool xattrs_into(blob_t *b, int fd, const char *path, double *p) {
  char names[4096], value[4096];
  ssize_t n = fd >= 0 ? flistxattr(fd, names, sizeof names) : llistxattr(path, names, sizeof names);
  if (n < 0 && errno == ENOTSUP) n = 0;
  if (n < 0) return false;
  size_t start = b->len;
  for (ssize_t off = 0; off < n;) {
    const char *name = names + off;
    size_t nl = strnlen(name, (size_t)(n - off));
    off += (ssize_t)nl + 1;
    ssize_t vl = fd >= 0 ? fgetxattr(fd, name, value, sizeof value) : lgetxattr(path, name, value, sizeof value);
    if (vl < 0 && errno == ENODATA) continue; /* removed between list and get */
    if (vl < 0 || !blob_put_u32(b, (uint32_t)nl) || !blob_put(b, name, nl) || !blob_put_u32(b, (uint32_t)vl) || !blob_put(b, value, (size_t)vl)) {
      b->len = start;
      return false;
    }
  }
  p[3] = (double)start;
  p[4] = (double)(b->len - start);
  return true;
}

/* Whether the reader reads an entry (its lstat o) whole: a small regular file changed since `since`. */
static bool small_file(const ra_t *ra, const double *o) {
  return o[0] == 0 && ((mode_t)o[1] & S_IFMT) == S_IFREG && o[4] <= ra->inline_max && changed_ms(o) >= ra->since_ms;
}

/* Opened as file-reader.ts opens: O_NOATIME where permitted (we own the file, or are
 * privileged: else EPERM), O_NOFOLLOW, O_NONBLOCK. */
static int open_source(int dfd, const char *name) {
  int flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY;
  int fd = openat(dfd, name, flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = openat(dfd, name, flags);
  return fd;
}

/* A small file's whole contents and attributes, from fd (opened by open_source). Kept only
 * when the fstat after reading agrees with the walk's lstat `o` (the same inode, size, mtime
 * and ctime) and with the bytes read: the file did not change from the lstat to the end of
 * the read. Nothing is kept otherwise (the save reads it itself). */
static void read_small(blob_t *b, int fd, const double *o, double *p) {
  size_t start = b->len;
  size_t want = (size_t)o[4], got = 0;
  if (!blob_reserve(b, want)) return;
  while (got < want) {
    ssize_t r = read(fd, b->data + start + got, want - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += (size_t)r;
  }
  struct stat post;
  double q[LSTAT_SLOTS];
  if (got != want || fstat(fd, &post) != 0) return;
  fill_stat(q, &post);
  if (((mode_t)q[1] & S_IFMT) != S_IFREG || q[4] != o[4] || q[5] != o[5] || q[6] != o[6] || q[7] != o[7] || q[8] != o[8] || q[11] != o[11] || q[12] != o[12]) return;
  b->len = start + got;
  p[0] = 1;
  p[1] = (double)start;
  p[2] = (double)got;
  q[0] = 0;
  memcpy(p + 5, q, sizeof q);
  if (!xattrs_into(b, fd, NULL, p)) p[3] = -1;
}

/* Contents read for one window at most: the save holds a window's bytes until its directory's
 * tree takes them (views of one buffer), so a window of 512 files of 16 KiB would hold 8 MiB;
 * the rest of such a window is left to the save (on /usr/share, 6 windows of 2,942 pass 1 MiB). */
#define WINDOW_READ_MAX (1024 * 1024)
/* fill_window's mark, in [0], of a file it is to read whole (never left in a filled window). */
#define READ_WHOLE (-1)

/* What the save would read of a window's entries changed since `since`, into w->pre. The
 * walk asked the kernel for the small files' contents well ahead (WILLNEED): their reads
 * mostly find them cached. */
static void fill_window(ra_t *ra, window_t *w) {
  double *pre = malloc((size_t)w->n * PRE_SLOTS * sizeof *pre);
  if (pre == NULL) return;
  /* The small files to read whole, in order until the window's share (WINDOW_READ_MAX) is
   * taken; the rest are left to the save, as when nothing was read. Marked READ_WHOLE in
   * [0] until read. The buffer is sized once for them, and some attributes. */
  size_t contents = 0;
  for (uint32_t k = 0; k < w->n; k++) {
    double *p = pre + (size_t)k * PRE_SLOTS;
    const double *o = w->raw + (size_t)k * LSTAT_SLOTS;
    p[0] = 0; p[1] = 0; p[2] = 0; p[3] = -1; p[4] = 0;
    if (small_file(ra, o) && contents + (size_t)o[4] <= WINDOW_READ_MAX) {
      contents += (size_t)o[4];
      p[0] = READ_WHOLE;
    }
  }
  size_t want = 4096 + contents;
  blob_t b = {malloc(want), 0, want};
  if (b.data == NULL) b.cap = 0;
  int dfd = open(w->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  const char *name = w->names;
  char target[4096];
  for (uint32_t k = 0; k < w->n; k++, name += strlen(name) + 1) {
    double *p = pre + (size_t)k * PRE_SLOTS;
    const double *o = w->raw + (size_t)k * LSTAT_SLOTS;
    bool whole = p[0] == READ_WHOLE;
    p[0] = 0;
    if (dfd < 0 || o[0] != 0 || changed_ms(o) < ra->since_ms) continue;
    if (small_file(ra, o)) {
      if (!whole) continue;
      int fd = open_source(dfd, name);
      if (fd >= 0) {
        read_small(&b, fd, o, p);
        close(fd);
      }
      continue;
    }
    mode_t type = (mode_t)o[1] & S_IFMT;
    size_t pl;
    char *path = join(w->dir, w->dirlen, name, &pl);
    if (path == NULL) continue;
    if (type == S_IFLNK) {
      ssize_t n = readlinkat(dfd, name, target, sizeof target);
      size_t start = b.len;
      if (n >= 0 && (size_t)n < sizeof target && blob_put(&b, target, (size_t)n)) {
        p[0] = 2;
        p[1] = (double)start;
        p[2] = (double)n;
      }
    }
    if (!xattrs_into(&b, -1, path, p)) p[3] = -1;
    free(path);
  }
  if (dfd >= 0) close(dfd);
  w->pre = pre;
  w->pre_data = b.data;
  w->pre_len = b.len;
}

/* What a window the reader filled counts in ra->held until the main thread takes it. */
static double held_bytes(const window_t *w) {
  return (double)w->pre_len + (double)w->n * PRE_SLOTS * sizeof(double);
}

/* Windows the reader fills ahead of the save at most: the save takes them one at a time, and
 * what they hold is the save's memory (each up to WINDOW_READ_MAX and 94 KB of numbers). */
#define READER_AHEAD 8

static void *reader_thread(void *arg) {
  ra_t *ra = arg;
  pthread_setname_np(pthread_self(), "ts-reader");
  pthread_mutex_lock(&ra->lock);
  for (;;) {
    while (!ra->stop && (ra->fill_next == NULL || ra->held >= ra->held_max || ra->held_windows >= READER_AHEAD)) pthread_cond_wait(&ra->fill, &ra->lock);
    if (ra->stop) break;
    window_t *w = ra->fill_next;
    w->busy = true;
    pthread_mutex_unlock(&ra->lock);
    fill_window(ra, w);
    pthread_mutex_lock(&ra->lock);
    w->busy = false;
    if (w->orphan) {
      window_free(w);
      continue;
    }
    w->filled = true;
    w->read_ahead = true;
    ra->held += held_bytes(w);
    ra->held_windows++;
    window_t *x = w->next;
    while (x != NULL && x->filled) x = x->next;
    ra->fill_next = x;
    pthread_cond_broadcast(&ra->ready);
  }
  bool freed;
  ra_unref_locked(ra, &freed);
  pthread_mutex_unlock(&ra->lock);
  if (freed) ra_free(ra);
  return NULL;
}

static void *ra_thread(void *arg) {
  ra_t *ra = arg;
  pthread_setname_np(pthread_self(), "ts-walk"); /* named for probes (thread-cpu.mjs) */
  struct rusage ru;
  ra->inblock_at_start = getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_inblock : 0;
  for (;;) {
    pthread_mutex_lock(&ra->lock);
    while (!ra->stop && ra->roots_head == ra->nroots) {
      ra->idle = true;
      pthread_cond_broadcast(&ra->ready);
      pthread_cond_wait(&ra->go, &ra->lock);
    }
    if (ra->stop) { pthread_mutex_unlock(&ra->lock); break; }
    ra->idle = false;
    char *root = ra->roots[ra->roots_head];
    size_t rootlen = ra->rootlens[ra->roots_head];
    ra->roots_head++;
    pthread_mutex_unlock(&ra->lock);
    struct stat st;
    bool go = true;
    if (lstat(root, &st) != 0) emit_empty(ra, root, rootlen, true);
    else go = walk(ra, root, rootlen, st.st_dev);
    free(root);
    if (!go) break;
  }
  bool freed;
  pthread_mutex_lock(&ra->lock);
  ra->stop = true;
  ra->idle = true;
  pthread_cond_broadcast(&ra->ready);
  pthread_cond_broadcast(&ra->fill);
  pthread_cond_broadcast(&ra->warm);
  ra_unref_locked(ra, &freed);
  pthread_mutex_unlock(&ra->lock);
  if (freed) ra_free(ra);
  return NULL;
}

/* The JS handle: an External; closing (or collecting) it lets the thread go. */
typedef struct { ra_t *ra; } ra_handle_t;

static void ra_close(ra_handle_t *h) {
  if (h->ra == NULL) return;
  ra_t *ra = h->ra;
  h->ra = NULL;
  bool freed;
  pthread_mutex_lock(&ra->lock);
  ra->stop = true;
  for (window_t *w = ra->head, *nx; w != NULL; w = nx) {
    nx = w->next;
    if (w->busy) w->orphan = true;
    else window_free(w);
  }
  ra->head = ra->tail = ra->fill_next = NULL;
  pthread_cond_broadcast(&ra->go);
  pthread_cond_broadcast(&ra->ready);
  pthread_cond_broadcast(&ra->fill);
  pthread_cond_broadcast(&ra->warm);
  ra_unref_locked(ra, &freed);
  pthread_mutex_unlock(&ra->lock);
  if (freed) ra_free(ra);
}

static void ra_finalize(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  ra_close(data);
  free(data);
}

static bool get_named_double(napi_env env, napi_value o, const char *k, double *out) {
  napi_value v;
  napi_valuetype t;
  if (napi_get_named_property(env, o, k, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok || t != napi_number) return false;
  return napi_get_value_double(env, v, out) == napi_ok;
}

static bool get_named_bool(napi_env env, napi_value o, const char *k) {
  napi_value v;
  bool b = false;
  if (napi_get_named_property(env, o, k, &v) != napi_ok) return false;
  napi_get_value_bool(env, v, &b);
  return b;
}

/*
 * readAheadStart({ exclude: Buffer[], oneFileSystem, share, report, lookahead, lookaheadMiB,
 * contentsSince: number | null, contentMax }): External
 */
static napi_value ra_start_js(napi_env env, napi_callback_info info) {
  size_t argc = 1; napi_value argv[1], v, exv;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_valuetype t;
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_object || napi_get_named_property(env, argv[0], "exclude", &exv) != napi_ok) {
    napi_throw_type_error(env, NULL, "readAheadStart(options)");
    return NULL;
  }
  excludes_t *ex = excludes_from(env, exv);
  if (ex == NULL) return NULL;
  ra_t *ra = calloc(1, sizeof *ra);
  ra_handle_t *h = malloc(sizeof *h);
  if (ra == NULL || h == NULL) { free(ra); free(h); excludes_free(ex); napi_throw_error(env, NULL, "out of memory"); return NULL; }
  ra->ex = ex;
  ra->one_fs = get_named_bool(env, argv[0], "oneFileSystem");
  ra->share = get_named_bool(env, argv[0], "share");
  ra->report = get_named_bool(env, argv[0], "report");
  if (!get_named_double(env, argv[0], "lookahead", &ra->lookahead) || !get_named_double(env, argv[0], "lookaheadMiB", &ra->lookahead_mib) ||
      !get_named_double(env, argv[0], "contentMax", &ra->content_max)) {
    free(ra); free(h); excludes_free(ex);
    napi_throw_type_error(env, NULL, "readAheadStart: lookahead, lookaheadMiB and contentMax are numbers");
    return NULL;
  }
  ra->has_since = get_named_double(env, argv[0], "contentsSince", &ra->since_ms);
  double held_mib = 0;
  ra->preread = ra->share && ra->has_since && get_named_bool(env, argv[0], "preread") &&
                get_named_double(env, argv[0], "inlineMax", &ra->inline_max) && get_named_double(env, argv[0], "heldMiB", &held_mib);
  ra->held_max = held_mib * 1048576.0;
  pthread_mutex_init(&ra->lock, NULL);
  pthread_cond_init(&ra->go, NULL);
  pthread_cond_init(&ra->ready, NULL);
  pthread_cond_init(&ra->fill, NULL);
  pthread_cond_init(&ra->warm, NULL);
  ra->refs = ra->preread ? 3 : 2;
  pthread_t th;
  pthread_attr_t a;
  pthread_attr_init(&a);
  pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
  /* The walk recurses once a directory level (a few hundred bytes of stack each: paths are at
   * most PATH_MAX long, so at most ~2,000 levels). */
  pthread_attr_setstacksize(&a, 8 * 1024 * 1024);
  int r = pthread_create(&th, &a, ra_thread, ra);
  if (r == 0 && ra->preread) {
    pthread_attr_setstacksize(&a, 256 * 1024);
    if (pthread_create(&th, &a, reader_thread, ra) != 0) {
      /* No reader: the windows need none. Only the walk thread holds a reference besides ours. */
      pthread_mutex_lock(&ra->lock);
      ra->preread = false;
      ra->refs--;
      pthread_mutex_unlock(&ra->lock);
    }
  }
  if (r == 0) {
    /* Warmers hold a reference each; one that cannot start is not missed (the walk's queue
     * then waits for the others, or for nobody, and is freed with the rest). */
    pthread_attr_setstacksize(&a, 256 * 1024);
    for (int i = 0; i < WARMERS; i++) {
      pthread_mutex_lock(&ra->lock);
      ra->refs++;
      pthread_mutex_unlock(&ra->lock);
      if (pthread_create(&th, &a, warmer_thread, ra) != 0) {
        pthread_mutex_lock(&ra->lock);
        ra->refs--;
        pthread_mutex_unlock(&ra->lock);
        break;
      }
    }
  }
  pthread_attr_destroy(&a);
  if (r != 0) {
    ra_free(ra); free(h);
    napi_throw_error(env, NULL, "readAheadStart: cannot start a thread");
    return NULL;
  }
  h->ra = ra;
  if (napi_create_external(env, h, ra_finalize, NULL, &v) != napi_ok) return NULL;
  return v;
}

/* The arguments of a readAhead* call (n at most 3), the first the handle; NULL (a TypeError
 * thrown) when there are fewer or the first is not a handle. */
static ra_handle_t *handle_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  void *h = NULL;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < n || napi_get_value_external(env, argv[0], &h) != napi_ok || h == NULL) {
    napi_throw_type_error(env, NULL, "expected a read-ahead handle and its arguments");
    return NULL;
  }
  return h;
}

/* readAheadWalk(h, dir: Buffer): a recursive walk starts at dir. */
static napi_value ra_walk_js(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  ra_handle_t *h = handle_args(env, info, 2, argv);
  if (h == NULL) return NULL;
  void *data; size_t len; bool isbuf = false;
  if (napi_is_buffer(env, argv[1], &isbuf) != napi_ok || !isbuf || napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "readAheadWalk(handle, dir: Buffer)");
    return NULL;
  }
  ra_t *ra = h->ra;
  if (ra == NULL) return NULL;
  char *root = malloc(len + 1);
  if (root == NULL) return NULL;
  memcpy(root, data, len); root[len] = 0;
  pthread_mutex_lock(&ra->lock);
  if (ra->nroots == ra->roots_cap) {
    size_t cap = ra->roots_cap ? ra->roots_cap * 2 : 16;
    char **nr = realloc(ra->roots, cap * sizeof *nr);
    size_t *nl = nr ? realloc(ra->rootlens, cap * sizeof *nl) : NULL;
    if (nr) ra->roots = nr;
    if (nl) ra->rootlens = nl;
    if (nr == NULL || nl == NULL) { pthread_mutex_unlock(&ra->lock); free(root); return NULL; }
    ra->roots_cap = cap;
  }
  ra->roots[ra->nroots] = root;
  ra->rootlens[ra->nroots] = len;
  ra->nroots++;
  ra->idle = false;
  pthread_cond_broadcast(&ra->go);
  pthread_mutex_unlock(&ra->lock);
  return NULL;
}

/* readAheadProgress(h, entries, mibRead): the save's progress. */
static napi_value ra_progress_js(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  ra_handle_t *h = handle_args(env, info, 3, argv);
  if (h == NULL) return NULL;
  double entries = 0, mib = 0;
  napi_get_value_double(env, argv[1], &entries);
  napi_get_value_double(env, argv[2], &mib);
  ra_t *ra = h->ra;
  if (ra == NULL) return NULL;
  pthread_mutex_lock(&ra->lock);
  ra->their_entries = entries;
  ra->their_mib = mib;
  pthread_cond_broadcast(&ra->go);
  pthread_mutex_unlock(&ra->lock);
  return NULL;
}

static napi_value window_to_js(napi_env env, window_t *w) {
  napi_value o, v;
  napi_create_object(env, &o);
  if (w->listed) {
    void *tmp;
    napi_create_buffer_copy(env, w->dirlen, w->dir, &tmp, &v);
    napi_set_named_property(env, o, "listed", v);
    napi_create_uint32(env, w->from, &v);
    napi_set_named_property(env, o, "seen", v);
    return o;
  }
  napi_create_string_latin1(env, w->dir, w->dirlen, &v);
  napi_set_named_property(env, o, "dir", v);
  napi_create_uint32(env, w->from, &v); napi_set_named_property(env, o, "from", v);
  napi_create_uint32(env, w->to, &v); napi_set_named_property(env, o, "to", v);
  napi_create_uint32(env, w->total, &v); napi_set_named_property(env, o, "total", v);
  napi_get_boolean(env, w->failed, &v); napi_set_named_property(env, o, "failed", v);
  napi_value texts;
  napi_create_array_with_length(env, w->n, &texts);
  size_t at = 0;
  for (uint32_t k = 0; k < w->n; k++) {
    size_t l = strlen(w->names + at);
    napi_create_string_latin1(env, w->names + at, l, &v);
    napi_set_element(env, texts, k, v);
    at += l + 1;
  }
  napi_set_named_property(env, o, "texts", texts);
  napi_value ab, raw;
  void *abdata;
  size_t bytes = (size_t)w->n * LSTAT_SLOTS * sizeof(double);
  napi_create_arraybuffer(env, bytes, &abdata, &ab);
  if (bytes) memcpy(abdata, w->raw, bytes);
  napi_create_typedarray(env, napi_float64_array, (size_t)w->n * LSTAT_SLOTS, ab, 0, &raw);
  napi_set_named_property(env, o, "raw", raw);
  if (w->pre != NULL) {
    size_t pbytes = (size_t)w->n * PRE_SLOTS * sizeof(double);
    napi_create_arraybuffer(env, pbytes, &abdata, &ab);
    memcpy(abdata, w->pre, pbytes);
    napi_create_typedarray(env, napi_float64_array, (size_t)w->n * PRE_SLOTS, ab, 0, &raw);
    napi_set_named_property(env, o, "pre", raw);
    void *tmp;
    napi_create_buffer_copy(env, w->pre_len, w->pre_len ? w->pre_data : "", &tmp, &v);
    napi_set_named_property(env, o, "preData", v);
  }
  return o;
}

/*
 * readAheadTake(h, waitMs, entries): the next window or report, or null: none queued after
 * waiting up to waitMs (0: none). While waiting, the thread goes on whatever its limits, and
 * `entries` is the save's exact progress. "end" when none will come: the thread has stopped,
 * or has walked everything it was given.
 */
static napi_value ra_take_js(napi_env env, napi_callback_info info) {
  napi_value argv[3], v;
  ra_handle_t *h = handle_args(env, info, 3, argv);
  if (h == NULL) return NULL;
  double waitms = 0, entries = 0;
  napi_get_value_double(env, argv[1], &waitms);
  napi_get_value_double(env, argv[2], &entries);
  ra_t *ra = h->ra;
  if (ra == NULL) { napi_create_string_utf8(env, "end", NAPI_AUTO_LENGTH, &v); return v; }
  pthread_mutex_lock(&ra->lock);
  /* A window the reader has not filled yet is not taken: it is waited for like one to come. */
#define NOTHING_TO_TAKE (ra->head == NULL ? !ra->stop && !ra->idle : !ra->head->filled && !ra->stop)
  if (waitms > 0 && NOTHING_TO_TAKE) {
    ra->waiting = true;
    if (entries > ra->their_entries) ra->their_entries = entries;
    pthread_cond_broadcast(&ra->go);
    struct timespec ts = deadline_in(waitms);
    while (NOTHING_TO_TAKE) {
      if (pthread_cond_timedwait(&ra->ready, &ra->lock, &ts) == ETIMEDOUT) break;
    }
  }
#undef NOTHING_TO_TAKE
  window_t *w = ra->head != NULL && ra->head->filled ? ra->head : NULL;
  if (w != NULL) {
    ra->head = w->next;
    if (ra->head == NULL) ra->tail = NULL;
    ra->waiting = false;
    if (w->read_ahead) {
      ra->held -= held_bytes(w);
      ra->held_windows--;
      pthread_cond_signal(&ra->fill);
    }
  }
  bool end = ra->head == NULL && w == NULL && (ra->stop || ra->idle);
  pthread_mutex_unlock(&ra->lock);
  if (w == NULL) {
    if (end) napi_create_string_utf8(env, "end", NAPI_AUTO_LENGTH, &v);
    else napi_get_null(env, &v);
    return v;
  }
  v = window_to_js(env, w);
  window_free(w);
  return v;
}

/* readAheadWarmed(h): the directories the warmers have listed so far (tests, measurements). */
static napi_value ra_warmed_js(napi_env env, napi_callback_info info) {
  napi_value argv[1], v;
  ra_handle_t *h = handle_args(env, info, 1, argv);
  if (h == NULL) return NULL;
  double n = 0;
  if (h->ra != NULL) {
    pthread_mutex_lock(&h->ra->lock);
    n = h->ra->warmed;
    pthread_mutex_unlock(&h->ra->lock);
  }
  napi_create_double(env, n, &v);
  return v;
}

/* readAheadClose(h): the save is over; the thread ends at its next step. */
static napi_value ra_close_js(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  ra_handle_t *h = handle_args(env, info, 1, argv);
  if (h == NULL) return NULL;
  ra_close(h);
  return NULL;
}

void read_ahead_register(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    {"excluder", 0, excluder_js, 0, 0, 0, napi_default, 0},
    {"excludesPath", 0, excludes_path_js, 0, 0, 0, napi_default, 0},
    {"readAheadStart", 0, ra_start_js, 0, 0, 0, napi_default, 0},
    {"readAheadWalk", 0, ra_walk_js, 0, 0, 0, napi_default, 0},
    {"readAheadProgress", 0, ra_progress_js, 0, 0, 0, napi_default, 0},
    {"readAheadTake", 0, ra_take_js, 0, 0, 0, napi_default, 0},
    {"readAheadClose", 0, ra_close_js, 0, 0, 0, napi_default, 0},
    {"readAheadWarmed", 0, ra_warmed_js, 0, 0, 0, napi_default, 0},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
}
