/*
 * ui_chat.c: the transcript pane's model.
 *
 * The transcript is a list of blocks, one per chat message plus the UI's
 * notices (slash command output, connection help), each notice placed
 * after the messages that existed when it was made. A message block owns
 * its rows in four parts: head (role label, thinking), body (Markdown
 * rendered by md4c), tail (the unfinished end of a streaming reply, from
 * the light renderer) and foot (tool calls, interrupted/error marks). A
 * block is laid out again only when its fingerprint (id, lengths, state,
 * width, thinking shown, first code number) changes; while a reply
 * streams, the finished blocks of its text move into the body a chunk at a
 * time and only the tail is redone.
 *
 * The scroll position is a block and a row inside it, so it survives
 * relayout; following means "pinned to the bottom".
 */
#include "ui_chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ui_md.h"
#include "ui_theme.h"
#include "util.h"

struct ui_chat_key {
	int64_t id;
	size_t content, thinking, tools;
	int state;
	int width;
	bool show_thinking;
	int code_base;
	char role0;
};

struct ui_chat_blk {
	bool note;
	int note_role;
	char *note_text;
	size_t after; /* notes: placed after this many messages */
	struct ui_chat_key key;
	bool valid;
	size_t stable; /* streaming: bytes of content in body */
	struct ui_lines head, body, tail, foot;
	size_t n; /* rows in all parts */
	int ncodes;
};

struct ui_chat {
	struct ui_chat_blk **msgs; /* one per message */
	size_t nmsgs, capmsgs;
	struct ui_chat_blk **notes;
	size_t nnotes;
	struct ui_chat_blk **blk; /* display order */
	size_t nblk, capblk;
	size_t rows;
	int width;
	bool show_thinking;
	bool follow;
	size_t top_blk, top_row;
	size_t last_n; /* messages at the last sync */
};

static void
ui_chat_blk_clear(struct ui_chat_blk *b)
{
	ui_lines_clear(&b->head);
	ui_lines_clear(&b->body);
	ui_lines_clear(&b->tail);
	ui_lines_clear(&b->foot);
	b->n = 0;
	b->stable = 0;
	b->valid = false;
}

static void
ui_chat_blk_free(struct ui_chat_blk *b)
{
	if (b == NULL)
		return;
	ui_chat_blk_clear(b);
	free(b->note_text);
	free(b);
}

struct ui_chat *
ui_chat_new(void)
{
	struct ui_chat *t = xcalloc(1, sizeof *t);

	t->show_thinking = true;
	t->follow = true;
	return t;
}

void
ui_chat_reset(struct ui_chat *t)
{
	for (size_t i = 0; i < t->nmsgs; i++)
		ui_chat_blk_free(t->msgs[i]);
	for (size_t i = 0; i < t->nnotes; i++)
		ui_chat_blk_free(t->notes[i]);
	free(t->msgs);
	free(t->notes);
	t->msgs = t->notes = NULL;
	t->nmsgs = t->capmsgs = t->nnotes = 0;
	t->nblk = 0;
	t->rows = 0;
	t->follow = true;
	t->top_blk = t->top_row = 0;
	t->last_n = 0;
}

void
ui_chat_free(struct ui_chat *t)
{
	if (t == NULL)
		return;
	ui_chat_reset(t);
	free(t->blk);
	free(t);
}

void
ui_chat_set_thinking(struct ui_chat *t, bool show)
{
	t->show_thinking = show;
}

bool
ui_chat_thinking(const struct ui_chat *t)
{
	return t->show_thinking;
}

void
ui_chat_note(struct ui_chat *t, const char *text, int role)
{
	struct ui_chat_blk *b = xcalloc(1, sizeof *b);

	b->note = true;
	b->note_role = role;
	b->note_text = xstrdup(text);
	b->after = t->last_n;
	t->notes = xreallocarray(t->notes, t->nnotes + 1, sizeof *t->notes);
	t->notes[t->nnotes++] = b;
}

/* --- laying out one block ---------------------------------------------- */

static void
ui_chat_plain(struct ui_lines *out, const char *text, size_t len, unsigned char style, const char *pfx, int width)
{
	struct ui_para p = { 0 };

	p.text = text;
	p.len = len;
	p.pfx1 = p.pfx2 = pfx;
	p.pfx_style = style;
	ui_text_wrap(out, &p, width);
}

static void
ui_chat_label(struct ui_lines *out, const struct store_msg *m, int width)
{
	struct buf b = { 0 };
	unsigned char st = UI_ROLE_SYSTEM | UI_ST_BOLD;

	if (strcmp(m->role, "user") == 0) {
		buf_puts(&b, "▌ You");
		st = UI_ROLE_USER | UI_ST_BOLD;
	} else if (strcmp(m->role, "assistant") == 0) {
		buf_printf(&b, "▌ %s", m->model && m->model[0] ? m->model : "assistant");
		st = UI_ROLE_ASSISTANT | UI_ST_BOLD;
	} else if (strcmp(m->role, "tool") == 0) {
		buf_printf(&b, "▌ tool%s%s", m->tool_name ? " " : "", m->tool_name ? m->tool_name : "");
		st = UI_ROLE_TOOL | UI_ST_BOLD;
	} else
		buf_printf(&b, "▌ %s", m->role);
	ui_lines_add_str(out, b.data, st, width);
	buf_free(&b);
}

static void
ui_chat_head(struct ui_chat *t, struct ui_chat_blk *b, const struct store_msg *m)
{
	ui_lines_clear(&b->head);
	ui_chat_label(&b->head, m, t->width);
	if (m->thinking == NULL || m->thinking[0] == '\0')
		return;
	if (t->show_thinking) {
		ui_lines_add_str(&b->head, "  ▾ thinking", UI_ROLE_THINKING, t->width);
		ui_chat_plain(&b->head, m->thinking, strlen(m->thinking), UI_ROLE_THINKING, "  ", t->width);
		ui_lines_add_str(&b->head, "", UI_ROLE_THINKING, t->width);
	} else {
		char s[96];
		size_t words = 0;
		bool in = false;

		for (const char *p = m->thinking; *p; p++) {
			bool sp = *p == ' ' || *p == '\n' || *p == '\t';

			if (!sp && !in)
				words++;
			in = !sp;
		}
		snprintf(s, sizeof s, "  ▸ thinking (%zu words hidden, Ctrl-T shows)", words);
		ui_lines_add_str(&b->head, s, UI_ROLE_THINKING, t->width);
	}
}

static void
ui_chat_foot(struct ui_chat *t, struct ui_chat_blk *b, const struct store_msg *m)
{
	ui_lines_clear(&b->foot);
	if (m->tool_calls != NULL) {
		json_t *calls = json_loads(m->tool_calls, 0, NULL), *c;
		size_t i;

		json_array_foreach(calls, i, c)
		{
			json_t *fn = json_object_get(c, "function");
			const char *name = json_string_value(json_object_get(fn, "name"));
			const char *args = json_string_value(json_object_get(fn, "arguments"));
			char *s = xasprintf("⚙ %s(%s)", name ? name : "?", args ? args : "");

			ui_chat_plain(&b->foot, s, strlen(s), UI_ROLE_TOOL, "  ", t->width);
			free(s);
		}
		json_decref(calls);
	}
	if (m->attachments != NULL) {
		json_t *att = json_loads(m->attachments, 0, NULL), *a;
		size_t i;

		json_array_foreach(att, i, a)
		{
			const char *type = json_string_value(json_object_get(a, "type"));
			const char *name = json_string_value(json_object_get(a, "name"));
			char *s = xasprintf("📎 %s%s%s", type ? type : "file", name ? " " : "", name ? name : "");

			ui_lines_add_str(&b->foot, s, UI_ROLE_DIM, t->width);
			free(s);
		}
		json_decref(att);
	}
	if (m->state == STORE_INTERRUPTED)
		ui_lines_add_str(&b->foot, "⏹ interrupted", UI_ROLE_WARN, t->width);
	else if (m->state == STORE_ERROR) {
		char *s = xasprintf("✗ %s", m->error ? m->error : "failed");

		ui_chat_plain(&b->foot, s, strlen(s), UI_ROLE_ERROR, "", t->width);
		free(s);
	}
	ui_lines_add_str(&b->foot, "", UI_ROLE_TEXT, t->width);
}

static void
ui_chat_count(struct ui_chat_blk *b)
{
	b->n = b->head.n + b->body.n + b->tail.n + b->foot.n;
	b->ncodes = (int)(b->body.ncodes + b->tail.ncodes);
}

static bool
ui_chat_is_markdown(const struct store_msg *m)
{
	return strcmp(m->role, "assistant") == 0;
}

static void
ui_chat_layout_msg(struct ui_chat *t, struct ui_chat_blk *b, const struct store_msg *m, const struct ui_chat_key *k)
{
	size_t len = strlen(m->content);
	bool streaming = m->state == STORE_STREAMING;
	bool same_text = b->valid && b->key.id == k->id && b->key.width == k->width &&
	    b->key.code_base == k->code_base && b->key.state == STORE_STREAMING && k->content >= b->key.content;

	if (!b->valid || b->key.thinking != k->thinking || b->key.width != k->width ||
	    b->key.show_thinking != k->show_thinking || b->key.role0 != k->role0)
		ui_chat_head(t, b, m);
	if (!ui_chat_is_markdown(m)) {
		ui_lines_clear(&b->body);
		ui_lines_clear(&b->tail);
		ui_chat_plain(&b->body, m->content, len,
		    strcmp(m->role, "tool") == 0 ? UI_ROLE_TOOL : strcmp(m->role, "system") == 0 ? UI_ROLE_SYSTEM
		                                                                                 : UI_ROLE_TEXT,
		    "", t->width);
	} else if (streaming) {
		size_t stable;

		if (!same_text) {
			ui_lines_clear(&b->body);
			b->stable = 0;
		}
		/* the last boundary is outside any fence: scan on from there */
		stable = b->stable + ui_md_stable(m->content + b->stable, len - b->stable);
		if (stable > b->stable) {
			/* the new finished blocks, rendered once */
			if (b->stable > 0)
				ui_lines_add_str(&b->body, "", UI_ROLE_TEXT, t->width);
			ui_md_render(&b->body, m->content + b->stable, stable - b->stable, t->width,
			    k->code_base + (int)b->body.ncodes);
			b->stable = stable;
		}
		ui_lines_clear(&b->tail);
		if (len > b->stable) {
			if (b->body.n > 0)
				ui_lines_add_str(&b->tail, "", UI_ROLE_TEXT, t->width);
			ui_md_light(&b->tail, m->content + b->stable, len - b->stable, t->width,
			    k->code_base + (int)b->body.ncodes);
		}
	} else {
		ui_lines_clear(&b->body);
		ui_lines_clear(&b->tail);
		ui_md_render(&b->body, m->content, len, t->width, k->code_base);
		b->stable = len;
	}
	ui_chat_foot(t, b, m);
	b->key = *k;
	b->valid = true;
	ui_chat_count(b);
}

static void
ui_chat_layout_note(struct ui_chat *t, struct ui_chat_blk *b)
{
	if (b->valid && b->key.width == t->width)
		return;
	ui_chat_blk_clear(b);
	ui_chat_plain(&b->body, b->note_text, strlen(b->note_text), (unsigned char)b->note_role, "  ", t->width);
	ui_lines_add_str(&b->foot, "", UI_ROLE_TEXT, t->width);
	b->key.width = t->width;
	b->valid = true;
	ui_chat_count(b);
}

static size_t
ui_chat_pos(const struct ui_chat *t, size_t blk, size_t row)
{
	size_t g = 0;

	for (size_t i = 0; i < blk && i < t->nblk; i++)
		g += t->blk[i]->n;
	return g + row;
}

static void
ui_chat_unpos(struct ui_chat *t, size_t g)
{
	size_t i = 0;

	while (i < t->nblk && g >= t->blk[i]->n) {
		g -= t->blk[i]->n;
		i++;
	}
	t->top_blk = i;
	t->top_row = i < t->nblk ? g : 0;
}

void
ui_chat_sync(struct ui_chat *t, ui_chat_get_cb get, void *arg, size_t n, int width)
{
	struct ui_chat_blk *anchor = !t->follow && t->top_blk < t->nblk ? t->blk[t->top_blk] : NULL;
	size_t anchor_rows = anchor ? anchor->n : 0, anchor_row = t->top_row;
	int code_base = 1;
	size_t k = 0;

	if (width < 8)
		width = 8;
	t->width = width;
	/* messages gone (retry, a turn taken back, another session) */
	for (size_t i = n; i < t->nmsgs; i++) {
		if (t->msgs[i] == anchor)
			anchor = NULL;
		ui_chat_blk_free(t->msgs[i]);
	}
	if (t->nmsgs > n)
		t->nmsgs = n;
	if (n > t->capmsgs) {
		t->capmsgs = n + 16;
		t->msgs = xreallocarray(t->msgs, t->capmsgs, sizeof *t->msgs);
	}
	while (t->nmsgs < n)
		t->msgs[t->nmsgs++] = xcalloc(1, sizeof **t->msgs);
	if (t->capblk < n + t->nnotes) {
		t->capblk = n + t->nnotes + 16;
		t->blk = xreallocarray(t->blk, t->capblk, sizeof *t->blk);
	}
	t->rows = 0;
	for (size_t i = 0, ni = 0; i <= n; i++) {
		const struct store_msg *m;
		struct ui_chat_blk *b;
		struct ui_chat_key key;

		/* notes in order, each at the first place at or after its own */
		for (; ni < t->nnotes && (t->notes[ni]->after <= i || i == n); ni++) {
			ui_chat_layout_note(t, t->notes[ni]);
			t->blk[k++] = t->notes[ni];
			t->rows += t->notes[ni]->n;
		}
		if (i == n)
			break;
		m = get(arg, i);
		b = t->msgs[i];
		memset(&key, 0, sizeof key);
		key.id = m->id;
		key.content = strlen(m->content);
		key.thinking = m->thinking ? strlen(m->thinking) : 0;
		key.tools = m->tool_calls ? strlen(m->tool_calls) : 0;
		key.state = (int)m->state;
		key.width = width;
		key.show_thinking = t->show_thinking;
		key.code_base = code_base;
		key.role0 = m->role[0];
		if (!b->valid || memcmp(&key, &b->key, sizeof key) != 0)
			ui_chat_layout_msg(t, b, m, &key);
		code_base += b->ncodes;
		t->blk[k++] = b;
		t->rows += b->n;
	}
	t->nblk = k;
	t->last_n = n;
	/* keep the reading position: same block, same share of it */
	if (!t->follow) {
		size_t i;

		for (i = 0; anchor && i < t->nblk && t->blk[i] != anchor; i++)
			;
		if (anchor && i < t->nblk) {
			t->top_blk = i;
			t->top_row = anchor_rows && anchor->n != anchor_rows ? anchor_row * anchor->n / anchor_rows : anchor_row;
			if (t->top_row >= anchor->n)
				t->top_row = anchor->n ? anchor->n - 1 : 0;
		} else if (t->top_blk >= t->nblk) {
			t->follow = true;
		}
	}
}

/* --- scrolling and viewing --------------------------------------------- */

static size_t
ui_chat_maxtop(const struct ui_chat *t, int height)
{
	return t->rows > (size_t)height ? t->rows - (size_t)height : 0;
}

void
ui_chat_scroll(struct ui_chat *t, int delta, int height)
{
	size_t maxtop = ui_chat_maxtop(t, height);
	size_t g = t->follow ? maxtop : ui_chat_pos(t, t->top_blk, t->top_row);

	if (delta < 0)
		g = (size_t)-delta > g ? 0 : g - (size_t)-delta;
	else
		g += (size_t)delta;
	if (g >= maxtop) {
		t->follow = true;
		return;
	}
	t->follow = false;
	ui_chat_unpos(t, g);
}

void
ui_chat_top(struct ui_chat *t)
{
	t->follow = t->rows == 0;
	t->top_blk = t->top_row = 0;
}

void
ui_chat_follow(struct ui_chat *t)
{
	t->follow = true;
}

bool
ui_chat_following(const struct ui_chat *t)
{
	return t->follow;
}

size_t
ui_chat_rows(const struct ui_chat *t)
{
	return t->rows;
}

size_t
ui_chat_below(const struct ui_chat *t, int height)
{
	size_t g;

	if (t->follow)
		return 0;
	g = ui_chat_pos(t, t->top_blk, t->top_row) + (size_t)height;
	return g < t->rows ? t->rows - g : 0;
}

static const struct ui_line *
ui_chat_row(const struct ui_chat_blk *b, size_t r)
{
	const struct ui_lines *parts[4] = { &b->head, &b->body, &b->tail, &b->foot };

	for (int i = 0; i < 4; i++) {
		if (r < parts[i]->n)
			return &parts[i]->v[r];
		r -= parts[i]->n;
	}
	return NULL;
}

void
ui_chat_view(struct ui_chat *t, int height, const struct ui_line **rows)
{
	size_t g = t->follow ? ui_chat_maxtop(t, height) : ui_chat_pos(t, t->top_blk, t->top_row);
	size_t blk = 0, row;
	int y = 0;

	if (!t->follow && g > ui_chat_maxtop(t, height))
		g = ui_chat_maxtop(t, height);
	while (blk < t->nblk && g >= t->blk[blk]->n) {
		g -= t->blk[blk]->n;
		blk++;
	}
	row = g;
	for (; y < height && blk < t->nblk; blk++, row = 0)
		for (; y < height && row < t->blk[blk]->n; row++)
			rows[y++] = ui_chat_row(t->blk[blk], row);
	for (; y < height; y++)
		rows[y] = NULL;
}

const char *
ui_chat_code(const struct ui_chat *t, int n)
{
	for (size_t i = 0; i < t->nblk && n > 0; i++) {
		const struct ui_chat_blk *b = t->blk[i];

		if (n <= (int)b->body.ncodes)
			return b->body.codes[n - 1];
		n -= (int)b->body.ncodes;
		if (n <= (int)b->tail.ncodes)
			return b->tail.codes[n - 1];
		n -= (int)b->tail.ncodes;
	}
	return NULL;
}

int
ui_chat_ncodes(const struct ui_chat *t)
{
	int n = 0;

	for (size_t i = 0; i < t->nblk; i++)
		n += t->blk[i]->ncodes;
	return n;
}
