/*
 * fake.h: what the parts of fakellm (the scriptable test double of the LLM
 * servers) share: the request being served, the scenario, the model list,
 * reply helpers and the streaming engine.
 */
#ifndef FAKE_H
#define FAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <microhttpd.h>

#include "buf.h"

enum fake_flavor {
	FAKE_OLLAMA,
	FAKE_OPENAI,
	FAKE_LMSTUDIO,
	FAKE_LLAMASERVER,
};

/* One request, body fully received. */
struct fake_req {
	struct MHD_Connection *conn;
	const char *method;
	const char *path; /* without the query string */
	const char *auth; /* Authorization header or NULL */
	struct buf body;
	json_t *json; /* body parsed as JSON, or NULL */
};

/* A model the server "has". Read and changed only under fake_lock(). */
struct fake_model {
	char *name;
	char *family;
	char *parameter_size;
	char *quantization;
	char *format;
	char *modified_at;
	char *digest; /* 64 hex, no "sha256:" */
	char *type; /* LM Studio: llm, vlm, embeddings */
	char *publisher;
	char *owned_by;
	int64_t size;
	int64_t context_length;
	json_t *capabilities; /* array of strings; NULL: no checks */
	bool loaded;
};

/* How a streamed (or paced) body is delivered. */
struct fake_pace {
	int delay_ms; /* between units (lines/events) */
	int first_byte_delay_ms;
	int chunk_bytes; /* 0: a write per unit; N: N-byte writes */
	int drip_ms; /* pause before every write but the first */
	int ping_every; /* SSE: ": ping" after every N units */
	long error_after; /* -1: off; after N pieces send the error unit, end */
	long drop_after; /* -1: off; after N pieces half a unit, then close */
	long garbage_after; /* -1: off; after N pieces a line of junk bytes */
	bool hang; /* headers, then nothing until the client goes */
	bool hang_at_end; /* the whole stream, then no end until the client goes */
	const char *error; /* text of the mid-stream error */
	const char *garbage_hex; /* the junk line as hex; NULL: the default */
};

/* A unit source for the streaming engine. */
enum fake_unit {
	FAKE_UNIT_END,
	FAKE_UNIT_PIECE, /* counts for error_after, drop_after, garbage_after */
	FAKE_UNIT_OTHER,
};

struct fake_gen {
	enum fake_unit (*next)(void *ctx, struct buf *out);
	/* The mid-stream error unit; NULL: the stream just ends. */
	void (*error)(void *ctx, const char *msg, struct buf *out);
	bool sse; /* garbage and pings in SSE form */
	void (*free)(void *ctx);
	void *ctx;
};

/* fakellm.c */
extern enum fake_flavor fake_flavor;
json_t *fake_scenario(void); /* the loaded scenario (read-only) */
/* The n-th reply for KEY ("chat", "pull"): scenario[KEY] is one reply or an
 * array whose last entry repeats. NULL when absent. */
json_t *fake_next_reply(const char *key);
bool fake_stopping(void);
int64_t fake_started_ms(void);
void fake_lock(void);
void fake_unlock(void);
/* Model list (hold fake_lock()). */
struct fake_model **fake_models(size_t *n);
struct fake_model *fake_model_find(const char *name);
struct fake_model *fake_model_new(const char *name);
void fake_model_add(struct fake_model *m); /* takes m; replaces same name */
bool fake_model_remove(const char *name);
struct fake_model *fake_model_dup(const struct fake_model *m, const char *name);
bool fake_model_can(const struct fake_model *m, const char *capability);
/* A made-up sha256 in hex (64 chars), the same for the same seed. */
char *fake_digest(const char *seed);

/* A made-up embedding of text: dims numbers (4 when dims is 0), the first
 * the text's length in bytes, the rest from fake_digest(text). */
json_t *fake_embedding(const char *text, int64_t dims);

/* Compact JSON; Go style (<>& and U+2028/9 escaped) for the Ollama flavor. */
char *fake_json_dump(const json_t *j);
/* A JSON string literal, quotes included, escaped as fake_json_dump does. */
char *fake_json_quote(const char *s);
/* RFC 3339 with nanoseconds, UTC ("Z"), like Go's time.RFC3339Nano. */
void fake_now_rfc3339(char *dst, size_t len);
/* Integer member or DEF. */
int64_t fake_int(const json_t *obj, const char *key, int64_t def);
const char *fake_str(const json_t *obj, const char *key, const char *def);
bool fake_bool(const json_t *obj, const char *key, bool def);
/* Read pacing keys of a reply (or pull) object. */
void fake_pace_parse(const json_t *obj, struct fake_pace *p);

enum MHD_Result fake_respond(struct fake_req *req, unsigned status,
    const char *ctype, const char *body, size_t len);
/* Dumps and frees J. */
enum MHD_Result fake_respond_json(struct fake_req *req, unsigned status,
    const char *ctype, json_t *j);
/* Sleep MS milliseconds (-1: until the client goes). False if the client
 * went away or the server is stopping. */
bool fake_sleep(struct MHD_Connection *conn, int ms);

/* fake_stream.c: queue a paced response. SIZE is MHD_SIZE_UNKNOWN for a
 * chunked stream. GEN is copied; its ctx is freed with the response. */
enum MHD_Result fake_stream_queue(struct fake_req *req, unsigned status,
    const char *ctype, const struct fake_pace *pace,
    const struct fake_gen *gen, uint64_t size);
/* A paced fixed body (Content-Length); BODY is copied. */
enum MHD_Result fake_stream_body(struct fake_req *req, unsigned status,
    const char *ctype, const struct fake_pace *pace, const char *body);

/* fake_ollama.c, fake_openai.c: route handlers. */
enum MHD_Result fake_ollama_route(struct fake_req *req);
enum MHD_Result fake_openai_route(struct fake_req *req);
/* The OpenAI layer shared by every flavor (Ollama's /v1 included). */
enum MHD_Result fake_openai_chat(struct fake_req *req);
enum MHD_Result fake_openai_models(struct fake_req *req);

#endif
