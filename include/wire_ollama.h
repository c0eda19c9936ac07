/* wire_ollama.h: Ollama's native /api wire format (protocols.md 1): request
 * encoders and NDJSON line decoders. Pure: JSON in, events out. */
#ifndef PARLEY_WIRE_OLLAMA_H
#define PARLEY_WIRE_OLLAMA_H

#include <jansson.h>
#include <stddef.h>

#include "llm.h"

/* The /api/chat request body (new reference). Maps parley options:
 * max_tokens -> options.num_predict, keep_alive -> top level (a bare number
 * is seconds), stop -> array, num_ctx stays num_ctx; think -> bool or level;
 * images -> raw base64; tool_calls arguments -> JSON objects. */
json_t *wire_ollama_chat_request(const struct llm_req *req);

/* Decode one /api/chat line; calls cb for THINKING, TOKEN, TOOL_CALL (each
 * whole), then DONE with stats on the final line, or ERROR (LLM_ERR_BACKEND)
 * for an {"error":...} line. Returns 0, 1 after DONE, -1 after ERROR (also on
 * a line that is not a JSON object: "malformed line from server: ..."). */
int wire_ollama_chat_line(const char *line, size_t len, llm_ev_cb cb, void *arg);

/* A non-streamed /api/chat response body: same events as the stream. */
int wire_ollama_chat_body(const char *body, size_t len, llm_ev_cb cb, void *arg);

struct wire_pull_ev {
	const char *status; /* "pulling manifest", "pulling <12hex>", "success", ... */
	const char *digest; /* NULL or "sha256:..." */
	int64_t total; /* 0 when omitted */
	int64_t completed; /* 0 when omitted */
	const char *error; /* non-NULL: the pull failed with this message */
};
typedef void (*wire_pull_cb)(const struct wire_pull_ev *ev, void *arg);
/* Decode one /api/pull line. 0 ok, -1 on an error line or malformed JSON
 * (cb still gets an event with error set). */
int wire_ollama_pull_line(const char *line, size_t len, wire_pull_cb cb, void *arg);

/* The "error" string of an error body ({"error":"..."}), allocated, or NULL
 * if the body is not one. */
char *wire_ollama_error(const char *body, size_t len);

#endif
