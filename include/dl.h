/*
 * dl.h: libraries opened on first use instead of at exec.
 *
 * libcurl and libmicrohttpd bring some thirty shared libraries with them
 * (TLS twice over, Kerberos, LDAP, SSH, ...). Loading them costs about
 * 9 ms before main() on every start, also for commands that never touch
 * the network, and it delays the full-screen chat's first frame. So
 * parley is not linked against them: src/dl_curl.c and src/dl_mhd.c define
 * the functions parley calls, and the first call opens the library and
 * forwards to it.
 */
#ifndef PARLEY_DL_H
#define PARLEY_DL_H

#include <stdbool.h>
#include <stddef.h>

/* Open SONAME (once per table) and resolve NAMES[0..n) into TABLE, a
 * struct of n function pointers in the same order. A missing library or
 * symbol is fatal, with the loader's reason. */
void dl_resolve(const char *soname, const char *const *names, size_t n, void *table);

/* Whether SONAME is already mapped into the process (for tests). */
bool dl_is_loaded(const char *soname);

#endif
