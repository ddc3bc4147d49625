/* What the addon's C files share. */
#ifndef PORTWATCH_H
#define PORTWATCH_H

#include <node_api.h>

/* The errno's name ("ECONNRESET"), or "UNKNOWN"; musl has no strerrorname_np. */
const char *pw_errno_name(int e);

/* Adds the splice relay's functions (relay.c) to the addon's exports. */
void pw_relay_export(napi_env env, napi_value exports);

#endif
