/* The sock_diag transport (sockdiag.c) as the addon's N-API glue (sockdiag-napi.c) uses it. */
#ifndef PORTWATCH_SOCKDIAG_H
#define PORTWATCH_SOCKDIAG_H

#include <stddef.h>

#include "portwatch.h"

/* What failed: the errno value (0 when nothing did), the syscall, and the path involved or NULL. */
typedef struct {
  int err;
  const char *syscall;
  const char *path;
} pw_failure_t;

/* Records a failure in *f; returns -1. */
int pw_fail(pw_failure_t *f, int err, const char *syscall, const char *path);

/* A NETLINK_SOCK_DIAG socket with a receive timeout, here or inside the network namespace at
 * `path` (the calling thread always comes back); -1 with *f set on failure. */
int pw_diag_socket(pw_failure_t *f);
int pw_diag_socket_in(const char *path, pw_failure_t *f);

/* A TCP socket (AF_INET or AF_INET6), not connected, created inside the namespace at `path`. */
int pw_stream_socket_in(const char *path, int family, pw_failure_t *f);

/* One request and its whole reply into *r: on `fd` (under pw_diag_lock), or on a fresh socket
 * (inside the namespace at netns_path when not NULL). 0, or -1 with *f set. */
int pw_dump_on(int fd, const void *req, size_t req_len, pw_buf_t *r, pw_failure_t *f);
int pw_run_dump(const void *req, size_t req_len, const char *netns_path, pw_buf_t *r, pw_failure_t *f);

/* Zeroes what changes in a dump while its sockets stay the same: nlmsg_seq, idiag_expires,
 * idiag_rqueue, idiag_wqueue. */
void pw_zero_volatile(char *buf, size_t len);

#endif
