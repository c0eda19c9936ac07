/* wire_ollama.h: Ollama's native /api wire format (protocols.md 1): request
 * encoders and NDJSON line decoders. Pure: JSON in, events out. */
#ifndef PARLEY_WIRE_OLLAMA_H
#define PARLEY_WIRE_OLLAMA_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

/* ---- the listener's side: Ollama clients talking to parley ---- */

/* Validate an /api/chat body (generate: an /api/generate body, whose
 * system, prompt and images become a system and one user message) and
 * fill out: model (required), messages (role lower-cased, one of system,
 * user, assistant, tool; images as raw base64, a data: prefix dropped, the
 * type told by the first bytes; tool_calls turned into OpenAI shape with
 * arguments as JSON text and an id made up when there is none; tool_name
 * kept, and a tool result without tool_call_id gets the id of the latest
 * call of that name), options under parley's names (num_predict ->
 * max_tokens, stop as an array, keep_alive from the top level; the other
 * Ollama options pass under their own names), think ("true", "false" or a
 * level), format ("json" or a schema), tools, stream (default true).
 * Unknown keys are ignored. Everything in out is owned by out: release it
 * with wire_ollama_request_free (safe after a failure too). 0, or -1 with
 * *cause naming the field, e.g. "messages[1].role: must be ...". */
int wire_ollama_parse_request(json_t *body, bool generate, struct llm_req *out, char **cause);
void wire_ollama_request_free(struct llm_req *req);

/* One line of a streamed /api/chat answer (generate: /api/generate), new
 * reference, or NULL when ev gives no line (a tool call in generate, text
 * that is not UTF-8):
 *   TOKEN      {"model","created_at","message":{"role":"assistant","content":T},"done":false}
 *   THINKING   ... "content":"","thinking":T ...
 *   TOOL_CALL  ... "content":"","tool_calls":[{"id","function":{"index","name","arguments":{..}}}] ...
 *   DONE       content "", "done":true, "done_reason" (stop, length, load or
 *              unload; anything else is stop), then total_duration,
 *              load_duration, prompt_eval_count, prompt_eval_duration,
 *              eval_count, eval_duration, each left out when unknown or 0.
 * generate has "response" (and "thinking") in place of "message". */
json_t *wire_ollama_chunk_json(const char *model, const char *created_at, bool generate, const struct llm_ev *ev);
/* A whole answer (stream false): the DONE line of st carrying content,
 * thinking (NULL: none) and calls (OpenAI-shaped, NULL: none). */
json_t *wire_ollama_answer_json(const char *model, const char *created_at, bool generate, const char *content,
    const char *thinking, json_t *calls, const struct llm_stats *st);
/* RFC 3339 in UTC with nanoseconds ("2025-08-01T10:00:00.123456789Z"), as
 * Go writes created_at, for unix time ns. */
void wire_ollama_time(int64_t ns, char *out, size_t size);

#endif
