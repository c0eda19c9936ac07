/*
 * ui_pull.c: the pull view (/pull NAME, the picker, or sending to a
 * missing model).
 *
 * One row per layer (digest, percent, bar, bytes done/total, speed, ETA)
 * and the status rows Ollama sends between layers. Speed is measured over
 * a ring of recent samples per layer, as `parley pull` does, so one slow
 * update does not swing it. Esc cancels a running pull (the request is
 * cancelled, the view closes); after the end it closes the view. Success
 * refreshes the model list wherever it is shown.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ui_curses.h"
#include "ui_keys.h"
#include "ui_theme.h"
#include "ui_view.h"
#include "progress.h"
#include "prov_multi.h"
#include "util.h"

#define UI_PULL_LAYERS 32
#define UI_PULL_STATUS 8

struct ui_pull_layer {
	char digest[80];
	int64_t total;
	struct progress_rate rate;
};

struct ui_pull {
	struct ui_view v;
	char *model;
	struct prov_req *req;
	struct ui_pull_layer layers[UI_PULL_LAYERS];
	int nlayers;
	char *status[UI_PULL_STATUS];
	int nstatus;
	bool running, ok;
	char *err;
	int64_t started;
};

static struct ui_pull_layer *
ui_pull_layer(struct ui_pull *p, const char *digest)
{
	for (int i = 0; i < p->nlayers; i++)
		if (strcmp(p->layers[i].digest, digest) == 0)
			return &p->layers[i];
	if (p->nlayers == UI_PULL_LAYERS)
		return NULL;
	memset(&p->layers[p->nlayers], 0, sizeof p->layers[0]);
	snprintf(p->layers[p->nlayers].digest, sizeof p->layers[0].digest, "%s", digest);
	return &p->layers[p->nlayers++];
}

static void
ui_pull_status(struct ui_pull *p, const char *s)
{
	if (p->nstatus > 0 && strcmp(p->status[p->nstatus - 1], s) == 0)
		return;
	if (p->nstatus == UI_PULL_STATUS) {
		free(p->status[0]);
		memmove(&p->status[0], &p->status[1], (UI_PULL_STATUS - 1) * sizeof p->status[0]);
		p->nstatus--;
	}
	p->status[p->nstatus++] = xstrdup(s);
}

static void
ui_pull_progress(const struct prov_pull_ev *ev, void *arg)
{
	struct ui_pull *p = arg;

	if (ev->digest != NULL && ev->digest[0] != '\0') {
		struct ui_pull_layer *l = ui_pull_layer(p, ev->digest);

		if (l == NULL)
			return;
		if (ev->total > 0)
			l->total = ev->total;
		progress_sample(&l->rate, ev->completed);
	} else if (ev->status != NULL)
		ui_pull_status(p, ev->status);
	ui_dirty(p->v.ui);
}

static void
ui_pull_done(enum llm_err err, const char *msg, void *arg)
{
	struct ui_pull *p = arg;

	p->req = NULL;
	p->running = false;
	if (err == LLM_ERR_CANCELLED)
		return;
	if (err != LLM_OK) {
		p->err = xstrdup(msg ? msg : "pull failed");
		ui_error(p->v.ui, "pull %s failed: %s", p->model, p->err);
	} else {
		p->ok = true;
		ui_pull_status(p, "success");
		ui_info(p->v.ui, "pulled %s", p->model);
		ui_models_changed(p->v.ui);
		if (chat_model(ui_conv(p->v.ui)) == NULL || chat_model(ui_conv(p->v.ui))[0] == '\0')
			ui_use_model(p->v.ui, p->model);
	}
	ui_dirty(p->v.ui);
}

static void
ui_pull_row(struct buf *b, const struct ui_pull_layer *l, int w)
{
	int barw = w - 64;

	progress_line(b, l->digest, l->total, &l->rate, barw < 6 ? 6 : barw > 40 ? 40
	                                                                         : barw);
}

static void
ui_pull_draw(struct ui_view *v, int y, int x, int h, int w)
{
	struct ui_pull *p = (struct ui_pull *)v;
	int bh = p->nlayers + p->nstatus + 6, by, r;
	struct buf b = { 0 };
	char *title = xasprintf("Pull %s", p->model);

	if (bh > h)
		bh = h;
	by = y + (h - bh) / 2;
	ui_draw_box(by, x, bh, w, title);
	free(title);
	r = by + 1;
	for (int i = 0; i < p->nlayers && r < by + bh - 3; i++) {
		buf_reset(&b);
		ui_pull_row(&b, &p->layers[i], w - 4);
		ui_draw_text(r++, x + 2, w - 4, b.data, p->layers[i].rate.completed >= p->layers[i].total && p->layers[i].total > 0 ? UI_ROLE_OVERLAY : UI_ROLE_PROGRESS);
	}
	for (int i = 0; i < p->nstatus && r < by + bh - 3; i++)
		ui_draw_text(r++, x + 2, w - 4, p->status[i], UI_ROLE_OVERLAY);
	if (p->err != NULL)
		ui_draw_text(by + bh - 3, x + 2, w - 4, p->err, UI_ROLE_ERROR | UI_ST_BOLD);
	else if (p->ok)
		ui_draw_text(by + bh - 3, x + 2, w - 4, "✓ success: the model is ready", UI_ROLE_INFO | UI_ST_BOLD);
	ui_draw_text(by + bh - 2, x + 2, w - 4, p->running ? "Esc cancels" : "Esc or Enter closes", UI_ROLE_HINT);
	buf_free(&b);
}

static bool
ui_pull_key(struct ui_view *v, int key)
{
	struct ui_pull *p = (struct ui_pull *)v;

	if (key == 27 || (!p->running && (key == 13 || key == 'q'))) {
		if (p->running && p->req != NULL) {
			prov_cancel(p->req);
			ui_info(v->ui, "pull of %s cancelled", p->model);
		}
		ui_pop(v->ui, v);
		return true;
	}
	return ui_keys_lookup(key) != UI_ACT_INTERRUPT;
}

static void
ui_pull_free(struct ui_view *v)
{
	struct ui_pull *p = (struct ui_pull *)v;

	if (p->req != NULL)
		prov_cancel(p->req);
	for (int i = 0; i < p->nstatus; i++)
		free(p->status[i]);
	free(p->model);
	free(p->err);
	free(p);
}

static const struct ui_view_ops ui_pull_ops = {
	"pull",
	ui_pull_draw,
	ui_pull_key,
	NULL,
	NULL,
	ui_pull_free,
};

struct ui_view *
ui_pull_new(struct ui *ui, const char *model)
{
	struct ui_pull *p = xcalloc(1, sizeof *p);
	struct prov *pv = ui_app(ui)->prov;

	p->v.ops = &ui_pull_ops;
	p->v.ui = ui;
	while (*model == ' ')
		model++;
	p->model = xstrdup(model);
	p->started = util_now_ms();
	if (p->model[0] == '\0')
		p->err = xstrdup("usage: /pull NAME (e.g. /pull llama3.2)");
	else if (!prov_can_pull(pv))
		p->err = xasprintf("pulling is Ollama's; %s serves the models loaded in it", pv->base_url);
	else {
		p->running = true;
		ui_pull_status(p, "pulling manifest");
		p->req = pv->ops->pull(pv, p->model, ui_pull_progress, ui_pull_done, p);
	}
	return &p->v;
}
