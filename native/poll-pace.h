/*
 * When the change poller looks: its interval policy, priced on its own CPU.
 *
 * A whole look (every sock_diag dump) is priced by the median of the last looks; the interval
 * is that price spent at the budget, within [min_ms, max_ms], or fixed. When that interval is
 * longer than min_ms (a big table: 5,000 listeners cost ~4 ms a look, 1.4 s at a 0.3 % budget)
 * and the socket counts can be read (sock-counters.h), the poller wakes every min_ms and reads
 * only the counts; it looks at the whole table when they moved and the budget has the credit
 * for it (credit accrues at the budget's rate, up to two looks' worth), when a look is two
 * intervals old (the counts can stay where they were while a listener opened and a connection
 * closed), and at max_ms whatever the budget says. Under steady change that is one look per
 * interval, the same CPU as without the counts; a change after a quiet spell is looked at
 * within min_ms instead of within an interval.
 */
#ifndef PW_POLL_PACE_H
#define PW_POLL_PACE_H

#include <stdint.h>

#define PW_PACE_WINDOW 9

typedef struct {
  double budget;
  uint32_t min_ms, max_ms, fixed_ms;
  double costs[PW_PACE_WINDOW]; /* whole looks' CPU, ms */
  int ncosts, next_cost;
  uint32_t interval_ms; /* between whole looks, as the budget sets it */
  double credit_ms;     /* CPU the budget has accrued and no look spent yet */
  uint64_t credit_at_ns, last_look_ns;
  int moved; /* the counts moved since the last whole look */
} pw_pace_t;

void pw_pace_init(pw_pace_t *p, double budget, uint32_t min_ms, uint32_t max_ms, uint32_t fixed_ms, uint64_t now_ns);

/* Whether the poller wakes at min_ms and reads the counts between whole looks. */
int pw_pace_counting(const pw_pace_t *p, int have_counts);

/* How long the poller sleeps before its next wake. */
uint32_t pw_pace_sleep_ms(const pw_pace_t *p, int have_counts);

/* On a counting wake: whether to look at the whole table now (`moved`: the counts moved). */
int pw_pace_look_now(pw_pace_t *p, uint64_t now_ns, int moved);

/* After a wake's work: `cost_ms` of CPU spent, `whole` when it was a whole look. Only whole
 * looks are priced and charged; reading the counts (~10-20 us) is a wake's floor. */
void pw_pace_record(pw_pace_t *p, uint64_t now_ns, double cost_ms, int whole);

#endif
