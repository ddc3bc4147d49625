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

#include "relay.h"
#include "threads.h"

#define EVENTS_PER_WAIT 256
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

static void release_slot(engine_t *e, relay_t *r) {
  pthread_mutex_lock(&e->lock);
  e->slots[r->slot] = NULL;
  e->gens[r->slot] = (e->gens[r->slot] + 1) & 0xffffffffu;
  e->free_slots[e->nfree++] = r->slot;
  pthread_mutex_unlock(&e->lock);
}

static double id_of(const relay_t *r) {
  return (double)r->gen * (double)RELAY_MAX_SLOTS + (double)r->slot;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void close_relay_fds(relay_t *r, int reset) {
  for (int s = 0; s < 2; s++) {
    if (reset && r->fd[s] >= 0) {
      struct linger hard = {.l_onoff = 1, .l_linger = 0};
      setsockopt(r->fd[s], SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    close_fd(&r->fd[s]);
    close_fd(&r->pipe_rd[s]);
    close_fd(&r->pipe_wr[s]);
  }
}

typedef struct {
  relay_ends_t *ends;
  relay_t *dead;
} round_t;

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
static void finish(engine_t *e, relay_t *r, int how, int err, int side, int reset, round_t *round) {
  if (r->done) return;
  r->done = 1;
  for (int s = 0; s < 2; s++) epoll_ctl(e->epfd, EPOLL_CTL_DEL, r->fd[s], NULL);
  close_relay_fds(r, reset);
  relay_end_t end = {.id = id_of(r), .moved = {(double)r->moved[0], (double)r->moved[1]}, .how = how, .err = err, .side = side};
  release_slot(e, r);
  add_end(round, &end);
  r->next = round->dead;
  round->dead = r;
}

static void fail(engine_t *e, relay_t *r, int side, int err, round_t *round) {
  int how = err == ECONNRESET || err == EPIPE ? HOW_RESET : HOW_ERROR;
  finish(e, r, how, err, side, 1, round);
}

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
      fail(e, r, !d, n < 0 ? errno : EPIPE, round);
      return -1;
    }
    if (r->eof[d]) {
      if (!r->shut[d]) {
        r->shut[d] = 1;
        if (shutdown(out, SHUT_WR) < 0 && errno != ENOTCONN) {
          fail(e, r, !d, errno, round);
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
      fail(e, r, d, errno, round);
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

static void run_direction(engine_t *e, relay_t *r, int d, round_t *round) {
  if (r->done) return;
  int rc = pump(e, r, d, round);
  if (rc > 0) make_ready(e, r, d);
}

static void check_done(engine_t *e, relay_t *r, round_t *round) {
  if (!r->done && r->shut[0] && r->shut[1]) finish(e, r, HOW_EOF, 0, -1, 0, round);
}

static int socket_error(int fd) {
  int err = 0;
  socklen_t len = sizeof err;
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) return errno;
  return err;
}

static void on_event(engine_t *e, relay_t *r, int s, uint32_t events, round_t *round) {
  if (events & EPOLLERR) {
    int err = socket_error(r->fd[s]);
    if (err != 0) return fail(e, r, s, err, round);
  }
  /* Readable (or EOF, or hung up): the direction that reads from s. */
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) run_direction(e, r, s, round);
  /* Writable: the direction that writes into s, if it has bytes waiting for room. */
  if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && !r->done && r->queued[!s] > 0) run_direction(e, r, !s, round);
  check_done(e, r, round);
}

static void register_relay(engine_t *e, relay_t *r, round_t *round) {
  for (int s = 0; s < 2; s++) {
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = &r->ends[s]};
    if (epoll_ctl(e->epfd, EPOLL_CTL_ADD, r->fd[s], &ev) < 0) return fail(e, r, s, errno, round);
  }
  /* Bytes may already wait (the host side was accepted paused): start both ways now. */
  run_direction(e, r, SIDE_CLIENT, round);
  run_direction(e, r, SIDE_TARGET, round);
  if (!r->done) check_done(e, r, round);
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
    if (r != NULL && id_of(r) == cuts[i].id) finish(e, r, HOW_CUT, 0, -1, cuts[i].reset, round);
  }
  free(cuts);
  return 0;
}

static void serve_ready(engine_t *e, round_t *round) {
  relay_t *list = e->ready;
  e->ready = NULL;
  for (relay_t *r = list, *next; r != NULL; r = next) {
    next = r->ready_next;
    r->ready = 0;
    if (r->done) continue;
    for (int d = 0; d < 2; d++) {
      if (!r->again[d]) continue;
      r->again[d] = 0;
      run_direction(e, r, d, round);
    }
    check_done(e, r, round);
  }
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
      if (!end->relay->done) on_event(e, end->relay, end->side, events[i].events, &round);
    }
    if (!quit) serve_ready(e, &round);
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
  close_fd(&e->wakefd);
  close_fd(&e->epfd);
  errno = err;
  return -1;
}

static void wake(engine_t *e) {
  uint64_t one = 1;
  ssize_t rc = write(e->wakefd, &one, sizeof one);
  (void)rc; /* EAGAIN: the counter is already non-zero, the thread will wake */
}

void relay_engine_stop(engine_t *e) {
  pthread_mutex_lock(&e->lock);
  e->quit = 1;
  pthread_mutex_unlock(&e->lock);
  wake(e);
  pthread_join(e->thread, NULL);
  for (uint32_t i = 0; i < e->nslots; i++) {
    relay_t *r = e->slots[i];
    if (r == NULL) continue;
    close_relay_fds(r, 1);
    free(r);
  }
  free(e->slots);
  free(e->gens);
  free(e->free_slots);
  free(e->cuts);
  pthread_mutex_destroy(&e->lock);
  close_fd(&e->wakefd);
  close_fd(&e->epfd);
}

/* A slot for r, under the lock; -1 with errno when the table is full or cannot grow. */
static int take_slot(engine_t *e, relay_t *r) {
  if (e->nfree == 0) {
    if (e->nslots == RELAY_MAX_SLOTS) return errno = EMFILE, -1;
    if (e->nslots == e->capslots) {
      uint32_t cap = e->capslots ? e->capslots * 2 : 64;
      relay_t **slots = realloc(e->slots, cap * sizeof *slots);
      if (slots) e->slots = slots;
      uint32_t *gens = realloc(e->gens, cap * sizeof *gens);
      if (gens) e->gens = gens;
      uint32_t *free_slots = realloc(e->free_slots, cap * sizeof *free_slots);
      if (free_slots) e->free_slots = free_slots;
      if (!slots || !gens || !free_slots) return errno = ENOMEM, -1;
      e->capslots = cap;
    }
    e->gens[e->nslots] = 1;
    e->free_slots[e->nfree++] = e->nslots++;
  }
  r->slot = e->free_slots[--e->nfree];
  r->gen = e->gens[r->slot];
  e->slots[r->slot] = r;
  return 0;
}

static int is_stream_socket(int fd) {
  int type = 0;
  socklen_t len = sizeof type;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return -1;
  if (type != SOCK_STREAM) return errno = ENOTSOCK, -1;
  return 0;
}

double relay_add(engine_t *e, int client_fd, int target_fd) {
  relay_t *r = calloc(1, sizeof *r);
  if (r == NULL) return errno = ENOMEM, -1;
  int given[2] = {client_fd, target_fd};
  for (int s = 0; s < 2; s++) {
    r->fd[s] = r->pipe_rd[s] = r->pipe_wr[s] = -1;
    r->ends[s].relay = r;
    r->ends[s].side = s;
  }
  for (int s = 0; s < 2; s++) {
    if (is_stream_socket(given[s]) < 0) goto failed;
    /* Our own descriptions of the same sockets: the caller closes its fds right after. */
    r->fd[s] = fcntl(given[s], F_DUPFD_CLOEXEC, 3);
    if (r->fd[s] < 0) goto failed;
    int flags = fcntl(r->fd[s], F_GETFL);
    if (flags < 0 || fcntl(r->fd[s], F_SETFL, flags | O_NONBLOCK) < 0) goto failed;
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0) goto failed;
    r->pipe_rd[s] = p[0];
    r->pipe_wr[s] = p[1];
  }
  pthread_mutex_lock(&e->lock);
  int rc = take_slot(e, r);
  if (rc == 0) {
    r->next = e->adds;
    e->adds = r;
  }
  pthread_mutex_unlock(&e->lock);
  if (rc < 0) goto failed;
  double id = id_of(r);
  wake(e);
  return id;
failed:;
  int err = errno;
  close_relay_fds(r, 0);
  free(r);
  errno = err;
  return -1;
}

int relay_cut(engine_t *e, double id, int reset) {
  if (!(id >= 0) || id >= 9007199254740992.0) return 0;
  uint32_t slot = (uint32_t)((uint64_t)id % RELAY_MAX_SLOTS);
  int live = 0;
  pthread_mutex_lock(&e->lock);
  relay_t *r = slot < e->nslots ? e->slots[slot] : NULL;
  if (r != NULL && (double)e->gens[slot] * RELAY_MAX_SLOTS + slot == id) {
    if (e->ncuts == e->capcuts) {
      size_t cap = e->capcuts ? e->capcuts * 2 : 16;
      relay_cut_t *cuts = realloc(e->cuts, cap * sizeof *cuts);
      if (cuts) {
        e->cuts = cuts;
        e->capcuts = cap;
      }
    }
    if (e->ncuts < e->capcuts) {
      e->cuts[e->ncuts++] = (relay_cut_t){.id = id, .reset = reset};
      live = 1;
    }
  }
  pthread_mutex_unlock(&e->lock);
  if (live) wake(e);
  return live;
}
