/*
 * test_loop.c: the event loop. Timers fire in deadline order and can be
 * cancelled from callbacks; fd watches see readiness and may be removed while
 * the loop dispatches; signals arrive through the self-pipe; prepare hooks
 * bound the sleep; and a timer that finishes the awaited work never leaves
 * the loop asleep in poll().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "loop.h"
#include "util.h"

struct rec {
	char order[16];
	int n;
	struct loop *l;
	struct loop_timer *victim;
	bool done;
};

static void
mark(void *arg, char c)
{
	struct rec *r = arg;

	r->order[r->n++] = c;
}

static void
t_a(void *arg)
{
	mark(arg, 'a');
}

static void
t_b(void *arg)
{
	mark(arg, 'b');
}

static void
t_c_done(void *arg)
{
	struct rec *r = arg;

	mark(arg, 'c');
	r->done = true;
}

static void
t_cancel_victim(void *arg)
{
	struct rec *r = arg;

	mark(arg, 'x');
	loop_timer_cancel(r->l, r->victim);
}

static void
test_timers_in_order(void **state)
{
	struct loop *l = loop_new();
	struct rec r = { .l = l };

	(void)state;
	loop_timer_add(l, 30, t_c_done, &r);
	loop_timer_add(l, 10, t_b, &r);
	loop_timer_add(l, 0, t_a, &r);
	loop_run_until(l, &r.done);
	assert_string_equal(r.order, "abc");
	loop_free(l);
}

static void
test_timer_cancelled_by_timer(void **state)
{
	struct loop *l = loop_new();
	struct rec r = { .l = l };

	(void)state;
	loop_timer_add(l, 5, t_cancel_victim, &r);
	r.victim = loop_timer_add(l, 10, t_b, &r);
	loop_timer_add(l, 20, t_c_done, &r);
	loop_run_until(l, &r.done);
	assert_string_equal(r.order, "xc");
	loop_free(l);
}

/* The regression: work finished by a zero-delay timer must not leave the
 * loop blocked in poll with no fds and no timers. */
static void
test_timer_finishing_work_returns(void **state)
{
	struct loop *l = loop_new();
	struct rec r = { .l = l };
	int64_t start = util_now_ms();

	(void)state;
	loop_timer_add(l, 0, t_c_done, &r);
	loop_run_until(l, &r.done);
	assert_true(util_now_ms() - start < 1000);
	loop_free(l);
}

struct fdrec {
	struct loop *l;
	int fds[2];
	char got[16];
	size_t n;
	bool done;
};

static void
on_readable(int fd, int events, void *arg)
{
	struct fdrec *f = arg;
	ssize_t k;

	assert_true(events & LOOP_READ);
	k = read(fd, f->got + f->n, sizeof f->got - 1 - f->n);
	if (k > 0)
		f->n += (size_t)k;
	if (k == 0 || memchr(f->got, '!', f->n) != NULL) {
		/* removing the watch from its own callback is allowed */
		loop_unwatch(f->l, fd);
		f->done = true;
	}
}

static void
write_later(void *arg)
{
	struct fdrec *f = arg;

	assert_int_equal(write(f->fds[1], "hi!", 3), 3);
}

static void
test_fd_watch(void **state)
{
	struct fdrec f = { 0 };

	(void)state;
	f.l = loop_new();
	assert_int_equal(pipe(f.fds), 0);
	loop_watch(f.l, f.fds[0], LOOP_READ, on_readable, &f);
	loop_timer_add(f.l, 10, write_later, &f);
	loop_run_until(f.l, &f.done);
	f.got[f.n] = '\0';
	assert_string_equal(f.got, "hi!");
	close(f.fds[0]);
	close(f.fds[1]);
	loop_free(f.l);
}

static void
on_sig(int sig, void *arg)
{
	struct rec *r = arg;

	assert_int_equal(sig, SIGUSR1);
	r->done = true;
}

static void
raise_later(void *arg)
{
	(void)arg;
	raise(SIGUSR1);
}

static void
test_signal_through_pipe(void **state)
{
	struct loop *l = loop_new();
	struct rec r = { .l = l };

	(void)state;
	loop_signal(l, SIGUSR1, on_sig, &r);
	loop_timer_add(l, 5, raise_later, &r);
	loop_run_until(l, &r.done);
	assert_true(r.done);
	loop_free(l);
}

static int prepare_calls;

static int
prepare_short(void *arg)
{
	(void)arg;
	prepare_calls++;
	return 5; /* wake within 5 ms even with nothing to do */
}

static void
test_prepare_bounds_sleep(void **state)
{
	struct loop *l = loop_new();
	int64_t start;

	(void)state;
	prepare_calls = 0;
	loop_prepare_add(l, prepare_short, NULL);
	start = util_now_ms();
	loop_run_once(l, -1);
	assert_true(util_now_ms() - start < 1000);
	assert_int_equal(prepare_calls, 1);
	loop_prepare_remove(l, prepare_short, NULL);
	loop_run_once(l, 0);
	assert_int_equal(prepare_calls, 1);
	loop_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_in_order),
		cmocka_unit_test(test_timer_cancelled_by_timer),
		cmocka_unit_test(test_timer_finishing_work_returns),
		cmocka_unit_test(test_fd_watch),
		cmocka_unit_test(test_signal_through_pipe),
		cmocka_unit_test(test_prepare_bounds_sleep),
	};

	/* a loop that sleeps when it should not would hang: fail instead */
	alarm(30);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
