/*
 * cmd_models.c: model management from the command line: models (list),
 * show, ps, pull, rm, cp. Each runs one provider call on the loop and
 * prints a table, details, or (with --json) JSON. Pull draws per-layer
 * progress on stderr the way `ollama pull` does.
 */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "buf.h"
#include "cmd.h"
#include "progress.h"
#include "prov_multi.h"
#include "reltime.h"
#include "util.h"

struct cmd_wait {
	struct app *app;
	bool done;
	enum llm_err err;
	char *msg;
	struct prov_model_list *list;
	json_t *json;
	struct prov_req *req;
};

static void
cmd_sigint(int sig, void *arg)
{
	struct cmd_wait *w = arg;

	(void)sig;
	w->app->interrupted = true;
	if (w->req != NULL)
		prov_cancel(w->req);
	w->done = true;
	if (w->err == LLM_OK)
		w->err = LLM_ERR_CANCELLED;
}

/* Set up the app and the provider; prints the error and returns its exit
 * status, or 0 when ready. */
static int
cmd_begin(struct app *a, struct config *cfg, struct cmd_wait *w)
{
	char *msg = NULL, *note = NULL;
	enum llm_err err;

	app_init(a, cfg);
	memset(w, 0, sizeof *w);
	w->app = a;
	loop_signal(a->loop, SIGINT, cmd_sigint, w);
	err = app_connect(a, cfg->provider == NULL, &msg, &note);
	if (note != NULL && cfg->verbose)
		fprintf(stderr, "parley: %s\n", note);
	free(note);
	if (err != LLM_OK) {
		fprintf(stderr, "parley: %s\n", msg);
		free(msg);
		app_free(a);
		return (int)err;
	}
	return 0;
}

static int
cmd_end(struct app *a, struct cmd_wait *w)
{
	int rc = (int)w->err;

	if (w->err == LLM_ERR_CANCELLED)
		fprintf(stderr, "parley: interrupted\n");
	else if (w->err != LLM_OK)
		fprintf(stderr, "parley: %s\n", w->msg ? w->msg : "failed");
	free(w->msg);
	prov_model_list_free(w->list);
	json_decref(w->json);
	app_free(a);
	return rc;
}

static void
cmd_list_cb(enum llm_err err, const char *msg, struct prov_model_list *l, void *arg)
{
	struct cmd_wait *w = arg;

	w->req = NULL;
	if (w->done) {
		prov_model_list_free(l);
		return;
	}
	w->err = err;
	w->msg = msg ? xstrdup(msg) : NULL;
	w->list = l;
	w->done = true;
}

static void
cmd_json_cb(enum llm_err err, const char *msg, json_t *j, void *arg)
{
	struct cmd_wait *w = arg;

	w->req = NULL;
	if (w->done)
		return;
	w->err = err;
	w->msg = msg ? xstrdup(msg) : NULL;
	w->json = json_incref(j);
	w->done = true;
}

static void
cmd_done_cb(enum llm_err err, const char *msg, void *arg)
{
	struct cmd_wait *w = arg;

	w->req = NULL;
	if (w->done)
		return;
	w->err = err;
	w->msg = msg ? xstrdup(msg) : NULL;
	w->done = true;
}

static time_t
cmd_parse_time(const char *s)
{
	struct tm tm;
	const char *p;
	time_t t;
	int off = 0;

	if (s == NULL || s[0] == '\0')
		return 0;
	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (p == NULL)
		return 0;
	if (*p == '.')
		while (*++p >= '0' && *p <= '9')
			;
	if (*p == '+' || *p == '-') {
		int hh = 0, mm = 0;

		sscanf(p + 1, "%d:%d", &hh, &mm);
		off = (hh * 3600 + mm * 60) * (*p == '-' ? -1 : 1);
	}
	t = timegm(&tm);
	return t - off;
}

static json_t *
cmd_model_json(const struct prov_model *m)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:I, s:O?, s:o, s:s?}",
	    "name", m->name, "family", m->family ? m->family : "", "parameter_size", m->params ? m->params : "",
	    "quantization", m->quant ? m->quant : "", "format", m->format ? m->format : "",
	    "size", (json_int_t)m->size, "modified_at", m->modified ? m->modified : "",
	    "context_length", (json_int_t)m->context_length, "capabilities", m->capabilities,
	    "loaded", m->loaded < 0 ? json_null() : json_boolean(m->loaded), "backend", m->backend);
}

/* Width of the BACKEND column: 0 when one backend is in use. */
static int
cmd_backend_width(const struct prov_model_list *l)
{
	size_t w = 0;

	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].backend != NULL && strlen(l->v[i].backend) > w)
			w = strlen(l->v[i].backend);
	return w > 0 && w < 7 ? 7 : (int)w;
}

/* "BACKEND  " or "gpu      " before a row, when there are several. */
static void
cmd_backend_cell(int wb, const char *name)
{
	if (wb > 0)
		printf("%-*s  ", wb, name);
}

/* The state of every backend of a router, for `parley ps`. */
static json_t *
cmd_backends_json(const struct prov *p)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < prov_multi_count(p); i++) {
		struct prov_backend_info b;

		prov_multi_info(p, i, &b);
		json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:i, s:b, s:s, s:s?, s:I, s:i, s:o}", "name", b.name, "provider", b.kind, "url", b.url, "priority", b.priority, "discovered", b.discovered, "state", prov_backend_state_name(b.state), "error", b.error, "retry_ms", (json_int_t)b.retry_ms, "chats", b.inflight, "models", b.models < 0 ? json_null() : json_integer(b.models)));
	}
	return arr;
}

static void
cmd_backends_table(const struct prov *p)
{
	size_t wn = 7, wu = 3;

	for (size_t i = 0; i < prov_multi_count(p); i++) {
		struct prov_backend_info b;

		prov_multi_info(p, i, &b);
		if (strlen(b.name) > wn)
			wn = strlen(b.name);
		if (strlen(b.url) > wu)
			wu = strlen(b.url);
	}
	printf("\n%-*s  %-9s  %-*s  %8s  %-7s  %s\n", (int)wn, "BACKEND", "PROVIDER", (int)wu, "URL", "PRIORITY", "STATE",
	    "DETAIL");
	for (size_t i = 0; i < prov_multi_count(p); i++) {
		struct prov_backend_info b;
		char detail[512];

		prov_multi_info(p, i, &b);
		if (b.state == PROV_BACKEND_DOWN)
			snprintf(detail, sizeof detail, "%s; next check in %lld s", b.error ? b.error : "no answer",
			    (long long)((b.retry_ms + 999) / 1000));
		else if (b.models >= 0)
			snprintf(detail, sizeof detail, "%ld model%s%s", b.models, b.models == 1 ? "" : "s",
			    b.discovered ? ", found running locally" : "");
		else
			snprintf(detail, sizeof detail, "%s", b.discovered ? "found running locally" : "-");
		printf("%-*s  %-9s  %-*s  %8d  %-7s  %s\n", (int)wn, b.name, b.kind, (int)wu, b.url, b.priority,
		    prov_backend_state_name(b.state), detail);
	}
}

static void
cmd_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2));

	puts(s);
	free(s);
	json_decref(j);
}

static int
cmd_usage(const char *usage)
{
	fprintf(stderr, "usage: parley %s\n", usage);
	return LLM_ERR_USAGE;
}

/* Fetch the model list (or only the loaded models) and wait for it.
 * Returns -1 when the caller goes on to print it (and ends with cmd_end),
 * else the exit status. */
static int
cmd_fetch(struct config *cfg, int argc, const char *usage, bool loaded, struct app *a, struct cmd_wait *w)
{
	int rc;

	if (argc > 1)
		return cmd_usage(usage);
	if ((rc = cmd_begin(a, cfg, w)) != 0)
		return rc;
	w->req = loaded ? a->prov->ops->ps(a->prov, cmd_list_cb, w) : a->prov->ops->list(a->prov, cmd_list_cb, w);
	app_run_until(a, &w->done);
	return -1;
}

/* Width of the NAME column. */
static int
cmd_name_width(const struct prov_model_list *l)
{
	size_t wn = 4;

	for (size_t i = 0; i < l->n; i++)
		if (strlen(l->v[i].name) > wn)
			wn = strlen(l->v[i].name);
	return wn;
}

int
cmd_models(struct config *cfg, int argc, char **argv)
{
	struct app a;
	struct cmd_wait w;
	int rc;

	(void)argv;
	if ((rc = cmd_fetch(cfg, argc, "models [--json]", false, &a, &w)) >= 0)
		return rc;
	if (w.err == LLM_OK && cfg->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < w.list->n; i++)
			json_array_append_new(arr, cmd_model_json(&w.list->v[i]));
		cmd_print_json(arr);
	} else if (w.err == LLM_OK) {
		int wn = cmd_name_width(w.list), wb = cmd_backend_width(w.list);

		cmd_backend_cell(wb, "BACKEND");
		printf("%-*s  %-8s  %-8s  %9s  %s\n", wn, "NAME", "PARAMS", "QUANT", "SIZE", "MODIFIED");
		for (size_t i = 0; i < w.list->n; i++) {
			const struct prov_model *m = &w.list->v[i];
			char size[32], mod[48];

			progress_size(size, sizeof size, m->size);
			reltime(mod, sizeof mod, (int64_t)cmd_parse_time(m->modified) * 1000, util_wall_ms(), RELTIME_LONG);
			if (m->loaded == 1 && (m->modified == NULL || m->modified[0] == '\0'))
				snprintf(mod, sizeof mod, "loaded");
			cmd_backend_cell(wb, m->backend);
			printf("%-*s  %-8s  %-8s  %9s  %s\n", wn, m->name, m->params && m->params[0] ? m->params : "-",
			    m->quant && m->quant[0] ? m->quant : "-", size, mod);
		}
		if (w.list->n == 0)
			fprintf(stderr, "parley: no models at %s%s\n", a.prov->base_url,
			    prov_can_pull(a.prov) ? "; pull one with `parley pull llama3.2`" : "");
	}
	return cmd_end(&a, &w);
}

int
cmd_ps(struct config *cfg, int argc, char **argv)
{
	struct app a;
	struct cmd_wait w;
	int rc;

	(void)argv;
	if ((rc = cmd_fetch(cfg, argc, "ps [--json]", true, &a, &w)) >= 0)
		return rc;
	if (w.err == LLM_OK && cfg->json) {
		json_t *arr = json_array();

		for (size_t i = 0; i < w.list->n; i++) {
			json_t *o = cmd_model_json(&w.list->v[i]);

			json_object_set_new(o, "size_vram", json_integer(w.list->v[i].size_vram));
			json_object_set_new(o, "expires_at", json_string(w.list->v[i].expires ? w.list->v[i].expires : ""));
			json_array_append_new(arr, o);
		}
		/* several backends: their state beside the models */
		if (prov_is_multi(a.prov))
			arr = json_pack("{s:o, s:o}", "models", arr, "backends", cmd_backends_json(a.prov));
		cmd_print_json(arr);
	} else if (w.err == LLM_OK) {
		int wn = cmd_name_width(w.list), wb = cmd_backend_width(w.list);

		cmd_backend_cell(wb, "BACKEND");
		printf("%-*s  %9s  %-15s  %8s  %s\n", wn, "NAME", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL");
		for (size_t i = 0; i < w.list->n; i++) {
			const struct prov_model *m = &w.list->v[i];
			char size[32], until[48], proc[32], ctx[24];

			progress_size(size, sizeof size, m->size);
			reltime(until, sizeof until, (int64_t)cmd_parse_time(m->expires) * 1000, util_wall_ms(), RELTIME_LONG);
			if (m->size <= 0)
				snprintf(proc, sizeof proc, "-");
			else if (m->size_vram >= m->size)
				snprintf(proc, sizeof proc, "100%% GPU");
			else if (m->size_vram <= 0)
				snprintf(proc, sizeof proc, "100%% CPU");
			else {
				int gpu = (int)lround(100.0 * (double)m->size_vram / (double)m->size);

				snprintf(proc, sizeof proc, "%d%%/%d%% CPU/GPU", 100 - gpu, gpu);
			}
			if (m->context_length > 0)
				snprintf(ctx, sizeof ctx, "%lld", (long long)m->context_length);
			else
				snprintf(ctx, sizeof ctx, "-");
			cmd_backend_cell(wb, m->backend);
			printf("%-*s  %9s  %-15s  %8s  %s\n", wn, m->name, size, proc, ctx, until);
		}
		if (prov_is_multi(a.prov))
			cmd_backends_table(a.prov);
	}
	return cmd_end(&a, &w);
}

static void
cmd_show_section(const char *title, const char *text)
{
	const char *p = text, *nl;

	if (text == NULL || text[0] == '\0')
		return;
	printf("\n  %s\n", title);
	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			nl = p + strlen(p);
		if (nl > p)
			printf("    %.*s\n", (int)(nl - p), p);
		p = *nl ? nl + 1 : nl;
	}
}

int
cmd_show(struct config *cfg, int argc, char **argv)
{
	struct app a;
	struct cmd_wait w;
	json_t *d, *caps, *v;
	size_t i;
	int rc;

	if (argc != 2)
		return cmd_usage("show MODEL [--json]");
	if ((rc = cmd_begin(&a, cfg, &w)) != 0)
		return rc;
	w.req = a.prov->ops->show(a.prov, argv[1], cmd_json_cb, &w);
	app_run_until(&a, &w.done);
	if (w.err == LLM_OK && cfg->json) {
		cmd_print_json(json_incref(w.json));
	} else if (w.err == LLM_OK) {
		d = json_object_get(w.json, "details");
		printf("  Model\n");
		printf("    %-18s %s\n", "name", argv[1]);
		if ((v = json_object_get(d, "family")) && json_string_length(v))
			printf("    %-18s %s\n", "architecture", json_string_value(v));
		if ((v = json_object_get(d, "parameter_size")) && json_string_length(v))
			printf("    %-18s %s\n", "parameters", json_string_value(v));
		if (json_integer_value(json_object_get(w.json, "context_length")) > 0)
			printf("    %-18s %lld\n", "context length",
			    (long long)json_integer_value(json_object_get(w.json, "context_length")));
		if ((v = json_object_get(d, "quantization_level")) && json_string_length(v))
			printf("    %-18s %s\n", "quantization", json_string_value(v));
		if ((v = json_object_get(d, "format")) && json_string_length(v))
			printf("    %-18s %s\n", "format", json_string_value(v));
		caps = json_object_get(w.json, "capabilities");
		if (json_array_size(caps) > 0) {
			printf("\n  Capabilities\n");
			json_array_foreach(caps, i, v)
			{
				printf("    %s\n", json_string_value(v) ? json_string_value(v) : "?");
			}
		}
		cmd_show_section("Parameters", json_string_value(json_object_get(w.json, "parameters")));
		cmd_show_section("System", json_string_value(json_object_get(w.json, "system")));
		cmd_show_section("Template", json_string_value(json_object_get(w.json, "template")));
	}
	return cmd_end(&a, &w);
}

int
cmd_rm(struct config *cfg, int argc, char **argv)
{
	struct app a;
	struct cmd_wait w;
	int rc;

	if (argc < 2)
		return cmd_usage("rm MODEL...");
	if ((rc = cmd_begin(&a, cfg, &w)) != 0)
		return rc;
	for (int i = 1; i < argc && w.err == LLM_OK; i++) {
		w.done = false;
		w.req = a.prov->ops->remove(a.prov, argv[i], cmd_done_cb, &w);
		app_run_until(&a, &w.done);
		if (w.err == LLM_OK && !cfg->quiet)
			printf("deleted '%s'\n", argv[i]);
	}
	return cmd_end(&a, &w);
}

int
cmd_cp(struct config *cfg, int argc, char **argv)
{
	struct app a;
	struct cmd_wait w;
	int rc;

	if (argc != 3)
		return cmd_usage("cp SOURCE DESTINATION");
	if ((rc = cmd_begin(&a, cfg, &w)) != 0)
		return rc;
	w.req = a.prov->ops->copy(a.prov, argv[1], argv[2], cmd_done_cb, &w);
	app_run_until(&a, &w.done);
	if (w.err == LLM_OK && !cfg->quiet)
		printf("copied '%s' to '%s'\n", argv[1], argv[2]);
	return cmd_end(&a, &w);
}

/* --- pull -------------------------------------------------------------- */

#define PULL_MAX_LAYERS 64

struct pull_layer {
	char digest[80];
	int64_t total;
	struct progress_rate rate;
	bool reported;
};

struct pull_view {
	struct cmd_wait w;
	bool json, tty;
	struct pull_layer layers[PULL_MAX_LAYERS];
	int nlayers;
	char *status; /* last non-layer status */
	int drawn; /* lines drawn last time (tty) */
	int64_t last_draw;
	struct buf out;
};

static struct pull_layer *
pull_layer(struct pull_view *pv, const char *digest)
{
	for (int i = 0; i < pv->nlayers; i++)
		if (strcmp(pv->layers[i].digest, digest) == 0)
			return &pv->layers[i];
	if (pv->nlayers == PULL_MAX_LAYERS)
		return NULL;
	memset(&pv->layers[pv->nlayers], 0, sizeof pv->layers[0]);
	snprintf(pv->layers[pv->nlayers].digest, sizeof pv->layers[0].digest, "%s", digest);
	return &pv->layers[pv->nlayers++];
}

static void
pull_line(struct buf *b, const struct pull_layer *l, int width)
{
	int barw = width - 70;

	buf_puts(b, "pulling ");
	progress_line(b, l->digest, l->total, &l->rate, barw < 10 ? 10 : barw > 50 ? 50
	                                                                           : barw);
}

static void
pull_draw(struct pull_view *pv, bool force)
{
	int64_t now = util_now_ms();
	int lines = 0;

	if (!pv->tty || (!force && now - pv->last_draw < 100))
		return;
	pv->last_draw = now;
	buf_reset(&pv->out);
	if (pv->drawn > 0)
		buf_printf(&pv->out, "\r\033[%dA", pv->drawn);
	buf_puts(&pv->out, "\r");
	for (int i = 0; i < pv->nlayers; i++) {
		buf_puts(&pv->out, "\033[2K");
		pull_line(&pv->out, &pv->layers[i], 100);
		buf_puts(&pv->out, "\n");
		lines++;
	}
	if (pv->status != NULL) {
		buf_printf(&pv->out, "\033[2K%s\n", pv->status);
		lines++;
	}
	pv->drawn = lines;
	fwrite(pv->out.data, 1, pv->out.len, stderr);
	fflush(stderr);
}

static void
pull_progress(const struct prov_pull_ev *ev, void *arg)
{
	struct pull_view *pv = arg;

	if (pv->json) {
		json_t *o = json_pack("{s:s}", "status", ev->status);

		if (ev->digest != NULL)
			json_object_set_new(o, "digest", json_string(ev->digest));
		if (ev->total > 0)
			json_object_set_new(o, "total", json_integer(ev->total));
		if (ev->completed > 0)
			json_object_set_new(o, "completed", json_integer(ev->completed));
		char *s = json_dumps(o, JSON_COMPACT);
		puts(s);
		fflush(stdout);
		free(s);
		json_decref(o);
		return;
	}
	if (ev->digest != NULL && ev->digest[0] != '\0') {
		struct pull_layer *l = pull_layer(pv, ev->digest);

		if (l == NULL)
			return;
		if (ev->total > 0)
			l->total = ev->total;
		progress_sample(&l->rate, ev->completed);
		if (!pv->tty && l->total > 0 && l->rate.completed >= l->total && !l->reported) {
			struct buf b = { 0 };

			/* not drawing in place: one line per finished layer */
			l->reported = true;
			pull_line(&b, l, 80);
			fprintf(stderr, "%s\n", b.data);
			buf_free(&b);
		}
		pull_draw(pv, false);
		return;
	}
	free(pv->status);
	pv->status = xstrdup(ev->status);
	if (pv->tty)
		pull_draw(pv, true);
	else
		fprintf(stderr, "%s\n", ev->status);
}

int
cmd_pull(struct config *cfg, int argc, char **argv)
{
	struct app a;
	struct pull_view pv;
	int rc;

	if (argc != 2)
		return cmd_usage("pull MODEL [--json]");
	memset(&pv, 0, sizeof pv);
	if ((rc = cmd_begin(&a, cfg, &pv.w)) != 0)
		return rc;
	pv.json = cfg->json;
	pv.tty = !cfg->json && isatty(STDERR_FILENO);
	pv.w.req = a.prov->ops->pull(a.prov, argv[1], pull_progress, cmd_done_cb, &pv);
	app_run_until(&a, &pv.w.done);
	if (pv.tty)
		pull_draw(&pv, true);
	free(pv.status);
	buf_free(&pv.out);
	return cmd_end(&a, &pv.w);
}
