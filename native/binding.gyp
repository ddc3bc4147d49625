{
  "targets": [
    {
      "target_name": "portwatch_sockdiag",
      "sources": ["sockdiag.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=gnu11", "-Wall", "-Wextra", "-O2"]
    }
  ]
}
