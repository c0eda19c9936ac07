/* loop.h: the one event loop. poll() over file descriptors, one-shot timers,
 * signals delivered through a self-pipe, and "prepare" hooks that run before
 * every sleep (the UI paints there, libmicrohttpd re-arms there). */
#ifndef PARLEY_LOOP_H
#define PARLEY_LOOP_H

#include <stdbool.h>
#include <stdint.h>

#define LOOP_READ 1
#define LOOP_WRITE 2

struct loop;
struct loop_timer;

typedef void (*loop_fd_cb)(int fd, int events, void *arg);
typedef void (*loop_timer_cb)(void *arg);
typedef void (*loop_signal_cb)(int sig, void *arg);
/* Returns the longest the loop may sleep in ms (-1: no limit). */
typedef int (*loop_prepare_cb)(void *arg);

struct loop *loop_new(void);
void loop_free(struct loop *l);

/* Watch fd for events (LOOP_READ|LOOP_WRITE); replaces an earlier watch. */
void loop_watch(struct loop *l, int fd, int events, loop_fd_cb cb, void *arg);
void loop_unwatch(struct loop *l, int fd);

struct loop_timer *loop_timer_add(struct loop *l, int64_t ms, loop_timer_cb cb, void *arg);
void loop_timer_cancel(struct loop *l, struct loop_timer *t); /* NULL is fine */

/* Deliver sig through the self-pipe. One callback per signal. */
void loop_signal(struct loop *l, int sig, loop_signal_cb cb, void *arg);

void loop_prepare_add(struct loop *l, loop_prepare_cb cb, void *arg);
void loop_prepare_remove(struct loop *l, loop_prepare_cb cb, void *arg);

/* One iteration: prepare hooks, poll (at most max_ms, -1 = no limit), then
 * dispatch. */
void loop_run_once(struct loop *l, int max_ms);
/* Run until *done becomes true. */
void loop_run_until(struct loop *l, const bool *done);

#endif
