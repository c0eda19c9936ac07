/* httpd.h: the embedded OpenAI-compatible listener, on the app's loop. */
#ifndef PARLEY_HTTPD_H
#define PARLEY_HTTPD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "llm.h"
#include "tools.h"
#include "util.h"

struct httpd;

/* parley serve --tools: MCP tools offered to clients that send none, and
 * run by the listener itself. */
struct httpd_tools {
	struct mcp *mcp; /* NULL: off */
	enum tools_policy policy; /* always or never: nobody is there to ask */
	int rounds;
};
void httpd_set_tools(struct httpd *h, struct mcp *m, enum tools_policy policy, int rounds);
const struct httpd_tools *httpd_tools(const struct httpd *h);

/* Listen on [ADDR:]PORT (default 127.0.0.1:8002; port 0 picks a free
 * one). A non-loopback address needs a key (cfg->serve_key). NULL with
 * *cause. */
struct httpd *httpd_new(struct app *a, const char *listen, char **cause);
/* The same checks on LISTEN and KEY as httpd_new, without binding: for a
 * usage error before anything else starts. -1 with *cause. */
int httpd_check(const char *listen, const char *key, char **cause);
void httpd_free(struct httpd *h); /* cancels every request in flight */
/* The address actually bound ("127.0.0.1:8002"), for messages. */
const char *httpd_address(const struct httpd *h);
/* Called whenever a listener conversation changes the store (a session
 * made, a message added, a reply grown), so a face in the same process can
 * show it at once; its own store connection sees no data_version change. */
void httpd_on_change(struct httpd *h, void (*cb)(const char *session, void *arg), void *arg);
struct chat;
/* Called with every event of a listener conversation as it arrives
 * (chat_session_id(c) says which session; chat_msg(c, ...) holds the
 * transcript with the reply growing), and with ev NULL just before c is
 * freed. A face showing that session draws the reply from c live instead
 * of waiting for the store. */
typedef void (*httpd_stream_cb)(struct chat *c, const struct llm_ev *ev, void *arg);
void httpd_on_stream(struct httpd *h, httpd_stream_cb cb, void *arg);

/* ---- for the route files (httpd_*.c) ---- */

struct httpd_req;

#define HTTPD_NOAUTH 0x1 /* no key needed (/health) */
#define HTTPD_DETAIL 0x2 /* errors as {"detail": "..."} (drop-in routes) */
#define HTTPD_BODY 0x4 /* a JSON body is parsed before the handler runs */
/* Ollama's native API: errors as {"error": "..."}, streams as NDJSON (one
 * compact JSON object a line), a mid-stream error as a last such line */
#define HTTPD_OLLAMA 0x8

struct httpd_route {
	const char *method;
	const char *path; /* a final '*' matches the rest: the argument */
	void (*fn)(struct httpd_req *r);
	int flags;
	const char *summary; /* for /openapi.json */
};

/* The routing table (httpd.c). */
const struct httpd_route *httpd_routes(size_t *n);

/* Route handlers. A handler answers with httpd_reply/httpd_fail or
 * httpd_stream_begin, at once or later from a loop callback; until then
 * the connection waits, suspended, without holding the loop. */
void httpd_chat_completions(struct httpd_req *r);
void httpd_chat_plain(struct httpd_req *r);
void httpd_chat_stream(struct httpd_req *r);
void httpd_chat_ollama(struct httpd_req *r); /* POST /api/chat */
void httpd_chat_generate(struct httpd_req *r); /* POST /api/generate */
void httpd_ollama_version(struct httpd_req *r);
void httpd_ollama_tags(struct httpd_req *r);
void httpd_ollama_ps(struct httpd_req *r);
void httpd_ollama_show(struct httpd_req *r);
void httpd_ollama_embed(struct httpd_req *r);
void httpd_ollama_embeddings(struct httpd_req *r); /* the older /api/embeddings */
void httpd_ollama_pull(struct httpd_req *r);
void httpd_sessions_list(struct httpd_req *r);
void httpd_sessions_get(struct httpd_req *r);
void httpd_sessions_patch(struct httpd_req *r);
void httpd_sessions_delete(struct httpd_req *r);
void httpd_sessions_plain(struct httpd_req *r);
void httpd_sessions_clear(struct httpd_req *r);
void httpd_models_list(struct httpd_req *r);
void httpd_models_get(struct httpd_req *r);
void httpd_models_info(struct httpd_req *r);
void httpd_models_health(struct httpd_req *r);
void httpd_models_openapi(struct httpd_req *r);

struct app *httpd_app(const struct httpd *h);
struct httpd *httpd_req_httpd(const struct httpd_req *r);
struct app *httpd_req_app(const struct httpd_req *r);
const char *httpd_req_arg(const struct httpd_req *r); /* the '*' part, or "" */
const char *httpd_req_header(const struct httpd_req *r, const char *name);
const char *httpd_req_query(const struct httpd_req *r, const char *name); /* ?name=value */
json_t *httpd_req_body(const struct httpd_req *r); /* borrowed; HTTPD_BODY routes */
/* Handler state, freed exactly once when the request ends: aborted when
 * the client went away or the request timed out before the handler
 * finished (stop the backend request then). */
void httpd_req_state(struct httpd_req *r, void *state, void (*release)(void *state, bool aborted));
bool httpd_req_answered(const struct httpd_req *r);

/* A response header (e.g. X-Session-Id); before the reply. */
void httpd_header(struct httpd_req *r, const char *name, const char *value);
/* A JSON reply (body stolen). */
void httpd_reply(struct httpd_req *r, unsigned int status, json_t *body);
/* An error in the route's shape: OpenAI's error object, {"detail"} on
 * drop-in routes, {"error": "..."} on Ollama's. type/param/code may be NULL. Statuses below 500 say
 * x-should-retry: false. Mid-stream it becomes a final error event. */
void httpd_fail(struct httpd_req *r, unsigned int status, const char *type, const char *param,
    const char *code, const char *fmt, ...) PRINTFLIKE(6, 7);
/* Server-sent events: 200 text/event-stream, then "data: <json>" events
 * (stolen), then the end. On HTTPD_OLLAMA routes: 200
 * application/x-ndjson, and each event is one "<json>\n" line. */
void httpd_stream_begin(struct httpd_req *r);
void httpd_stream_event(struct httpd_req *r, json_t *data);
void httpd_stream_raw(struct httpd_req *r, const char *text); /* e.g. "data: [DONE]\n\n" */
void httpd_stream_end(struct httpd_req *r);
/* Tell the httpd_on_change listener that a session changed. */
void httpd_changed(struct httpd *h, const char *session);
/* Tell the httpd_on_stream listener of a chat's event (NULL: c is going). */
void httpd_streamed(struct httpd *h, struct chat *c, const struct llm_ev *ev);

/* The model Ollama's rule names: "x" is "x:latest" (httpd_models.c). */
bool httpd_models_same(const char *name, const char *want);

/* Model list of the backend, cached for a few seconds (httpd_models.c). */
struct httpd_models_wait;
typedef void (*httpd_models_cb)(enum llm_err err, const char *msg, const struct prov_model_list *l, void *arg);
/* cb runs later from the loop (never before this returns). Cancel with
 * httpd_models_cancel before arg goes away. */
struct httpd_models_wait *httpd_models_get_list(struct httpd *h, httpd_models_cb cb, void *arg);
void httpd_models_cancel(struct httpd *h, struct httpd_models_wait *w);
/* Whether the list has the model (Ollama's rule: "x" is "x:latest"). */
bool httpd_models_has(const struct prov_model_list *l, const char *want);
/* Inside a httpd_models_cb: whether the list came from the cache rather
 * than from the backend just now. */
bool httpd_models_cached(struct httpd *h);
/* The cached list is out of date: the next caller fetches it again. */
void httpd_models_forget(struct httpd *h);
/* The default model for requests that name none: cfg->model, else a
 * loaded model, else the first listed. Allocated, NULL if none. */
char *httpd_models_default(struct httpd *h, const struct prov_model_list *l);
/* Context lengths chats learnt, by model, kept a minute: 0 unknown (not
 * asked), -1 asked but the backend did not say. */
int64_t httpd_models_context(struct httpd *h, const char *model);
void httpd_models_learn_context(struct httpd *h, const char *model, int64_t len);
/* Per-listener cache storage, owned by struct httpd. */
struct httpd_models;
struct httpd_models **httpd_models_slot(struct httpd *h);
void httpd_models_free(struct httpd *h);

#endif
