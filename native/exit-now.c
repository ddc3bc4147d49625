/*
 * exitNow(status): ends the process at once with `status` (_exit(2)), skipping Node's orderly
 * teardown: 'exit' handlers, the environment's cleanup hooks, joining V8's and libuv's threads,
 * freeing the heap. That teardown takes 3–8 ms after a short-lived command's last write (by
 * hand: a watcher's process writes a line and calls process.exit(), and its parent hears of the
 * exit 8–10 ms after the line; with SIGKILL instead, 1–3 ms). For `portwatch wait`, whose
 * users run `wait 3000 && next`, once its answer is written and nothing else is pending.
 */
#include <node_api.h>
#include <unistd.h>

#include "portwatch.h"

static napi_value exit_now(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  double status = -1;
  napi_valuetype type = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type != napi_number || napi_get_value_double(env, argv[0], &status) != napi_ok || !(status >= 0 && status <= 255) ||
      status != (double)(int)status) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "exitNow takes an exit status, a whole number 0-255");
    return NULL;
  }
  _exit((int)status);
}

void pw_exit_export(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"exitNow", NULL, exit_now, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
}
