/* Socket counts from /proc/<pid>/net/sockstat{,6}: see sock-counters.h. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sock-counters.h"

static int starts_with(const char *s, const char *end, const char *prefix) {
  size_t n = strlen(prefix);
  return (size_t)(end - s) >= n && memcmp(s, prefix, n) == 0;
}

int pw_parse_inuse(const char *text, size_t len, uint64_t *out, int max) {
  int n = 0;
  const char *p = text, *end = text + len;
  while (p < end && n < max) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (eol == NULL) eol = end;
    if (starts_with(p, eol, "TCP") || starts_with(p, eol, "UDP")) {
      for (const char *q = p; q < eol; q++) {
        if (!starts_with(q, eol, " inuse ")) continue;
        q += 7;
        uint64_t v = 0;
        int digits = 0;
        while (q < eol && *q >= '0' && *q <= '9' && digits < 19) v = v * 10 + (uint64_t)(*q++ - '0'), digits++;
        if (digits > 0) out[n++] = v;
        break;
      }
    }
    p = eol + 1;
  }
  return n;
}

/* Both files' counts, in order, into out; -1 with errno set when one cannot be read. */
static int read_counts(const pw_counters_t *c, uint64_t *out) {
  int n = 0;
  for (int i = 0; i < 2; i++) {
    if (c->fd[i] < 0) continue;
    char buf[1024];
    /* A seq_file read at offset 0 renders the file afresh. */
    ssize_t got = pread(c->fd[i], buf, sizeof buf, 0);
    if (got < 0) return -1;
    n += pw_parse_inuse(buf, (size_t)got, out + n, PW_COUNTS_MAX - n);
  }
  if (n == 0) {
    errno = ENODATA; /* not the sockstat we know: no counts to go by */
    return -1;
  }
  return n;
}

int pw_counters_open(pw_counters_t *c, const char *net_dir) {
  char path[PATH_MAX];
  c->fd[0] = c->fd[1] = -1;
  c->ncounts = 0;
  snprintf(path, sizeof path, "%s/sockstat", net_dir);
  c->fd[0] = open(path, O_RDONLY | O_CLOEXEC);
  if (c->fd[0] < 0) return -1;
  snprintf(path, sizeof path, "%s/sockstat6", net_dir);
  c->fd[1] = open(path, O_RDONLY | O_CLOEXEC); /* absent without IPv6: the first file alone */
  int n = read_counts(c, c->counts);
  if (n < 0) {
    int err = errno;
    pw_counters_close(c);
    errno = err;
    return -1;
  }
  c->ncounts = n;
  return 0;
}

int pw_counters_moved(pw_counters_t *c) {
  uint64_t now[PW_COUNTS_MAX];
  int n = read_counts(c, now);
  if (n < 0) return -1;
  int moved = n != c->ncounts || memcmp(now, c->counts, sizeof(uint64_t) * (size_t)n) != 0;
  memcpy(c->counts, now, sizeof(uint64_t) * (size_t)n);
  c->ncounts = n;
  return moved;
}

void pw_counters_close(pw_counters_t *c) {
  for (int i = 0; i < 2; i++) {
    if (c->fd[i] >= 0) close(c->fd[i]);
    c->fd[i] = -1;
  }
}
