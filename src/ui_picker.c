/*
 * ui_picker.c: the model picker (Ctrl-P, F2, /models).
 *
 * Holds the backend's model list (from list, with the loaded flag from ps
 * where the backend has it) and the indices of the rows the filter lets
 * through. Capabilities come from show, asked lazily for the selected row
 * only and kept in the list. Enter uses the model for this session; Enter
 * on a name that matches nothing offers to pull it (Ollama only); Delete
 * removes a model after a y/n. Every request the picker starts is
 * cancelled when it closes, so no callback outlives it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "ui_curses.h"
#include "ui_keys.h"
#include "ui_text.h"
#include "ui_theme.h"
#include "ui_view.h"
#include "progress.h"
#include "prov_multi.h"
#include "util.h"

struct ui_picker {
	struct ui_view v;
	struct prov_req *list_req, *ps_req, *show_req, *rm_req;
	struct prov_model_list *models; /* never NULL */
	bool loaded; /* the list arrived */
	char *err;
	struct buf filter;
	size_t *idx;
	size_t nidx;
	int sel, top, h;
	bool details;
	json_t *show; /* details of show_name */
	char *show_name;
	char *asked; /* names already asked about */
	char *rm_name;
};

/* Whether a name typed can be pulled: Ollama, or a router with an Ollama
 * backend. */
static bool
ui_picker_ollama(const struct ui_picker *p)
{
	return prov_can_pull(ui_app(p->v.ui)->prov);
}

/* Several backends: each row says whose model it is. */
static bool
ui_picker_multi(const struct ui_picker *p)
{
	return prov_is_multi(ui_app(p->v.ui)->prov);
}

/* The name to chat with for a row: the plain name routes (and fails over)
 * when one backend has it, name@backend pins the row's when several do. */
static char *
ui_picker_use_name(const struct ui_picker *p, const struct prov_model *m)
{
	if (!ui_picker_multi(p) || m->backend == NULL)
		return xstrdup(m->name);
	for (size_t i = 0; i < p->models->n; i++) {
		const struct prov_model *o = &p->models->v[i];

		if (o != m && strcmp(o->name, m->name) == 0 && !util_streq(o->backend, m->backend))
			return xasprintf("%s@%s", m->name, m->backend);
	}
	return xstrdup(m->name);
}

/* Every word of the filter is in the model's name or its backend's. */
static bool
ui_picker_matches(const struct prov_model *m, const char *f)
{
	while (*f != '\0') {
		size_t n;
		char *word;
		bool hit;

		f += strspn(f, " ");
		if ((n = strcspn(f, " ")) == 0)
			break;
		word = xstrndup(f, n);
		hit = strcasestr(m->name, word) != NULL || (m->backend != NULL && strcasestr(m->backend, word) != NULL);
		free(word);
		if (!hit)
			return false;
		f += n;
	}
	return true;
}

static void
ui_picker_filter(struct ui_picker *p)
{
	const char *f = p->filter.data ? p->filter.data : "";

	free(p->idx);
	p->idx = xcalloc(p->models->n + 1, sizeof *p->idx);
	p->nidx = 0;
	for (size_t i = 0; i < p->models->n; i++)
		if (ui_picker_matches(&p->models->v[i], f))
			p->idx[p->nidx++] = i;
	if (p->sel >= (int)p->nidx)
		p->sel = p->nidx ? (int)p->nidx - 1 : 0;
	if (p->sel < 0)
		p->sel = 0;
}

static struct prov_model *
ui_picker_cur(struct ui_picker *p)
{
	return p->nidx ? &p->models->v[p->idx[p->sel]] : NULL;
}

static void ui_picker_show(struct ui_picker *p);

static void
ui_picker_show_cb(enum llm_err err, const char *msg, json_t *res, void *arg)
{
	struct ui_picker *p = arg;

	(void)msg;
	p->show_req = NULL;
	if (err == LLM_ERR_CANCELLED)
		return;
	json_decref(p->show);
	p->show = err == LLM_OK ? json_incref(res) : NULL;
	if (err == LLM_OK) {
		json_t *caps = json_object_get(res, "capabilities");

		for (size_t i = 0; i < p->models->n; i++) {
			if (strcmp(p->models->v[i].name, p->show_name) != 0)
				continue;
			if (json_is_array(caps) && p->models->v[i].capabilities == NULL)
				p->models->v[i].capabilities = json_incref(caps);
			if (p->models->v[i].context_length == 0)
				p->models->v[i].context_length = json_integer_value(json_object_get(res, "context_length"));
		}
	}
	ui_dirty(p->v.ui);
	/* the selection may have moved on meanwhile */
	ui_picker_show(p);
}

/* Ask show for the selected model, unless asked already. */
static void
ui_picker_show(struct ui_picker *p)
{
	struct prov_model *m = ui_picker_cur(p);
	struct prov *pv = ui_app(p->v.ui)->prov;
	char *key;

	if (m == NULL || p->show_req != NULL)
		return;
	if (p->show_name != NULL && strcmp(p->show_name, m->name) == 0)
		return;
	key = xasprintf("\n%s\n", m->name);
	if (p->asked != NULL && strstr(p->asked, key) != NULL && !p->details) {
		free(key);
		return;
	}
	{
		char *na = xasprintf("%s%s", p->asked ? p->asked : "\n", key + 1);

		free(p->asked);
		p->asked = na;
	}
	free(key);
	free(p->show_name);
	p->show_name = xstrdup(m->name);
	key = ui_picker_use_name(p, m);
	p->show_req = pv->ops->show(pv, key, ui_picker_show_cb, p);
	free(key);
}

static void
ui_picker_ps_cb(enum llm_err err, const char *msg, struct prov_model_list *l, void *arg)
{
	struct ui_picker *p = arg;

	(void)msg;
	p->ps_req = NULL;
	if (err == LLM_OK && l != NULL) {
		for (size_t i = 0; i < p->models->n; i++) {
			p->models->v[i].loaded = 0;
			for (size_t k = 0; k < l->n; k++) {
				if (strcmp(l->v[k].name, p->models->v[i].name) != 0)
					continue;
				p->models->v[i].loaded = 1;
				p->models->v[i].size_vram = l->v[k].size_vram;
				free(p->models->v[i].expires);
				p->models->v[i].expires = l->v[k].expires ? xstrdup(l->v[k].expires) : NULL;
			}
		}
	}
	prov_model_list_free(l);
	ui_dirty(p->v.ui);
}

static void
ui_picker_list_cb(enum llm_err err, const char *msg, struct prov_model_list *l, void *arg)
{
	struct ui_picker *p = arg;
	struct prov *pv = ui_app(p->v.ui)->prov;

	p->list_req = NULL;
	if (err == LLM_ERR_CANCELLED) {
		prov_model_list_free(l);
		return;
	}
	p->loaded = true;
	free(p->err);
	p->err = NULL;
	if (err != LLM_OK) {
		p->err = xstrdup(msg ? msg : "the backend did not answer");
		ui_set_online(p->v.ui, err != LLM_ERR_CONNECT, NULL);
		prov_model_list_free(l);
		ui_dirty(p->v.ui);
		return;
	}
	ui_set_online(p->v.ui, true, NULL);
	prov_model_list_free(p->models);
	p->models = l != NULL ? l : xcalloc(1, sizeof *p->models);
	ui_picker_filter(p);
	/* keep the current model selected */
	for (size_t i = 0; i < p->nidx; i++)
		if (util_streq(p->models->v[p->idx[i]].name, chat_model(ui_conv(p->v.ui))))
			p->sel = (int)i;
	/* a router's list has the loaded flags already */
	if (strcmp(pv->kind, "ollama") == 0 && p->ps_req == NULL)
		p->ps_req = pv->ops->ps(pv, ui_picker_ps_cb, p);
	ui_picker_show(p);
	ui_dirty(p->v.ui);
}

static void
ui_picker_refresh(struct ui_picker *p)
{
	struct prov *pv = ui_app(p->v.ui)->prov;

	if (p->list_req != NULL)
		return;
	free(p->show_name);
	p->show_name = NULL;
	free(p->asked);
	p->asked = NULL;
	p->list_req = pv->ops->list(pv, ui_picker_list_cb, p);
}

static void
ui_picker_rm_cb(enum llm_err err, const char *msg, void *arg)
{
	struct ui_picker *p = arg;

	p->rm_req = NULL;
	if (err == LLM_ERR_CANCELLED)
		return;
	if (err != LLM_OK)
		ui_error(p->v.ui, "%s", msg);
	else
		ui_info(p->v.ui, "deleted %s", p->rm_name);
	ui_picker_refresh(p);
}

static void
ui_picker_rm_answer(struct ui *ui, bool yes, void *arg)
{
	struct ui_picker *p = arg;
	struct prov *pv = ui_app(ui)->prov;

	if (yes && p->rm_name != NULL && p->rm_req == NULL)
		p->rm_req = pv->ops->remove(pv, p->rm_name, ui_picker_rm_cb, p);
}

static void
ui_picker_pull_answer(struct ui *ui, bool yes, void *arg)
{
	struct ui_picker *p = arg;

	if (yes)
		ui_push(ui, ui_pull_new(ui, p->filter.data));
}

static void
ui_picker_date(char *dst, size_t n, const char *rfc)
{
	snprintf(dst, n, "%.10s", rfc ? rfc : "");
}

static void
ui_picker_caps(struct buf *b, const struct prov_model *m)
{
	json_t *c;
	size_t i;

	if (m->capabilities == NULL)
		return;
	json_array_foreach(m->capabilities, i, c)
	{
		buf_printf(b, "%s%s", i ? "," : "", json_string_value(c) ? json_string_value(c) : "");
	}
}

static void
ui_picker_draw_details(struct ui_picker *p, int y, int x, int h, int w)
{
	struct prov_model *m = ui_picker_cur(p);
	struct buf b = { 0 };
	char size[32];
	int r = 0;

	if (m == NULL || h < 2)
		return;
	ui_draw_fill(y, x, w, UI_ROLE_BORDER);
	ui_draw_text(y + r++, x, w, "── details ──", UI_ROLE_BORDER);
	progress_size(size, sizeof size, m->size);
	buf_printf(&b, "%s · %s · %s · %s · %s", m->name, m->family ? m->family : "-", m->params ? m->params : "-",
	    m->quant ? m->quant : "-", size);
	if (r < h)
		ui_draw_text(y + r++, x, w, b.data, UI_ROLE_OVERLAY | UI_ST_BOLD);
	buf_reset(&b);
	if (m->context_length > 0)
		buf_printf(&b, "context %lld tokens  ", (long long)m->context_length);
	if (m->loaded == 1) {
		char vram[32];

		progress_size(vram, sizeof vram, m->size_vram);
		buf_printf(&b, "loaded (%s in VRAM, until %.19s)  ", vram, m->expires ? m->expires : "?");
	}
	if (m->capabilities != NULL) {
		buf_puts(&b, "capabilities ");
		ui_picker_caps(&b, m);
	} else
		buf_puts(&b, p->show_req ? "asking the backend…" : "");
	if (r < h && b.data)
		ui_draw_text(y + r++, x, w, b.data, UI_ROLE_OVERLAY);
	if (p->show != NULL && util_streq(p->show_name, m->name)) {
		const char *params = json_string_value(json_object_get(p->show, "parameters"));

		if (params != NULL) {
			struct ui_lines l = { 0 };
			struct ui_para pa = { 0 };

			pa.text = params;
			pa.len = strlen(params);
			pa.pfx1 = pa.pfx2 = "";
			pa.pfx_style = UI_ROLE_DIM;
			ui_text_wrap(&l, &pa, w);
			for (size_t i = 0; i < l.n && r < h; i++)
				ui_draw_line(y + r++, x, w, &l.v[i]);
			ui_lines_clear(&l);
		}
	}
	buf_free(&b);
}

static void
ui_picker_draw(struct ui_view *v, int y, int x, int h, int w)
{
	struct ui_picker *p = (struct ui_picker *)v;
	struct prov *pv = ui_app(v->ui)->prov;
	int list_y = y + 3, list_h = h - 5, dh = p->details ? (h - 5) / 2 : 0;
	char *title;
	struct buf b = { 0 };

	if (ui_picker_multi(p))
		title = xasprintf("Models · %zu backends: %s", prov_multi_count(pv), pv->base_url);
	else
		title = xasprintf("Models · %s %s", pv->kind, pv->base_url);
	ui_draw_box(y, x, h, w, title);
	free(title);
	buf_printf(&b, "filter: %s", p->filter.data ? p->filter.data : "");
	ui_draw_text(y + 1, x + 2, w - 4, b.data, UI_ROLE_INPUT | UI_ST_BOLD);
	if (!ui_picker_ollama(p))
		ui_draw_text(y + 1, x + w / 2, w / 2 - 2, "pulling is Ollama's; this server offers these", UI_ROLE_HINT);
	buf_reset(&b);
	if (ui_picker_multi(p))
		buf_printf(&b, "%-10s ", "BACKEND");
	buf_printf(&b, "%-34s %-8s %-8s %8s  %-10s %-3s %s", "NAME", "PARAMS", "QUANT", "SIZE", "MODIFIED", "RUN", "CAPABILITIES");
	ui_draw_text(y + 2, x + 2, w - 4, b.data, UI_ROLE_DIM | UI_ST_BOLD);
	list_h -= dh;
	p->h = list_h;
	if (!p->loaded)
		ui_draw_text(list_y, x + 2, w - 4, "asking the backend…", UI_ROLE_HINT);
	else if (p->err != NULL) {
		struct ui_lines l = { 0 };
		struct ui_para pa = { 0 };

		pa.text = p->err;
		pa.len = strlen(p->err);
		pa.pfx_style = UI_ROLE_ERROR;
		ui_text_wrap(&l, &pa, w - 4);
		for (size_t i = 0; i < l.n && (int)i < list_h; i++)
			ui_draw_line(list_y + (int)i, x + 2, w - 4, &l.v[i]);
		ui_lines_clear(&l);
	} else if (p->nidx == 0) {
		char *s = p->filter.len && ui_picker_ollama(p)
		    ? xasprintf("no model matches; Enter pulls '%s'", p->filter.data)
		    : xstrdup(p->models->n ? "no model matches" : "no models");

		ui_draw_text(list_y, x + 2, w - 4, s, UI_ROLE_HINT);
		free(s);
	}
	if (p->sel < p->top)
		p->top = p->sel;
	if (p->sel >= p->top + list_h)
		p->top = p->sel - list_h + 1;
	for (int i = 0; i < list_h && p->top + i < (int)p->nidx; i++) {
		struct prov_model *m = &p->models->v[p->idx[p->top + i]];
		bool sel = p->top + i == p->sel;
		char size[32], date[16];
		struct buf caps = { 0 };

		progress_size(size, sizeof size, m->size);
		ui_picker_date(date, sizeof date, m->modified);
		ui_picker_caps(&caps, m);
		buf_reset(&b);
		if (ui_picker_multi(p))
			buf_printf(&b, "%-10s ", m->backend ? m->backend : "");
		buf_printf(&b, "%-34s %-8s %-8s %8s  %-10s %-3s %s", m->name, m->params ? m->params : "",
		    m->quant ? m->quant : "", size, date, m->loaded == 1 ? " ●" : "", caps.data ? caps.data : "");
		if (sel)
			ui_draw_fill(list_y + i, x + 1, w - 2, UI_ROLE_SELECTED);
		ui_draw_text(list_y + i, x + 2, w - 4, b.data,
		    sel ? UI_ROLE_SELECTED : util_streq(m->name, chat_model(ui_conv(v->ui))) ? (UI_ROLE_OVERLAY | UI_ST_BOLD)
		                                                                             : UI_ROLE_OVERLAY);
		buf_free(&caps);
	}
	if (p->details)
		ui_picker_draw_details(p, list_y + list_h, x + 2, dh, w - 4);
	ui_draw_text(y + h - 2, x + 2, w - 4,
	    "Enter use · Tab details · Delete remove · type to filter (a new name + Enter pulls) · F5 refresh · Esc close",
	    UI_ROLE_HINT);
	buf_free(&b);
}

static void
ui_picker_enter(struct ui_picker *p)
{
	struct prov_model *m = ui_picker_cur(p);
	char *q;

	if (m != NULL) {
		char *name = ui_picker_use_name(p, m);

		ui_use_model(p->v.ui, name);
		free(name);
		ui_pop(p->v.ui, &p->v);
		return;
	}
	if (p->filter.len == 0)
		return;
	if (!ui_picker_ollama(p)) {
		ui_error(p->v.ui, "pulling is Ollama's; load '%s' in %s first", p->filter.data, ui_app(p->v.ui)->prov->base_url);
		return;
	}
	q = xasprintf("pull %s from the Ollama library?", p->filter.data);
	ui_ask(p->v.ui, q, ui_picker_pull_answer, p);
	free(q);
}

static bool
ui_picker_key(struct ui_view *v, int key)
{
	struct ui_picker *p = (struct ui_picker *)v;
	struct prov_model *m;
	char *q;

	switch (key) {
	case 27:
		ui_pop(v->ui, v);
		return true;
	case 13:
		ui_picker_enter(p);
		return true;
	case 9:
		p->details = !p->details;
		break;
	case UI_KEY_FN | KEY_UP:
		p->sel = p->sel > 0 ? p->sel - 1 : 0;
		break;
	case UI_KEY_FN | KEY_DOWN:
		p->sel = p->sel + 1 < (int)p->nidx ? p->sel + 1 : p->sel;
		break;
	case UI_KEY_FN | KEY_PPAGE:
		p->sel = p->sel > p->h ? p->sel - p->h : 0;
		break;
	case UI_KEY_FN | KEY_NPAGE:
		p->sel = p->sel + p->h < (int)p->nidx ? p->sel + p->h : (p->nidx ? (int)p->nidx - 1 : 0);
		break;
	case UI_KEY_FN | KEY_HOME:
		p->sel = 0;
		break;
	case UI_KEY_FN | KEY_END:
		p->sel = p->nidx ? (int)p->nidx - 1 : 0;
		break;
	case UI_KEY_FN | KEY_F(5):
		ui_picker_refresh(p);
		break;
	case UI_KEY_FN | KEY_DC:
		if ((m = ui_picker_cur(p)) == NULL)
			break;
		free(p->rm_name);
		/* a router deletes the row's copy, on its backend */
		p->rm_name = ui_picker_multi(p) && m->backend != NULL ? xasprintf("%s@%s", m->name, m->backend)
		                                                      : xstrdup(m->name);
		q = xasprintf("delete %s from %s?", m->name,
		    ui_picker_multi(p) && m->backend != NULL ? m->backend : ui_app(v->ui)->prov->base_url);
		ui_ask(v->ui, q, ui_picker_rm_answer, p);
		free(q);
		break;
	case UI_KEY_FN | KEY_BACKSPACE:
		if (p->filter.len > 0) {
			size_t l = p->filter.len - 1;

			while (l > 0 && ((unsigned char)p->filter.data[l] & 0xc0) == 0x80)
				l--;
			p->filter.len = l;
			p->filter.data[l] = '\0';
			ui_picker_filter(p);
		}
		break;
	case UI_KEY_CTRL('u'):
		buf_reset(&p->filter);
		buf_append(&p->filter, "", 0);
		ui_picker_filter(p);
		break;
	default:
		if (key == 'i' && p->filter.len == 0) {
			p->details = !p->details;
			break;
		}
		if (key >= ' ' && key < 0x110000 && p->filter.len < 200) {
			char mb[8];
			size_t n = ui_text_key(key, mb);

			if (n > 0)
				buf_append(&p->filter, mb, n);
			p->sel = 0;
			ui_picker_filter(p);
			break;
		}
		/* global keys: the picker toggles closed on its own key */
		if (ui_keys_lookup(key) == UI_ACT_MODELS) {
			ui_pop(v->ui, v);
			return true;
		}
		return false;
	}
	ui_picker_show(p);
	ui_dirty(v->ui);
	return true;
}

static void
ui_picker_changed(struct ui_view *v)
{
	ui_picker_refresh((struct ui_picker *)v);
}

static void
ui_picker_free(struct ui_view *v)
{
	struct ui_picker *p = (struct ui_picker *)v;

	if (p->list_req)
		prov_cancel(p->list_req);
	if (p->ps_req)
		prov_cancel(p->ps_req);
	if (p->show_req)
		prov_cancel(p->show_req);
	if (p->rm_req)
		prov_cancel(p->rm_req);
	prov_model_list_free(p->models);
	json_decref(p->show);
	free(p->show_name);
	free(p->asked);
	free(p->rm_name);
	free(p->err);
	free(p->idx);
	buf_free(&p->filter);
	free(p);
}

static const struct ui_view_ops ui_picker_ops = {
	"picker",
	ui_picker_draw,
	ui_picker_key,
	NULL,
	ui_picker_changed,
	ui_picker_free,
};

struct ui_view *
ui_picker_new(struct ui *ui)
{
	struct ui_picker *p = xcalloc(1, sizeof *p);

	p->v.ops = &ui_picker_ops;
	p->v.ui = ui;
	buf_append(&p->filter, "", 0);
	p->models = xcalloc(1, sizeof *p->models);
	ui_picker_refresh(p);
	return &p->v;
}
