/*
 * The change poller: polling for listeners without waking Node.
 *
 * A Node process that wakes on a timer pays CPU per wake-up before its callback does anything
 * (the kernel's timer and scheduler, libuv's loop, caches refilled after sleeping: a bare
 * `setInterval(() => {}, 100)` idles at ~0.22 % of a core here, bench/run.mjs prints it), and
 * the JavaScript that asks, compares and finds nothing new costs more again. This thread
 * does the asking instead: it sends the sock_diag dumps, compares each reply with the last
 * one (volatile fields zeroed), and wakes Node only when one differs. The watcher then scans
 * as it does for a tracefs hint.
 *
 * Its interval follows the watcher's policy, priced on this thread's own CPU per round
 * (CLOCK_THREAD_CPUTIME_ID): the median of the last rounds divided by the budget, within
 * [minMs, maxMs]; or a fixed interval. Nothing the host program does is charged to it. When
 * a round costs more than the budget allows every minMs (thousands of listeners), it reads the
 * kernel's socket counts every minMs instead and dumps when they moved (poll-pace.h,
 * sock-counters.h); a round that finds a change is paid by it, not by the budget.
 *
 * pollStart(fd, requests: Buffer[], policy, onEvent, netDir?): handle
 *   Shares `fd` (a sock_diag socket from openSocket(); the poller keeps a dup of it, closed by
 *   pollStop, and the caller's own stays the caller's) and copies the requests. Round trips
 *   take turns under pw_diag_lock, so the caller's dumps on the same socket stay correct. The first replies are read before it returns, so a change between pollStart
 *   and the caller's own first scan is still reported. policy: { cpuBudget, minMs, maxMs,
 *   fixedMs? }. netDir: the /proc/<pid>/net of the namespace the socket reads, for its socket
 *   counts (without it, or where they cannot be read, every wake dumps). onEvent('change') when a reply differs (calls coalesce until it has run);
 *   onEvent('error', code, message) once when a dump fails, after which the thread has ended.
 * pollStop(handle): stops and joins the thread, closes the fd. Idempotent.
 * pollStats(handle): { running: true, looks, changes, intervalMs, lastLookUs, counted } (looks:
 *   rounds of dumps; intervalMs: between them as the budget sets it; lastLookUs: the last one's
 *   CPU; counted: wakes the socket counts answered without a dump), or { running: false } once
 *   stopped.
 *
 * The thread never keeps the process alive (its callback is unref'd); an environment that
 * is torn down stops it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <linux/netlink.h>

#include "poll-thread.h"
#include "threads.h"

/* The JavaScript handle's data: outlives the poller, so a stopped handle stays safe to use. */
typedef struct {
  napi_env env;
  poller_t *p;
} handle_t;

/* Runs on the Node thread for each event the poller queued. */
static void deliver(napi_env env, napi_value js_cb, void *context, void *data) {
  poller_t *p = context;
  event_t *ev = data;
  if (env == NULL || js_cb == NULL) {
    free(ev);
    return;
  }
  if (ev->err == 0) atomic_store(&p->pending, 0);
  napi_value argv[3], undefined;
  napi_get_undefined(env, &undefined);
  int argc = 1;
  if (ev->err == 0) {
    napi_create_string_utf8(env, "change", NAPI_AUTO_LENGTH, &argv[0]);
  } else {
    napi_create_string_utf8(env, "error", NAPI_AUTO_LENGTH, &argv[0]);
    napi_create_string_utf8(env, pw_errno_name(ev->err), NAPI_AUTO_LENGTH, &argv[1]);
    char message[160];
    snprintf(message, sizeof message, "%s: %s", ev->syscall ? ev->syscall : "sock_diag", strerror(ev->err));
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &argv[2]);
    argc = 3;
  }
  free(ev);
  napi_call_function(env, undefined, js_cb, (size_t)argc, argv, NULL);
}

static void finalize_poller(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  pw_poller_free(data);
}

/* Stops the thread (if any) and lets the callback's finalizer free the poller. */
static void stop_handle(handle_t *h, int from_cleanup_hook);

static void cleanup_hook(void *arg) {
  stop_handle(arg, 1);
}

static void stop_handle(handle_t *h, int from_cleanup_hook) {
  poller_t *p = h->p;
  if (p == NULL) return;
  h->p = NULL;
  if (!from_cleanup_hook) napi_remove_env_cleanup_hook(h->env, cleanup_hook, h);
  atomic_store(&p->quit, 1);
  uint64_t one = 1;
  ssize_t rc = write(p->wakefd, &one, sizeof one);
  (void)rc; /* EAGAIN: the counter is already non-zero, the thread will wake */
  pthread_join(p->thread, NULL);
  napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort); /* finalize_poller frees p */
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  stop_handle(data, 0);
  free(data);
}

static int read_policy_number(napi_env env, napi_value policy, const char *name, double *out, int required) {
  bool has = false;
  napi_has_named_property(env, policy, name, &has);
  napi_value v;
  napi_valuetype t = napi_undefined;
  if (has) {
    napi_get_named_property(env, policy, name, &v);
    napi_typeof(env, v, &t);
  }
  if (t == napi_undefined && !required) return 0;
  if (t != napi_number) return -1;
  napi_get_value_double(env, v, out);
  return *out > 0 ? 1 : -1;
}

/* Whole milliseconds poll() can wait: at least 1, at most a day. */
static uint32_t clamp_ms(double ms) {
  if (ms < 1) return 1;
  if (ms > MAX_INTERVAL_MS) return MAX_INTERVAL_MS;
  return (uint32_t)ms;
}

static napi_value throw_type(napi_env env, const char *message) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
  return NULL;
}

static napi_value poll_start(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  int fd;
  if (pw_read_fd(env, args[0], &fd, "fd must be a socket descriptor from openSocket()") < 0) return NULL;
  bool is_array = false;
  napi_is_array(env, args[1], &is_array);
  uint32_t nreq = 0;
  if (is_array) napi_get_array_length(env, args[1], &nreq);
  if (!is_array || nreq == 0 || nreq > MAX_REQUESTS) return throw_type(env, "requests must be an array of 1 to 8 Buffers");
  napi_valuetype t;
  napi_typeof(env, args[2], &t);
  double budget = 0, min_ms = 0, max_ms = 0, fixed_ms = 0;
  if (t != napi_object || read_policy_number(env, args[2], "cpuBudget", &budget, 1) < 0 ||
      read_policy_number(env, args[2], "minMs", &min_ms, 1) < 0 || read_policy_number(env, args[2], "maxMs", &max_ms, 1) < 0 ||
      read_policy_number(env, args[2], "fixedMs", &fixed_ms, 0) < 0 || min_ms > max_ms) {
    return throw_type(env, "policy must be { cpuBudget, minMs, maxMs, fixedMs? } with positive numbers and minMs <= maxMs");
  }
  if (pw_read_function(env, args[3], "onEvent must be a function") < 0) return NULL;

  poller_t *p = calloc(1, sizeof *p);
  if (p == NULL) {
    pw_throw_errno(env, ENOMEM, "calloc", NULL);
    return NULL;
  }
  p->fd = -1;
  p->wakefd = -1;
  p->counters.fd[0] = p->counters.fd[1] = -1;
  p->nreq = (int)nreq;
  for (uint32_t i = 0; i < nreq; i++) {
    napi_value item;
    napi_get_element(env, args[1], i, &item);
    bool is_buffer = false;
    napi_is_buffer(env, item, &is_buffer);
    void *data;
    size_t len = 0;
    if (is_buffer) napi_get_buffer_info(env, item, &data, &len);
    if (!is_buffer || len < sizeof(struct nlmsghdr)) {
      pw_poller_free(p);
      return throw_type(env, "each request must be a Buffer holding a netlink message");
    }
    p->req[i] = malloc(len);
    if (p->req[i] == NULL) {
      pw_poller_free(p);
      pw_throw_errno(env, ENOMEM, "malloc", NULL);
      return NULL;
    }
    memcpy(p->req[i], data, len);
    p->req_len[i] = len;
  }
  pw_pace_init(&p->pace, budget, clamp_ms(min_ms), clamp_ms(max_ms), fixed_ms > 0 ? clamp_ms(fixed_ms) : 0, pw_monotonic_ns());
  if (argc >= 5) {
    napi_typeof(env, args[4], &t);
    if (t == napi_string) {
      char dir[256];
      size_t len = 0;
      napi_get_value_string_utf8(env, args[4], dir, sizeof dir, &len);
      /* Counts that cannot be read are no error: every wake dumps, as before them. */
      p->have_counts = len < sizeof dir - 1 && pw_counters_open(&p->counters, dir) == 0;
    } else if (t != napi_undefined && t != napi_null) {
      pw_poller_free(p);
      return throw_type(env, "netDir must be a string path such as /proc/self/net");
    }
  }
  /* Its own sequence numbers, far from the caller's: a late reply is never taken for another. */
  p->seq = 0x80000000u;
  p->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (p->fd < 0) {
    int err = errno;
    pw_poller_free(p);
    pw_throw_errno(env, err, "fcntl", NULL);
    return NULL;
  }
  /* The first replies, on this thread: what the caller's first scan sees, or newer. Its CPU
   * (this thread's) prices the table from the start. */
  const char *syscall = NULL;
  uint64_t started = pw_thread_cpu_ns();
  if (pw_poller_round(p, &syscall) < 0) {
    int err = errno;
    pw_poller_free(p);
    pw_throw_errno(env, err, syscall ? syscall : "sock_diag", NULL);
    return NULL;
  }
  /* Everything is new to the first round: it spends credit like a look that found nothing. */
  pw_pace_looked(&p->pace, pw_monotonic_ns(), (double)(pw_thread_cpu_ns() - started) / 1e6, 0);
  atomic_store(&p->interval_ms, p->pace.interval_ms);
  p->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (p->wakefd < 0) {
    int err = errno;
    pw_poller_free(p);
    pw_throw_errno(env, err, "eventfd", NULL);
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "portwatch change poller", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, args[3], NULL, name, 0, 1, p, finalize_poller, p, deliver, &p->tsfn) != napi_ok) {
    pw_poller_free(p);
    pw_throw_errno(env, ENOMEM, "napi_create_threadsafe_function", NULL);
    return NULL;
  }
  napi_unref_threadsafe_function(env, p->tsfn);
  int rc = pw_thread_start(&p->thread, NULL, pw_poller_main, p);
  if (rc != 0) {
    napi_release_threadsafe_function(p->tsfn, napi_tsfn_abort); /* frees p */
    pw_throw_errno(env, rc, "pthread_create", NULL);
    return NULL;
  }
  handle_t *h = calloc(1, sizeof *h);
  napi_value result;
  if (h == NULL || napi_create_external(env, h, finalize_handle, NULL, &result) != napi_ok) {
    handle_t tmp = {.env = env, .p = p};
    stop_handle(&tmp, 1);
    free(h);
    pw_throw_errno(env, ENOMEM, "napi_create_external", NULL);
    return NULL;
  }
  h->env = env;
  h->p = p;
  napi_add_env_cleanup_hook(env, cleanup_hook, h);
  return result;
}

static handle_t *read_handle(napi_env env, napi_value arg) {
  void *data;
  return pw_read_external(env, arg, &data, "handle must come from pollStart()") < 0 ? NULL : data;
}

static napi_value poll_stop(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  handle_t *h = read_handle(env, args[0]);
  if (h != NULL) stop_handle(h, 0);
  return NULL;
}

static void set_number(napi_env env, napi_value obj, const char *name, double value) {
  napi_value v;
  napi_create_double(env, value, &v);
  napi_set_named_property(env, obj, name, v);
}

static napi_value poll_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  handle_t *h = read_handle(env, args[0]);
  if (h == NULL) return NULL;
  napi_value result;
  napi_create_object(env, &result);
  poller_t *p = h->p;
  napi_value running;
  napi_get_boolean(env, p != NULL, &running);
  napi_set_named_property(env, result, "running", running);
  if (p == NULL) return result;
  set_number(env, result, "looks", (double)atomic_load(&p->rounds));
  set_number(env, result, "changes", (double)atomic_load(&p->changes));
  set_number(env, result, "intervalMs", (double)atomic_load(&p->interval_ms));
  set_number(env, result, "lastLookUs", (double)atomic_load(&p->cost_ns) / 1000.0);
  set_number(env, result, "counted", (double)atomic_load(&p->counted));
  return result;
}

void pw_poller_export(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "pollStart", NAPI_AUTO_LENGTH, poll_start, NULL, &fn);
  napi_set_named_property(env, exports, "pollStart", fn);
  napi_create_function(env, "pollStop", NAPI_AUTO_LENGTH, poll_stop, NULL, &fn);
  napi_set_named_property(env, exports, "pollStop", fn);
  napi_create_function(env, "pollStats", NAPI_AUTO_LENGTH, poll_stats, NULL, &fn);
  napi_set_named_property(env, exports, "pollStats", fn);
}
