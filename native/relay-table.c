/*
 * The relays' table: ids (a slot and its generation) for Node, the queue of relays added and
 * cut that the engine's thread takes under the lock, and closing a relay's descriptors.
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

void relay_release_slot(engine_t *e, relay_t *r) {
  pthread_mutex_lock(&e->lock);
  e->slots[r->slot] = NULL;
  e->gens[r->slot] = (e->gens[r->slot] + 1) & 0xffffffffu;
  e->free_slots[e->nfree++] = r->slot;
  pthread_mutex_unlock(&e->lock);
}

double relay_id_of(const relay_t *r) {
  return (double)r->gen * (double)RELAY_MAX_SLOTS + (double)r->slot;
}

void relay_close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

void relay_close_fds(relay_t *r, int reset) {
  for (int s = 0; s < 2; s++) {
    if (reset && r->fd[s] >= 0) {
      struct linger hard = {.l_onoff = 1, .l_linger = 0};
      setsockopt(r->fd[s], SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    }
    relay_close_fd(&r->fd[s]);
    relay_close_fd(&r->pipe_rd[s]);
    relay_close_fd(&r->pipe_wr[s]);
  }
}

void relay_wake(engine_t *e) {
  uint64_t one = 1;
  ssize_t rc = write(e->wakefd, &one, sizeof one);
  (void)rc; /* EAGAIN: the counter is already non-zero, the thread will wake */
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
  double id = relay_id_of(r);
  relay_wake(e);
  return id;
failed:;
  int err = errno;
  relay_close_fds(r, 0);
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
  if (live) relay_wake(e);
  return live;
}
