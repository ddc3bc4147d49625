/*
 * The splice relay's engine (relay.c, relay-pump.c, relay-table.c), shared with its Node-API
 * surface (relay-napi.c).
 *
 * One engine per Node environment: one thread, one epoll instance for every relay, an
 * eventfd to wake it. A relay joins two connected TCP sockets (the fds are the engine's own
 * dups) with a pipe per direction; bytes go socket -> pipe -> socket with splice(2), never
 * through user space. The thread reports each relay's end in batches; the Node side learns
 * them through a thread-safe function.
 */
#ifndef PORTWATCH_RELAY_H
#define PORTWATCH_RELAY_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* The two sides, and the direction whose bytes are read from that side. */
enum { SIDE_CLIENT = 0, SIDE_TARGET = 1 };

/* How a relay ended. */
enum { HOW_EOF = 0, HOW_RESET = 1, HOW_ERROR = 2, HOW_CUT = 3 };

/* Slots are the low 20 bits of an id, a generation the rest (ids stay below 2^53). */
#define RELAY_SLOT_BITS 20
#define RELAY_MAX_SLOTS (1u << RELAY_SLOT_BITS)

typedef struct relay relay_t;

typedef struct {
  relay_t *relay;
  int side;
} endpoint_t;

struct relay {
  endpoint_t ends[2];  /* epoll data for fd[0] and fd[1] */
  int fd[2];           /* [SIDE_CLIENT], [SIDE_TARGET] */
  int pipe_rd[2];      /* direction d carries bytes read from fd[d] to fd[!d] */
  int pipe_wr[2];
  size_t queued[2];    /* bytes in direction d's pipe */
  uint64_t moved[2];   /* bytes written out in direction d */
  unsigned char eof[2];   /* fd[d] gave EOF */
  unsigned char shut[2];  /* fd[!d] was shut down for writing after that EOF */
  unsigned char again[2]; /* direction d's turn ended with work left */
  unsigned char grown[2]; /* direction d's pipe was grown for bulk transfer */
  unsigned char ready;    /* on the engine's ready list */
  unsigned char done;
  uint32_t slot;
  uint32_t gen;
  relay_t *next;       /* the add queue, then the thread's list of relays to free */
  relay_t *ready_next; /* the ready list */
};

/* One ended relay, as reported to Node. */
typedef struct {
  double id;
  double moved[2];
  int how;
  int err;  /* errno for HOW_RESET / HOW_ERROR, else 0 */
  int side; /* the side that failed, or -1 */
} relay_end_t;

typedef struct {
  size_t len;
  size_t cap;
  relay_end_t items[];
} relay_ends_t;

typedef struct {
  double id;
  int reset;
} relay_cut_t;

typedef struct engine engine_t;

/* Hands a batch of ends to Node; takes ownership of `ends` (the engine never blocks on it). */
typedef void (*relay_report_fn)(engine_t *e, relay_ends_t *ends);

struct engine {
  int epfd;
  int wakefd;
  pthread_t thread;
  relay_report_fn report;
  void *owner; /* the Node-API side's state */

  pthread_mutex_t lock; /* guards everything below */
  relay_t *adds;
  relay_cut_t *cuts;
  size_t ncuts, capcuts;
  int quit;
  relay_t **slots;
  uint32_t *gens;
  uint32_t nslots, capslots;
  uint32_t *free_slots;
  uint32_t nfree;

  /* The thread's own. */
  relay_t *ready;
};

/* 0, or -1 with errno set. Starts the thread. */
int relay_engine_start(engine_t *e, relay_report_fn report, void *owner);
/* Stops the thread and closes every relay without reporting it. */
void relay_engine_stop(engine_t *e);
/* Relays bytes between two connected TCP sockets (dup'ed here). The id, or -1 with errno set. */
double relay_add(engine_t *e, int client_fd, int target_fd);
/* Ends a relay: its end is reported with HOW_CUT. 1 when the relay was live. */
int relay_cut(engine_t *e, double id, int reset);

#endif
