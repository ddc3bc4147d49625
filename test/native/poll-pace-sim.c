/*
 * Drives the change poller's interval policy (native/poll-pace.c) as native/poll-thread.c does,
 * on simulated time: a first look at start that finds nothing new, then a wake every
 * pw_pace_sleep_ms(); on a counting wake pw_pace_look_now() decides, otherwise every wake
 * looks. A look takes its cost in time before pw_pace_looked() is told of it. Prints one JSON
 * object per scenario named on argv (all of them when none is).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "../../native/poll-pace.h"

#define MS 1000000ull

typedef struct {
  const char *name;
  double budget, cost_ms, later_cost_ms; /* a look costs later_cost_ms from switch_ms on */
  uint32_t min_ms, max_ms, switch_ms, duration_ms;
  uint32_t change_every_ms; /* a listener change at every multiple of it, + 50 ms (0: none) */
  uint32_t burst, burst_gap_ms; /* that many changes, burst_gap_ms apart: a close, a listen()… */
  int churn;                /* the counts move on every wake (connections) */
  int storm;                /* every look finds a change */
} scenario_t;

static const scenario_t scenarios[] = {
    {"big-table", 0.003, 2, 2, 100, 5000, 0, 60000, 0, 1, 0, 0, 0},
    {"listener-change", 0.003, 5, 5, 100, 5000, 0, 60000, 1000, 1, 0, 0, 0},
    {"churn", 0.003, 2, 2, 100, 5000, 0, 60000, 0, 1, 0, 1, 0},
    {"storm", 0.003, 20, 20, 10, 5000, 0, 60000, 0, 1, 0, 1, 1},
    {"credit-floor", 0.003, 60, 2, 100, 5000, 40000, 100000, 0, 1, 0, 1, 0},
    {"bursts", 0.003, 2, 2, 100, 5000, 0, 60000, 2000, 6, 60, 0, 0},
};

static void run(const scenario_t *s) {
  pw_pace_t p;
  uint64_t now = 0, end = (uint64_t)s->duration_ms * MS;
  uint64_t next_change = s->change_every_ms ? (uint64_t)s->change_every_ms * MS + 50 * MS : UINT64_MAX;
  uint32_t in_burst = 0; /* changes made of the current burst */
  long looks = 0, unmoved = 0, changes = 0, late = 0, wakes = 0;
  double cpu_ms = 0, min_credit = 2, interval_after_first;
  int counting_after_first, pending_change = 0, moved_since_look = 0;
  long cheap_at = -1, recover_ms = -1; /* credit-floor: from the cheap price to a look's credit */

  pw_pace_init(&p, s->budget, s->min_ms, s->max_ms, 0, now);
  now += (uint64_t)(s->cost_ms * MS);
  pw_pace_looked(&p, now, s->cost_ms, 0); /* everything is new to the first look */
  looks = 1;
  cpu_ms = s->cost_ms;
  interval_after_first = p.interval_ms;
  counting_after_first = pw_pace_counting(&p, 1);
  if (p.credit < min_credit) min_credit = p.credit;

  for (;;) {
    now += (uint64_t)pw_pace_sleep_ms(&p, 1, now) * MS;
    if (now > end) break;
    wakes++;
    int fresh = 0; /* listener changes since the last wake */
    while (next_change <= now) {
      fresh++;
      changes++;
      if (++in_burst < s->burst) {
        next_change += (uint64_t)s->burst_gap_ms * MS;
      } else {
        next_change += (uint64_t)s->change_every_ms * MS - (uint64_t)(s->burst - 1) * s->burst_gap_ms * MS;
        in_burst = 0;
      }
    }
    /* Each change opens or closes one listener: an even number since the last read nets out. */
    int moved = s->churn || fresh % 2 == 1;
    pending_change |= fresh > 0;
    moved_since_look |= moved;
    int look = 1;
    if (pw_pace_counting(&p, 1)) {
      look = pw_pace_look_now(&p, now, moved);
      if (p.credit < min_credit) min_credit = p.credit;
      if (cheap_at >= 0 && recover_ms < 0 && p.credit >= 1.0) recover_ms = (long)(now / MS) - cheap_at;
    }
    if (!look) {
      late += fresh;
      continue;
    }
    double cost = now >= (uint64_t)s->switch_ms * MS ? s->later_cost_ms : s->cost_ms;
    int changed = s->storm || pending_change;
    looks++;
    unmoved += !moved_since_look;
    cpu_ms += cost;
    now += (uint64_t)(cost * MS);
    pw_pace_looked(&p, now, cost, changed);
    if (p.credit < min_credit) min_credit = p.credit;
    pending_change = moved_since_look = 0;
    if (s->switch_ms && cheap_at < 0 && now >= (uint64_t)s->switch_ms * MS &&
        p.interval_ms <= (uint32_t)(s->later_cost_ms / s->budget))
      cheap_at = (long)(now / MS);
  }
  printf("{\"name\":\"%s\",\"looks\":%ld,\"unmoved\":%ld,\"changes\":%ld,\"late\":%ld,\"wakes\":%ld,"
         "\"cpu\":%.6f,\"intervalAfterFirst\":%.0f,\"countingAfterFirst\":%s,\"intervalMs\":%u,"
         "\"credit\":%.4f,\"minCredit\":%.4f,\"cheapAtMs\":%ld,\"recoverMs\":%ld}\n",
         s->name, looks, unmoved, changes, late, wakes, cpu_ms / (double)s->duration_ms, interval_after_first,
         counting_after_first ? "true" : "false", p.interval_ms, p.credit, min_credit, cheap_at, recover_ms);
}

int main(int argc, char **argv) {
  size_t n = sizeof scenarios / sizeof scenarios[0];
  if (argc < 2) {
    for (size_t i = 0; i < n; i++) run(&scenarios[i]);
    return 0;
  }
  for (int a = 1; a < argc; a++) {
    size_t i = 0;
    while (i < n && strcmp(scenarios[i].name, argv[a]) != 0) i++;
    if (i == n) {
      fprintf(stderr, "unknown scenario: %s\n", argv[a]);
      return 2;
    }
    run(&scenarios[i]);
  }
  return 0;
}
