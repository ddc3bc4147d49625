/*
 * The owner walk's engine (fd-walk.c), shared with its Node-API surface (fd-walk-napi.c).
 *
 * One walk reads /proc/<pid>/fd of a list of processes (newest first) for a set of socket
 * inodes, on up to FW_MAX_THREADS threads that take the next process from one atomic index,
 * and stops when every required inode has been seen. What it reports is what a walk in pid
 * order would: each required inode's first holder in the list is always seen (a process
 * earlier in the list than a holder already found is always read to its end), and every
 * other holder the threads happened to read is reported too.
 */
#ifndef PORTWATCH_FD_WALK_H
#define PORTWATCH_FD_WALK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define FW_MAX_THREADS 8

/* One inode looked for; `first` is the lowest list index it was seen at (INT32_MAX: not yet). */
typedef struct {
  uint64_t inode;
  int required; /* counts toward the stop; 0: only its holders are reported */
  _Atomic int32_t first;
} fw_want_t;

/* A holder seen: inode, index in the pid list, fd number. */
typedef struct {
  uint64_t inode;
  int32_t index;
  int32_t fd;
} fw_hit_t;

typedef struct {
  /* In: set by the caller, read-only during the walk. wants sorted by inode, unique. */
  const char *proc_root;
  const int32_t *pids;
  int32_t npids;
  fw_want_t *wants;
  size_t nwants;
  size_t nrequired;
  int threads; /* 1..FW_MAX_THREADS */
  uint64_t seq; /* fw_number() when queued: which holds apply to it */

  /* Shared while walking. */
  _Atomic int32_t next;      /* the next list index to claim */
  _Atomic size_t found;      /* required inodes seen at least once */
  _Atomic int32_t limit;     /* once all are found: no holder can be first beyond this index */
  _Atomic int cancel;        /* set from outside: stop as soon as possible */

  /* Out. */
  fw_hit_t *hits;
  size_t nhits;
  int32_t claimed; /* list prefix whose processes were started */
  uint64_t readlinks;
  int err;                 /* errno when the walk failed as a whole (procRoot, memory) */
  const char *err_syscall; /* what failed */
} fw_walk_t;

/* Sorts and dedupes `wants` in place (a required duplicate wins); returns the new count. */
size_t fw_prepare_wants(fw_want_t *wants, size_t n);

/* Runs the walk on the calling thread, plus threads-1 helpers once it proves long. Fills the
 * outputs; returns 0, or -1 with err/err_syscall set (no hits are kept then). */
int fw_run(fw_walk_t *w);

/* A number for a walk being queued (its seq): increasing over the process. */
uint64_t fw_number(void);

/* Holds the walks queued so far for `ms` (at most 1 s), or, with ms <= 0, ends the hold now.
 * Their threads stop between two fds until then (fd-walk-hold.c); later walks run on. */
void fw_hold(int ms);

/* Wakes held threads to look again (after a walk's cancel was set, say). */
void fw_wake(void);

/* Sleeps while `w` is held (called by its threads between fds; one atomic load when not). */
void fw_wait_if_held(const fw_walk_t *w);

#endif
