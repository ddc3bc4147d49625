{
  "targets": [
    {
      "target_name": "portwatch_sockdiag",
      "sources": ["sockdiag.c", "sockdiag-napi.c", "errno-name.c", "relay.c", "relay-pump.c", "relay-table.c", "relay-napi.c", "fd-walk.c", "fd-walk-hold.c", "fd-walk-napi.c", "poll-thread.c", "poll-thread-napi.c", "sock-counters.c", "poll-pace.c", "exit-now.c", "output-gone.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-O2", "-pthread"],
      "ldflags": ["-pthread"]
    }
  ]
}
