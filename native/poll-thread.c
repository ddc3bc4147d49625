/*
 * The change poller's thread: it sends the sock_diag dumps, compares each reply with the last
 * one (volatile fields zeroed), and wakes Node only when one differs; between rounds it reads
 * the kernel's socket counts when its pace says so (poll-pace.c, sock-counters.c). Its CPU per
 * round (CLOCK_THREAD_CPUTIME_ID) is what the pace charges. Started, read and stopped from
 * JavaScript by poll-thread-napi.c, where the whole design is told.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "poll-thread.h"

uint64_t pw_thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t pw_monotonic_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* On a wake that may read the counts: 1 when a round of dumps is due, 0 when the counts
 * answered the wake (counted). */
static int dump_due(poller_t *p) {
  if (!pw_pace_counting(&p->pace, p->have_counts)) return 1;
  int moved = pw_counters_moved(&p->counters);
  if (moved < 0) {
    p->have_counts = 0; /* unreadable now: every wake dumps, as without counts */
    pw_counters_close(&p->counters);
    return 1;
  }
  if (pw_pace_look_now(&p->pace, pw_monotonic_ns(), moved)) return 1;
  atomic_fetch_add(&p->counted, 1);
  return 0;
}

/* 1 when Node will hear of it (queued now, or riding on a call still queued), 0 when it could
 * not be queued (no memory). */
static int notify(poller_t *p, int err, const char *syscall) {
  if (err == 0 && atomic_exchange(&p->pending, 1)) return 1;
  event_t *ev = malloc(sizeof *ev);
  if (ev != NULL) {
    ev->err = err;
    ev->syscall = syscall;
    if (napi_call_threadsafe_function(p->tsfn, ev, napi_tsfn_nonblocking) == napi_ok) return 1;
    free(ev);
  }
  if (err == 0) atomic_store(&p->pending, 0);
  return 0;
}

/* One round: every dump, compared with the last. Returns 1 when something changed, 0 when
 * nothing did, -1 with errno set when a dump failed. */
int pw_poller_round(poller_t *p, const char **syscall) {
  int changed = 0;
  for (int i = 0; i < p->nreq; i++) {
    p->seq++;
    memcpy(p->req[i] + SEQ_OFFSET, &p->seq, sizeof p->seq);
    if (pw_dump_compared(p->fd, p->req[i], p->req_len[i], &p->scratch, syscall) < 0) return -1;
    pw_buf_t *last = &p->last[i];
    if (last->len == p->scratch.len && memcmp(last->data, p->scratch.data, last->len) == 0) continue;
    pw_buf_t swap = *last;
    *last = p->scratch;
    p->scratch = swap;
    changed = 1;
  }
  return changed;
}

void *pw_poller_main(void *arg) {
  poller_t *p = arg;
  for (;;) {
    struct pollfd wake = {.fd = p->wakefd, .events = POLLIN};
    int rc = poll(&wake, 1, (int)pw_pace_sleep_ms(&p->pace, p->have_counts, pw_monotonic_ns()));
    if (atomic_load(&p->quit)) return NULL;
    if (rc < 0 && errno != EINTR) {
      notify(p, errno, "poll");
      return NULL;
    }
    /* The last reply is already the new one: a change Node did not hear of is told again, not lost. */
    if (p->unreported) p->unreported = !notify(p, 0, NULL);
    if (!dump_due(p)) continue;
    uint64_t started = pw_thread_cpu_ns();
    const char *syscall = NULL;
    int changed = pw_poller_round(p, &syscall);
    if (changed < 0) {
      notify(p, errno, syscall);
      return NULL;
    }
    uint64_t cost = pw_thread_cpu_ns() - started;
    atomic_store(&p->cost_ns, cost);
    atomic_fetch_add(&p->rounds, 1);
    pw_pace_looked(&p->pace, pw_monotonic_ns(), (double)cost / 1e6, changed);
    atomic_store(&p->interval_ms, p->pace.interval_ms);
    if (changed) {
      atomic_fetch_add(&p->changes, 1);
      p->unreported = !notify(p, 0, NULL);
    }
  }
}

void pw_poller_free(poller_t *p) {
  for (int i = 0; i < MAX_REQUESTS; i++) {
    free(p->req[i]);
    free(p->last[i].data);
  }
  free(p->scratch.data);
  pw_counters_close(&p->counters);
  if (p->fd >= 0) close(p->fd);
  if (p->wakefd >= 0) close(p->wakefd);
  free(p);
}
