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
 * once every thread of the process is gone, ends and frees the memory. Like the tracefs
 * watchdog it is an orphan by then, collected by the system's reaper (pid 1).
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "portwatch.h"

/* The holder runs on this stack: memory shared with the exiting process, used by nothing else. */
static char holder_stack[16 * 1024] __attribute__((aligned(64)));
static int holder_pipe[2];

static void close_all_but(int keep) {
  if (keep > 0 && syscall(SYS_close_range, 0U, (unsigned)keep - 1, 0U) != 0)
    for (int fd = 0; fd < keep; fd++) syscall(SYS_close, fd);
  if (syscall(SYS_close_range, (unsigned)keep + 1, ~0U, 0U) != 0) /* before Linux 5.9 */
    for (int fd = keep + 1; fd < 1024; fd++) syscall(SYS_close, fd);
}

/*
 * The holder. It came with a copy of every descriptor: it closes them first, so that whoever
 * reads the process's stdout sees its end when the process is gone, not when its memory is
 * freed. It then waits for the end of `holder_pipe`, which comes once the last thread of the
 * process has closed its files, each thread having let go of the memory before (do_exit:
 * exit_mm, then exit_files). A signal to the holder (it blocks all it can) would end it early,
 * which only gives the freeing back to the process. Raw syscalls only: it shares the exiting
 * thread's libc state.
 */
static int hold_memory(void *unused) {
  (void)unused;
  int fd = holder_pipe[0];
  char byte;
  close_all_but(fd);
  while (syscall(SYS_read, fd, &byte, 1) < 0) {
  }
  return 0;
}

/* Starts the holder; on any failure the process frees its own memory, as without it. */
static void hand_off_memory(void) {
  sigset_t all;
  if (getpid() == 1) return; /* init: its exit ends every process of the namespace anyway */
  if (pipe2(holder_pipe, O_CLOEXEC) != 0) return;
  sigfillset(&all);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, NULL, sizeof(long)); /* the holder starts with them blocked */
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
