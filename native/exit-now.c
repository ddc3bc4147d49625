/*
 * exitNow(status, handOff): ends the process at once with `status` (_exit(2)), skipping Node's
 * orderly teardown: 'exit' handlers, the environment's cleanup hooks, joining V8's and libuv's
 * threads, freeing the heap. For `portwatch wait`, whose users run `wait 3000 && next`, once its
 * answer is written and nothing else is pending.
 *
 * Even _exit leaves the kernel one job before the parent hears of the exit: freeing the
 * process's memory (~60 MB for Node), 5–9 ms on a busy 2-core host. With `handOff`, a child that
 * shares that memory (clone(CLONE_VM), no exec, a few KiB of stack) is made first: the process's
 * last thread then only drops a reference, the parent hears of the exit at once, and the child,
 * once every thread of the process is gone, ends and frees the memory. It is an orphan by then,
 * collected by the nearest subreaper or pid 1; the caller decides whether that one collects
 * orphans (src/cli/exit-now.ts).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <node_api.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "portwatch.h"

#ifndef SYS_close_range
#define SYS_close_range 436 /* Linux 5.9; glibc's headers name it from 2.33 on */
#endif

/* How long the holder waits for the process to be gone before it gives up and ends (freeing
 * the memory itself if the process is still there: a leaked pipe end must not keep 60 MB). */
#define HOLD_AT_MOST_MS 2000

/* The holder runs on this stack: memory shared with the exiting process, used by nothing else. */
static char holder_stack[16 * 1024] __attribute__((aligned(64)));
static int holder_pipe[2];
static int handing_off;

/* Closes descriptors from..to: close_range, or one by one below `bound` (before Linux 5.9). */
static void close_span(unsigned from, unsigned to, long long bound) {
  if (from > to || syscall(SYS_close_range, from, to, 0U) == 0) return;
  for (long long fd = from; fd <= (long long)to && fd < bound; fd++) syscall(SYS_close, (int)fd);
}

/* Closes every descriptor but `a` and `b` (a < b). */
static void close_all_but(int a, int b, long long bound) {
  if (a > 0) close_span(0, (unsigned)a - 1, bound);
  if (b > a + 1) close_span((unsigned)a + 1, (unsigned)b - 1, bound);
  close_span((unsigned)b + 1, ~0U, bound);
}

/*
 * The holder. Its descriptor table is a copy of the process's, which has only the pipe left
 * by then; it closes the write end and waits (bounded) for the pipe's end, which comes once
 * the last thread of the process has closed its files, each thread having let go of the
 * memory before (do_exit: exit_mm, then exit_files). Raw syscalls only: it shares the exiting
 * thread's libc state. A signal cannot end it early (all are blocked) but SIGKILL, which only
 * gives the freeing back to the process.
 */
static int hold_memory(void *unused) {
  (void)unused;
  struct pollfd end = {.fd = holder_pipe[0], .events = POLLIN};
  syscall(SYS_close, holder_pipe[1]);
#ifdef SYS_poll
  syscall(SYS_poll, &end, 1, HOLD_AT_MOST_MS);
#else /* aarch64, riscv: ppoll only, with a native timespec */
  struct timespec limit = {.tv_sec = HOLD_AT_MOST_MS / 1000, .tv_nsec = (HOLD_AT_MOST_MS % 1000) * 1000000L};
  syscall(SYS_ppoll, &end, 1, &limit, NULL, 0);
#endif
  return 0;
}

/*
 * Starts the holder; on any failure the process frees its own memory, as without it. Every
 * descriptor but the pipe is closed first, here: the answer is written by now, a reader of
 * stdout sees its end as the process goes whenever the holder runs, and the holder's copy of
 * the table holds nothing of anyone's.
 */
static void hand_off_memory(void) {
  if (__atomic_exchange_n(&handing_off, 1, __ATOMIC_SEQ_CST)) return; /* once, whichever thread */
  if (getpid() == 1) return; /* init: its exit ends every process of the namespace anyway */
  long long bound = sysconf(_SC_OPEN_MAX);
  if (bound < 0 || bound > 65536) bound = 65536;
  if (pipe2(holder_pipe, O_CLOEXEC) != 0) return;
  uint64_t all = ~(uint64_t)0; /* the kernel's sigset: 64 bits on every architecture */
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof all) != 0) return;
  int lo = holder_pipe[0] < holder_pipe[1] ? holder_pipe[0] : holder_pipe[1];
  int hi = holder_pipe[0] < holder_pipe[1] ? holder_pipe[1] : holder_pipe[0];
  close_all_but(lo, hi, bound);
  clone(hold_memory, holder_stack + sizeof holder_stack, CLONE_VM | SIGCHLD, NULL);
}

static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  double status = -1;
  bool hand_off = false;
  napi_valuetype type = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type != napi_number || napi_get_value_double(env, argv[0], &status) != napi_ok || !(status >= 0 && status <= 255) ||
      status != (double)(int)status) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "exitNow takes an exit status, a whole number 0-255");
    return NULL;
  }
  if (argc >= 2 && napi_get_value_bool(env, argv[1], &hand_off) != napi_ok) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "exitNow's second argument says whether to hand off memory: a boolean");
    return NULL;
  }
  if (hand_off) hand_off_memory();
  _exit((int)status);
}

void pw_exit_export(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"exitNow", NULL, exit_now, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
