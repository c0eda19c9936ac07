/*
 * app.c: process setup shared by every face, and auto-discovery of the
 * backend. Discovery runs on the loop like everything else: a ping to
 * Ollama, and if that cannot connect, pings to LM Studio and llama-server
 * at once; the first to answer wins.
 */
#include "app.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

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
	struct app_discover *d;
	enum llm_err err;
	char *msg;
	bool done;
};

struct app_discover {
	struct app_probe probes[3];
	int n;
	int pending;
	int winner;
};

static void
app_probe_done(enum llm_err err, const char *msg, void *arg)
{
	struct app_probe *pr = arg;

	pr->req = NULL;
	pr->err = err;
	pr->msg = msg ? xstrdup(msg) : NULL;
	pr->done = true;
	pr->d->pending--;
	if (err == LLM_OK && pr->d->winner < 0)
		pr->d->winner = (int)(pr - pr->d->probes);
}

/* Ping the given providers in parallel; return the index of the first that
 * answered, or -1. */
static int
app_probe_all(struct app *a, struct app_discover *d)
{
	bool done = false;

	d->winner = -1;
	d->pending = d->n;
	for (int i = 0; i < d->n; i++) {
		d->probes[i].d = d;
		d->probes[i].req = d->probes[i].p->ops->ping(d->probes[i].p, app_probe_done, &d->probes[i]);
	}
	while (!done) {
		loop_run_once(a->loop, -1);
		done = d->pending == 0 || d->winner >= 0;
	}
	/* cancel the losers so their callbacks do not outlive d */
	for (int i = 0; i < d->n; i++)
		if (d->probes[i].req != NULL)
			prov_cancel(d->probes[i].req);
	return d->winner;
}

static void
app_discover_free(struct app_discover *d, int keep)
{
	for (int i = 0; i < d->n; i++) {
		if (i != keep)
			prov_free(d->probes[i].p);
		free(d->probes[i].msg);
	}
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

enum llm_err
app_connect(struct app *a, bool probe, char **msg, char **note)
{
	struct config *cfg = a->cfg;
	struct app_discover d;
	enum llm_err err;
	int w;

	*msg = NULL;
	if (note != NULL)
		*note = NULL;
	memset(&d, 0, sizeof d);

	if (cfg->provider != NULL) {
		a->prov = app_new_prov(a, cfg->provider, cfg->base_url);
		if (!probe)
			return LLM_OK;
		d.probes[0].p = a->prov;
		d.n = 1;
		w = app_probe_all(a, &d);
		err = d.probes[0].err;
		if (w < 0)
			*msg = xstrdup(d.probes[0].msg ? d.probes[0].msg : "backend did not answer");
		app_discover_free(&d, 0);
		a->prov = d.probes[0].p;
		return w < 0 ? err : LLM_OK;
	}

	if (cfg->base_url_named) {
		/* An address without a provider: Ollama answers /api/version. */
		d.probes[0].p = app_new_prov(a, "ollama", cfg->base_url);
		d.n = 1;
		w = app_probe_all(a, &d);
		if (w == 0 || d.probes[0].err == LLM_ERR_CONNECT) {
			if (w != 0)
				*msg = xstrdup(d.probes[0].msg);
			err = d.probes[0].err;
			app_discover_free(&d, 0);
			a->prov = d.probes[0].p;
			return w == 0 ? LLM_OK : err;
		}
		app_discover_free(&d, -1);
		memset(&d, 0, sizeof d);
		a->prov = app_new_prov(a, "openai", cfg->base_url);
		return LLM_OK;
	}

	/* Nothing named: Ollama first, then LM Studio and llama-server. */
	d.probes[0].p = app_new_prov(a, "ollama", NULL);
	d.n = 1;
	w = app_probe_all(a, &d);
	if (w == 0 || d.probes[0].err != LLM_ERR_CONNECT) {
		/* Ollama answered (or answered badly): use it and show its error */
		err = w == 0 ? LLM_OK : d.probes[0].err;
		if (w != 0)
			*msg = xstrdup(d.probes[0].msg);
		app_discover_free(&d, 0);
		a->prov = d.probes[0].p;
		return err;
	}
	app_discover_free(&d, -1);
	memset(&d, 0, sizeof d);
	d.probes[0].p = app_new_prov(a, "lm-studio", NULL);
	d.probes[1].p = app_new_prov(a, "openai", NULL);
	d.n = 2;
	w = app_probe_all(a, &d);
	if (w >= 0) {
		a->prov = d.probes[w].p;
		if (note != NULL)
			*note = xasprintf("Ollama is not running at %s; using %s at %s",
			    prov_default_url("ollama"), w == 0 ? "LM Studio" : "the OpenAI-compatible server",
			    a->prov->base_url);
		app_discover_free(&d, w);
		return LLM_OK;
	}
	app_discover_free(&d, -1);
	a->prov = app_new_prov(a, "ollama", NULL);
	*msg = xasprintf("no backend found: nothing answered at %s (Ollama), %s (LM Studio) or %s (llama-server); "
	                 "run 'ollama serve', start LM Studio's server, or name one with --provider and --base-url",
	    prov_default_url("ollama"), prov_default_url("lm-studio"), prov_default_url("openai"));
	return LLM_ERR_CONNECT;
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
