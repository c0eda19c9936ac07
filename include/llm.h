/* llm.h: the vocabulary shared by providers, wire codecs, the store and every
 * face: chat messages, requests, streamed events, statistics and error kinds. */
#ifndef PARLEY_LLM_H
#define PARLEY_LLM_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Error kinds double as process exit codes (design.md 1). */
enum llm_err {
	LLM_OK = 0,
	LLM_ERR_OTHER = 1,
	LLM_ERR_USAGE = 2,
	LLM_ERR_CONNECT = 3, /* backend unreachable */
	LLM_ERR_NOT_FOUND = 4, /* model not found */
	LLM_ERR_BACKEND = 5, /* HTTP error, error line, dropped or garbled stream */
	LLM_ERR_CANCELLED = 130,
};

struct llm_image {
	char *mime; /* "image/png" */
	char *b64; /* raw base64, no data: prefix */
};

struct llm_msg {
	char *role; /* system, user, assistant, tool */
	char *content;
	char *thinking; /* stored, never resent */
	json_t *tool_calls; /* NULL or array in OpenAI shape:
	                      * [{"id","type":"function","function":{"name","arguments":"<JSON text>"}}] */
	char *tool_name; /* tool messages (Ollama) */
	char *tool_call_id; /* tool messages (OpenAI) */
	struct llm_image *images;
	size_t nimages;
};

struct llm_req {
	const char *model;
	const struct llm_msg *msgs;
	size_t nmsgs;
	/* Options with parley's names: temperature, top_p, top_k, min_p, seed,
	 * num_ctx, max_tokens, stop (array), repeat_penalty, presence_penalty,
	 * frequency_penalty, keep_alive. Each wire codec maps them. May be NULL. */
	json_t *options;
	const char *think; /* NULL unset; "true", "false", "low", "medium", "high", "max" */
	json_t *tools; /* NULL or OpenAI-shaped tools array */
	/* NULL (the model decides), "none", "auto", "required", or
	 * {"type":"function","function":{"name":...}}: OpenAI's tool_choice */
	json_t *tool_choice;
	json_t *format; /* NULL, "json" string, or a JSON-Schema object */
	/* OpenAI's response_format.json_schema as a client sent it (name,
	 * strict, description, schema): an OpenAI-compatible backend gets it
	 * unchanged; Ollama gets format. NULL otherwise. */
	json_t *schema_spec;
	bool stream;
};

struct llm_stats {
	int64_t prompt_tokens; /* -1 unknown */
	int64_t reply_tokens; /* -1 unknown */
	bool estimated;
	int64_t total_ns, load_ns, prompt_ns, eval_ns; /* 0 unknown */
	char finish[24]; /* stop, length, tool_calls, ... */
};

struct llm_tool_call {
	int index;
	char *id;
	char *name;
	char *args; /* JSON text of the arguments object */
};

enum llm_ev_type {
	LLM_EV_TOKEN,
	LLM_EV_THINKING,
	LLM_EV_TOOL_CALL,
	LLM_EV_DONE,
	LLM_EV_ERROR,
};

struct llm_ev {
	enum llm_ev_type type;
	const char *text; /* TOKEN, THINKING: bytes; ERROR: message */
	size_t len;
	const struct llm_tool_call *call; /* TOOL_CALL */
	const struct llm_stats *stats; /* DONE */
	enum llm_err err; /* ERROR */
};

typedef void (*llm_ev_cb)(const struct llm_ev *ev, void *arg);

void llm_stats_init(struct llm_stats *s);
void llm_msg_clear(struct llm_msg *m); /* frees members, keeps m */
void llm_msgs_free(struct llm_msg *m, size_t n); /* clears each, frees array */
void llm_tool_call_clear(struct llm_tool_call *c);
/* A deep copy of a request (to send it again later, elsewhere), and its
 * end. JSON members are shared by reference. */
struct llm_req *llm_req_copy(const struct llm_req *r);
/* Release what an owned request holds and zero it (llm_req_free: and the
 * struct too). */
void llm_req_clear(struct llm_req *r);
void llm_req_free(struct llm_req *r);
/* Roughly 4 bytes a token: used only when a backend reports no counts. */
int64_t llm_estimate_tokens(const char *text, size_t len);
const char *llm_err_name(enum llm_err e);
/* Raise an ERROR event of kind err with msg[0..len). */
void llm_emit_error(llm_ev_cb cb, void *arg, enum llm_err err, const char *msg, size_t len);
/* Raise a TOKEN or THINKING event for text[0..len); nothing when len is 0. */
void llm_emit_text(llm_ev_cb cb, void *arg, enum llm_ev_type type, const char *text, size_t len);

#endif
