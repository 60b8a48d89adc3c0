/* Shared by the addon's C files: tarshift-fs.c, read-ahead.c, objects-exist.c, put-objects.c, get-objects.c. */
#ifndef TARSHIFT_READ_AHEAD_H
#define TARSHIFT_READ_AHEAD_H
#include <node_api.h>

/* Numbers per name in lstatMany's output (lib/fs/file-stat.ts). */
#define LSTAT_SLOTS 18

/* Open, posix_fadvise(WILLNEED) the whole file, close: 0 or an errno (tarshift-fs.c). */
int advise_file(const char *path);

/* "ENOENT" and the like, for an Error's .code (tarshift-fs.c). */
const char *errno_name(int e);

/* Add objectsExist (objects-exist.c), putObjects, refreshObjects and syncFiles
 * (put-objects.c), getObjects (get-objects.c) to the addon's exports. */
void objects_exist_register(napi_env env, napi_value exports);
void put_objects_register(napi_env env, napi_value exports);
void get_objects_register(napi_env env, napi_value exports);

/* Adds excluder, excludesPath and the readAhead* functions to the addon's exports. */
void read_ahead_register(napi_env env, napi_value exports);
#endif
