/*
 * fuzz_sse_openai.c: the SSE parser feeding the OpenAI stream decoder, as a
 * provider drives them. The first input byte picks where the rest is cut
 * into two feeds and whether a small line cap applies. The whole input is
 * also tried as a non-streamed response and as an error body.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sse.h"
#include "wire_openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fuzz_run {
	struct wire_openai *w;
	bool done;
	size_t n;
};

static void
fuzz_ev(const struct llm_ev *ev, void *arg)
{
	struct fuzz_run *r = arg;

	if (ev->text != NULL && ev->len > 0)
		r->n += (unsigned char)ev->text[ev->len - 1];
	if (ev->call != NULL) {
		json_t *j = wire_openai_chunk_json("id", 1, "m", ev);

		r->n += strlen(ev->call->id) + strlen(ev->call->name) + strlen(ev->call->args);
		json_decref(j);
	}
	if (ev->stats != NULL)
		r->n += strlen(ev->stats->finish);
}

static int
fuzz_event(const struct sse_event *ev, void *arg)
{
	struct fuzz_run *r = arg;
	int rc = wire_openai_chunk(r->w, ev->data, ev->data_len, fuzz_ev, r);

	r->n += strlen(ev->type) + strlen(ev->id);
	if (rc == 1)
		r->done = true;
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_run r = { 0 };
	struct sse *s;
	size_t cut, cap;
	char *code = NULL, *msg;
	int rc;

	if (size < 1)
		return 0;
	cut = data[0] % size;
	cap = data[0] & 1 ? 64 : 0;
	data++;
	size--;
	if (cut > size)
		cut = size;
	s = sse_new(cap);
	r.w = wire_openai_new();
	rc = sse_feed(s, (const char *)data, cut, fuzz_event, &r);
	if (rc == 0)
		rc = sse_feed(s, (const char *)data + cut, size - cut, fuzz_event, &r);
	if (rc == 0)
		rc = sse_finish(s, fuzz_event, &r);
	if (rc >= 0)
		wire_openai_finish(r.w, r.done, fuzz_ev, &r);
	wire_openai_free(r.w);
	sse_free(s);

	wire_openai_response((const char *)data, size, fuzz_ev, &r);
	msg = wire_openai_error((const char *)data, size, &code);
	free(msg);
	free(code);
	return 0;
}
