/*
 * fuzz_ollama_host.c: OLLAMA_HOST and base URL normalisation. Whatever the
 * variable holds, config_ollama_host must give a URL parley can dial:
 * scheme://host:port[/path], the host never empty nor a wildcard address,
 * a host with a colon bracketed, the port decimal digits within 0..65535, a path
 * that starts with '/' and does not end with one. config_base_url must
 * keep a scheme and a host and drop trailing slashes, or refuse.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_check_host(const char *in, const char *url)
{
	const char *sep = strstr(url, "://"), *auth, *slash, *colon, *p;
	size_t hostlen;
	long port = 0;

	if (sep == NULL)
		abort();
	if (strstr(in, "://") == NULL && strncmp(url, "http://", 7) != 0)
		abort(); /* no scheme given: plain http */
	auth = sep + 3;
	slash = strchr(auth, '/');
	if (slash == NULL)
		slash = auth + strlen(auth);
	/* The port is what follows the last ':' of the authority. */
	colon = NULL;
	for (p = auth; p < slash; p++)
		if (*p == ':')
			colon = p;
	if (colon == NULL || colon + 1 == slash || slash - (colon + 1) > 5)
		abort();
	for (p = colon + 1; p < slash; p++) {
		if (*p < '0' || *p > '9')
			abort();
		port = port * 10 + (*p - '0');
	}
	if (port > 65535)
		abort();
	hostlen = (size_t)(colon - auth);
	if (hostlen == 0)
		abort();
	/* A host with a colon is an IPv6 literal and must be bracketed. */
	if (memchr(auth, ':', hostlen) != NULL && (auth[0] != '[' || auth[hostlen - 1] != ']'))
		abort();
	/* The wildcard addresses are dialled as loopback. */
	if ((hostlen == 4 && memcmp(auth, "[::]", 4) == 0) || (hostlen == 7 && memcmp(auth, "0.0.0.0", 7) == 0))
		abort();
	if (*slash != '\0' && slash[strlen(slash) - 1] == '/')
		abort();
}

/* NULL (nothing to dial) or scheme://host[...] without a trailing '/'. */
static void
fuzz_check_base(const char *url)
{
	const char *sep;
	size_t len;

	if (url == NULL)
		return;
	sep = strstr(url, "://");
	len = strlen(url);
	if (sep == NULL || sep == url || sep[3] == '\0' || sep[3] == '/' || url[len - 1] == '/')
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in, *url;

	if (size > 4096)
		return 0;
	in = malloc(size + 1);
	if (in == NULL)
		abort();
	memcpy(in, data, size);
	in[size] = '\0';

	url = config_ollama_host(in);
	fuzz_check_host(in, url);
	free(url);

	url = config_base_url(in);
	fuzz_check_base(url);
	free(url);

	free(in);
	return 0;
}
