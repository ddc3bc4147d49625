/*
 * The sock_diag transport: NETLINK_SOCK_DIAG sockets (here, or created inside another network
 * namespace by a thread that visits it for socket() alone), one request and its whole reply
 * per round trip, bounded in bytes, datagrams and time, and the fields of a reply that change
 * while its sockets stay the same zeroed for comparison. What JavaScript calls is in
 * sockdiag-napi.c; the change poller (poll-thread.c) uses pw_dump_compared from its thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/netlink.h>
#include <linux/inet_diag.h>
#include <linux/sock_diag.h>

#include "sockdiag.h"

/* The kernel sizes dump datagrams to the reader's buffer but caps them near 32 KiB;
 * asking for more than that means a datagram is never cut short. */
#define RECV_ROOM (64 * 1024)
/* Bound the receive loop far beyond any real table (60k sockets is ~10 MiB in ~300
 * datagrams), in bytes for memory and in datagrams for time. */
#define MAX_REPLY_BYTES (256 * 1024 * 1024)
#define MAX_DATAGRAMS 65536
/* A dump normally answers in microseconds; never let a lost reply hang the caller. */
#define RECV_TIMEOUT_SEC 5

int pw_fail(pw_failure_t *f, int err, const char *syscall, const char *path) {
  f->err = err;
  f->syscall = syscall;
  f->path = path;
  return -1;
}

int pw_diag_socket(pw_failure_t *f) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return pw_fail(f, errno, "socket", NULL);
  struct timeval tv = {.tv_sec = RECV_TIMEOUT_SEC, .tv_usec = 0};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    pw_fail(f, errno, "setsockopt", NULL);
    close(fd);
    return -1;
  }
  return fd;
}

typedef int (*socket_maker)(int arg, pw_failure_t *f);

/* Runs make() with the calling thread inside the network namespace at `path`. The
 * namespace of a socket is fixed at creation, so the thread only needs to visit the
 * namespace for socket() itself. */
static int make_socket_in(const char *path, socket_maker make, int arg, pw_failure_t *f) {
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) return pw_fail(f, errno, "open", path);
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) {
    pw_fail(f, errno, "open", "/proc/thread-self/ns/net");
    close(target);
    return -1;
  }
  int fd = -1;
  if (setns(target, CLONE_NEWNET) < 0) {
    pw_fail(f, errno, "setns", path);
  } else {
    fd = make(arg, f);
    /* Never leave the Node thread in a foreign namespace: every later socket would
     * silently live there. If we cannot get back, dying is the only safe answer. */
    if (setns(home, CLONE_NEWNET) < 0) {
      fprintf(stderr, "portwatch_sockdiag: cannot return to the original network namespace: %s\n",
              strerror(errno));
      abort();
    }
  }
  close(home);
  close(target);
  return fd;
}

static int make_diag_socket_arg(int unused, pw_failure_t *f) {
  (void)unused;
  return pw_diag_socket(f);
}

int pw_diag_socket_in(const char *path, pw_failure_t *f) {
  return make_socket_in(path, make_diag_socket_arg, 0, f);
}

/* A plain TCP socket, not yet connected: libuv makes it non-blocking when Node adopts it. */
static int make_stream_socket(int family, pw_failure_t *f) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return pw_fail(f, errno, "socket", NULL);
  return fd;
}

int pw_stream_socket_in(const char *path, int family, pw_failure_t *f) {
  return make_socket_in(path, make_stream_socket, family, f);
}

/* Both NLMSG_ERROR and NLMSG_DONE start with an int: 0, or a negative errno. DONE carries
 * one when the dump itself failed, e.g. -ENOENT for a protocol with no diag handler. */
static int end_errno(const struct nlmsghdr *h) {
  if (h->nlmsg_len < NLMSG_LENGTH(sizeof(int))) return h->nlmsg_type == NLMSG_ERROR ? EPROTO : 0;
  int value;
  memcpy(&value, NLMSG_DATA(h), sizeof value);
  return value < 0 ? -value : 0;
}

/* Scans one datagram for the end of the dump. Returns 1 at NLMSG_DONE or NLMSG_ERROR
 * (setting *nl_err to the positive errno of a failed dump, 0 otherwise), else 0. */
static int dump_finished(const char *buf, size_t len, int *nl_err) {
  const struct nlmsghdr *h = (const struct nlmsghdr *)buf;
  int left = (int)len;
  for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
      *nl_err = end_errno(h);
      return 1;
    }
  }
  return 0;
}

static int reserve(pw_buf_t *r, size_t room, pw_failure_t *f) {
  if (r->cap - r->len >= room) return 0;
  size_t cap = r->cap ? r->cap * 2 : room;
  while (cap - r->len < room) cap *= 2;
  char *data = realloc(r->data, cap);
  if (!data) return pw_fail(f, ENOMEM, "realloc", NULL);
  r->data = data;
  r->cap = cap;
  return 0;
}

/* Receives datagrams straight into the reply buffer until the dump ends. Datagrams that
 * answer another request (another sequence number) are stale and dropped: defence for
 * callers that reuse a socket after a failed dump (the TypeScript source closes it instead). */
static int receive_dump(int fd, uint32_t seq, pw_buf_t *r, pw_failure_t *f) {
  for (int datagrams = 0; datagrams < MAX_DATAGRAMS && r->len <= MAX_REPLY_BYTES; datagrams++) {
    if (reserve(r, RECV_ROOM, f) < 0) return -1;
    struct sockaddr_nl from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd, r->data + r->len, RECV_ROOM, MSG_TRUNC, (struct sockaddr *)&from, &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* SO_RCVTIMEO expiry reads as EAGAIN; say what it means. */
      return pw_fail(f, errno == EAGAIN ? ETIMEDOUT : errno, "recvfrom", NULL);
    }
    if ((size_t)n > RECV_ROOM) return pw_fail(f, EMSGSIZE, "recvfrom", NULL);
    /* Any local process may unicast to our port id; only the kernel (port 0) answers. */
    if (from.nl_pid != 0) continue;
    if ((size_t)n >= sizeof(struct nlmsghdr) && ((const struct nlmsghdr *)(r->data + r->len))->nlmsg_seq != seq) continue;
    int nl_err = 0;
    int finished = dump_finished(r->data + r->len, (size_t)n, &nl_err);
    r->len += (size_t)n;
    if (nl_err) return pw_fail(f, nl_err, "sock_diag", NULL);
    if (finished) return 0;
  }
  return pw_fail(f, EMSGSIZE, "recvfrom", NULL);
}

/* A socket may be shared by the Node thread and the change poller (poll-thread.c): one
 * round trip at a time, or one would read (and drop) the other's reply. */
pthread_mutex_t pw_diag_lock = PTHREAD_MUTEX_INITIALIZER;

/* One request and its whole reply on an open socket. */
static int dump_on_locked(int fd, const void *req, size_t req_len, pw_buf_t *r, pw_failure_t *f);

int pw_dump_on(int fd, const void *req, size_t req_len, pw_buf_t *r, pw_failure_t *f) {
  pthread_mutex_lock(&pw_diag_lock);
  int rc = dump_on_locked(fd, req, req_len, r, f);
  pthread_mutex_unlock(&pw_diag_lock);
  return rc;
}

static int dump_on_locked(int fd, const void *req, size_t req_len, pw_buf_t *r, pw_failure_t *f) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  uint32_t seq = 0;
  if (req_len >= sizeof(struct nlmsghdr)) seq = ((const struct nlmsghdr *)req)->nlmsg_seq;
  int rc = 0;
  ssize_t sent;
  do {
    sent = sendto(fd, req, req_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    rc = pw_fail(f, errno, "sendto", NULL);
  } else {
    rc = receive_dump(fd, seq, r, f);
  }
  return rc;
}

/* Zeroes what changes in a dump while its sockets stay the same (dumpOn in sockdiag-napi.c). Walks
 * only whole messages; a malformed tail is left as it is (and then compares as it is). */
void pw_zero_volatile(char *buf, size_t len) {
  struct nlmsghdr *h = (struct nlmsghdr *)buf;
  int left = (int)len;
  for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
    h->nlmsg_seq = 0;
    if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg))) {
      struct inet_diag_msg *m = NLMSG_DATA(h);
      m->idiag_expires = 0;
      m->idiag_rqueue = 0;
      m->idiag_wqueue = 0;
    }
  }
}

int pw_dump_compared(int fd, const void *req, size_t req_len, pw_buf_t *out, const char **syscall) {
  pw_failure_t failure = {0};
  out->len = 0;
  if (pw_dump_on(fd, req, req_len, out, &failure) < 0) {
    *syscall = failure.syscall;
    errno = failure.err;
    return -1;
  }
  pw_zero_volatile(out->data, out->len);
  return 0;
}

int pw_run_dump(const void *req, size_t req_len, const char *netns_path, pw_buf_t *r, pw_failure_t *f) {
  int fd = netns_path ? pw_diag_socket_in(netns_path, f) : pw_diag_socket(f);
  if (fd < 0) return -1;
  int rc = pw_dump_on(fd, req, req_len, r, f);
  close(fd);
  return rc;
}
