/*
 * The owner walk (fd-walk.c) as seen from JavaScript:
 *
 * fdWalk(procRoot: string, pids: Int32Array, wanted: Float64Array, threads?: number,
 *        known?: Float64Array): Promise<{ inodes: Float64Array, indexes: Int32Array,
 *        fds: Int32Array, claimed: number, readlinks: number }>
 *   Reads /proc/<pid>/fd of `pids` (in that order: newest first) for the socket inodes in
 *   `wanted`, on `threads` threads (1..8; default min(4, cores)), and stops once each has
 *   been seen. Every holder seen of a wanted or a `known` inode (one whose owner is known
 *   already: its other holders are reported, but it is not waited for) comes back as
 *   (inodes[i], pids[indexes[i]], fds[i]), in read order per thread. A wanted inode's first
 *   holder in list order is always among them. `claimed`: the prefix of `pids` whose
 *   processes were started. Runs on the libuv threadpool (napi_async_work), never on the
 *   Node thread; rejects like Node's system errors when procRoot cannot be opened.
 *
 * fdWalkHold(ms: number): void
 *   Holds the walks queued so far for `ms` (at most 1,000), or releases them now with 0: their
 *   threads sleep between two fds (fd-walk-hold.c). Walks queued later are not held.
 *
 * Processes gone or not ours to read are skipped, as are fds closed during the walk. When
 * the environment is torn down during a walk, the walk stops at its next fd.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fd-walk.h"
#include "portwatch.h"

#define DEFAULT_THREADS 4
#define MAX_SAFE_INTEGER 9007199254740991.0

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  fw_walk_t walk;
  int rc;
} job_t;

static void free_job(job_t *job) {
  free((char *)job->walk.proc_root);
  free((int32_t *)job->walk.pids);
  free(job->walk.wants);
  free(job->walk.hits);
  free(job);
}

static void cancel_job(void *arg) {
  job_t *job = arg;
  atomic_store(&job->walk.cancel, 1);
  fw_wake(); /* a held thread sees the cancel now, not at its hold's deadline */
}

static void execute(napi_env env, void *data) {
  (void)env;
  job_t *job = data;
  job->rc = fw_run(&job->walk);
}

static napi_value typed(napi_env env, napi_typedarray_type type, size_t n, size_t width, void **out) {
  napi_value buffer, array;
  napi_create_arraybuffer(env, n * width, out, &buffer);
  napi_create_typedarray(env, type, n, buffer, 0, &array);
  return array;
}

static napi_value result_of(napi_env env, const fw_walk_t *w) {
  size_t n = w->nhits;
  double *inodes;
  int32_t *indexes, *fds;
  napi_value result, v;
  napi_create_object(env, &result);
  napi_set_named_property(env, result, "inodes", typed(env, napi_float64_array, n, 8, (void **)&inodes));
  napi_set_named_property(env, result, "indexes", typed(env, napi_int32_array, n, 4, (void **)&indexes));
  napi_set_named_property(env, result, "fds", typed(env, napi_int32_array, n, 4, (void **)&fds));
  for (size_t i = 0; i < n; i++) {
    inodes[i] = (double)w->hits[i].inode;
    indexes[i] = w->hits[i].index;
    fds[i] = w->hits[i].fd;
  }
  napi_create_int32(env, w->claimed, &v);
  napi_set_named_property(env, result, "claimed", v);
  napi_create_double(env, (double)w->readlinks, &v);
  napi_set_named_property(env, result, "readlinks", v);
  return result;
}

static void complete(napi_env env, napi_status status, void *data) {
  job_t *job = data;
  napi_remove_env_cleanup_hook(env, cancel_job, job);
  if (status == napi_ok && job->rc == 0) {
    napi_resolve_deferred(env, job->deferred, result_of(env, &job->walk));
  } else {
    napi_value error;
    if (status != napi_ok) {
      napi_value msg;
      napi_create_string_utf8(env, "fdWalk: the walk was cancelled", NAPI_AUTO_LENGTH, &msg);
      napi_create_error(env, NULL, msg, &error);
    } else {
      const char *syscall = job->walk.err_syscall;
      pw_throw_errno(env, job->walk.err, syscall, strcmp(syscall, "open") == 0 ? job->walk.proc_root : NULL);
      napi_get_and_clear_last_exception(env, &error);
    }
    napi_reject_deferred(env, job->deferred, error);
  }
  napi_delete_async_work(env, job->work);
  free_job(job);
}

/* The data of a typed array of `type`, or NULL (a TypeError thrown) when `arg` is not one. */
static void *typed_arg(napi_env env, napi_value arg, napi_typedarray_type type, size_t *length, const char *message) {
  bool is = false;
  napi_is_typedarray(env, arg, &is);
  napi_typedarray_type actual;
  void *data = NULL;
  if (is) napi_get_typedarray_info(env, arg, &actual, length, &data, NULL, NULL);
  if (!is || actual != type) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", message);
    return NULL;
  }
  return data != NULL ? data : (void *)"";
}

/* Appends `n` inodes to wants; -1 (a TypeError thrown) when one is not a non-negative safe integer. */
static int add_wants(napi_env env, fw_want_t *wants, size_t *at, const double *inodes, size_t n, int required) {
  for (size_t i = 0; i < n; i++) {
    double v = inodes[i];
    if (!(v >= 0 && v <= MAX_SAFE_INTEGER) || floor(v) != v) {
      napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "inodes must be non-negative integers");
      return -1;
    }
    wants[*at].inode = (uint64_t)v;
    wants[*at].required = required;
    (*at)++;
  }
  return 0;
}

static int read_threads(napi_env env, napi_value arg, int *threads) {
  napi_valuetype type;
  napi_typeof(env, arg, &type);
  double v = 0;
  if (type != napi_undefined && (type != napi_number || napi_get_value_double(env, arg, &v) != napi_ok || isnan(v))) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "threads must be a number");
    return -1;
  }
  if (v < 1) {
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    v = cores > 0 && cores < DEFAULT_THREADS ? (double)cores : DEFAULT_THREADS;
  }
  *threads = v > FW_MAX_THREADS ? FW_MAX_THREADS : (int)v;
  return 0;
}

static napi_value fd_walk(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value args[5];
  napi_get_cb_info(env, info, &argc, args, NULL, NULL);
  for (size_t i = argc; i < 5; i++) napi_get_undefined(env, &args[i]);

  size_t root_len = 0;
  napi_valuetype type;
  napi_typeof(env, args[0], &type);
  if (type != napi_string || napi_get_value_string_utf8(env, args[0], NULL, 0, &root_len) != napi_ok || root_len == 0 ||
      root_len >= 4096) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "procRoot must be a non-empty path string");
    return NULL;
  }
  size_t npids = 0, nwanted = 0, nknown = 0;
  const int32_t *pids = typed_arg(env, args[1], napi_int32_array, &npids, "pids must be an Int32Array");
  if (pids == NULL) return NULL;
  if (npids > INT32_MAX - 1024) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "too many pids");
    return NULL;
  }
  const double *wanted = typed_arg(env, args[2], napi_float64_array, &nwanted, "wanted must be a Float64Array");
  if (wanted == NULL) return NULL;
  int threads;
  if (read_threads(env, args[3], &threads) < 0) return NULL;
  const double *known = NULL;
  napi_typeof(env, args[4], &type);
  if (type != napi_undefined) {
    known = typed_arg(env, args[4], napi_float64_array, &nknown, "known must be a Float64Array");
    if (known == NULL) return NULL;
  }

  job_t *job = calloc(1, sizeof *job);
  char *root = malloc(root_len + 1);
  int32_t *pid_copy = malloc((npids ? npids : 1) * sizeof *pid_copy);
  fw_want_t *wants = calloc(nwanted + nknown + 1, sizeof *wants);
  if (job == NULL || root == NULL || pid_copy == NULL || wants == NULL) {
    free(job), free(root), free(pid_copy), free(wants);
    pw_throw_errno(env, ENOMEM, "fdWalk", NULL);
    return NULL;
  }
  job->walk.proc_root = root;
  job->walk.pids = pid_copy;
  job->walk.wants = wants;
  napi_get_value_string_utf8(env, args[0], root, root_len + 1, NULL);
  if (npids) memcpy(pid_copy, pids, npids * sizeof *pid_copy);
  size_t n = 0;
  if (add_wants(env, wants, &n, wanted, nwanted, 1) < 0 || add_wants(env, wants, &n, known, nknown, 0) < 0) {
    free_job(job);
    return NULL;
  }
  job->walk.npids = (int32_t)npids;
  job->walk.nwants = fw_prepare_wants(wants, n);
  for (size_t i = 0; i < job->walk.nwants; i++) job->walk.nrequired += wants[i].required != 0;
  job->walk.threads = threads;
  job->walk.seq = fw_number();

  napi_value promise, name;
  napi_create_promise(env, &job->deferred, &promise);
  napi_create_string_utf8(env, "portwatch fd walk", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, execute, complete, job, &job->work) != napi_ok ||
      napi_queue_async_work(env, job->work) != napi_ok) {
    napi_value msg, error;
    napi_create_string_utf8(env, "fdWalk: cannot queue the walk", NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &error);
    napi_reject_deferred(env, job->deferred, error);
    if (job->work != NULL) napi_delete_async_work(env, job->work);
    free_job(job);
    return promise;
  }
  napi_add_env_cleanup_hook(env, cancel_job, job);
  return promise;
}

static napi_value fd_walk_hold(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value arg;
  napi_get_cb_info(env, info, &argc, &arg, NULL, NULL);
  napi_valuetype type = napi_undefined;
  if (argc == 1) napi_typeof(env, arg, &type);
  double ms = 0;
  if (type != napi_number || napi_get_value_double(env, arg, &ms) != napi_ok || isnan(ms)) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "ms must be a number");
    return NULL;
  }
  fw_hold(ms >= 1000 ? 1000 : ms <= 0 ? 0 : (int)ceil(ms));
  return NULL;
}

void pw_fdwalk_export(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "fdWalk", NAPI_AUTO_LENGTH, fd_walk, NULL, &fn);
  napi_set_named_property(env, exports, "fdWalk", fn);
  napi_create_function(env, "fdWalkHold", NAPI_AUTO_LENGTH, fd_walk_hold, NULL, &fn);
  napi_set_named_property(env, exports, "fdWalkHold", fn);
}

