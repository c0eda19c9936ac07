/* prov.h: the provider interface. A provider turns parley's requests into a
 * backend's HTTP calls on the loop; every call is asynchronous and reports
 * through callbacks. prov_ollama.c and prov_openai.c implement it. */
#ifndef PARLEY_PROV_H
#define PARLEY_PROV_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "llm.h"
#include "loop.h"
#include "net.h"

struct prov;
struct prov_req;

struct prov_model {
	char *name;
	char *family;
	char *params; /* "7.6B" */
	char *quant; /* "Q4_K_M" */
	char *format; /* gguf, mlx, ... */
	int64_t size; /* bytes, 0 unknown */
	char *modified; /* RFC 3339 or "" */
	int64_t context_length; /* 0 unknown */
	int loaded; /* 1 loaded, 0 not, -1 unknown */
	int64_t size_vram; /* ps */
	char *expires; /* ps: RFC 3339 */
	json_t *capabilities; /* array of strings or NULL */
	char *backend; /* the backend's name when several are in use, else NULL */
};

struct prov_model_list {
	struct prov_model *v;
	size_t n;
};
void prov_model_clear(struct prov_model *m); /* frees members */
void prov_model_list_free(struct prov_model_list *l);

/* Result of a non-streaming call: err is LLM_OK or the kind of failure,
 * msg a ready-to-print message (never NULL when err != LLM_OK). */
typedef void (*prov_list_cb)(enum llm_err err, const char *msg,
    struct prov_model_list *list /* callee owns */, void *arg);
typedef void (*prov_json_cb)(enum llm_err err, const char *msg, json_t *result, void *arg);
typedef void (*prov_done_cb)(enum llm_err err, const char *msg, void *arg);

struct prov_pull_ev {
	const char *status;
	const char *digest;
	int64_t total, completed;
};
typedef void (*prov_pull_cb)(const struct prov_pull_ev *ev, void *arg);

struct prov_ops {
	const char *name;
	/* Models this backend offers (and, where it can tell, which are loaded). */
	struct prov_req *(*list)(struct prov *p, prov_list_cb cb, void *arg);
	struct prov_req *(*ps)(struct prov *p, prov_list_cb cb, void *arg);
	/* Normalised details: {"name","details":{..},"parameters","template",
	 * "capabilities":[..],"context_length":N,"raw":{backend's own}} */
	struct prov_req *(*show)(struct prov *p, const char *model, prov_json_cb cb, void *arg);
	struct prov_req *(*pull)(struct prov *p, const char *model, prov_pull_cb progress, prov_done_cb cb, void *arg);
	struct prov_req *(*remove)(struct prov *p, const char *model, prov_done_cb cb, void *arg);
	struct prov_req *(*copy)(struct prov *p, const char *src, const char *dst, prov_done_cb cb, void *arg);
	/* Events arrive through cb; exactly one DONE or ERROR ends the request. */
	struct prov_req *(*chat)(struct prov *p, const struct llm_req *req, llm_ev_cb cb, void *arg);
	/* Cheap liveness probe. */
	struct prov_req *(*ping)(struct prov *p, prov_done_cb cb, void *arg);
	/* Embeddings of input (a string or an array of strings; borrowed).
	 * opts (borrowed, may be NULL) holds Ollama's extra fields: truncate,
	 * dimensions, keep_alive, options; a backend uses those it can.
	 * Result: {"embeddings":[[...],...]} in input order, plus
	 * "prompt_eval_count", "total_duration" and "load_duration" when the
	 * backend tells. NULL in a provider that has no embeddings. */
	struct prov_req *(*embed)(struct prov *p, const char *model, json_t *input, json_t *opts, prov_json_cb cb,
	    void *arg);
};

struct prov {
	const struct prov_ops *ops;
	char *kind; /* "ollama", "lm-studio", "openai" */
	char *base_url; /* without /v1 */
	char *api_key;
	struct net *net;
	struct loop *loop;
	void *priv;
	/* It refused tools on a streamed chat (older llama-server): such a
	 * chat is sent unstreamed from then on. */
	bool no_stream_tools;
	void (*destroy)(struct prov *p); /* frees priv, called by prov_free */
};

struct prov *prov_new(const char *kind, const char *base_url, const char *api_key,
    struct net *net, struct loop *loop, char **cause);
void prov_free(struct prov *p);
/* Cancel a running request; its callback sees LLM_ERR_CANCELLED. */
void prov_cancel(struct prov_req *r);
/* A request that is not one HTTP exchange but runs others under it (the
 * router of several backends): prov_cancel calls cancel(arg), which must
 * see that the callback gets LLM_ERR_CANCELLED (never from inside
 * prov_cancel). Its owner frees it once the callback has run. */
struct prov_req *prov_req_virtual(struct prov *p, void (*cancel)(void *arg), void *arg);
void prov_req_virtual_free(struct prov_req *r);
/* Default base URL of a provider kind. */
const char *prov_default_url(const char *kind);

/* Shared by provider implementations: one HTTP exchange on the loop.
 * With stream callbacks, a success status streams bytes to on_bytes; an
 * error status (>= 400) collects the body for on_end instead. */
enum prov_bytes {
	PROV_MORE, /* keep reading */
	PROV_STOP, /* stop the transfer (the connection is closed) */
	/* The reply is complete: what is left of the body (the end of the
	 * chunked encoding) is read and dropped, so that the connection goes
	 * back to the pool for the next request. on_end still follows. */
	PROV_DONE,
};
struct prov_http {
	/* Bytes of a successful response; returns an enum prov_bytes. */
	int (*on_bytes)(struct prov_req *r, const char *data, size_t len, void *arg);
	/* The exchange is over. err/msg describe a transport failure
	 * (LLM_OK when the HTTP exchange completed); status and body give an
	 * HTTP error's status and body, or the whole body when on_bytes is
	 * NULL. The request is freed after this returns. */
	void (*on_end)(struct prov_req *r, enum llm_err err, const char *msg, long status,
	    const char *body, size_t len, void *arg);
	/* Inactivity limit for this request when shorter than the configured
	 * one (0: that one). */
	long read_timeout_ms;
};
/* A backend that accepts a ping and says nothing for this long is taken
 * for wedged: /api/version, /api/show and /v1/models answer at once even
 * while a model loads. */
#define PROV_PING_TIMEOUT_MS 10000
/* Start a request to base_url + path; body (stolen, may be NULL) is sent as
 * JSON. */
struct prov_req *prov_http(struct prov *p, const char *method, const char *path, json_t *body,
    const struct prov_http *cbs, void *arg);
/* From on_end only: send a follow-up request under the same handle, so a
 * caller that holds r (to cancel it) never holds a freed request. cbs NULL
 * keeps the callbacks; body is stolen. on_end runs again when it ends. */
void prov_http_again(struct prov_req *r, const char *method, const char *path, json_t *body,
    const struct prov_http *cbs);
/* Translate a transport failure into an llm_err and a message naming the URL. */
enum llm_err prov_net_error(const struct prov *p, enum net_result res, const char *netmsg, char **msg);
/* "model 'x' not found; pull it with `parley pull x`" and the like. */
char *prov_not_found_msg(const struct prov *p, const char *model);

/* Where a chat's events go: the caller's callback, which sees exactly one
 * DONE or ERROR and nothing after it. prov_sink_event is an llm_ev_cb whose
 * arg is the sink. */
struct prov_sink {
	llm_ev_cb cb;
	void *arg;
	bool finished;
	bool done; /* ... with DONE */
};
/* What a chat's on_bytes returns once it has fed the sink. */
int prov_sink_bytes(const struct prov_sink *s);
void prov_sink_event(const struct llm_ev *ev, void *sink);
void prov_sink_error(struct prov_sink *s, enum llm_err err, const char *msg);
/* The start of a body that is not a recognised error, for messages. */
char *prov_body_excerpt(const char *body, size_t len);

extern const struct prov_ops prov_ollama_ops;
extern const struct prov_ops prov_openai_ops;

#endif
