/* The change poller's thread (poll-thread.c) as its N-API side (poll-thread-napi.c) starts,
 * reads and stops it. */
#ifndef PORTWATCH_POLL_THREAD_H
#define PORTWATCH_POLL_THREAD_H

#include <node_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "poll-pace.h"
#include "portwatch.h"
#include "sock-counters.h"

#define MAX_REQUESTS 8
#define SEQ_OFFSET 8
#define MAX_INTERVAL_MS 86400000u

typedef struct {
  int fd;
  int wakefd;
  pthread_t thread;
  napi_threadsafe_function tsfn;
  int nreq;
  char *req[MAX_REQUESTS];
  size_t req_len[MAX_REQUESTS];
  pw_buf_t last[MAX_REQUESTS];
  pw_buf_t scratch;
  uint32_t seq;
  pw_pace_t pace;
  pw_counters_t counters;
  int have_counts;
  int unreported; /* a change whose call to Node could not be queued */
  _Atomic uint64_t rounds, changes, cost_ns, counted;
  _Atomic uint32_t interval_ms;
  _Atomic int quit;
  /* A 'change' call is queued and has not run yet: later changes ride on it. */
  _Atomic int pending;
} poller_t;

/* What the thread hands to Node: a change, or the failure that ended it. */
typedef struct {
  int err; /* 0 for a change */
  const char *syscall;
} event_t;

/* The calling thread's CPU time, and the monotonic clock, in ns. */
uint64_t pw_thread_cpu_ns(void);
uint64_t pw_monotonic_ns(void);

/* One round: every dump, compared with the last. 1 when something changed, 0 when nothing
 * did, -1 with errno set (and *syscall naming what failed) when a dump failed. */
int pw_poller_round(poller_t *p, const char **syscall);

/* The thread: sleeps as the pace says, reads the counts or dumps, tells Node of changes
 * through p->tsfn, until p->quit (set, then p->wakefd written). */
void *pw_poller_main(void *arg);

/* Frees the poller and closes its fds (the thread must not be running). */
void pw_poller_free(poller_t *p);

#endif
