/*
 * fuzz_openai_request.c: the listener's request decoder. Input is loaded as
 * JSON the way the listener will (size and nesting bounded), validated and
 * mapped; a request that parses is then encoded for both backends, which
 * walks every field the parser produced.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire_ollama.h"
#include "wire_openai.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_BODY (1u << 20)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct llm_req req;
	json_t *body, *a, *b;
	char *cause = NULL;

	/* Jansson bounds nesting itself (JSON_PARSER_MAX_DEPTH); bound size here. */
	if (size > FUZZ_MAX_BODY)
		return 0;
	body = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (body == NULL)
		return 0;
	if (wire_openai_parse_request(body, &req, &cause) == 0) {
		a = wire_ollama_chat_request(&req);
		b = wire_openai_chat_request(&req);
		(void)wire_openai_request_include_usage(body);
		json_decref(a);
		json_decref(b);
		wire_openai_request_free(&req);
	} else if (cause == NULL)
		abort(); /* a failure must say why */
	free(cause);
	json_decref(body);
	return 0;
}
