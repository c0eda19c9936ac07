/*
 * prov_multi.c: the router over several backends ([backend NAME] sections
 * plus the local ones that answer).
 *
 * Every backend keeps its last model list (for MULTI_LIST_TTL_MS) and a
 * state. A request names a model: "name@backend" picks that backend;
 * a plain name goes to the backends whose list has it, the ones holding
 * it loaded first, then by priority (higher first), then by the fewest
 * chats running (so `parley serve` spreads a team's requests), then in
 * the order they were configured. A chat that fails before its first
 * token (backend down, connection dropped, the model gone from its list,
 * a 5xx) is sent to the next candidate; after the first token it is that
 * backend's and its errors are the caller's. A request with a bad body is
 * not retried anywhere: it would fail everywhere.
 *
 * A backend that cannot be reached is DOWN and pinged from a timer, every
 * second at first and then backing off to a minute; an UP one is pinged
 * when it has been quiet for MULTI_UP_CHECK_MS. Lists, pings and health
 * checks of the backends run in parallel.
 *
 * The router's own requests are virtual prov_reqs; every answer to the
 * caller, even a cancellation, comes from the loop, never from inside the
 * call that started or cancelled it.
 */
#include "prov_multi.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

#define MULTI_LIST_TTL_MS 30000
#define MULTI_TICK_MS 1000
#define MULTI_BACKOFF_MIN_MS 1000
#define MULTI_BACKOFF_MAX_MS 60000
#define MULTI_UP_CHECK_MS 30000
/* A request waits this long for every backend's list; then a backend that
 * has answered with the model will do, and the slow ones are not waited
 * for (a machine that is asleep, or whose address swallows packets, would
 * otherwise hold every first request up to its timeout). */
#define MULTI_PATIENCE_MS 1000

struct multi;

struct mb {
	struct multi *m;
	char *name;
	struct prov *p;
	int priority;
	int order;
	bool discovered;
	enum prov_backend_state state;
	char *error;
	int64_t retry_at; /* DOWN: ms of the next check */
	int backoff_ms;
	int64_t seen_at; /* ms of its last answer */
	int inflight;
	struct prov_model_list *models; /* last list, or NULL */
	int64_t listed_at;
	struct prov_req *ping; /* health check running */
	bool slow; /* a list outlasted a request's patience and is still out */
};

struct multi {
	struct prov *self;
	struct mb **v;
	size_t n;
	struct loop_timer *tick;
	/* requests under way, freed with the router if it goes first */
	struct mgather *gathers;
	struct mroute *routes;
	void (*watch)(void *arg); /* told when a backend goes up or down */
	void *watch_arg;
};

/* ---- backends' state ---- */

static int64_t
multi_now(void)
{
	return util_now_ms();
}

/* Tell the face that watches, when a backend's state changes. */
static void
multi_changed(struct mb *b, enum prov_backend_state was)
{
	if (b->state != was && b->m->watch != NULL)
		b->m->watch(b->m->watch_arg);
}

static void
multi_up(struct mb *b)
{
	enum prov_backend_state was = b->state;

	b->state = PROV_BACKEND_UP;
	free(b->error);
	b->error = NULL;
	b->backoff_ms = 0;
	b->seen_at = multi_now();
	multi_changed(b, was);
}

static void
multi_down(struct mb *b, const char *why)
{
	enum prov_backend_state was = b->state;

	if (b->state != PROV_BACKEND_DOWN) {
		b->backoff_ms = MULTI_BACKOFF_MIN_MS;
		/* it may have lost its models: ask again when it is back */
		prov_model_list_free(b->models);
		b->models = NULL;
	}
	b->state = PROV_BACKEND_DOWN;
	free(b->error);
	b->error = xstrdup(why != NULL ? why : "no answer");
	b->retry_at = multi_now() + b->backoff_ms;
	multi_changed(b, was);
}

/* What a failure says of the backend: unreachable ones go down. */
static void
multi_note(struct mb *b, enum llm_err err, const char *msg)
{
	if (err == LLM_OK)
		multi_up(b);
	else if (err == LLM_ERR_CONNECT)
		multi_down(b, msg);
	else if (err != LLM_ERR_CANCELLED)
		b->seen_at = multi_now(); /* it answered, if not well */
}

static void
multi_health_done(enum llm_err err, const char *msg, void *arg)
{
	struct mb *b = arg;

	b->ping = NULL;
	if (err == LLM_ERR_CANCELLED)
		return;
	if (err == LLM_OK) {
		multi_up(b);
		return;
	}
	if (b->state == PROV_BACKEND_DOWN) {
		b->backoff_ms = b->backoff_ms * 2 > MULTI_BACKOFF_MAX_MS ? MULTI_BACKOFF_MAX_MS : b->backoff_ms * 2;
		free(b->error);
		b->error = xstrdup(msg != NULL ? msg : "no answer");
		b->retry_at = multi_now() + b->backoff_ms;
	} else
		multi_down(b, msg);
}

static void
multi_tick(void *arg)
{
	struct multi *m = arg;
	int64_t now = multi_now();

	m->tick = loop_timer_add(m->self->loop, MULTI_TICK_MS, multi_tick, m);
	for (size_t i = 0; i < m->n; i++) {
		struct mb *b = m->v[i];
		bool due = b->state == PROV_BACKEND_DOWN ? now >= b->retry_at : now - b->seen_at >= MULTI_UP_CHECK_MS;

		if (b->ping == NULL && b->state != PROV_BACKEND_UNKNOWN && due)
			b->ping = b->p->ops->ping(b->p, multi_health_done, b);
	}
}

/* ---- the model lists ---- */

static char *
multi_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void
multi_model_copy(struct prov_model *o, const struct prov_model *s, const char *backend)
{
	*o = *s;
	o->name = multi_dup(s->name);
	o->family = multi_dup(s->family);
	o->params = multi_dup(s->params);
	o->quant = multi_dup(s->quant);
	o->format = multi_dup(s->format);
	o->modified = multi_dup(s->modified);
	o->expires = multi_dup(s->expires);
	o->capabilities = json_incref(s->capabilities);
	o->backend = xstrdup(backend);
}

/* Same model? Ollama's "llama3.2" is "llama3.2:latest". */
static bool
multi_same_model(const char *listed, const char *want)
{
	size_t n = strlen(want);

	if (strcmp(listed, want) == 0)
		return true;
	if (strchr(want, ':') == NULL && strncmp(listed, want, n) == 0 && strcmp(listed + n, ":latest") == 0)
		return true;
	return false;
}

/* The backend's listed entry for model, or NULL. */
static const struct prov_model *
multi_has(const struct mb *b, const char *model)
{
	for (size_t i = 0; b->models != NULL && i < b->models->n; i++)
		if (multi_same_model(b->models->v[i].name, model))
			return &b->models->v[i];
	return NULL;
}

static bool
multi_fresh(const struct mb *b)
{
	return b->models != NULL && multi_now() - b->listed_at < MULTI_LIST_TTL_MS;
}

/* ---- gathering from every backend at once ---- */

enum multi_gather_kind {
	MG_LIST,
	MG_PS,
	MG_PING,
};

struct mgather;

struct mpart {
	struct mgather *g;
	struct mb *b;
	struct prov_req *req;
	enum llm_err err;
	char *msg;
	struct prov_model_list *list; /* MG_PS */
	bool ok;
};

struct mgather {
	struct multi *m;
	enum multi_gather_kind kind;
	struct prov_req *self; /* NULL for an internal gather */
	struct mpart *parts;
	size_t nparts, pending;
	bool cancelled;
	struct loop_timer *fin;
	prov_list_cb lcb;
	prov_done_cb dcb;
	void *arg;
	/* internal: run once every list is in, or at patience's end once
	 * enough(ctx) says the lists in will do */
	void (*then)(void *ctx, bool cancelled);
	bool (*enough)(void *ctx);
	void *ctx;
	struct loop_timer *patience;
	bool detached; /* then has run: the rest only updates the lists */
	struct mgather *prev, *next; /* in m->gathers */
};

static void multi_gather_finish(void *arg);
static void multi_part_ps(enum llm_err err, const char *msg, struct prov_model_list *ps, void *arg);

static void
multi_gather_settle(struct mgather *g)
{
	if (g->pending == 0 && g->fin == NULL)
		g->fin = loop_timer_add(g->m->self->loop, 0, multi_gather_finish, g);
}

static void
multi_part_list(enum llm_err err, const char *msg, struct prov_model_list *list, void *arg)
{
	struct mpart *pt = arg;
	struct mgather *g = pt->g;
	struct mb *b = pt->b;

	pt->req = NULL;
	pt->err = err;
	pt->msg = multi_dup(msg);
	pt->ok = err == LLM_OK;
	b->slow = false;
	multi_note(b, err, msg);
	if (err == LLM_OK && g->kind == MG_LIST) {
		prov_model_list_free(b->models);
		b->models = list;
		b->listed_at = multi_now();
		if (strcmp(b->p->kind, "ollama") == 0 && !g->cancelled) {
			pt->req = b->p->ops->ps(b->p, multi_part_ps, pt);
			return; /* this part ends with the answer */
		}
	} else if (err == LLM_OK)
		pt->list = list;
	else
		prov_model_list_free(list);
	g->pending--;
	multi_gather_settle(g);
}

/* Ollama's list does not say what is loaded: its ps does. */
static void
multi_part_ps(enum llm_err err, const char *msg, struct prov_model_list *ps, void *arg)
{
	struct mpart *pt = arg;
	struct mgather *g = pt->g;
	struct prov_model_list *l = pt->b->models;

	(void)msg;
	pt->req = NULL;
	for (size_t i = 0; err == LLM_OK && l != NULL && i < l->n; i++) {
		l->v[i].loaded = 0;
		for (size_t k = 0; k < ps->n; k++)
			if (strcmp(ps->v[k].name, l->v[i].name) == 0)
				l->v[i].loaded = 1;
	}
	prov_model_list_free(ps);
	g->pending--;
	multi_gather_settle(g);
}

static void
multi_part_ping(enum llm_err err, const char *msg, void *arg)
{
	multi_part_list(err, msg, NULL, arg);
}

/* Ask every backend (but those down and not due for a check). */
static struct mgather *
multi_gather(struct multi *m, enum multi_gather_kind kind)
{
	struct mgather *g = xcalloc(1, sizeof *g);
	int64_t now = multi_now();

	g->m = m;
	g->kind = kind;
	g->next = m->gathers;
	if (m->gathers != NULL)
		m->gathers->prev = g;
	m->gathers = g;
	g->parts = xcalloc(m->n ? m->n : 1, sizeof *g->parts);
	for (size_t i = 0; i < m->n; i++) {
		struct mb *b = m->v[i];
		struct mpart *pt = &g->parts[g->nparts];

		if ((b->state == PROV_BACKEND_DOWN && now < b->retry_at) || b->slow)
			continue; /* down, or asked already and not answering */
		pt->g = g;
		pt->b = b;
		g->nparts++;
		g->pending++;
		if (kind == MG_LIST)
			pt->req = b->p->ops->list(b->p, multi_part_list, pt);
		else if (kind == MG_PS)
			pt->req = b->p->ops->ps(b->p, multi_part_list, pt);
		else
			pt->req = b->p->ops->ping(b->p, multi_part_ping, pt);
	}
	multi_gather_settle(g);
	return g;
}

/* "gpu: connection refused; laptop: ..." of the parts that failed, and of
 * the backends left out as down. */
static char *
multi_gather_why(const struct mgather *g, enum llm_err *err)
{
	struct buf b = { 0 };

	*err = LLM_ERR_CONNECT;
	for (size_t i = 0; i < g->m->n; i++) {
		const struct mb *mb = g->m->v[i];
		const struct mpart *pt = NULL;

		for (size_t k = 0; k < g->nparts; k++)
			if (g->parts[k].b == mb)
				pt = &g->parts[k];
		if (pt != NULL && pt->ok)
			continue;
		if (pt != NULL && pt->err != LLM_ERR_CONNECT)
			*err = pt->err;
		buf_printf(&b, "%s%s: %s", b.len ? "; " : "", mb->name,
		    pt != NULL ? (pt->msg ? pt->msg : "failed") : (mb->error ? mb->error : "down"));
	}
	return buf_steal(&b);
}

static void
multi_gather_free(struct mgather *g)
{
	loop_timer_cancel(g->m->self->loop, g->patience);
	if (g->prev != NULL)
		g->prev->next = g->next;
	else
		g->m->gathers = g->next;
	if (g->next != NULL)
		g->next->prev = g->prev;
	for (size_t i = 0; i < g->nparts; i++) {
		free(g->parts[i].msg);
		prov_model_list_free(g->parts[i].list);
	}
	free(g->parts);
	prov_req_virtual_free(g->self);
	free(g);
}

static void
multi_gather_finish(void *arg)
{
	struct mgather *g = arg;
	struct prov_model_list *out;
	size_t ok = 0;
	enum llm_err err;
	char *why;

	g->fin = NULL;
	loop_timer_cancel(g->m->self->loop, g->patience);
	g->patience = NULL;
	if (g->detached) {
		multi_gather_free(g);
		return;
	}
	for (size_t i = 0; i < g->nparts; i++)
		ok += g->parts[i].ok;
	if (g->then != NULL) {
		g->then(g->ctx, g->cancelled);
		multi_gather_free(g);
		return;
	}
	if (g->cancelled) {
		if (g->lcb != NULL)
			g->lcb(LLM_ERR_CANCELLED, "cancelled", NULL, g->arg);
		else
			g->dcb(LLM_ERR_CANCELLED, "cancelled", g->arg);
		multi_gather_free(g);
		return;
	}
	if (ok == 0) {
		char *msg;

		why = multi_gather_why(g, &err);
		msg = xasprintf("no backend answered (%s)", why[0] ? why : "none configured");
		if (g->lcb != NULL)
			g->lcb(err, msg, NULL, g->arg);
		else
			g->dcb(err, msg, g->arg);
		free(msg);
		free(why);
		multi_gather_free(g);
		return;
	}
	if (g->kind == MG_PING) {
		g->dcb(LLM_OK, NULL, g->arg);
		multi_gather_free(g);
		return;
	}
	/* every backend's models, in backend order */
	out = xcalloc(1, sizeof *out);
	for (size_t i = 0; i < g->nparts; i++) {
		const struct mpart *pt = &g->parts[i];
		const struct prov_model_list *l = g->kind == MG_LIST ? pt->b->models : pt->list;

		if (!pt->ok || l == NULL)
			continue;
		out->v = xreallocarray(out->v, out->n + l->n + 1, sizeof *out->v);
		for (size_t k = 0; k < l->n; k++)
			multi_model_copy(&out->v[out->n++], &l->v[k], pt->b->name);
	}
	g->lcb(LLM_OK, NULL, out, g->arg);
	multi_gather_free(g);
}

/* Patience is over: go on with the lists in if they will do, and let the
 * slow backends' answers come in the background. */
static void
multi_gather_patience(void *arg)
{
	struct mgather *g = arg;

	g->patience = NULL;
	if (g->then == NULL || g->cancelled || g->pending == 0 || !g->enough(g->ctx))
		return;
	for (size_t i = 0; i < g->nparts; i++)
		if (g->parts[i].req != NULL)
			g->parts[i].b->slow = true; /* not waited for again till it answers */
	g->then(g->ctx, false);
	g->then = NULL;
	g->detached = true;
}

static void
multi_gather_cancel(void *arg)
{
	struct mgather *g = arg;

	if (g->cancelled)
		return;
	g->cancelled = true;
	for (size_t i = 0; i < g->nparts; i++)
		if (g->parts[i].req != NULL)
			prov_cancel(g->parts[i].req);
	multi_gather_settle(g);
}

static struct prov_req *
multi_gather_req(struct prov *p, enum multi_gather_kind kind, prov_list_cb lcb, prov_done_cb dcb, void *arg)
{
	struct mgather *g = multi_gather(p->priv, kind);

	g->lcb = lcb;
	g->dcb = dcb;
	g->arg = arg;
	g->self = prov_req_virtual(p, multi_gather_cancel, g);
	return g->self;
}

static struct prov_req *
multi_list(struct prov *p, prov_list_cb cb, void *arg)
{
	return multi_gather_req(p, MG_LIST, cb, NULL, arg);
}

static struct prov_req *
multi_ps(struct prov *p, prov_list_cb cb, void *arg)
{
	return multi_gather_req(p, MG_PS, cb, NULL, arg);
}

static struct prov_req *
multi_ping(struct prov *p, prov_done_cb cb, void *arg)
{
	return multi_gather_req(p, MG_PING, NULL, cb, arg);
}

/* ---- routing one request ---- */

long
prov_multi_split(const struct prov *p, const char *model, char **bare)
{
	const struct multi *m = p->priv;
	const char *at = model != NULL ? strrchr(model, '@') : NULL;

	*bare = NULL;
	if (at == NULL || at == model)
		return -1;
	for (size_t i = 0; i < m->n; i++) {
		if (strcmp(m->v[i]->name, at + 1) == 0) {
			*bare = xstrndup(model, (size_t)(at - model));
			return (long)i;
		}
	}
	return -1;
}

/* Better first: holds it loaded, higher priority, fewer chats running,
 * configured earlier. */
static int
multi_rank(const struct mb *a, const struct mb *b, const char *model)
{
	const struct prov_model *ma = multi_has(a, model), *mbm = multi_has(b, model);
	int la = ma != NULL && ma->loaded == 1, lb = mbm != NULL && mbm->loaded == 1;

	if (la != lb)
		return lb - la;
	if (a->priority != b->priority)
		return b->priority - a->priority;
	if (a->inflight != b->inflight)
		return a->inflight - b->inflight;
	return a->order - b->order;
}

/* The backends to try for model, best first; *bare the name each gets. */
static size_t
multi_candidates(struct multi *m, const char *model, struct mb ***out, char **bare)
{
	struct mb **v = xcalloc(m->n ? m->n : 1, sizeof *v);
	long pick = prov_multi_split(m->self, model, bare);
	size_t n = 0, up = 0;

	*out = v;
	if (pick >= 0) {
		v[0] = m->v[pick];
		return 1;
	}
	*bare = xstrdup(model != NULL ? model : "");
	for (size_t i = 0; i < m->n; i++)
		if (multi_has(m->v[i], *bare) != NULL)
			v[n++] = m->v[i];
	/* insertion sort: a handful of backends */
	for (size_t i = 1; i < n; i++)
		for (size_t k = i; k > 0 && multi_rank(v[k], v[k - 1], *bare) < 0; k--) {
			struct mb *t = v[k];

			v[k] = v[k - 1];
			v[k - 1] = t;
		}
	/* the ones known down go last: tried only when nothing else works */
	for (size_t i = 0; i < n; i++)
		if (v[i]->state != PROV_BACKEND_DOWN) {
			struct mb *t = v[i];

			memmove(&v[up + 1], &v[up], (i - up) * sizeof *v);
			v[up++] = t;
		}
	return n;
}

/* Whether every backend that may answer has a list fresh enough. */
static bool
multi_lists_ready(const struct multi *m)
{
	int64_t now = multi_now();

	for (size_t i = 0; i < m->n; i++) {
		const struct mb *b = m->v[i];

		if ((b->state == PROV_BACKEND_DOWN && now < b->retry_at) || b->slow)
			continue;
		if (!multi_fresh(b))
			return false;
	}
	return true;
}

static char *
multi_not_found(const struct multi *m, const char *model)
{
	struct buf b = { 0 };

	for (size_t i = 0; i < m->n; i++)
		buf_printf(&b, "%s%s%s", i ? ", " : "", m->v[i]->name, m->v[i]->state == PROV_BACKEND_DOWN ? " (down)" : "");
	char *msg = xasprintf("model '%s' is on none of the backends (%s); `parley models` lists what each has",
	    model, b.data ? b.data : "none");

	buf_free(&b);
	return msg;
}

enum multi_op {
	MO_CHAT,
	MO_SHOW,
	MO_PULL,
	MO_REMOVE,
	MO_COPY,
	MO_EMBED,
};

/* One routed request: find the candidates (listing first if need be),
 * then try them in turn. */
struct mroute {
	struct multi *m;
	enum multi_op op;
	struct prov_req *self;
	char *model; /* as asked */
	char *bare; /* without @backend */
	char *dst; /* copy */
	struct llm_req *req; /* chat, a copy */
	json_t *input, *opts; /* embed */
	struct mb **cand;
	size_t ncand, at;
	struct mb *on; /* the backend running it */
	struct prov_req *child;
	bool committed; /* a chat that has had its first event */
	bool cancelled;
	bool finished;
	struct loop_timer *next;
	struct buf tried; /* "gpu: refused; laptop: ..." */
	llm_ev_cb ecb;
	prov_json_cb jcb;
	prov_pull_cb pcb;
	prov_done_cb dcb;
	void *arg;
	struct mroute *prev, *nextr; /* in m->routes */
};

static void multi_route_try(void *arg);

static void
multi_route_free(struct mroute *r)
{
	if (r->prev != NULL)
		r->prev->nextr = r->nextr;
	else
		r->m->routes = r->nextr;
	if (r->nextr != NULL)
		r->nextr->prev = r->prev;
	free(r->model);
	free(r->bare);
	free(r->dst);
	llm_req_free(r->req);
	json_decref(r->input);
	json_decref(r->opts);
	free(r->cand);
	buf_free(&r->tried);
	prov_req_virtual_free(r->self);
	free(r);
}

/* Tell the caller how it ended, once. */
static void
multi_route_end(struct mroute *r, enum llm_err err, const char *msg, json_t *result)
{
	if (r->finished)
		return;
	r->finished = true;
	switch (r->op) {
	case MO_CHAT:
		if (err == LLM_OK)
			break; /* the DONE event went already */
		llm_emit_error(r->ecb, r->arg, err, msg ? msg : "failed", strlen(msg ? msg : "failed"));
		break;
	case MO_SHOW:
	case MO_EMBED:
		r->jcb(err, msg, result, r->arg);
		break;
	default:
		r->dcb(err, msg, r->arg);
		break;
	}
}

static void
multi_route_fail(void *arg)
{
	struct mroute *r = arg;

	r->next = NULL;
	if (r->cancelled)
		multi_route_end(r, LLM_ERR_CANCELLED, "interrupted", NULL);
	else if (r->ncand == 0 && r->op != MO_PULL)
		multi_route_end(r, LLM_ERR_NOT_FOUND, r->tried.data, NULL);
	else
		multi_route_end(r, r->op == MO_PULL && r->ncand == 0 ? LLM_ERR_USAGE : LLM_ERR_CONNECT, r->tried.data,
		    NULL);
	multi_route_free(r);
}

/* Whether a failure on one backend is worth trying on the next. */
static bool
multi_retryable(enum llm_err err)
{
	return err == LLM_ERR_CONNECT || err == LLM_ERR_BACKEND || err == LLM_ERR_NOT_FOUND || err == LLM_ERR_OTHER;
}

/* The attempt on r->on failed: note it, and go on to the next. */
static void
multi_route_next(struct mroute *r, enum llm_err err, const char *msg)
{
	buf_printf(&r->tried, "%s%s: %s", r->tried.len ? "; " : "", r->on->name, msg ? msg : "failed");
	if (err == LLM_ERR_NOT_FOUND) {
		/* its list is out of date */
		prov_model_list_free(r->on->models);
		r->on->models = NULL;
	}
	r->on->inflight -= r->op == MO_CHAT;
	r->on = NULL;
	r->child = NULL;
	r->at++;
	r->next = loop_timer_add(r->m->self->loop, 0, multi_route_try, r);
}

static void
multi_route_chat_ev(const struct llm_ev *ev, void *arg)
{
	struct mroute *r = arg;
	struct mb *b = r->on;

	if (r->finished)
		return;
	if (ev->type == LLM_EV_ERROR) {
		multi_note(b, ev->err, ev->text);
		if (!r->committed && !r->cancelled && multi_retryable(ev->err) && r->at + 1 < r->ncand) {
			char *msg = xstrndup(ev->text ? ev->text : "", ev->len);

			multi_route_next(r, ev->err, msg);
			free(msg);
			return;
		}
		b->inflight--;
		r->finished = true;
		if (r->tried.len > 0 && !r->committed && ev->err != LLM_ERR_CANCELLED) {
			/* say what the others did too */
			char *msg = xasprintf("%s: %.*s (tried before it: %s)", b->name, (int)ev->len, ev->text ? ev->text : "",
			    r->tried.data);

			llm_emit_error(r->ecb, r->arg, ev->err, msg, strlen(msg));
			free(msg);
		} else
			r->ecb(ev, r->arg);
		multi_route_free(r);
		return;
	}
	if (!r->committed) {
		r->committed = true;
		multi_up(b);
	}
	if (ev->type == LLM_EV_DONE) {
		b->inflight--;
		b->seen_at = multi_now();
		r->finished = true;
		r->ecb(ev, r->arg);
		multi_route_free(r);
		return;
	}
	r->ecb(ev, r->arg);
}

static void
multi_route_json(enum llm_err err, const char *msg, json_t *result, void *arg)
{
	struct mroute *r = arg;

	multi_note(r->on, err, msg);
	if (err != LLM_OK && !r->cancelled && multi_retryable(err) && r->at + 1 < r->ncand) {
		multi_route_next(r, err, msg);
		return;
	}
	if (err == LLM_OK && json_is_object(result))
		json_object_set_new(result, "backend", json_string(r->on->name));
	multi_route_end(r, err, msg, result);
	multi_route_free(r);
}

static void
multi_route_done(enum llm_err err, const char *msg, void *arg)
{
	struct mroute *r = arg;

	multi_note(r->on, err, msg);
	if (err == LLM_OK && (r->op == MO_PULL || r->op == MO_REMOVE || r->op == MO_COPY))
		prov_model_list_free(r->on->models), r->on->models = NULL; /* its models changed */
	if (err != LLM_OK && !r->cancelled && r->op == MO_SHOW && multi_retryable(err) && r->at + 1 < r->ncand) {
		multi_route_next(r, err, msg);
		return;
	}
	multi_route_end(r, err, msg, NULL);
	multi_route_free(r);
}

static void
multi_route_try(void *arg)
{
	struct mroute *r = arg;
	struct mb *b;

	r->next = NULL;
	if (r->cancelled || r->at >= r->ncand) {
		multi_route_fail(r);
		return;
	}
	b = r->on = r->cand[r->at];
	switch (r->op) {
	case MO_CHAT: {
		const char *asked = r->req->model;

		b->inflight++;
		r->req->model = r->bare;
		r->child = b->p->ops->chat(b->p, r->req, multi_route_chat_ev, r);
		r->req->model = asked;
		break;
	}
	case MO_SHOW:
		r->child = b->p->ops->show(b->p, r->bare, multi_route_json, r);
		break;
	case MO_PULL:
		r->child = b->p->ops->pull(b->p, r->bare, r->pcb, multi_route_done, r);
		break;
	case MO_REMOVE:
		r->child = b->p->ops->remove(b->p, r->bare, multi_route_done, r);
		break;
	case MO_COPY:
		r->child = b->p->ops->copy(b->p, r->bare, r->dst, multi_route_done, r);
		break;
	case MO_EMBED:
		if (b->p->ops->embed == NULL) {
			char *msg = xasprintf("%s backends have no embeddings", b->p->kind);

			if (r->at + 1 < r->ncand)
				multi_route_next(r, LLM_ERR_OTHER, msg);
			else {
				multi_route_end(r, LLM_ERR_OTHER, msg, NULL);
				multi_route_free(r);
			}
			free(msg);
			break;
		}
		r->child = b->p->ops->embed(b->p, r->bare, r->input, r->opts, multi_route_json, r);
		break;
	}
}

/* The lists are in (or were already): choose, then try. */
static void
multi_route_start(void *ctx, bool cancelled)
{
	struct mroute *r = ctx;
	struct multi *m = r->m;

	if (cancelled || r->cancelled) {
		r->cancelled = true;
		r->next = loop_timer_add(m->self->loop, 0, multi_route_fail, r);
		return;
	}
	if (r->op == MO_PULL) {
		/* to the backend named, else the best Ollama that is up */
		long pick = prov_multi_split(m->self, r->model, &r->bare);

		r->cand = xcalloc(m->n ? m->n : 1, sizeof *r->cand);
		if (pick >= 0)
			r->cand[r->ncand++] = m->v[pick];
		else {
			r->bare = xstrdup(r->model);
			for (size_t i = 0; i < m->n; i++)
				if (strcmp(m->v[i]->p->kind, "ollama") == 0 && m->v[i]->state != PROV_BACKEND_DOWN &&
				    (r->ncand == 0 || m->v[i]->priority > r->cand[0]->priority))
					r->cand[r->ncand == 0 ? r->ncand++ : 0] = m->v[i];
			if (r->ncand == 0)
				buf_printf(&r->tried, "none of the backends can pull '%s': pulling needs an Ollama "
				                      "backend that is up (name one with %s@BACKEND)",
				    r->model, r->model);
		}
	} else {
		r->ncand = multi_candidates(m, r->model, &r->cand, &r->bare);
		if (r->ncand == 0) {
			char *msg = multi_not_found(m, r->bare);

			buf_puts(&r->tried, msg);
			free(msg);
		}
	}
	r->at = 0;
	multi_route_try(r);
}

static void
multi_route_start_timer(void *arg)
{
	struct mroute *r = arg;

	r->next = NULL;
	multi_route_start(r, false);
}

static void
multi_route_cancel(void *arg)
{
	struct mroute *r = arg;

	if (r->cancelled)
		return;
	r->cancelled = true;
	if (r->child != NULL)
		prov_cancel(r->child); /* its callback ends the route */
	/* else a list or the next try is pending: it sees the flag */
}

/* A backend that is up has listed the model: routing need not wait for
 * the others. */
static bool
multi_route_enough(void *ctx)
{
	struct mroute *r = ctx;
	char *bare = NULL;
	bool found = false;

	(void)prov_multi_split(r->m->self, r->model, &bare);
	for (size_t i = 0; i < r->m->n && !found; i++)
		found = r->m->v[i]->models != NULL && r->m->v[i]->state == PROV_BACKEND_UP &&
		    multi_has(r->m->v[i], bare != NULL ? bare : r->model);
	free(bare);
	return found;
}

static struct mroute *
multi_route_new(struct prov *p, enum multi_op op, const char *model, void *arg)
{
	struct mroute *r = xcalloc(1, sizeof *r);
	struct multi *m = p->priv;
	char *bare = NULL;

	r->m = m;
	r->op = op;
	r->nextr = m->routes;
	if (m->routes != NULL)
		m->routes->prev = r;
	m->routes = r;
	r->model = xstrdup(model != NULL ? model : "");
	r->arg = arg;
	r->self = prov_req_virtual(p, multi_route_cancel, r);
	/* a backend named needs no lists; a pull goes to a kind of backend */
	if (op == MO_PULL || prov_multi_split(p, r->model, &bare) >= 0 || multi_lists_ready(m)) {
		free(bare);
		r->next = loop_timer_add(p->loop, 0, multi_route_start_timer, r);
		return r;
	}
	free(bare);
	{
		struct mgather *g = multi_gather(m, MG_LIST);

		g->then = multi_route_start;
		g->enough = multi_route_enough;
		g->ctx = r;
		g->patience = loop_timer_add(p->loop, MULTI_PATIENCE_MS, multi_gather_patience, g);
	}
	return r;
}

static struct prov_req *
multi_chat(struct prov *p, const struct llm_req *req, llm_ev_cb cb, void *arg)
{
	struct mroute *r = multi_route_new(p, MO_CHAT, req->model, arg);

	r->req = llm_req_copy(req);
	r->ecb = cb;
	return r->self;
}

static struct prov_req *
multi_show(struct prov *p, const char *model, prov_json_cb cb, void *arg)
{
	struct mroute *r = multi_route_new(p, MO_SHOW, model, arg);

	r->jcb = cb;
	return r->self;
}

static struct prov_req *
multi_embed(struct prov *p, const char *model, json_t *input, json_t *opts, prov_json_cb cb, void *arg)
{
	struct mroute *r = multi_route_new(p, MO_EMBED, model, arg);

	r->input = json_incref(input);
	r->opts = json_incref(opts);
	r->jcb = cb;
	return r->self;
}

static struct prov_req *
multi_pull(struct prov *p, const char *model, prov_pull_cb progress, prov_done_cb cb, void *arg)
{
	struct mroute *r = multi_route_new(p, MO_PULL, model, arg);

	r->pcb = progress;
	r->dcb = cb;
	return r->self;
}

static struct prov_req *
multi_remove(struct prov *p, const char *model, prov_done_cb cb, void *arg)
{
	struct mroute *r = multi_route_new(p, MO_REMOVE, model, arg);

	r->dcb = cb;
	return r->self;
}

static struct prov_req *
multi_copy(struct prov *p, const char *src, const char *dst, prov_done_cb cb, void *arg)
{
	struct mroute *r = multi_route_new(p, MO_COPY, src, arg);
	char *bare = NULL;

	/* the copy stays on the source's backend: a dst@backend suffix goes */
	if (prov_multi_split(p, dst, &bare) >= 0)
		r->dst = bare;
	else
		r->dst = xstrdup(dst);
	r->dcb = cb;
	return r->self;
}

static const struct prov_ops prov_multi_ops = {
	.name = "multi",
	.list = multi_list,
	.ps = multi_ps,
	.show = multi_show,
	.pull = multi_pull,
	.remove = multi_remove,
	.copy = multi_copy,
	.chat = multi_chat,
	.ping = multi_ping,
	.embed = multi_embed,
};

/* ---- the router ---- */

static void
multi_destroy(struct prov *p)
{
	struct multi *m = p->priv;

	loop_timer_cancel(p->loop, m->tick);
	/* what is still under way ends cancelled, as a backend's own
	 * requests do when the network goes */
	while (m->gathers != NULL) {
		struct mgather *g = m->gathers;

		loop_timer_cancel(p->loop, g->fin);
		if (g->then == NULL && g->lcb != NULL)
			g->lcb(LLM_ERR_CANCELLED, "cancelled", NULL, g->arg);
		else if (g->then == NULL && g->dcb != NULL)
			g->dcb(LLM_ERR_CANCELLED, "cancelled", g->arg);
		multi_gather_free(g);
	}
	while (m->routes != NULL) {
		struct mroute *r = m->routes;

		loop_timer_cancel(p->loop, r->next);
		multi_route_end(r, LLM_ERR_CANCELLED, "cancelled", NULL);
		multi_route_free(r);
	}
	for (size_t i = 0; i < m->n; i++) {
		struct mb *b = m->v[i];

		if (b->ping != NULL)
			prov_cancel(b->ping);
		prov_free(b->p);
		prov_model_list_free(b->models);
		free(b->name);
		free(b->error);
		free(b);
	}
	free(m->v);
	free(m);
	p->priv = NULL;
}

struct prov *
prov_multi_new(struct net *net, struct loop *loop)
{
	struct prov *p = xcalloc(1, sizeof *p);
	struct multi *m = xcalloc(1, sizeof *m);

	p->ops = &prov_multi_ops;
	p->kind = xstrdup("multi");
	p->base_url = xstrdup("");
	p->net = net;
	p->loop = loop;
	p->priv = m;
	p->destroy = multi_destroy;
	m->self = p;
	m->tick = loop_timer_add(loop, MULTI_TICK_MS, multi_tick, m);
	return p;
}

void
prov_multi_add(struct prov *p, const char *name, struct prov *child, int priority, bool discovered)
{
	struct multi *m = p->priv;
	struct mb *b = xcalloc(1, sizeof *b);
	struct buf u = { 0 };

	b->m = m;
	b->name = xstrdup(name);
	b->p = child;
	b->priority = priority;
	b->order = (int)m->n;
	b->discovered = discovered;
	m->v = xreallocarray(m->v, m->n + 1, sizeof *m->v);
	m->v[m->n++] = b;
	/* what the faces print where one backend shows its address */
	for (size_t i = 0; i < m->n; i++)
		buf_printf(&u, "%s%s", i ? ", " : "", m->v[i]->name);
	free(p->base_url);
	p->base_url = buf_steal(&u);
}

bool
prov_is_multi(const struct prov *p)
{
	return p != NULL && p->ops == &prov_multi_ops;
}

size_t
prov_multi_count(const struct prov *p)
{
	return prov_is_multi(p) ? ((const struct multi *)p->priv)->n : 0;
}

void
prov_multi_info(const struct prov *p, size_t i, struct prov_backend_info *out)
{
	const struct multi *m = p->priv;
	const struct mb *b = m->v[i];
	int64_t now = multi_now();

	memset(out, 0, sizeof *out);
	out->name = b->name;
	out->kind = b->p->kind;
	out->url = b->p->base_url;
	out->priority = b->priority;
	out->discovered = b->discovered;
	out->state = b->state;
	out->error = b->error;
	out->retry_ms = b->state == PROV_BACKEND_DOWN && b->retry_at > now ? b->retry_at - now : 0;
	out->inflight = b->inflight;
	out->models = b->models != NULL ? (long)b->models->n : -1;
}

struct prov *
prov_multi_child(const struct prov *p, const char *name)
{
	const struct multi *m = p->priv;

	for (size_t i = 0; prov_is_multi(p) && i < m->n; i++)
		if (strcmp(m->v[i]->name, name) == 0)
			return m->v[i]->p;
	return NULL;
}

bool
prov_can_pull(const struct prov *p)
{
	const struct multi *m;

	if (p == NULL)
		return false;
	if (!prov_is_multi(p))
		return strcmp(p->kind, "ollama") == 0;
	m = p->priv;
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->v[i]->p->kind, "ollama") == 0)
			return true;
	return false;
}

const char *
prov_backend_state_name(enum prov_backend_state s)
{
	switch (s) {
	case PROV_BACKEND_UP:
		return "up";
	case PROV_BACKEND_DOWN:
		return "down";
	default:
		return "unknown";
	}
}

void
prov_multi_watch(struct prov *p, void (*cb)(void *arg), void *arg)
{
	struct multi *m = p->priv;

	m->watch = cb;
	m->watch_arg = arg;
}
