/*
 * portwatch_sockdiag, the addon: its entry point, and the sock_diag functions JavaScript calls
 * (the transport itself is sockdiag.c). One netlink sock_diag round trip, nothing more.
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
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>

#include "sockdiag.h"

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

static void throw_failure(napi_env env, const pw_failure_t *f) {
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

  void *req;
  size_t req_len;
  if (pw_read_buffer(env, args[0], &req, &req_len, "request must be a Buffer") < 0) return NULL;

  char netns_path[PATH_MAX];
  int has_netns = read_netns_arg(env, args[1], netns_path, sizeof netns_path);
  if (has_netns < 0) return NULL;

  pw_buf_t reply = {0};
  pw_failure_t failure = {0};
  napi_value result = NULL;
  if (pw_run_dump(req, req_len, has_netns ? netns_path : NULL, &reply, &failure) < 0) {
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

int pw_read_function(napi_env env, napi_value arg, const char *message) {
  napi_valuetype type;
  napi_typeof(env, arg, &type);
  if (type == napi_function) return 0;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return -1;
}

int pw_read_external(napi_env env, napi_value arg, void **data, const char *message) {
  napi_valuetype type;
  napi_typeof(env, arg, &type);
  *data = NULL;
  if (type == napi_external && napi_get_value_external(env, arg, data) == napi_ok && *data != NULL) return 0;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return -1;
}

int pw_read_buffer(napi_env env, napi_value arg, void **data, size_t *len, const char *message) {
  bool is_buffer = false;
  napi_is_buffer(env, arg, &is_buffer);
  if (is_buffer && napi_get_buffer_info(env, arg, data, len) == napi_ok) return 0;
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return -1;
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
  pw_failure_t failure = {0};
  int fd = has_netns ? pw_diag_socket_in(netns_path, &failure) : pw_diag_socket(&failure);
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
  void *req;
  size_t req_len;
  if (pw_read_buffer(env, args[1], &req, &req_len, "request must be a Buffer") < 0) return NULL;
  /* Third argument: absent = plain reply; null = normalized; a Buffer = normalized and compared. */
  napi_valuetype third;
  napi_typeof(env, args[2], &third);
  bool normalize = third != napi_undefined;
  void *prev = NULL;
  size_t prev_len = 0;
  if (normalize && third != napi_null && pw_read_buffer(env, args[2], &prev, &prev_len, "previous must be a Buffer or null") < 0) return NULL;
  pw_buf_t reply = {0};
  pw_failure_t failure = {0};
  napi_value result = NULL;
  if (pw_dump_on(fd, req, req_len, &reply, &failure) < 0) {
    throw_failure(env, &failure);
  } else {
    if (normalize) pw_zero_volatile(reply.data, reply.len);
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
    pw_failure_t failure = {0};
    pw_fail(&failure, errno, "close", NULL);
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
  pw_failure_t failure = {0};
  int fd = pw_stream_socket_in(netns_path, family == 6 ? AF_INET6 : AF_INET, &failure);
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
  pw_gone_export(env, exports);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
