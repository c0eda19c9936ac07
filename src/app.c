/*
 * app.c: process setup shared by every face, and auto-discovery of the
 * backend. Discovery runs on the loop like everything else: a ping to
 * Ollama, and if that cannot connect, pings to LM Studio and llama-server
 * at once; the first to answer wins.
 *
 * With [backend NAME] sections in the config file (and no provider or
 * address named), the backend is the router over them (prov_multi.c), and
 * discovery instead adds every local backend that answers and is not one
 * of them already. The configured ones are not waited for: the first
 * request finds out which are up, and the router keeps checking.
 */
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "prov_multi.h"
#include "util.h"

/* Local backends discovery looks for, and the names they get. */
static const struct {
	const char *kind, *name;
} app_locals[] = {
	{ "ollama", "ollama" },
	{ "lm-studio", "lm-studio" },
	{ "openai", "llama-server" },
};
#define APP_NLOCALS (sizeof app_locals / sizeof app_locals[0])

void
app_init(struct app *a, struct config *cfg)
{
	memset(a, 0, sizeof *a);
	a->cfg = cfg;
	a->loop = loop_new();
	a->net = net_new(a->loop, cfg->connect_timeout_ms, cfg->read_timeout_ms);
}

void
app_free(struct app *a)
{
	net_free(a->net);
	prov_free(a->prov);
	store_close(a->store);
	free(a->store_error);
	loop_free(a->loop);
	memset(a, 0, sizeof *a);
}

void
app_run_until(struct app *a, const bool *done)
{
	loop_run_until(a->loop, done);
}

struct app_probe {
	struct prov *p;
	struct prov_req *req; /* while running */
	struct app_connecting *c;
	enum llm_err err;
	char *msg;
};

/* One connection attempt: a stage of probes in parallel, then the next
 * stage or the answer. Stages are stepped from a timer, never from inside
 * a probe's callback, so losers can be cancelled and freed safely. */
struct app_connecting {
	struct app *a;
	enum {
		APP_NAMED,
		APP_URL,
		APP_OLLAMA,
		APP_PAIR,
		APP_MULTI
	} stage;
	struct app_probe probes[APP_NLOCALS];
	int n;
	int pending;
	int winner;
	struct loop_timer *step;
	app_connect_cb cb;
	void *arg;
};

static void app_connect_step(void *arg);

static void
app_probe_done(enum llm_err err, const char *msg, void *arg)
{
	struct app_probe *pr = arg;
	struct app_connecting *c = pr->c;

	pr->req = NULL;
	pr->err = err;
	pr->msg = msg ? xstrdup(msg) : NULL;
	c->pending--;
	if (err == LLM_OK && c->winner < 0)
		c->winner = (int)(pr - c->probes);
	if ((c->pending == 0 || (c->winner >= 0 && c->stage != APP_MULTI)) && c->step == NULL)
		c->step = loop_timer_add(c->a->loop, 0, app_connect_step, c);
}

static struct prov *
app_new_prov(struct app *a, const char *kind, const char *url)
{
	char *cause = NULL;
	struct prov *p = prov_new(kind, url, a->cfg->api_key, a->net, a->loop, &cause);

	if (p == NULL)
		fatal("%s", cause);
	return p;
}

/* Ping the providers of the next stage in parallel. */
static void
app_probe_stage(struct app_connecting *c, const char *kind0, const char *kind1, const char *url)
{
	c->n = kind1 != NULL ? 2 : 1;
	c->pending = c->n;
	c->winner = -1;
	c->probes[0].p = app_new_prov(c->a, kind0, url);
	if (kind1 != NULL)
		c->probes[1].p = app_new_prov(c->a, kind1, url);
	for (int i = 0; i < c->n; i++) {
		c->probes[i].c = c;
		c->probes[i].req = c->probes[i].p->ops->ping(c->probes[i].p, app_probe_done, &c->probes[i]);
	}
}

/* Cancel the stage's probes still running and free every provider but
 * the one kept (-1: none). */
static void
app_probe_clear(struct app_connecting *c, int keep)
{
	for (int i = 0; i < c->n; i++) {
		if (c->probes[i].req != NULL)
			prov_cancel(c->probes[i].req);
		if (i != keep)
			prov_free(c->probes[i].p);
		free(c->probes[i].msg);
	}
	memset(c->probes, 0, sizeof c->probes);
	c->n = 0;
}

/* The answer: probe KEEP's provider becomes the app's (-1: the caller
 * has set a->prov already); the rest are freed, then CB is told. */
static void
app_connect_end(struct app_connecting *c, int keep, enum llm_err err, char *msg, char *note)
{
	app_connect_cb cb = c->cb;
	void *arg = c->arg;

	if (keep >= 0)
		c->a->prov = c->probes[keep].p;
	app_probe_clear(c, keep);
	free(c);
	cb(err, msg, note, arg);
	free(msg);
	free(note);
}

static char *
app_probe_msg(const struct app_probe *pr, const char *fallback)
{
	return xstrdup(pr->msg != NULL ? pr->msg : fallback);
}

/* Whether a configured backend already sits at url. */
static bool
app_configured_at(const struct config *cfg, const char *url)
{
	for (int i = 0; i < cfg->nbackends; i++) {
		const char *u = cfg->backends[i].base_url ? cfg->backends[i].base_url
		                                          : prov_default_url(cfg->backends[i].provider);

		if (strcmp(u, url) == 0)
			return true;
	}
	return false;
}

/* Several backends: ping the local ones not configured, in parallel. */
static void
app_multi_stage(struct app_connecting *c)
{
	struct config *cfg = c->a->cfg;

	c->n = 0;
	c->pending = 0;
	c->winner = -1;
	for (size_t i = 0; i < APP_NLOCALS && !cfg->no_discover; i++) {
		struct app_probe *pr = &c->probes[c->n];

		if (app_configured_at(cfg, prov_default_url(app_locals[i].kind)))
			continue;
		pr->p = app_new_prov(c->a, app_locals[i].kind, NULL);
		pr->c = c;
		pr->err = LLM_ERR_OTHER;
		c->n++;
		c->pending++;
		pr->req = pr->p->ops->ping(pr->p, app_probe_done, pr);
	}
	if (c->pending == 0)
		c->step = loop_timer_add(c->a->loop, 0, app_connect_step, c);
}

/* The router: the configured backends, then the local ones that answered. */
static void
app_multi_end(struct app_connecting *c)
{
	struct app *a = c->a;
	struct config *cfg = a->cfg;
	struct prov *router;

	/* every probe has its answer: a winner alone does not end this stage */
	if (c->pending > 0)
		return;
	router = prov_multi_new(a->net, a->loop);
	for (int i = 0; i < cfg->nbackends; i++) {
		const struct config_backend *b = &cfg->backends[i];
		char *cause = NULL;
		struct prov *p = prov_new(b->provider, b->base_url, b->api_key ? b->api_key : cfg->api_key, a->net,
		    a->loop, &cause);

		if (p == NULL)
			fatal("%s", cause);
		prov_multi_add(router, b->name, p, b->priority, false);
	}
	for (int i = 0; i < c->n; i++) {
		struct app_probe *pr = &c->probes[i];
		char *name = NULL;

		if (pr->err != LLM_OK)
			continue;
		for (size_t k = 0; k < APP_NLOCALS; k++)
			if (strcmp(app_locals[k].kind, pr->p->kind) == 0)
				name = prov_multi_child(router, app_locals[k].name) == NULL
				    ? xstrdup(app_locals[k].name)
				    : xasprintf("%s-local", app_locals[k].name);
		prov_multi_add(router, name, pr->p, 0, true);
		pr->p = NULL; /* the router's now */
		free(name);
	}
	a->prov = router;
	app_connect_end(c, -1, LLM_OK, NULL, NULL);
}

static void
app_connect_step(void *arg)
{
	struct app_connecting *c = arg;
	struct app *a = c->a;
	struct app_probe *p0 = &c->probes[0];
	int w = c->winner;

	c->step = NULL;
	switch (c->stage) {
	case APP_NAMED:
		app_connect_end(c, 0, w < 0 ? p0->err : LLM_OK, w < 0 ? app_probe_msg(p0, "backend did not answer") : NULL,
		    NULL);
		return;
	case APP_URL:
		/* An address without a provider: Ollama answers /api/version;
		 * anything else there is taken for OpenAI-compatible. */
		if (w == 0 || p0->err == LLM_ERR_CONNECT) {
			app_connect_end(c, 0, w == 0 ? LLM_OK : p0->err, w == 0 ? NULL : app_probe_msg(p0, ""), NULL);
			return;
		}
		app_probe_clear(c, -1);
		a->prov = app_new_prov(a, "openai", a->cfg->base_url);
		app_connect_end(c, -1, LLM_OK, NULL, NULL);
		return;
	case APP_OLLAMA:
		/* Ollama answered (or answered badly): use it and show its error */
		if (w == 0 || p0->err != LLM_ERR_CONNECT) {
			app_connect_end(c, 0, w == 0 ? LLM_OK : p0->err, w == 0 ? NULL : app_probe_msg(p0, ""), NULL);
			return;
		}
		app_probe_clear(c, -1);
		c->stage = APP_PAIR;
		app_probe_stage(c, "lm-studio", "openai", NULL);
		return;
	case APP_MULTI:
		app_multi_end(c);
		return;
	case APP_PAIR:
		if (w >= 0) {
			char *note = xasprintf("Ollama is not running at %s; using %s at %s", prov_default_url("ollama"),
			    w == 0 ? "LM Studio" : "the OpenAI-compatible server", c->probes[w].p->base_url);

			app_connect_end(c, w, LLM_OK, NULL, note);
			return;
		}
		app_probe_clear(c, -1);
		a->prov = app_new_prov(a, "ollama", NULL);
		app_connect_end(c, -1, LLM_ERR_CONNECT,
		    xasprintf("no backend found: nothing answered at %s (Ollama), %s (LM Studio) or %s (llama-server); "
		              "run 'ollama serve', start LM Studio's server, or name one with --provider and --base-url",
		        prov_default_url("ollama"), prov_default_url("lm-studio"), prov_default_url("openai")),
		    NULL);
		return;
	}
}

struct app_connecting *
app_connect_start(struct app *a, app_connect_cb cb, void *arg)
{
	struct config *cfg = a->cfg;
	struct app_connecting *c = xcalloc(1, sizeof *c);

	c->a = a;
	c->cb = cb;
	c->arg = arg;
	if (cfg->provider == NULL && !cfg->base_url_named && cfg->nbackends > 0) {
		c->stage = APP_MULTI;
		app_multi_stage(c);
	} else if (cfg->provider != NULL) {
		c->stage = APP_NAMED;
		app_probe_stage(c, cfg->provider, NULL, cfg->base_url);
	} else if (cfg->base_url_named) {
		c->stage = APP_URL;
		app_probe_stage(c, "ollama", NULL, cfg->base_url);
	} else {
		/* Nothing named: Ollama first, then LM Studio and llama-server. */
		c->stage = APP_OLLAMA;
		app_probe_stage(c, "ollama", NULL, NULL);
	}
	return c;
}

void
app_connect_cancel(struct app_connecting *c)
{
	if (c == NULL)
		return;
	loop_timer_cancel(c->a->loop, c->step);
	app_probe_clear(c, -1);
	free(c);
}

struct app_connect_wait {
	bool done;
	enum llm_err err;
	char *msg;
	char *note;
};

static void
app_connect_waited(enum llm_err err, const char *msg, const char *note, void *arg)
{
	struct app_connect_wait *w = arg;

	w->done = true;
	w->err = err;
	w->msg = msg != NULL ? xstrdup(msg) : NULL;
	w->note = note != NULL ? xstrdup(note) : NULL;
}

enum llm_err
app_connect(struct app *a, bool probe, char **msg, char **note)
{
	struct app_connect_wait w = { false, LLM_OK, NULL, NULL };

	if (note != NULL)
		*note = NULL;
	*msg = NULL;
	if (a->cfg->provider != NULL && !probe) {
		a->prov = app_new_prov(a, a->cfg->provider, a->cfg->base_url);
		return LLM_OK;
	}
	app_connect_start(a, app_connect_waited, &w);
	while (!w.done)
		loop_run_once(a->loop, -1);
	*msg = w.msg;
	if (note != NULL)
		*note = w.note;
	else
		free(w.note);
	return w.err;
}

int
app_open_store(struct app *a)
{
	char *path = a->cfg->db_path ? xstrdup(a->cfg->db_path) : store_default_path();

	free(a->store_error);
	a->store_error = NULL;
	a->store = store_open(path, &a->store_error);
	free(path);
	return a->store != NULL ? 0 : -1;
}
