/*
 * portwatch_sockdiag: one netlink sock_diag round trip, nothing more.
 *
 * dump(request: Buffer, netnsPath?: string): Buffer
 *   Sends `request` (a complete netlink message built in TypeScript) on a fresh
 *   NETLINK_SOCK_DIAG socket and returns every reply datagram concatenated, up to and
 *   including NLMSG_DONE. All parsing happens in TypeScript, where it can be tested.
 *   With netnsPath, the socket is created inside that network namespace; the calling
 *   thread is always switched back before this function returns or throws.
 *
 * openSocket(netnsPath?: string): number
 * dumpOn(fd: number, request: Buffer, previous?: Buffer | null): Buffer
 * closeSocket(fd: number): void
 *   The same round trip on a socket kept open across scans: a watcher scanning every
 *   100 ms then pays for sendto and recvfrom only, not for socket/setsockopt/close four
 *   times a scan. Replies to another request are told apart by sequence number and dropped.
 *   With a third argument (a Buffer or null), the reply's fields that change while a socket
 *   stays the same are zeroed (each message's nlmsg_seq; a socket's idiag_expires,
 *   idiag_rqueue and idiag_wqueue: queue lengths), and when the rest is byte for byte
 *   `previous`, `previous` itself is returned: a quiet scan allocates nothing and the caller
 *   can keep what it parsed from it.
 *
 * streamSocketIn(netnsPath: string, family: 4 | 6): number
 *   A TCP socket created inside another network namespace (for forwarding), handed to Node
 *   as an fd; the thread is switched back as for dump().
 *
 * relayInit / relayStart / relayCut: the forward's splice data plane, in relay.c.
 *
 * Errors are thrown like Node's own system errors: code (errno name), errno (negative),
 * syscall, and path when a path was involved.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
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

#include <node_api.h>

#include "portwatch.h"

/* The kernel sizes dump datagrams to the reader's buffer but caps them near 32 KiB;
 * asking for more than that means a datagram is never cut short. */
#define RECV_ROOM (64 * 1024)
/* Bound the receive loop far beyond any real table (60k sockets is ~10 MiB in ~300
 * datagrams), in bytes for memory and in datagrams for time. */
#define MAX_REPLY_BYTES (256 * 1024 * 1024)
#define MAX_DATAGRAMS 65536
/* A dump normally answers in microseconds; never let a lost reply hang the caller. */
#define RECV_TIMEOUT_SEC 5

typedef struct {
  int err;             /* errno value, 0 when nothing failed */
  const char *syscall; /* what failed, for the message and the `syscall` property */
  const char *path;    /* the path involved, or NULL */
} failure_t;

typedef pw_buf_t reply_t;

static int fail(failure_t *f, int err, const char *syscall, const char *path) {
  f->err = err;
  f->syscall = syscall;
  f->path = path;
  return -1;
}

/* The errnos this addon can meet; musl has no strerrorname_np, so name them here. */
const char *pw_errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTONOSUPPORT: return "EPROTONOSUPPORT";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOBUFS: return "ENOBUFS";
    case EPROTO: return "EPROTO";
    case ENODATA: return "ENODATA";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECONNREFUSED: return "ECONNREFUSED";
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case ECONNABORTED: return "ECONNABORTED";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOTCONN: return "ENOTCONN";
    case EHOSTUNREACH: return "EHOSTUNREACH";
    case ENETUNREACH: return "ENETUNREACH";
    case ENETDOWN: return "ENETDOWN";
    case ENOSPC: return "ENOSPC";
    default: return "UNKNOWN";
  }
}

static int make_diag_socket(failure_t *f) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return fail(f, errno, "socket", NULL);
  struct timeval tv = {.tv_sec = RECV_TIMEOUT_SEC, .tv_usec = 0};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) {
    fail(f, errno, "setsockopt", NULL);
    close(fd);
    return -1;
  }
  return fd;
}

typedef int (*socket_maker)(int arg, failure_t *f);

/* Runs make() with the calling thread inside the network namespace at `path`. The
 * namespace of a socket is fixed at creation, so the thread only needs to visit the
 * namespace for socket() itself. */
static int make_socket_in(const char *path, socket_maker make, int arg, failure_t *f) {
  int target = open(path, O_RDONLY | O_CLOEXEC);
  if (target < 0) return fail(f, errno, "open", path);
  int home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (home < 0) {
    fail(f, errno, "open", "/proc/thread-self/ns/net");
    close(target);
    return -1;
  }
  int fd = -1;
  if (setns(target, CLONE_NEWNET) < 0) {
    fail(f, errno, "setns", path);
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

static int make_diag_socket_arg(int unused, failure_t *f) {
  (void)unused;
  return make_diag_socket(f);
}

static int make_diag_socket_in(const char *path, failure_t *f) {
  return make_socket_in(path, make_diag_socket_arg, 0, f);
}

/* A plain TCP socket, not yet connected: libuv makes it non-blocking when Node adopts it. */
static int make_stream_socket(int family, failure_t *f) {
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(f, errno, "socket", NULL);
  return fd;
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

static int reserve(reply_t *r, size_t room, failure_t *f) {
  if (r->cap - r->len >= room) return 0;
  size_t cap = r->cap ? r->cap * 2 : room;
  while (cap - r->len < room) cap *= 2;
  char *data = realloc(r->data, cap);
  if (!data) return fail(f, ENOMEM, "realloc", NULL);
  r->data = data;
  r->cap = cap;
  return 0;
}

/* Receives datagrams straight into the reply buffer until the dump ends. Datagrams that
 * answer another request (another sequence number) are stale and dropped: defence for
 * callers that reuse a socket after a failed dump (the TypeScript source closes it instead). */
static int receive_dump(int fd, uint32_t seq, reply_t *r, failure_t *f) {
  for (int datagrams = 0; datagrams < MAX_DATAGRAMS && r->len <= MAX_REPLY_BYTES; datagrams++) {
    if (reserve(r, RECV_ROOM, f) < 0) return -1;
    struct sockaddr_nl from;
    socklen_t from_len = sizeof from;
    ssize_t n = recvfrom(fd, r->data + r->len, RECV_ROOM, MSG_TRUNC, (struct sockaddr *)&from, &from_len);
    if (n < 0) {
      if (errno == EINTR) continue;
      /* SO_RCVTIMEO expiry reads as EAGAIN; say what it means. */
      return fail(f, errno == EAGAIN ? ETIMEDOUT : errno, "recvfrom", NULL);
    }
    if ((size_t)n > RECV_ROOM) return fail(f, EMSGSIZE, "recvfrom", NULL);
    /* Any local process may unicast to our port id; only the kernel (port 0) answers. */
    if (from.nl_pid != 0) continue;
    if ((size_t)n >= sizeof(struct nlmsghdr) && ((const struct nlmsghdr *)(r->data + r->len))->nlmsg_seq != seq) continue;
    int nl_err = 0;
    int finished = dump_finished(r->data + r->len, (size_t)n, &nl_err);
    r->len += (size_t)n;
    if (nl_err) return fail(f, nl_err, "sock_diag", NULL);
    if (finished) return 0;
  }
  return fail(f, EMSGSIZE, "recvfrom", NULL);
}

/* A socket may be shared by the Node thread and the change poller (poll-thread.c): one
 * round trip at a time, or one would read (and drop) the other's reply. */
pthread_mutex_t pw_diag_lock = PTHREAD_MUTEX_INITIALIZER;

/* One request and its whole reply on an open socket. */
static int dump_on_locked(int fd, const void *req, size_t req_len, reply_t *r, failure_t *f);

static int dump_on(int fd, const void *req, size_t req_len, reply_t *r, failure_t *f) {
  pthread_mutex_lock(&pw_diag_lock);
  int rc = dump_on_locked(fd, req, req_len, r, f);
  pthread_mutex_unlock(&pw_diag_lock);
  return rc;
}

static int dump_on_locked(int fd, const void *req, size_t req_len, reply_t *r, failure_t *f) {
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  uint32_t seq = 0;
  if (req_len >= sizeof(struct nlmsghdr)) seq = ((const struct nlmsghdr *)req)->nlmsg_seq;
  int rc = 0;
  ssize_t sent;
  do {
    sent = sendto(fd, req, req_len, 0, (struct sockaddr *)&kernel, sizeof kernel);
  } while (sent < 0 && errno == EINTR);
  if (sent < 0) {
    rc = fail(f, errno, "sendto", NULL);
  } else {
    rc = receive_dump(fd, seq, r, f);
  }
  return rc;
}

/* Zeroes what changes in a dump while its sockets stay the same (see dumpOn above). Walks
 * only whole messages; a malformed tail is left as it is (and then compares as it is). */
static void zero_volatile(char *buf, size_t len) {
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
  failure_t failure = {0};
  out->len = 0;
  if (dump_on(fd, req, req_len, out, &failure) < 0) {
    *syscall = failure.syscall;
    errno = failure.err;
    return -1;
  }
  zero_volatile(out->data, out->len);
  return 0;
}

static int run_dump(const void *req, size_t req_len, const char *netns_path, reply_t *r, failure_t *f) {
  int fd = netns_path ? make_diag_socket_in(netns_path, f) : make_diag_socket(f);
  if (fd < 0) return -1;
  int rc = dump_on(fd, req, req_len, r, f);
  close(fd);
  return rc;
}

void pw_throw_errno(napi_env env, int err, const char *syscall, const char *path) {
  char message[PATH_MAX + 128];
  if (path) {
    snprintf(message, sizeof message, "%s %s: %s", syscall, path, strerror(err));
  } else {
    snprintf(message, sizeof message, "%s: %s", syscall, strerror(err));
  }
  napi_value code, msg, error, errno_value, syscall_value, path_value;
  napi_create_string_utf8(env, pw_errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
  napi_create_error(env, code, msg, &error);
  napi_create_int32(env, -err, &errno_value);
  napi_set_named_property(env, error, "errno", errno_value);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &syscall_value);
  napi_set_named_property(env, error, "syscall", syscall_value);
  if (path) {
    napi_create_string_utf8(env, path, NAPI_AUTO_LENGTH, &path_value);
    napi_set_named_property(env, error, "path", path_value);
  }
  napi_throw(env, error);
}

static void throw_failure(napi_env env, const failure_t *f) {
  pw_throw_errno(env, f->err, f->syscall, f->path);
}

/* Reads the optional namespace path; returns 1 when given, 0 when absent, -1 on a bad value. */
static int read_netns_arg(napi_env env, napi_value arg, char *out, size_t out_size) {
  napi_valuetype type;
  napi_typeof(env, arg, &type);
  if (type == napi_undefined) return 0;
  size_t len = 0;
  if (type != napi_string || napi_get_value_string_utf8(env, arg, out, out_size, &len) != napi_ok ||
      len == 0 || len >= out_size - 1) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "netnsPath must be a non-empty path string");
    return -1;
  }
  return 1;
}

static napi_value dump(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2]; /* missing arguments arrive as undefined */
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);

  bool is_buffer = false;
  napi_is_buffer(env, args[0], &is_buffer);
  if (!is_buffer) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "request must be a Buffer");
    return NULL;
  }
  void *req;
  size_t req_len;
  napi_get_buffer_info(env, args[0], &req, &req_len);

  char netns_path[PATH_MAX];
  int has_netns = read_netns_arg(env, args[1], netns_path, sizeof netns_path);
  if (has_netns < 0) return NULL;

  reply_t reply = {0};
  failure_t failure = {0};
  napi_value result = NULL;
  if (run_dump(req, req_len, has_netns ? netns_path : NULL, &reply, &failure) < 0) {
    throw_failure(env, &failure);
  } else {
    napi_create_buffer_copy(env, reply.len, reply.data, NULL, &result);
  }
  free(reply.data);
  return result;
}

int pw_read_fd(napi_env env, napi_value arg, int *fd, const char *message) {
  napi_valuetype type;
  napi_typeof(env, arg, &type);
  if (type != napi_number || napi_get_value_int32(env, arg, fd) != napi_ok || *fd < 0) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return -1;
  }
  return 0;
}

static int read_fd_arg(napi_env env, napi_value arg, int *fd) {
  return pw_read_fd(env, arg, fd, "fd must be a socket descriptor from openSocket()");
}

static napi_value open_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  char netns_path[PATH_MAX];
  int has_netns = read_netns_arg(env, args[0], netns_path, sizeof netns_path);
  if (has_netns < 0) return NULL;
  failure_t failure = {0};
  int fd = has_netns ? make_diag_socket_in(netns_path, &failure) : make_diag_socket(&failure);
  if (fd < 0) {
    throw_failure(env, &failure);
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static napi_value dump_on_socket(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int fd;
  if (read_fd_arg(env, args[0], &fd) < 0) return NULL;
  bool is_buffer = false;
  napi_is_buffer(env, args[1], &is_buffer);
  if (!is_buffer) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "request must be a Buffer");
    return NULL;
  }
  void *req;
  size_t req_len;
  napi_get_buffer_info(env, args[1], &req, &req_len);
  /* Third argument: absent = plain reply; null = normalized; a Buffer = normalized and compared. */
  napi_valuetype third;
  napi_typeof(env, args[2], &third);
  bool normalize = third != napi_undefined;
  void *prev = NULL;
  size_t prev_len = 0;
  if (normalize && third != napi_null) {
    bool prev_is_buffer = false;
    napi_is_buffer(env, args[2], &prev_is_buffer);
    if (!prev_is_buffer) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "previous must be a Buffer or null");
      return NULL;
    }
    napi_get_buffer_info(env, args[2], &prev, &prev_len);
  }
  reply_t reply = {0};
  failure_t failure = {0};
  napi_value result = NULL;
  if (dump_on(fd, req, req_len, &reply, &failure) < 0) {
    throw_failure(env, &failure);
  } else {
    if (normalize) zero_volatile(reply.data, reply.len);
    if (prev != NULL && prev_len == reply.len && memcmp(prev, reply.data, reply.len) == 0) {
      result = args[2];
    } else {
      napi_create_buffer_copy(env, reply.len, reply.data, NULL, &result);
    }
  }
  free(reply.data);
  return result;
}

static napi_value close_socket(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int fd;
  if (read_fd_arg(env, args[0], &fd) < 0) return NULL;
  if (close(fd) < 0 && errno != EINTR) {
    failure_t failure = {0};
    fail(&failure, errno, "close", NULL);
    throw_failure(env, &failure);
  }
  return NULL;
}

/* streamSocketIn(netnsPath, family): a TCP socket created inside another network
 * namespace, for `portwatch forward`: connect() on it reaches that namespace's listeners,
 * its 127.0.0.1 included, while the fd lives in this process. family: 4 or 6. */
static napi_value stream_socket_in(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  char netns_path[PATH_MAX];
  int has_netns = read_netns_arg(env, args[0], netns_path, sizeof netns_path);
  if (has_netns < 0) return NULL;
  if (!has_netns) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "netnsPath is required");
    return NULL;
  }
  int32_t family = 0;
  if (napi_get_value_int32(env, args[1], &family) != napi_ok || (family != 4 && family != 6)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "family must be 4 or 6");
    return NULL;
  }
  failure_t failure = {0};
  int fd = make_socket_in(netns_path, make_stream_socket, family == 6 ? AF_INET6 : AF_INET, &failure);
  if (fd < 0) {
    throw_failure(env, &failure);
    return NULL;
  }
  napi_value result;
  napi_create_int32(env, fd, &result);
  return result;
}

static void export_function(napi_env env, napi_value exports, const char *name, napi_callback cb) {
  napi_value fn;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, cb, NULL, &fn);
  napi_set_named_property(env, exports, name, fn);
}

static napi_value init(napi_env env, napi_value exports) {
  export_function(env, exports, "dump", dump);
  export_function(env, exports, "openSocket", open_socket);
  export_function(env, exports, "dumpOn", dump_on_socket);
  export_function(env, exports, "closeSocket", close_socket);
  export_function(env, exports, "streamSocketIn", stream_socket_in);
  pw_relay_export(env, exports);
  pw_fdwalk_export(env, exports);
  pw_poller_export(env, exports);
  pw_exit_export(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
