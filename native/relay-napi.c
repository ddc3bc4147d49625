/*
 * The splice relay (relay.c) as seen from JavaScript:
 *
 * relayInit(onEnd: (id, up, down, how, code, side) => void): void
 *   Starts this environment's relay engine (one thread, one epoll) on first call; a later
 *   call only replaces onEnd. onEnd is called on the Node thread when a relay has ended:
 *   up/down are the bytes carried client -> target and back, how is 'eof' (both ways ended
 *   cleanly), 'reset' (a side was reset; the other one was reset too), 'error' (another
 *   socket error, passed on as a reset) or 'cut' (relayCut); code is the errno's name and
 *   side 'client' or 'target' for reset and error, else null.
 *
 * relayStart(clientFd: number, targetFd: number): number
 *   Relays between two connected TCP sockets; returns the relay's id. The engine works on
 *   dups of the fds: the caller closes its own at once (without shutdown()), and must
 *   never read or write them again. Throws like Node's system errors (EMFILE, ENOTSOCK...).
 *
 * relayCut(id: number, reset?: boolean): boolean
 *   Ends a relay now: both sockets closed (reset with SO_LINGER 0 when `reset`); bytes in
 *   its pipes are dropped. false when the relay had already ended.
 *
 * Node stays alive while a relay runs (the thread-safe function is ref'ed from the first
 * relayStart until every relay started has been reported) and not a moment longer: an idle
 * engine holds nothing. The environment's cleanup stops the thread and resets what is left.
 */
#include <errno.h>
#include <stdlib.h>

#include "portwatch.h"
#include "relay.h"

typedef struct {
  engine_t engine;
  napi_threadsafe_function tsfn;
  napi_ref on_end;
  uint32_t active; /* started and not yet reported; Node thread only. tsfn is ref'ed while > 0 */
} relay_state_t;

static const char *const HOW_NAMES[] = {"eof", "reset", "error", "cut"};
static const char *const SIDE_NAMES[] = {"client", "target"};

static napi_value string_or_null(napi_env env, const char *s) {
  napi_value v;
  if (s == NULL) napi_get_null(env, &v);
  else napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  return v;
}

static void call_on_end(napi_env env, relay_state_t *st, const relay_end_t *end) {
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, args[6], result;
  napi_get_reference_value(env, st->on_end, &cb);
  napi_get_undefined(env, &recv);
  napi_create_double(env, end->id, &args[0]);
  napi_create_double(env, end->moved[0], &args[1]);
  napi_create_double(env, end->moved[1], &args[2]);
  args[3] = string_or_null(env, HOW_NAMES[end->how]);
  args[4] = string_or_null(env, end->err ? pw_errno_name(end->err) : NULL);
  args[5] = string_or_null(env, end->side >= 0 ? SIDE_NAMES[end->side] : NULL);
  if (napi_call_function(env, recv, cb, 6, args, &result) == napi_pending_exception) {
    napi_value exception;
    napi_get_and_clear_last_exception(env, &exception);
    napi_fatal_exception(env, exception); /* as an uncaught exception in a callback */
  }
  napi_close_handle_scope(env, scope);
}

/* On the Node thread: a batch of ends. env is NULL when the function is being torn down. */
static void deliver(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)js_cb;
  relay_state_t *st = context;
  relay_ends_t *ends = data;
  if (env != NULL) {
    for (size_t i = 0; i < ends->len; i++) call_on_end(env, st, &ends->items[i]);
    uint32_t before = st->active;
    st->active = ends->len > before ? 0 : before - (uint32_t)ends->len;
    if (before > 0 && st->active == 0) napi_unref_threadsafe_function(env, st->tsfn);
  }
  free(ends);
}

/* On the relay thread. */
static void report(engine_t *e, relay_ends_t *ends) {
  relay_state_t *st = e->owner;
  if (napi_call_threadsafe_function(st->tsfn, ends, napi_tsfn_nonblocking) != napi_ok) free(ends);
}

static void finalize_state(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  free(data);
}

static void cleanup(void *arg) {
  relay_state_t *st = arg;
  relay_engine_stop(&st->engine);
  napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort); /* finalize_state frees st */
}

static relay_state_t *state_of(napi_env env) {
  void *data = NULL;
  napi_get_instance_data(env, &data);
  return data;
}

static napi_value relay_init(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value args[1];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  if (pw_read_function(env, args[0], "onEnd must be a function") < 0) return NULL;
  relay_state_t *st = state_of(env);
  if (st != NULL) {
    napi_delete_reference(env, st->on_end);
    napi_create_reference(env, args[0], 1, &st->on_end);
    return NULL;
  }
  st = calloc(1, sizeof *st);
  if (st == NULL) {
    pw_throw_errno(env, ENOMEM, "relayInit", NULL);
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "portwatch splice relay", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, st, finalize_state, st, deliver, &st->tsfn) != napi_ok) {
    free(st);
    napi_throw_error(env, NULL, "relayInit: cannot create a thread-safe function");
    return NULL;
  }
  napi_unref_threadsafe_function(env, st->tsfn); /* idle: keeps nothing alive */
  if (relay_engine_start(&st->engine, report, st) < 0) {
    int err = errno;
    napi_release_threadsafe_function(st->tsfn, napi_tsfn_abort);
    pw_throw_errno(env, err, "relayInit", NULL);
    return NULL;
  }
  napi_create_reference(env, args[0], 1, &st->on_end);
  napi_add_env_cleanup_hook(env, cleanup, st);
  napi_set_instance_data(env, st, NULL, NULL);
  return NULL;
}

static napi_value relay_start(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  relay_state_t *st = state_of(env);
  if (st == NULL) {
    napi_throw_error(env, "ERR_INVALID_STATE", "relayInit() first");
    return NULL;
  }
  int client, target;
  const char *usage = "relayStart takes two socket descriptors";
  if (pw_read_fd(env, args[0], &client, usage) < 0 || pw_read_fd(env, args[1], &target, usage) < 0) return NULL;
  double id = relay_add(&st->engine, client, target);
  if (id < 0) {
    pw_throw_errno(env, errno, "relayStart", NULL);
    return NULL;
  }
  if (st->active++ == 0) napi_ref_threadsafe_function(env, st->tsfn);
  napi_value result;
  napi_create_double(env, id, &result);
  return result;
}

static napi_value relay_cut_js(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value args[2];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  relay_state_t *st = state_of(env);
  double id = -1;
  bool reset = false;
  napi_valuetype type;
  napi_typeof(env, args[1], &type);
  if (napi_get_value_double(env, args[0], &id) != napi_ok || (type != napi_undefined && napi_get_value_bool(env, args[1], &reset) != napi_ok)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "relayCut takes a relay id and an optional boolean");
    return NULL;
  }
  napi_value result;
  napi_get_boolean(env, st != NULL && relay_cut(&st->engine, id, reset), &result);
  return result;
}

void pw_relay_export(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"relayInit", NULL, relay_init, NULL, NULL, NULL, napi_enumerable, NULL},
      {"relayStart", NULL, relay_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"relayCut", NULL, relay_cut_js, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
