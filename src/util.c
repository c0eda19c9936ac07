/*
 * util.c: the helpers every module leans on. Allocation failure is fatal
 * (there is nothing sensible a chat client can do without memory), so callers
 * never check for NULL. Errors that can be recovered travel as allocated
 * "cause" strings through util_fail().
 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void *
xmalloc(size_t size)
{
	void *p = malloc(size ? size : 1);

	if (p == NULL)
		fatal("out of memory (%zu bytes)", size);
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		fatal("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void *q = realloc(p, size ? size : 1);

	if (q == NULL)
		fatal("out of memory (%zu bytes)", size);
	return q;
}

void *
xreallocarray(void *p, size_t n, size_t size)
{
	if (size != 0 && n > SIZE_MAX / size)
		fatal("out of memory (%zu x %zu bytes)", n, size);
	return xrealloc(p, n * size);
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		fatal("out of memory");
	return s;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

static void (*util_fatal_hook)(void);

void
util_set_fatal_hook(void (*hook)(void))
{
	util_fatal_hook = hook;
}

void
fatal(const char *fmt, ...)
{
	void (*hook)(void) = util_fatal_hook;
	va_list ap;

	util_fatal_hook = NULL;
	if (hook != NULL)
		hook();
	fputs("parley: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

int
util_fail(char **cause, const char *fmt, ...)
{
	va_list ap;

	if (cause != NULL) {
		va_start(ap, fmt);
		*cause = xvasprintf(fmt, ap);
		va_end(ap);
	}
	return -1;
}

int64_t
util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
util_now_ms(void)
{
	return util_now_ns() / 1000000;
}

int64_t
util_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
util_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
util_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
util_prefix(const char *s, const char *prefix)
{
	return s != NULL && strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Bytes in the UTF-8 sequence that lead byte c starts; 0 if c is not a lead. */
static int
utf8_seqlen(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return 2;
	if (c >= 0xe0 && c <= 0xef)
		return 3;
	if (c >= 0xf0 && c <= 0xf4)
		return 4;
	return 0;
}

size_t
util_utf8_complete(const char *s, size_t len)
{
	size_t i, back;
	int need;

	/* Look back at most 3 bytes for the lead byte of a split sequence. */
	for (back = 1; back <= 4 && back <= len; back++) {
		unsigned char c = (unsigned char)s[len - back];

		if ((c & 0xc0) == 0x80)
			continue;
		need = utf8_seqlen(c);
		if (need == 0 || (size_t)need <= back)
			return len;
		i = len - back;
		return i;
	}
	return len;
}

bool
util_utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint64_t w;
		int n;

		/* ASCII, nearly all of the JSON on the token path: eight bytes
		 * at a time */
		if (len - i >= 8) {
			memcpy(&w, p + i, 8);
			if ((w & 0x8080808080808080u) == 0) {
				i += 8;
				continue;
			}
		}
		n = utf8_seqlen(p[i]);

		if (n == 0 || i + (size_t)n > len)
			return false;
		for (int k = 1; k < n; k++)
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
		if (n == 3) {
			if (p[i] == 0xe0 && p[i + 1] < 0xa0)
				return false; /* overlong */
			if (p[i] == 0xed && p[i + 1] >= 0xa0)
				return false; /* surrogate */
		} else if (n == 4) {
			if (p[i] == 0xf0 && p[i + 1] < 0x90)
				return false;
			if (p[i] == 0xf4 && p[i + 1] >= 0x90)
				return false;
		}
		i += (size_t)n;
	}
	return true;
}

int
util_mkdirs(const char *path)
{
	char *p = xstrdup(path);
	char *s;
	int rc = 0;

	for (s = p + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) != 0 && errno != EEXIST) {
			rc = -1;
			break;
		}
		*s = '/';
	}
	if (rc == 0 && mkdir(p, 0700) != 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

char *
util_xdg_dir(const char *kind)
{
	static const struct {
		const char *kind, *env, *fallback;
	} dirs[] = {
		{ "CONFIG", "XDG_CONFIG_HOME", ".config" },
		{ "DATA", "XDG_DATA_HOME", ".local/share" },
		{ "STATE", "XDG_STATE_HOME", ".local/state" },
	};
	const char *home = getenv("HOME");

	for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		const char *v;

		if (strcmp(dirs[i].kind, kind) != 0)
			continue;
		v = getenv(dirs[i].env);
		if (v != NULL && v[0] == '/')
			return xasprintf("%s/parley", v);
		return xasprintf("%s/%s/parley", home ? home : ".", dirs[i].fallback);
	}
	fatal("unknown XDG directory kind %s", kind);
}

char *
util_read_file(const char *path, size_t *len, size_t max, char **cause)
{
	FILE *fp;
	char *data = NULL;
	size_t n = 0, cap = 0;

	fp = fopen(path, "rb");
	if (fp == NULL) {
		util_fail(cause, "cannot open %s: %s", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t got;

		if (cap - n < 65536) {
			cap = cap ? cap * 2 : 65536;
			data = xrealloc(data, cap + 1);
		}
		got = fread(data + n, 1, cap - n, fp);
		n += got;
		if (max != 0 && n > max) {
			fclose(fp);
			free(data);
			util_fail(cause, "%s is larger than %zu bytes", path, max);
			return NULL;
		}
		if (got == 0)
			break;
	}
	if (ferror(fp)) {
		util_fail(cause, "cannot read %s: %s", path, strerror(errno));
		fclose(fp);
		free(data);
		return NULL;
	}
	fclose(fp);
	data[n] = '\0';
	if (len != NULL)
		*len = n;
	return data;
}
