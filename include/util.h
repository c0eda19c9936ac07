/* util.h: allocation that cannot fail, clocks, small string helpers. */
#ifndef PARLEY_UTIL_H
#define PARLEY_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PRINTFLIKE(a, b) __attribute__((format(printf, a, b)))

/* Out of memory is fatal: these never return NULL. */
void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTFLIKE(1, 2);
char *xvasprintf(const char *fmt, va_list ap) PRINTFLIKE(1, 0);

/* Print "parley: ..." to stderr and exit(1). */
_Noreturn void fatal(const char *fmt, ...) PRINTFLIKE(1, 2);
/* Run HOOK (once) before fatal prints, e.g. to give the terminal back;
 * NULL removes it. */
void util_set_fatal_hook(void (*hook)(void));

/* Set *cause (if cause is not NULL) to a newly allocated message; returns -1. */
int util_fail(char **cause, const char *fmt, ...) PRINTFLIKE(2, 3);

int64_t util_now_ms(void); /* monotonic milliseconds */
int64_t util_now_ns(void); /* monotonic nanoseconds */
int64_t util_wall_ms(void); /* wall clock, unix milliseconds */

/* Value of a hexadecimal digit, or -1. */
int util_hexval(char c);
bool util_streq(const char *a, const char *b); /* NULL-safe */
bool util_prefix(const char *s, const char *prefix);
/* Length of the longest prefix of s[0..len) that does not end inside a UTF-8
 * sequence. */
size_t util_utf8_complete(const char *s, size_t len);
/* True if s[0..len) is valid UTF-8. */
bool util_utf8_valid(const char *s, size_t len);
/* Create a directory and its parents (mode 0700). 0 or -1 with errno. */
int util_mkdirs(const char *path);
/* $XDG_<kind>_HOME/parley (kind is "CONFIG", "DATA" or "STATE"), allocated. */
char *util_xdg_dir(const char *kind);
/* Read a whole file; NUL-terminated, length in *len. NULL with cause. */
char *util_read_file(const char *path, size_t *len, size_t max, char **cause);

#endif
