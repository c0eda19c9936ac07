/* wire_openai.h: the OpenAI chat-completions wire format (protocols.md 3-5):
 * request encoder, streamed chunk decoder with tool-call reassembly, response
 * and error decoders, and the encoders the listener uses. Pure. */
#ifndef PARLEY_WIRE_OPENAI_H
#define PARLEY_WIRE_OPENAI_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "llm.h"

/* The /v1/chat/completions body (new reference). max_tokens -> max_tokens,
 * stop -> array, top_k/min_p/repeat_penalty passed as the extra fields
 * llama-server and LM Studio accept, num_ctx and keep_alive not sent; think
 * -> reasoning_effort ("false" -> "none"); images -> data: URL parts; stream
 * adds stream_options.include_usage. */
json_t *wire_openai_chat_request(const struct llm_req *req);

/* Decoder state for one streamed response. */
struct wire_openai;
struct wire_openai *wire_openai_new(void);
void wire_openai_free(struct wire_openai *w);

/* Feed the data of one SSE event. Emits TOKEN (delta.content), THINKING
 * (delta.reasoning_content or delta.reasoning), remembers finish_reason,
 * usage (any chunk) and llama-server timings; accumulates tool-call
 * fragments by index. "[DONE]" and the end of the stream are both handled by
 * wire_openai_finish. An {"error":...} event emits ERROR (LLM_ERR_BACKEND).
 * Returns 0, 1 if data was "[DONE]", -1 after ERROR or malformed JSON. */
int wire_openai_chunk(struct wire_openai *w, const char *data, size_t len, llm_ev_cb cb, void *arg);
/* End of stream: emits each reassembled TOOL_CALL (by index), then DONE.
 * Returns 0, or -1 (ERROR emitted) if the stream ended with no finish
 * reason and no [DONE] ("stream ended early"). */
int wire_openai_finish(struct wire_openai *w, bool saw_done, llm_ev_cb cb, void *arg);

/* A non-streamed response body: TOKEN, THINKING, TOOL_CALLs, DONE. */
int wire_openai_response(const char *body, size_t len, llm_ev_cb cb, void *arg);

/* Error message of an error body: {"error":{"message":..,"code":..}} or
 * {"error":"..."}; allocated, NULL if none. *code (if not NULL) gets the
 * code string when there is one. */
char *wire_openai_error(const char *body, size_t len, char **code);

/* ---- encoders for the listener ---- */

/* One chat.completion.chunk (new reference) with id, created and model as
 * given and a single choice 0:
 *   ev NULL        the opening delta {"role":"assistant","content":""}
 *   TOKEN          {"content":text}
 *   THINKING       {"reasoning_content":text}
 *   TOOL_CALL      {"tool_calls":[{index,id,type:"function",function:{name,arguments}}]}
 *   DONE           delta {} and finish_reason stats->finish ("stop" if empty)
 *   ERROR          not a chunk: the error object of wire_openai_error_json
 *                  (type "server_error"), to send as a data: event.
 * Text that is not valid UTF-8 yields an empty delta. */
json_t *wire_openai_chunk_json(const char *id, int64_t created, const char *model, const struct llm_ev *ev);
/* The closing usage chunk: "choices":[] and usage from st (unknown -> 0). */
json_t *wire_openai_usage_chunk_json(const char *id, int64_t created, const char *model, const struct llm_stats *st);
/* {"error":{"message","type","param","code"}}; NULL param/code become null,
 * a NULL type "invalid_request_error". New reference. */
json_t *wire_openai_error_json(const char *message, const char *type, const char *param, const char *code);

/* ---- listener request decoder ---- */

/* Validate a /v1/chat/completions body (protocols.md 3.1) and fill out:
 * model, messages (developer -> system; content parts joined with '\n';
 * images from base64 data: URLs; tool_calls kept in OpenAI shape; a tool
 * result gets tool_name from the call it answers), options under parley's
 * names (temperature, top_p, max_tokens from max_completion_tokens or
 * max_tokens, stop as an array, seed, presence/frequency_penalty, top_k,
 * min_p, repeat_penalty), think from reasoning_effort, format ("json" or
 * the json_schema's schema), tools, stream. Unknown keys are ignored.
 * Every pointer in out is owned by out: release it with
 * wire_openai_request_free (also safe after a failure, which frees already).
 * Returns 0, or -1 with *cause naming the field, e.g.
 * "messages[1].role: must be one of system, developer, user, assistant, tool". */
int wire_openai_parse_request(json_t *body, struct llm_req *out, char **cause);
void wire_openai_request_free(struct llm_req *req);
/* stream_options.include_usage of a request that parsed. */
bool wire_openai_request_include_usage(json_t *body);

#endif
