/*
 * The owner walk (see fd-walk.h): /proc/<pid>/fd of a list of processes, newest first, for
 * a set of socket inodes. Per process one openat of its fd directory, getdents64 into a
 * fixed buffer until the directory ends (tables of any size, no listing kept), and one
 * readlinkat per fd into a small stack buffer: nothing is allocated per fd, only per holder
 * found. Processes gone (ENOENT, ESRCH) or not ours to read (EACCES) are skipped, and so are
 * fds closed between the listing and the readlink.
 *
 * Threads take the next process from one atomic index. The calling thread starts alone and
 * spawns the helpers only once it has read SPAWN_AFTER fds: most walks end within the first
 * processes (a new port most likely belongs to a new process), and those stay on one thread,
 * deterministic and free of thread start-up. The stop: once every required inode has been
 * seen, no process is started any more, and a process is left midway only when it comes
 * after the last first holder (`limit`): a process earlier in the list could still hold one
 * of them first, so it is read to its end. Each inode's first index only ever decreases, so
 * a limit computed from them is never below the true one (reading too much is the only
 * error a race can make). A walk that runs in the background while its watcher reports a new
 * listener can be held (fd-walk-hold.c): its threads sleep between two fds.
 */
#define _GNU_SOURCE
#include "fd-walk.h"
#include "threads.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* fds the calling thread reads alone before it starts the helpers. */
#define SPAWN_AFTER 512
/* One getdents64 batch: ~1,000 entries of /proc/<pid>/fd. */
#define DIRENT_BUF (32 * 1024)
/* "socket:[4294967295]" and room to tell a longer link apart. */
#define LINK_BUF 64
#define HELPER_STACK (128 * 1024)

#define SOCKET_PREFIX "socket:["
#define SOCKET_PREFIX_LEN 8

struct linux_dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

typedef struct run run_t;

typedef struct {
  run_t *run;
  fw_hit_t *hits;
  size_t nhits, cap;
  uint64_t readlinks;
  int err;
  _Alignas(8) char dirents[DIRENT_BUF];
} worker_t;

struct run {
  fw_walk_t *w;
  int root_fd;
  worker_t *workers; /* [0] is the calling thread */
  pthread_t tids[FW_MAX_THREADS];
  int spawned; /* helpers started (0 until SPAWN_AFTER); calling thread only */
  int spawn_tried;
};

static int cmp_want(const void *a, const void *b) {
  const fw_want_t *x = a, *y = b;
  if (x->inode != y->inode) return x->inode < y->inode ? -1 : 1;
  return y->required - x->required; /* required first: it is the one kept */
}

size_t fw_prepare_wants(fw_want_t *wants, size_t n) {
  if (n == 0) return 0;
  qsort(wants, n, sizeof *wants, cmp_want);
  size_t out = 1;
  for (size_t i = 1; i < n; i++)
    if (wants[i].inode != wants[out - 1].inode) wants[out++] = wants[i];
  for (size_t i = 0; i < out; i++) atomic_init(&wants[i].first, INT32_MAX);
  return out;
}

static fw_want_t *lookup(const fw_walk_t *w, uint64_t inode) {
  size_t lo = 0, hi = w->nwants;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    uint64_t v = w->wants[mid].inode;
    if (v == inode) return &w->wants[mid];
    if (v < inode) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* The inode of a "socket:[N]" link, or 0. */
static uint64_t socket_inode(const char *link, ssize_t len) {
  if (len <= SOCKET_PREFIX_LEN + 1 || len >= LINK_BUF || link[len - 1] != ']') return 0;
  if (memcmp(link, SOCKET_PREFIX, SOCKET_PREFIX_LEN) != 0) return 0;
  uint64_t v = 0;
  for (ssize_t i = SOCKET_PREFIX_LEN; i < len - 1; i++) {
    unsigned d = (unsigned char)link[i] - '0';
    if (d > 9 || v > (UINT64_MAX - d) / 10) return 0;
    v = v * 10 + d;
  }
  return v;
}

/* An fd directory entry's number, or -1 ("." and ".." included). */
static int32_t fd_number(const char *name) {
  if (*name == '\0') return -1;
  int64_t v = 0;
  for (; *name; name++) {
    unsigned d = (unsigned char)*name - '0';
    if (d > 9) return -1;
    v = v * 10 + d;
    if (v > INT32_MAX) return -1;
  }
  return (int32_t)v;
}

static int all_found(fw_walk_t *w) {
  return atomic_load_explicit(&w->found, memory_order_acquire) == w->nrequired;
}

/* Lowers the limit to the highest first index over the required inodes (all are set). */
static void update_limit(fw_walk_t *w) {
  int32_t max = -1;
  for (size_t i = 0; i < w->nwants; i++) {
    if (!w->wants[i].required) continue;
    int32_t f = atomic_load(&w->wants[i].first);
    if (f > max) max = f;
  }
  int32_t cur = atomic_load(&w->limit);
  while (max < cur && !atomic_compare_exchange_weak(&w->limit, &cur, max)) {
  }
}

static int keep_reading(worker_t *t, int32_t index) {
  fw_walk_t *w = t->run->w;
  fw_wait_if_held(w);
  if (t->err || atomic_load_explicit(&w->cancel, memory_order_relaxed)) return 0;
  return !all_found(w) || index <= atomic_load_explicit(&w->limit, memory_order_relaxed);
}

static void seen(worker_t *t, fw_want_t *want, int32_t index, int32_t fd) {
  fw_walk_t *w = t->run->w;
  if (t->nhits == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    fw_hit_t *grown = realloc(t->hits, cap * sizeof *grown);
    if (grown == NULL) {
      t->err = ENOMEM;
      return;
    }
    t->hits = grown;
    t->cap = cap;
  }
  t->hits[t->nhits++] = (fw_hit_t){.inode = want->inode, .index = index, .fd = fd};
  if (!want->required) return;
  int32_t cur = atomic_load(&want->first);
  while (index < cur) {
    if (!atomic_compare_exchange_weak(&want->first, &cur, index)) continue;
    if (cur == INT32_MAX) {
      if (atomic_fetch_add(&w->found, 1) + 1 == w->nrequired) update_limit(w);
    } else if (all_found(w)) {
      update_limit(w);
    }
    break;
  }
}

static void *helper_main(void *arg);

/* Starts the helpers (once, on the calling thread); a helper that cannot start is done without. */
static void spawn_helpers(run_t *run) {
  run->spawn_tried = 1;
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return;
  pthread_attr_setstacksize(&attr, HELPER_STACK);
  for (int i = 1; i < run->w->threads; i++) {
    if (pw_thread_start(&run->tids[i], &attr, helper_main, &run->workers[i]) != 0) break;
    run->spawned = i;
  }
  pthread_attr_destroy(&attr);
}

static void read_process(worker_t *t, int32_t index) {
  run_t *run = t->run;
  char path[32];
  snprintf(path, sizeof path, "%d/fd", (int)run->w->pids[index]);
  int dir = openat(run->root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) return; /* gone (ENOENT, ESRCH) or not ours to read (EACCES): skipped */
  for (;;) {
    long n = syscall(SYS_getdents64, dir, t->dirents, sizeof t->dirents);
    if (n <= 0) break; /* the end, or the process went away meanwhile */
    for (long off = 0; off < n;) {
      struct linux_dirent64 *d = (struct linux_dirent64 *)(t->dirents + off);
      off += d->d_reclen;
      int32_t fd = fd_number(d->d_name);
      if (fd < 0) continue;
      if (!keep_reading(t, index)) goto done;
      char link[LINK_BUF];
      ssize_t len = readlinkat(dir, d->d_name, link, sizeof link);
      t->readlinks++;
      if (t == &run->workers[0] && !run->spawn_tried && t->readlinks >= SPAWN_AFTER && run->w->threads > 1)
        spawn_helpers(run);
      uint64_t inode = len > 0 ? socket_inode(link, len) : 0; /* closed since the listing: skipped */
      if (inode == 0) continue;
      fw_want_t *want = lookup(run->w, inode);
      if (want != NULL) seen(t, want, index, fd);
    }
  }
done:
  close(dir);
}

static void work(worker_t *t) {
  fw_walk_t *w = t->run->w;
  while (!t->err && !atomic_load_explicit(&w->cancel, memory_order_relaxed) && !all_found(w)) {
    int32_t index = atomic_fetch_add(&w->next, 1);
    if (index >= w->npids) break;
    read_process(t, index);
  }
}

static void *helper_main(void *arg) {
  work(arg);
  return NULL;
}

int fw_run(fw_walk_t *w) {
  w->hits = NULL;
  w->nhits = 0;
  w->claimed = 0;
  w->readlinks = 0;
  w->err = 0;
  w->err_syscall = NULL;
  atomic_init(&w->next, 0);
  atomic_init(&w->found, 0);
  atomic_init(&w->limit, INT32_MAX);
  if (w->threads < 1) w->threads = 1;
  if (w->threads > FW_MAX_THREADS) w->threads = FW_MAX_THREADS;
  if (w->nrequired == 0 || w->npids <= 0) return 0;

  run_t run = {.w = w};
  run.root_fd = open(w->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (run.root_fd < 0) {
    w->err = errno;
    w->err_syscall = "open";
    return -1;
  }
  run.workers = calloc((size_t)w->threads, sizeof *run.workers);
  if (run.workers == NULL) {
    close(run.root_fd);
    w->err = ENOMEM;
    w->err_syscall = "malloc";
    return -1;
  }
  for (int i = 0; i < w->threads; i++) run.workers[i].run = &run;

  work(&run.workers[0]);
  for (int i = 1; i <= run.spawned; i++) pthread_join(run.tids[i], NULL);
  close(run.root_fd);

  int32_t next = atomic_load(&w->next);
  w->claimed = next < w->npids ? next : w->npids;
  size_t total = 0;
  for (int i = 0; i < w->threads; i++) {
    w->readlinks += run.workers[i].readlinks;
    total += run.workers[i].nhits;
    if (run.workers[i].err) w->err = run.workers[i].err;
  }
  if (w->err == 0 && total > 0) {
    w->hits = malloc(total * sizeof *w->hits);
    if (w->hits == NULL) w->err = ENOMEM;
  }
  for (int i = 0; i < w->threads; i++) {
    worker_t *t = &run.workers[i];
    if (w->hits != NULL && t->nhits > 0) memcpy(w->hits + w->nhits, t->hits, t->nhits * sizeof *t->hits);
    if (w->hits != NULL) w->nhits += t->nhits;
    free(t->hits);
  }
  free(run.workers);
  if (w->err != 0) {
    w->err_syscall = "malloc";
    free(w->hits);
    w->hits = NULL;
    w->nhits = 0;
    return -1;
  }
  return 0;
}
