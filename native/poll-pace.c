/* The change poller's interval policy: see poll-pace.h. */
#include <stdlib.h>
#include <string.h>

#include "poll-pace.h"

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

static void accrue(pw_pace_t *p, uint64_t now_ns) {
  if (now_ns > p->credit_at_ns) p->credit_ms += p->budget * (double)(now_ns - p->credit_at_ns) / 1e6;
  p->credit_at_ns = now_ns;
  double cap = 2 * median_cost(p);
  if (p->ncosts > 0 && p->credit_ms > cap) p->credit_ms = cap;
}

void pw_pace_init(pw_pace_t *p, double budget, uint32_t min_ms, uint32_t max_ms, uint32_t fixed_ms, uint64_t now_ns) {
  memset(p, 0, sizeof *p);
  p->budget = budget;
  p->min_ms = min_ms;
  p->max_ms = max_ms;
  p->fixed_ms = fixed_ms;
  p->interval_ms = fixed_ms > 0 ? fixed_ms : min_ms;
  p->credit_at_ns = p->last_look_ns = now_ns;
  p->credit_ms = 1e300; /* starts full: two looks' worth once the first look has priced the table */
}

int pw_pace_counting(const pw_pace_t *p, int have_counts) {
  return have_counts && p->fixed_ms == 0 && p->interval_ms > p->min_ms;
}

uint32_t pw_pace_sleep_ms(const pw_pace_t *p, int have_counts) {
  return pw_pace_counting(p, have_counts) ? p->min_ms : p->interval_ms;
}

int pw_pace_look_now(pw_pace_t *p, uint64_t now_ns, int moved) {
  accrue(p, now_ns);
  p->moved |= moved;
  double since_ms = (double)(now_ns - p->last_look_ns) / 1e6;
  if (since_ms >= p->max_ms) return 1; /* the ceiling holds whatever the budget says */
  uint64_t stale_ms = 2 * (uint64_t)p->interval_ms;
  int wanted = p->moved || since_ms >= (double)(stale_ms < p->max_ms ? stale_ms : p->max_ms);
  return wanted && p->credit_ms >= median_cost(p);
}

void pw_pace_record(pw_pace_t *p, uint64_t now_ns, double cost_ms, int whole) {
  if (whole) {
    p->moved = 0;
    p->last_look_ns = now_ns;
    p->costs[p->next_cost] = cost_ms;
    p->next_cost = (p->next_cost + 1) % PW_PACE_WINDOW;
    if (p->ncosts < PW_PACE_WINDOW) p->ncosts++;
  }
  if (!whole) return; /* reading the counts is a wake's floor, like poll() itself: not charged */
  accrue(p, now_ns);
  p->credit_ms -= cost_ms;
  if (p->fixed_ms > 0) return;
  double ms = median_cost(p) / p->budget;
  if (ms < p->min_ms) ms = p->min_ms;
  if (ms > p->max_ms) ms = p->max_ms;
  p->interval_ms = (uint32_t)ms;
}
