/*
 * Holding the owner walks that run now (see fd-walk.h, fw_hold): a watcher whose first walk
 * goes on in the background while it reports a listener that just opened asks these walks
 * to step aside for a few ms. On a 2-core host the walk's threads otherwise take both cores
 * from the Node thread that scans and reports (listen() → `open` ~10 ms instead of ~4).
 *
 * Every walk takes a number when it is queued. A hold applies to the walks numbered below the
 * next number at the time of the hold (those queued already), never to a walk queued after it
 * (a search for the new listener's owner), and ends at its deadline or at fw_hold(0). A held
 * thread sleeps on a futex between two fds, so a release wakes it at once; nothing spins.
 */
#define _GNU_SOURCE
#include "fd-walk.h"

#include <limits.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* A hold never lasts longer, whatever its caller asked. */
#define HOLD_MAX_MS 1000

static _Atomic uint64_t next_seq = 1;
static _Atomic uint64_t held_below; /* walks numbered below this are held (0: none) */
static _Atomic int64_t held_until;  /* CLOCK_MONOTONIC ns; 0: no hold */
static _Atomic uint32_t generation; /* futex word: changes at every hold and release */

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t fw_number(void) {
  return atomic_fetch_add(&next_seq, 1);
}

void fw_hold(int ms) {
  if (ms > HOLD_MAX_MS) ms = HOLD_MAX_MS;
  if (ms > 0) {
    atomic_store(&held_below, atomic_load(&next_seq));
    atomic_store(&held_until, now_ns() + (int64_t)ms * 1000000);
  } else {
    atomic_store(&held_until, 0);
  }
  fw_wake();
}

void fw_wake(void) {
  /* Every change wakes the sleepers, which look again: a release, a shorter hold, a cancel. */
  atomic_fetch_add(&generation, 1);
  syscall(SYS_futex, &generation, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

void fw_wait_if_held(const fw_walk_t *w) {
  if (atomic_load_explicit(&held_until, memory_order_relaxed) == 0) return; /* the common case: one load */
  /* Bounded: each round either returns or sleeps until the deadline, a release or a new hold. */
  for (int round = 0; round < 64; round++) {
    uint32_t gen = atomic_load(&generation); /* read before the checks: a release after them changes it */
    int64_t until = atomic_load(&held_until);
    if (until == 0 || w->seq >= atomic_load(&held_below) || atomic_load_explicit(&w->cancel, memory_order_relaxed)) return;
    int64_t left = until - now_ns();
    if (left <= 0) return;
    struct timespec ts = {.tv_sec = left / 1000000000, .tv_nsec = left % 1000000000};
    syscall(SYS_futex, &generation, FUTEX_WAIT_PRIVATE, gen, &ts, NULL, 0);
  }
}
