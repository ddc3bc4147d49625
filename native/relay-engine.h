/*
 * What the relay engine's files share (relay.c the thread, relay-pump.c the bytes,
 * relay-table.c ids and queues); relay-napi.c sees relay.h only.
 */
#ifndef PORTWATCH_RELAY_ENGINE_H
#define PORTWATCH_RELAY_ENGINE_H

#include <stdint.h>

#include "relay.h"

/* What one epoll round ended: the reports for Node, and the relays to free after it. */
typedef struct {
  relay_ends_t *ends;
  relay_t *dead;
} round_t;

/* relay-table.c */
double relay_id_of(const relay_t *r);
void relay_release_slot(engine_t *e, relay_t *r);
void relay_close_fd(int *fd);
void relay_close_fds(relay_t *r, int reset);
void relay_wake(engine_t *e);

/* relay.c: ends a relay (see there). */
void relay_finish(engine_t *e, relay_t *r, int how, int err, int side, int reset, round_t *round);
void relay_fail(engine_t *e, relay_t *r, int side, int err, round_t *round);

/* relay-pump.c */
void relay_run_direction(engine_t *e, relay_t *r, int d, round_t *round);
void relay_check_done(engine_t *e, relay_t *r, round_t *round);
void relay_on_event(engine_t *e, relay_t *r, int s, uint32_t events, round_t *round);
void relay_serve_ready(engine_t *e, round_t *round);

#endif
