/*
 * The forward's data plane: bytes between two connected TCP sockets moved by splice(2)
 * through a pipe per direction, in one thread with one epoll instance for every relay.
 *
 *   - Byte-exact both ways: what splice takes from one socket sits in that direction's pipe
 *     until it is written to the other one.
 *   - Half-close: EOF on one side (its peer's FIN), once its pipe is empty, becomes
 *     shutdown(SHUT_WR) on the other side; the other direction goes on.
 *   - Backpressure: a direction reads only when its pipe is empty, so a reader that stops
 *     stops its writer through the kernel's buffers; nothing piles up in this process.
 *   - A reset (or any other error) on one side is passed on as a reset: SO_LINGER 0, close.
 *   - Edge-triggered epoll: each wakeup runs a direction until EAGAIN or its turn ends; a
 *     direction whose turn is over goes on the ready list, served round-robin before blocking again,
 *     so one fast connection cannot starve the others.
 *
 * Locking: the mutex guards the queue of new relays, the queue of cuts, the quit flag and
 * the slot table (id -> relay). A relay's own fields belong to the thread once queued; it
 * is freed by the thread only, after its slot is released, at the end of an epoll round.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay-engine.h"
#include "threads.h"

#define EVENTS_PER_WAIT 256

static void add_end(round_t *round, const relay_end_t *end) {
  relay_ends_t *b = round->ends;
  if (b == NULL || b->len == b->cap) {
    size_t cap = b ? b->cap * 2 : 16;
    relay_ends_t *grown = realloc(b, sizeof *b + cap * sizeof(relay_end_t));
    if (grown == NULL) {
      /* No memory for the report: the relay still ends; Node learns it with the next one. */
      fprintf(stderr, "portwatch relay: out of memory reporting relay %.0f\n", end->id);
      return;
    }
    if (b == NULL) grown->len = 0;
    grown->cap = cap;
    round->ends = b = grown;
  }
  b->items[b->len++] = *end;
}

/* Ends a relay: out of epoll, sockets closed (reset unless it ended cleanly or was cut
 * plainly), slot released, its end reported at the end of the round. */
void relay_finish(engine_t *e, relay_t *r, int how, int err, int side, int reset, round_t *round) {
  if (r->done) return;
  r->done = 1;
  for (int s = 0; s < 2; s++) epoll_ctl(e->epfd, EPOLL_CTL_DEL, r->fd[s], NULL);
  relay_close_fds(r, reset);
  relay_end_t end = {.id = relay_id_of(r), .moved = {(double)r->moved[0], (double)r->moved[1]}, .how = how, .err = err, .side = side};
  relay_release_slot(e, r);
  add_end(round, &end);
  r->next = round->dead;
  round->dead = r;
}

void relay_fail(engine_t *e, relay_t *r, int side, int err, round_t *round) {
  int how = err == ECONNRESET || err == EPIPE ? HOW_RESET : HOW_ERROR;
  relay_finish(e, r, how, err, side, 1, round);
}

static void register_relay(engine_t *e, relay_t *r, round_t *round) {
  for (int s = 0; s < 2; s++) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = &r->ends[s]};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, r->fd[s], &ev) < 0) return relay_fail(e, r, s, errno, round);
  }
  /* Bytes may already wait (the host side was accepted paused): start both ways now. */
  relay_run_direction(e, r, SIDE_CLIENT, round);
  relay_run_direction(e, r, SIDE_TARGET, round);
  if (!r->done) relay_check_done(e, r, round);
}

/* Takes the queued adds and cuts; returns 1 when the engine is to stop. */
static int take_commands(engine_t *e, round_t *round) {
  uint64_t drained;
  while (read(e->wakefd, &drained, sizeof drained) > 0) {
  }
  pthread_mutex_lock(&e->lock);
  relay_t *adds = e->adds;
  e->adds = NULL;
  int quit = e->quit;
  size_t ncuts = e->ncuts;
  relay_cut_t *cuts = e->cuts;
  e->cuts = NULL;
  e->ncuts = e->capcuts = 0;
  pthread_mutex_unlock(&e->lock);
  if (quit) {
    /* Whoever stops the engine closes every relay still in the slot table, queued ones too. */
    free(cuts);
    return 1;
  }
  /* Oldest first does not matter: each add stands alone. */
  for (relay_t *r = adds, *next; r != NULL; r = next) {
    next = r->next;
    r->next = NULL;
    register_relay(e, r, round);
  }
  for (size_t i = 0; i < ncuts; i++) {
    uint32_t slot = (uint32_t)((uint64_t)cuts[i].id % RELAY_MAX_SLOTS);
    pthread_mutex_lock(&e->lock);
    relay_t *r = slot < e->nslots ? e->slots[slot] : NULL;
    pthread_mutex_unlock(&e->lock);
    /* Only this thread frees relays, so r stays valid; a stale id finds another generation. */
    if (r != NULL && relay_id_of(r) == cuts[i].id) relay_finish(e, r, HOW_CUT, 0, -1, cuts[i].reset, round);
  }
  free(cuts);
  return 0;
}

static void *engine_main(void *arg) {
  engine_t *e = arg;
  struct epoll_event events[EVENTS_PER_WAIT];
  for (;;) {
    int n = epoll_wait(e->epfd, events, EVENTS_PER_WAIT, e->ready != NULL ? 0 : -1);
    if (n < 0 && errno != EINTR) {
      fprintf(stderr, "portwatch relay: epoll_wait: %s\n", strerror(errno));
      abort();
    }
    round_t round = {NULL, NULL};
    int quit = 0;
    for (int i = 0; i < n; i++) {
      endpoint_t *end = events[i].data.ptr;
      if (end == NULL) {
        quit = take_commands(e, &round);
        if (quit) break;
        continue;
      }
      if (!end->relay->done) relay_on_event(e, end->relay, end->side, events[i].events, &round);
    }
    if (!quit) relay_serve_ready(e, &round);
    if (round.ends != NULL) e->report(e, round.ends);
    for (relay_t *r = round.dead, *next; r != NULL; r = next) {
      next = r->next;
      free(r);
    }
    if (quit) return NULL;
  }
}

int relay_engine_start(engine_t *e, relay_report_fn report, void *owner) {
  memset(e, 0, sizeof *e);
  e->report = report;
  e->owner = owner;
  e->wakefd = -1;
  e->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (e->epfd < 0) return -1;
  e->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
  if (e->wakefd < 0 || epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->wakefd, &ev) < 0) goto failed;
  if (pthread_mutex_init(&e->lock, NULL) != 0) goto failed;
  int rc = pw_thread_start(&e->thread, NULL, engine_main, e);
  if (rc != 0) {
    pthread_mutex_destroy(&e->lock);
    errno = rc;
    goto failed;
  }
  return 0;
failed:;
  int err = errno;
  relay_close_fd(&e->wakefd);
  relay_close_fd(&e->epfd);
  errno = err;
  return -1;
}

void relay_engine_stop(engine_t *e) {
  pthread_mutex_lock(&e->lock);
  e->quit = 1;
  pthread_mutex_unlock(&e->lock);
  relay_wake(e);
  pthread_join(e->thread, NULL);
  for (uint32_t i = 0; i < e->nslots; i++) {
    relay_t *r = e->slots[i];
    if (r == NULL) continue;
    relay_close_fds(r, 1);
    free(r);
  }
  free(e->slots);
  free(e->gens);
  free(e->free_slots);
  free(e->cuts);
  pthread_mutex_destroy(&e->lock);
  relay_close_fd(&e->wakefd);
  relay_close_fd(&e->epfd);
}

