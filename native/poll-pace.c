/* The change poller's interval policy: see poll-pace.h. */
#include <stdlib.h>
#include <string.h>

#include "poll-pace.h"

#define CREDIT_MAX 2.0
#define CREDIT_MIN -1.0
/* What looks that find a change may spend, as a share of one core: the budget tracefs-hinted
 * scans have (src/watch/hint-pacing.ts). Such a look costs budget / CHANGE_BUDGET of a look's
 * credit, so they run at most at this share whatever changes, listeners or not. */
#define CHANGE_BUDGET 0.05
/* After a look that found a change, the counts are read every min_ms / QUICK_DIVISOR for
 * ACTIVE_NS: a few µs a read, paid by the change. */
#define QUICK_DIVISOR 4
#define ACTIVE_NS 1000000000ull

static int compare_doubles(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median_cost(const pw_pace_t *p) {
  if (p->ncosts == 0) return 0;
  double sorted[PW_PACE_WINDOW];
  memcpy(sorted, p->costs, sizeof(double) * (size_t)p->ncosts);
  qsort(sorted, (size_t)p->ncosts, sizeof(double), compare_doubles);
  return sorted[(p->ncosts - 1) / 2];
}

/* Credit for the time since the last call: the budget's CPU over that time, in looks. */
static void accrue(pw_pace_t *p, uint64_t now_ns) {
  double price = median_cost(p);
  if (now_ns > p->credit_at_ns && price > 0) p->credit += p->budget * ((double)(now_ns - p->credit_at_ns) / 1e6) / price;
  p->credit_at_ns = now_ns;
  if (p->credit > CREDIT_MAX) p->credit = CREDIT_MAX;
}

void pw_pace_init(pw_pace_t *p, double budget, uint32_t min_ms, uint32_t max_ms, uint32_t fixed_ms, uint64_t now_ns) {
  memset(p, 0, sizeof *p);
  p->budget = budget;
  p->min_ms = min_ms;
  p->max_ms = max_ms;
  p->fixed_ms = fixed_ms;
  p->interval_ms = fixed_ms > 0 ? fixed_ms : min_ms;
  p->credit = CREDIT_MAX;
  p->credit_at_ns = p->last_look_ns = now_ns;
}

int pw_pace_counting(const pw_pace_t *p, int have_counts) {
  return have_counts && p->fixed_ms == 0 && p->interval_ms > p->min_ms;
}

uint32_t pw_pace_sleep_ms(const pw_pace_t *p, int have_counts, uint64_t now_ns) {
  if (!pw_pace_counting(p, have_counts)) return p->interval_ms;
  if (now_ns < p->active_until_ns && p->min_ms >= QUICK_DIVISOR) return p->min_ms / QUICK_DIVISOR;
  return p->min_ms;
}

int pw_pace_look_now(pw_pace_t *p, uint64_t now_ns, int moved) {
  accrue(p, now_ns);
  p->moved |= moved;
  double since_ms = (double)(now_ns - p->last_look_ns) / 1e6;
  double stale_ms = 2.0 * p->interval_ms;
  if (since_ms >= p->max_ms || since_ms >= stale_ms) return 1; /* credit or not */
  return p->moved && p->credit >= 1.0;
}

void pw_pace_looked(pw_pace_t *p, uint64_t now_ns, double cost_ms, int changed) {
  accrue(p, now_ns); /* at the old price: the time before this look */
  /* A change pays for most of the look that found it. */
  p->credit -= changed && p->budget < CHANGE_BUDGET ? p->budget / CHANGE_BUDGET : 1.0;
  if (changed) p->active_until_ns = now_ns + ACTIVE_NS;
  if (p->credit < CREDIT_MIN) p->credit = CREDIT_MIN;
  p->moved = 0;
  p->last_look_ns = now_ns;
  p->costs[p->next_cost] = cost_ms;
  p->next_cost = (p->next_cost + 1) % PW_PACE_WINDOW;
  if (p->ncosts < PW_PACE_WINDOW) p->ncosts++;
  if (p->fixed_ms > 0) return;
  double ms = median_cost(p) / p->budget;
  if (ms < p->min_ms) ms = p->min_ms;
  if (ms > p->max_ms) ms = p->max_ms;
  p->interval_ms = (uint32_t)ms;
}
