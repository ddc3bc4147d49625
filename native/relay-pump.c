/*
 * Moving one relay's bytes (see relay.c for the rules): each direction splices socket ->
 * pipe -> socket until EAGAIN or its turn ends; a direction whose turn ended waits on the
 * engine's ready list for the next round.
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

/* A direction whose splice brings this much at once carries a bulk transfer: its pipe grows
 * from the default 64 KiB to BULK_PIPE, which halves the forward's CPU per byte (fewer,
 * larger sends). Interactive and idle connections keep the small pipe. */
#define BULK_SPLICE (32 * 1024)
#define BULK_PIPE (1024 * 1024)
/* Ask splice for as much as the largest pipe holds: its capacity bounds each call. */
#define SPLICE_ASK BULK_PIPE
/* Bytes a direction may move in one turn before the next relay gets its turn. */
#define TURN_BYTES (4u * 1024 * 1024)
#define SPLICE_FLAGS (SPLICE_F_MOVE | SPLICE_F_NONBLOCK)

/* splice() from TCP also returns 0 when it stops short of urgent data with bytes still
 * queued. recv() tells: 0 is a real EOF; bytes are copied into the (empty) pipe, as the
 * JavaScript relay would read them; -1 is an error or EAGAIN. */
static ssize_t confirm_eof(relay_t *r, int d) {
  char buf[16384];
  ssize_t n;
  do {
    n = recv(r->fd[d], buf, sizeof buf, MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return n;
  ssize_t w = write(r->pipe_wr[d], buf, (size_t)n);
  if (w == n) return n;
  if (w >= 0) errno = EIO; /* cannot happen: the pipe is empty and holds 64 KiB */
  return -1;
}

/* Moves direction d (fd[d] -> pipe -> fd[!d]) until EAGAIN or its turn is over.
 * Returns -1 when the relay ended, 1 when its turn ended with work left, else 0. */
static int pump(engine_t *e, relay_t *r, int d, round_t *round) {
  int out = r->fd[!d];
  for (size_t turn = 0;;) {
    if (r->queued[d] > 0) {
      ssize_t n = splice(r->pipe_rd[d], NULL, out, NULL, r->queued[d], SPLICE_FLAGS);
      if (n > 0) {
        r->queued[d] -= (size_t)n;
        r->moved[d] += (uint64_t)n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return 0; /* fd[!d] is full: its EPOLLOUT resumes us */
      relay_fail(e, r, !d, n < 0 ? errno : EPIPE, round);
      return -1;
    }
    if (r->eof[d]) {
      if (!r->shut[d]) {
        r->shut[d] = 1;
        if (shutdown(out, SHUT_WR) < 0 && errno != ENOTCONN) {
          relay_fail(e, r, !d, errno, round);
          return -1;
        }
      }
      return 0;
    }
    if (turn >= TURN_BYTES) return 1;
    ssize_t n = splice(r->fd[d], NULL, r->pipe_wr[d], NULL, SPLICE_ASK, SPLICE_FLAGS);
    if (n == 0) n = confirm_eof(r, d);
    if (n > 0) {
      r->queued[d] = (size_t)n;
      turn += (size_t)n;
      if (!r->grown[d] && n >= BULK_SPLICE) {
        r->grown[d] = 1;
        /* Best effort: an unprivileged user over fs.pipe-user-pages-soft keeps 64 KiB. */
        (void)fcntl(r->pipe_wr[d], F_SETPIPE_SZ, BULK_PIPE);
      }
    } else if (n == 0) {
      r->eof[d] = 1;
    } else if (errno == EAGAIN) {
      return 0; /* fd[d] is empty: its EPOLLIN resumes us */
    } else if (errno != EINTR) {
      relay_fail(e, r, d, errno, round);
      return -1;
    }
  }
}

static void make_ready(engine_t *e, relay_t *r, int d) {
  r->again[d] = 1;
  if (r->ready) return;
  r->ready = 1;
  r->ready_next = e->ready;
  e->ready = r;
}

void relay_run_direction(engine_t *e, relay_t *r, int d, round_t *round) {
  if (r->done) return;
  int rc = pump(e, r, d, round);
  if (rc > 0) make_ready(e, r, d);
}

void relay_check_done(engine_t *e, relay_t *r, round_t *round) {
  if (!r->done && r->shut[0] && r->shut[1]) relay_finish(e, r, HOW_EOF, 0, -1, 0, round);
}

static int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

void relay_on_event(engine_t *e, relay_t *r, int s, uint32_t events, round_t *round) {
  if (events & EPOLLERR) {
    int err = socket_error(r->fd[s]);
    if (err != 0) return relay_fail(e, r, s, err, round);
  }
  /* Readable (or EOF, or hung up): the direction that reads from s. */
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) relay_run_direction(e, r, s, round);
  /* Writable: the direction that writes into s, if it has bytes waiting for room. */
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && !r->done && r->queued[!s] > 0) relay_run_direction(e, r, !s, round);
  relay_check_done(e, r, round);
}

void relay_serve_ready(engine_t *e, round_t *round) {
  relay_t *list = e->ready;
  e->ready = NULL;
  for (relay_t *r = list, *next; r != NULL; r = next) {
    next = r->ready_next;
    r->ready = 0;
    if (r->done) continue;
    for (int d = 0; d < 2; d++) {
      if (!r->again[d]) continue;
      r->again[d] = 0;
      relay_run_direction(e, r, d, round);
    }
    relay_check_done(e, r, round);
  }
}

