/*
 * test_dl.c: libcurl and libmicrohttpd are opened on first use. Nothing
 * maps them before a request or a listener needs them (a bare net_new
 * included); then every argument reaches the real functions, the
 * variadic setters' longs, pointers, curl_off_t and function pointers too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <microhttpd.h>
#include <string.h>

#include "dl.h"
#include "loop.h"
#include "net.h"

#ifndef PARLEY_CURL_SONAME
#define PARLEY_CURL_SONAME "libcurl.so.4"
#endif
#ifndef PARLEY_MHD_SONAME
#define PARLEY_MHD_SONAME "libmicrohttpd.so.12"
#endif

static void
test_nothing_loaded_at_start(void **state)
{
	struct loop *l = loop_new();
	struct net *n = net_new(l, 0, 0);

	(void)state;
	assert_false(dl_is_loaded(PARLEY_CURL_SONAME));
	assert_false(dl_is_loaded(PARLEY_MHD_SONAME));
	net_free(n);
	loop_free(l);
	assert_false(dl_is_loaded(PARLEY_CURL_SONAME));
}

static size_t
test_write_nothing(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

static void
test_curl_forwarding(void **state)
{
	CURL *h;
	char *priv = NULL;
	static char tag[] = "mine";

	(void)state;
	assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
	assert_true(dl_is_loaded(PARLEY_CURL_SONAME));
	h = curl_easy_init();
	assert_non_null(h);
	/* a long, checked by libcurl: a negative connect timeout is refused */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, -1L), CURLE_BAD_FUNCTION_ARGUMENT);
	/* a curl_off_t, checked the same way */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)1 << 40), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)-1), CURLE_BAD_FUNCTION_ARGUMENT);
	/* a function pointer and an object pointer, read back through getinfo */
	assert_int_equal(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, test_write_nothing), CURLE_OK);
	assert_int_equal(curl_easy_setopt(h, CURLOPT_PRIVATE, tag), CURLE_OK);
	assert_int_equal(curl_easy_getinfo(h, CURLINFO_PRIVATE, &priv), CURLE_OK);
	assert_ptr_equal(priv, tag);
	curl_easy_cleanup(h);
}

static enum MHD_Result
test_no_requests(void *cls, struct MHD_Connection *c, const char *url, const char *method, const char *version,
    const char *data, size_t *size, void **con_cls)
{
	(void)cls;
	(void)c;
	(void)url;
	(void)method;
	(void)version;
	(void)data;
	(void)size;
	(void)con_cls;
	return MHD_NO;
}

static void
test_mhd_forwarding(void **state)
{
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;

	(void)state;
	assert_false(dl_is_loaded(PARLEY_MHD_SONAME));
	/* the options after the handler's argument go through the va_list */
	d = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL, 0, NULL, NULL, test_no_requests, NULL,
	    MHD_OPTION_CONNECTION_LIMIT, 4u, MHD_OPTION_CONNECTION_TIMEOUT, 5u, MHD_OPTION_END);
	assert_non_null(d);
	assert_true(dl_is_loaded(PARLEY_MHD_SONAME));
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
	assert_non_null(di);
	assert_true(di->epoll_fd >= 0);
	MHD_stop_daemon(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nothing_loaded_at_start),
		cmocka_unit_test(test_curl_forwarding),
		cmocka_unit_test(test_mhd_forwarding),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
