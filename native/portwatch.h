/* What the addon's C files share. */
#ifndef PORTWATCH_H
#define PORTWATCH_H

#include <node_api.h>

/* The errno's name ("ECONNRESET"), or "UNKNOWN"; musl has no strerrorname_np. */
const char *pw_errno_name(int e);

/* Throws like Node's system errors: code (the errno's name), errno (negative), syscall, and
 * path when not NULL. */
void pw_throw_errno(napi_env env, int err, const char *syscall, const char *path);

/* Reads a socket descriptor argument into *fd; throws a TypeError with `message` and returns
 * -1 when it is not one. */
int pw_read_fd(napi_env env, napi_value arg, int *fd, const char *message);

/* Adds the splice relay's functions (relay.c) to the addon's exports. */
void pw_relay_export(napi_env env, napi_value exports);

/* Adds the threaded owner walk (fd-walk.c) to the addon's exports. */
void pw_fdwalk_export(napi_env env, napi_value exports);

#endif
