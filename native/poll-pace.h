/*
 * When the change poller looks: its interval policy, priced on its own CPU.
 *
 * A whole look (every sock_diag dump) is priced by the median of the last looks; the interval
 * is that price spent at the budget, within [min_ms, max_ms], or fixed. When that interval is
 * longer than min_ms (a big table: 5,000 listeners cost ~2 ms a look, 0.7 s at a 0.3 % budget)
 * and the socket counts can be read (sock-counters.h), the poller wakes every min_ms and reads
 * only the counts. It looks at the whole table:
 * - when they moved and it has a look's credit: credit, counted in looks, accrues at the
 *   budget's rate (one look per interval), holds at most two and starts with two, one of
 *   which the first look (the one that prices the table) spends;
 * - when its last look is two intervals old, credit or not (half the budget: the counts can
 *   stay where they were while a listener opened and a connection closed);
 * - at max_ms whatever the budget says.
 * Looks without credit put it in debt by at most one look, so a dear spell (a table that grew,
 * then shrank) is paid back within an interval. A look that found the table changed spends
 * only budget / 5 % of a look's credit: it is paid by the change it reports (the watcher prices
 * its own ticks the same way) from a 5 % share of a core, the budget tracefs-hinted scans have.
 * So listeners that open and close one after another are usually each seen within min_ms (a
 * look that found nothing may have spent the credit first), a table whose unconnected UDP
 * sockets churn cannot make the poller spend more than 5 %, and idle CPU (looks that find
 * nothing: counts moved by connections, the two-interval look) stays within the budget.
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
  double credit;        /* looks the budget has accrued and none has spent yet, in [-1, 2] */
  uint64_t credit_at_ns, last_look_ns;
  int moved; /* the counts moved since the last whole look */
  uint64_t active_until_ns; /* a look found a change lately: the counts are read more often */
} pw_pace_t;

void pw_pace_init(pw_pace_t *p, double budget, uint32_t min_ms, uint32_t max_ms, uint32_t fixed_ms, uint64_t now_ns);

/* Whether the poller wakes at min_ms and reads the counts between whole looks. */
int pw_pace_counting(const pw_pace_t *p, int have_counts);

/* How long the poller sleeps before its next wake: min_ms while counting, a quarter of it for a
 * second after a look that found a change (changes come in bursts: a close and the next listen()
 * inside one wake leave the counts where they were), else the interval. */
uint32_t pw_pace_sleep_ms(const pw_pace_t *p, int have_counts, uint64_t now_ns);

/* On a counting wake: whether to look at the whole table now (`moved`: the counts moved). */
int pw_pace_look_now(pw_pace_t *p, uint64_t now_ns, int moved);

/* After a whole look that cost `cost_ms` of CPU: prices the table, and spends a look's credit
 * unless it found the table `changed`. */
void pw_pace_looked(pw_pace_t *p, uint64_t now_ns, double cost_ms, int changed);

#endif
