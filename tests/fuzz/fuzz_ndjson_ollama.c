/*
 * fuzz_ndjson_ollama.c: the NDJSON framer feeding Ollama's chat and pull
 * line decoders. The first input byte picks where the rest is cut into two
 * feeds (and a small line cap), so framing across read boundaries is
 * explored together with the decoders.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ndjson.h"
#include "wire_ollama.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_ev(const struct llm_ev *ev, void *arg)
{
	size_t *n = arg;

	/* Touch what the event points at so the sanitizers check it. */
	if (ev->text != NULL && ev->len > 0)
		*n += (unsigned char)ev->text[ev->len - 1];
	if (ev->call != NULL)
		*n += strlen(ev->call->id) + strlen(ev->call->name) + strlen(ev->call->args);
	if (ev->stats != NULL)
		*n += strlen(ev->stats->finish);
}

static void
fuzz_pull(const struct wire_pull_ev *ev, void *arg)
{
	size_t *n = arg;

	*n += strlen(ev->status);
	if (ev->digest != NULL)
		*n += strlen(ev->digest);
	if (ev->error != NULL)
		*n += strlen(ev->error);
}

static int
fuzz_line(const char *line, size_t len, void *arg)
{
	size_t n = 0;
	char *e;

	(void)arg;
	wire_ollama_chat_line(line, len, fuzz_ev, &n);
	wire_ollama_pull_line(line, len, fuzz_pull, &n);
	if ((e = wire_ollama_error(line, len)) != NULL)
		n += strlen(e);
	free(e);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ndjson *n;
	size_t cut;
	size_t cap;

	if (size < 1)
		return 0;
	cut = data[0] % (size);
	cap = data[0] & 1 ? 64 : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	n = ndjson_new(cap);
	if (ndjson_feed(n, (const char *)data, cut, fuzz_line, NULL) == 0 &&
	    ndjson_feed(n, (const char *)data + cut, size - cut, fuzz_line, NULL) == 0)
		ndjson_finish(n, fuzz_line, NULL);
	ndjson_free(n);
	wire_ollama_chat_body((const char *)data, size, fuzz_ev, &cut);
	return 0;
}
