/*
 * Threads of the addon (the relay engine, the change poller, the owner walk's helpers).
 */
#ifndef PORTWATCH_THREADS_H
#define PORTWATCH_THREADS_H

#include <pthread.h>
#include <signal.h>

/* pthread_create() for a thread that takes no signal: signals are the Node thread's (a
 * SIGPIPE from a splice into a reset socket included; Node ignores it anyway), so the new
 * thread starts with every one blocked. Returns pthread_create()'s result. */
static inline int pw_thread_start(pthread_t *thread, const pthread_attr_t *attr, void *(*main)(void *), void *arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int rc = pthread_create(thread, attr, main, arg);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return rc;
}

#endif
