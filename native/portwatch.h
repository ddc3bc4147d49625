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

/* The same for the other arguments the addon takes: 0 when `arg` is a function; the data of an
 * external (a handle the addon made) in *data, never NULL; a Buffer's bytes. -1 after a
 * TypeError with `message` otherwise. */
int pw_read_function(napi_env env, napi_value arg, const char *message);
int pw_read_external(napi_env env, napi_value arg, void **data, const char *message);
int pw_read_buffer(napi_env env, napi_value arg, void **data, size_t *len, const char *message);

#include <pthread.h>

/* Held for each sock_diag round trip: the Node thread and the change poller share a socket. */
extern pthread_mutex_t pw_diag_lock;

/* A growable byte buffer. */
typedef struct {
  char *data;
  size_t len;
  size_t cap;
} pw_buf_t;

/* One sock_diag request and its whole reply on `fd` into *out (reused, grown as needed), with
 * the fields that change while a socket stays the same zeroed (see dumpOn in sockdiag.c).
 * Returns 0, or -1 with errno set and *syscall naming what failed. */
int pw_dump_compared(int fd, const void *req, size_t req_len, pw_buf_t *out, const char **syscall);

/* Adds the change poller's functions (poll-thread.c) to the addon's exports. */
void pw_poller_export(napi_env env, napi_value exports);

/* Adds the splice relay's functions (relay.c) to the addon's exports. */
void pw_relay_export(napi_env env, napi_value exports);

/* Adds the threaded owner walk (fd-walk.c) to the addon's exports. */
void pw_fdwalk_export(napi_env env, napi_value exports);

/* Adds exitNow (exit-now.c) to the addon's exports. */
void pw_exit_export(napi_env env, napi_value exports);

/* Adds watchGone / stopGone (output-gone.c) to the addon's exports. */
void pw_gone_export(napi_env env, napi_value exports);

#endif
