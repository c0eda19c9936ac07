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

#endif
