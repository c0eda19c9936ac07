/*
 * dl.c: open a library and fill a table of its functions (see dl.h).
 */
#include "dl.h"

#include <dlfcn.h>
#include <string.h>

#include "util.h"

void
dl_resolve(const char *soname, const char *const *names, size_t n, void *table)
{
	void *lib = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);

	if (lib == NULL)
		fatal("cannot load %s, which parley needs for this: %s", soname, dlerror());
	for (size_t i = 0; i < n; i++) {
		void *sym = dlsym(lib, names[i]);

		if (sym == NULL)
			fatal("cannot load %s: %s is missing (%s)", soname, names[i], dlerror());
		/* POSIX: a function's address round-trips through void *. */
		memcpy((char *)table + i * sizeof sym, &sym, sizeof sym);
	}
}

bool
dl_is_loaded(const char *soname)
{
	void *lib = dlopen(soname, RTLD_LAZY | RTLD_NOLOAD);

	if (lib == NULL)
		return false;
	dlclose(lib);
	return true;
}
