/*
 * dl_curl.c: the libcurl functions parley calls, opened on first use (see
 * dl.h). Each forwards to the real one; the variadic setters pass their
 * one argument on with the type the option number says it has.
 */
#include <curl/curl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>

#include "dl.h"

#ifndef PARLEY_CURL_SONAME
#define PARLEY_CURL_SONAME "libcurl.so.4"
#endif

static struct {
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_setopt)(CURLM *, CURLMoption, ...);
	CURLMcode (*multi_socket_action)(CURLM *, curl_socket_t, int, int *);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	CURLMcode (*multi_cleanup)(CURLM *);
} curl;

static const char *const dl_curl_names[] = {
	"curl_global_init",
	"curl_easy_init",
	"curl_easy_setopt",
	"curl_easy_getinfo",
	"curl_easy_cleanup",
	"curl_easy_strerror",
	"curl_slist_append",
	"curl_slist_free_all",
	"curl_multi_init",
	"curl_multi_setopt",
	"curl_multi_socket_action",
	"curl_multi_add_handle",
	"curl_multi_remove_handle",
	"curl_multi_info_read",
	"curl_multi_cleanup",
};

_Static_assert(sizeof curl == sizeof dl_curl_names / sizeof dl_curl_names[0] * sizeof(void *),
    "one name per function pointer");

static pthread_once_t dl_curl_once = PTHREAD_ONCE_INIT;

/* PARLEY_LIBCURL picks another build of the same libcurl, e.g. Debian's
 * libcurl-gnutls.so.4. */
static void
dl_curl_open(void)
{
	const char *so = getenv("PARLEY_LIBCURL");

	dl_resolve(so != NULL && so[0] != '\0' ? so : PARLEY_CURL_SONAME, dl_curl_names,
	    sizeof dl_curl_names / sizeof dl_curl_names[0], &curl);
}

#define DL_CURL() pthread_once(&dl_curl_once, dl_curl_open)

CURLcode(curl_global_init)(long flags)
{
	DL_CURL();
	return curl.global_init(flags);
}

CURL *(curl_easy_init)(void)
{
	DL_CURL();
	return curl.easy_init();
}

/* An option's number says what it takes: CURLOPTTYPE_LONG, then object
 * pointers, function pointers, curl_off_t and blobs, 10000 apart; the
 * multi options are numbered the same way. */
#define DL_CURL_SETOPT(fn, h, opt, ap) \
	((opt) < CURLOPTTYPE_OBJECTPOINT            ? fn(h, opt, va_arg(ap, long)) \
	        : (opt) < CURLOPTTYPE_FUNCTIONPOINT ? fn(h, opt, va_arg(ap, void *)) \
	        : (opt) < CURLOPTTYPE_OFF_T         ? fn(h, opt, va_arg(ap, void (*)(void))) \
	        : (opt) < CURLOPTTYPE_BLOB          ? fn(h, opt, va_arg(ap, curl_off_t)) \
	                                            : fn(h, opt, va_arg(ap, void *)))

CURLcode(curl_easy_setopt)(CURL *h, CURLoption opt, ...)
{
	va_list ap;
	CURLcode rc;

	DL_CURL();
	va_start(ap, opt);
	rc = DL_CURL_SETOPT(curl.easy_setopt, h, opt, ap);
	va_end(ap);
	return rc;
}

CURLMcode(curl_multi_setopt)(CURLM *m, CURLMoption opt, ...)
{
	va_list ap;
	CURLMcode rc;

	DL_CURL();
	va_start(ap, opt);
	rc = DL_CURL_SETOPT(curl.multi_setopt, m, opt, ap);
	va_end(ap);
	return rc;
}

/* Every CURLINFO_* fills in through a pointer. */
CURLcode(curl_easy_getinfo)(CURL *h, CURLINFO info, ...)
{
	va_list ap;
	CURLcode rc;

	DL_CURL();
	va_start(ap, info);
	rc = curl.easy_getinfo(h, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

void(curl_easy_cleanup)(CURL *h)
{
	DL_CURL();
	curl.easy_cleanup(h);
}

const char *(curl_easy_strerror)(CURLcode code)
{
	DL_CURL();
	return curl.easy_strerror(code);
}

struct curl_slist *(curl_slist_append)(struct curl_slist *list, const char *s)
{
	DL_CURL();
	return curl.slist_append(list, s);
}

void(curl_slist_free_all)(struct curl_slist *list)
{
	DL_CURL();
	curl.slist_free_all(list);
}

CURLM *(curl_multi_init)(void)
{
	DL_CURL();
	return curl.multi_init();
}

CURLMcode(curl_multi_socket_action)(CURLM *m, curl_socket_t s, int mask, int *running)
{
	DL_CURL();
	return curl.multi_socket_action(m, s, mask, running);
}

CURLMcode(curl_multi_add_handle)(CURLM *m, CURL *h)
{
	DL_CURL();
	return curl.multi_add_handle(m, h);
}

CURLMcode(curl_multi_remove_handle)(CURLM *m, CURL *h)
{
	DL_CURL();
	return curl.multi_remove_handle(m, h);
}

CURLMsg *(curl_multi_info_read)(CURLM *m, int *left)
{
	DL_CURL();
	return curl.multi_info_read(m, left);
}

CURLMcode(curl_multi_cleanup)(CURLM *m)
{
	DL_CURL();
	return curl.multi_cleanup(m);
}
