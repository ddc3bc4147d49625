/*
 * watchGone(fd, onGone): handle
 *   A thread that waits in poll(2) on `fd` (the process's stdout, a pipe or a socket) for the
 *   kernel to report it broken (POLLERR: every reader of the pipe is gone; POLLHUP: the peer
 *   hung up), then calls onGone() once on the Node thread and ends. A command that prints
 *   only when something happens (`watch | head -1`) otherwise learns that its reader left at
 *   its next write, which on a quiet host may be never. It costs nothing while it waits: no
 *   timer, no wake-up. The callback never keeps the process alive.
 * stopGone(handle): stops and joins the thread. Idempotent.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <node_api.h>

#include "portwatch.h"
#include "threads.h"

typedef struct {
  napi_env env;
  int fd;
  int wakefd;
  int running;
  pthread_t thread;
  napi_threadsafe_function tsfn;
} gone_t;

static void *gone_main(void *arg) {
  gone_t *g = arg;
  for (;;) {
    struct pollfd fds[2] = {{.fd = g->fd, .events = 0}, {.fd = g->wakefd, .events = POLLIN}};
    int rc = poll(fds, 2, -1);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0 || (fds[1].revents & POLLIN)) return NULL; /* stopped (or poll cannot work: say nothing) */
    if (fds[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
      napi_call_threadsafe_function(g->tsfn, NULL, napi_tsfn_nonblocking);
      return NULL;
    }
  }
}

static void call_gone(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  (void)data;
  if (env == NULL || js_cb == NULL) return;
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  napi_call_function(env, undefined, js_cb, 0, NULL, NULL);
}

static void stop(gone_t *g, int from_cleanup_hook);

static void cleanup_hook(void *arg) {
  stop(arg, 1);
}

static void stop(gone_t *g, int from_cleanup_hook) {
  if (!g->running) return;
  g->running = 0;
  if (!from_cleanup_hook) napi_remove_env_cleanup_hook(g->env, cleanup_hook, g);
  uint64_t one = 1;
  ssize_t rc = write(g->wakefd, &one, sizeof one);
  (void)rc; /* EAGAIN: already non-zero, the thread wakes */
  pthread_join(g->thread, NULL);
  napi_release_threadsafe_function(g->tsfn, napi_tsfn_abort);
  close(g->wakefd);
}

static void finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  stop(data, 0);
  free(data);
}

static napi_value watch_gone(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int fd;
  if (pw_read_fd(env, args[0], &fd, "fd must be a file descriptor") < 0) return NULL;
  if (pw_read_function(env, args[1], "onGone must be a function") < 0) return NULL;
  gone_t *g = calloc(1, sizeof *g);
  if (g == NULL) {
    pw_throw_errno(env, ENOMEM, "calloc", NULL);
    return NULL;
  }
  g->env = env;
  g->fd = fd;
  g->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (g->wakefd < 0) {
    int err = errno;
    free(g);
    pw_throw_errno(env, err, "eventfd", NULL);
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "portwatch output watcher", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, args[1], NULL, name, 0, 1, NULL, NULL, NULL, call_gone, &g->tsfn) != napi_ok) {
    close(g->wakefd);
    free(g);
    pw_throw_errno(env, ENOMEM, "napi_create_threadsafe_function", NULL);
    return NULL;
  }
  napi_unref_threadsafe_function(env, g->tsfn);
  int rc = pw_thread_start(&g->thread, NULL, gone_main, g);
  if (rc != 0) {
    napi_release_threadsafe_function(g->tsfn, napi_tsfn_abort);
    close(g->wakefd);
    free(g);
    pw_throw_errno(env, rc, "pthread_create", NULL);
    return NULL;
  }
  g->running = 1;
  napi_value handle;
  if (napi_create_external(env, g, finalize, NULL, &handle) != napi_ok) {
    stop(g, 1);
    free(g);
    pw_throw_errno(env, ENOMEM, "napi_create_external", NULL);
    return NULL;
  }
  napi_add_env_cleanup_hook(env, cleanup_hook, g);
  return handle;
}

static napi_value stop_gone(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  void *data;
  if (pw_read_external(env, args[0], &data, "handle must come from watchGone()") < 0) return NULL;
  stop(data, 0);
  return NULL;
}

void pw_gone_export(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"watchGone", NULL, watch_gone, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stopGone", NULL, stop_gone, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
