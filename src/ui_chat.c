/*
 * ui_chat.c: the transcript pane's model.
 *
 * The transcript is a list of blocks, one per chat message plus the UI's
 * notices (slash command output, connection help), each notice placed
 * after the messages that existed when it was made. A message block owns
 * its rows in parts, in this order: head (role label, thinking heading),
 * think (thinking text) and think_end (its last row and a blank one), body
 * (Markdown rendered by md4c), tail and peek (the unfinished end of a
 * streaming reply, from the light renderer) and foot (tool calls,
 * interrupted/error marks). A block is laid out again only when its
 * fingerprint (id, lengths, state, width, thinking shown, first code
 * number) changes. While a reply streams it is only extended: the rows of
 * the text laid out already stay, ui_md_stream and a ui_wrap for the
 * thinking add the rows of what is new and redo only each one's unfinished
 * line (peek, think_end), so a frame costs what arrived since the last.
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
	size_t vpos, vcount; /* its versions: the vpos-th of vcount */
};

enum {
	UI_CHAT_HEAD,
	UI_CHAT_THINK,
	UI_CHAT_THINK_END,
	UI_CHAT_BODY,
	UI_CHAT_TAIL,
	UI_CHAT_PEEK,
	UI_CHAT_FOOT,
	UI_CHAT_NPARTS
};

struct ui_chat_blk {
	bool note;
	int note_role;
	char *note_text;
	size_t after; /* notes: placed after this many messages */
	struct ui_chat_key key;
	bool valid;
	struct ui_lines part[UI_CHAT_NPARTS];
	struct ui_md_stream *md; /* a streaming reply's text */
	struct ui_wrap *think; /* its thinking, while it grows */
	size_t think_done; /* bytes of thinking in think, or counted */
	size_t think_words; /* folded: words counted so far */
	bool think_in; /* inside a word */
	size_t n; /* rows in all parts */
	int ncodes;
};

struct ui_chat {
	ui_chat_versions_cb versions;
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
	for (int i = 0; i < UI_CHAT_NPARTS; i++)
		ui_lines_clear(&b->part[i]);
	ui_md_stream_free(b->md);
	b->md = NULL;
	ui_wrap_free(b->think);
	b->think = NULL;
	b->n = 0;
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

void
ui_chat_set_versions(struct ui_chat *t, ui_chat_versions_cb cb)
{
	t->versions = cb;
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
ui_chat_label(struct ui_lines *out, const struct store_msg *m, const struct ui_chat_key *k, int width)
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
	if (k->vcount > 1)
		buf_printf(&b, "  ‹%zu/%zu›", k->vpos + 1, k->vcount);
	ui_lines_add_str(out, b.data, st, width);
	buf_free(&b);
}

/* The head and the thinking. more: the same thinking as last time, grown;
 * carry on from the rows it has. Streaming, the thinking may end inside a
 * character: that part waits, and the last row is laid out on a copy. */
static void
ui_chat_think(struct ui_chat *t, struct ui_chat_blk *b, const struct store_msg *m, const struct ui_chat_key *k,
    size_t len, bool more, bool streaming)
{
	struct ui_lines *head = &b->part[UI_CHAT_HEAD], *rows = &b->part[UI_CHAT_THINK];
	struct ui_lines *end = &b->part[UI_CHAT_THINK_END];
	const char *th = m->thinking ? m->thinking : "";
	struct ui_wrap *w;
	size_t upto;

	if (!more) {
		ui_lines_clear(rows);
		ui_wrap_free(b->think);
		b->think = NULL;
		b->think_done = b->think_words = 0;
		b->think_in = false;
	}
	ui_lines_clear(head);
	ui_lines_clear(end);
	ui_chat_label(head, m, k, t->width);
	if (len == 0)
		return;
	if (!t->show_thinking) {
		char s[96];

		for (; b->think_done < len; b->think_done++) {
			char c = th[b->think_done];
			bool sp = c == ' ' || c == '\n' || c == '\t';

			if (!sp && !b->think_in)
				b->think_words++;
			b->think_in = !sp;
		}
		snprintf(s, sizeof s, "  ▸ thinking (%zu words hidden, Ctrl-T shows)", b->think_words);
		ui_lines_add_str(head, s, UI_ROLE_THINKING, t->width);
		return;
	}
	ui_lines_add_str(head, "  ▾ thinking", UI_ROLE_THINKING, t->width);
	if (b->think == NULL) {
		struct ui_para p = { 0 };

		p.pfx1 = p.pfx2 = "  ";
		p.pfx_style = UI_ROLE_THINKING;
		b->think = ui_wrap_new(&p, t->width);
	}
	upto = streaming ? b->think_done + ui_text_whole(th + b->think_done, len - b->think_done) : len;
	ui_wrap_feed(b->think, rows, th + b->think_done, NULL, upto - b->think_done);
	b->think_done = upto;
	if (streaming) {
		w = ui_wrap_dup(b->think);
		ui_wrap_feed(w, end, th + upto, NULL, len - upto);
		ui_wrap_end(w, end);
		ui_wrap_free(w);
	} else {
		ui_wrap_end(b->think, end);
		ui_wrap_free(b->think);
		b->think = NULL;
	}
	ui_lines_add_str(end, "", UI_ROLE_THINKING, t->width);
}

static void
ui_chat_foot(struct ui_chat *t, struct ui_chat_blk *b, const struct store_msg *m)
{
	struct ui_lines *foot = &b->part[UI_CHAT_FOOT];

	ui_lines_clear(foot);
	if (m->tool_calls != NULL) {
		json_t *calls = json_loads(m->tool_calls, 0, NULL), *c;
		size_t i;

		json_array_foreach(calls, i, c)
		{
			json_t *fn = json_object_get(c, "function");
			const char *name = json_string_value(json_object_get(fn, "name"));
			const char *args = json_string_value(json_object_get(fn, "arguments"));
			char *s = xasprintf("⚙ %s(%s)", name ? name : "?", args ? args : "");

			ui_chat_plain(foot, s, strlen(s), UI_ROLE_TOOL, "  ", t->width);
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

			ui_lines_add_str(foot, s, UI_ROLE_DIM, t->width);
			free(s);
		}
		json_decref(att);
	}
	if (m->state == STORE_INTERRUPTED)
		ui_lines_add_str(foot, "⏹ interrupted", UI_ROLE_WARN, t->width);
	else if (m->state == STORE_ERROR) {
		char *s = xasprintf("✗ %s", m->error ? m->error : "failed");

		ui_chat_plain(foot, s, strlen(s), UI_ROLE_ERROR, "", t->width);
		free(s);
	}
	ui_lines_add_str(foot, "", UI_ROLE_TEXT, t->width);
}

static void
ui_chat_count(struct ui_chat_blk *b)
{
	b->n = 0;
	b->ncodes = 0;
	for (int i = 0; i < UI_CHAT_NPARTS; i++) {
		b->n += b->part[i].n;
		b->ncodes += (int)b->part[i].ncodes;
	}
}

static bool
ui_chat_is_markdown(const struct store_msg *m)
{
	return strcmp(m->role, "assistant") == 0;
}

static void
ui_chat_layout_msg(struct ui_chat *t, struct ui_chat_blk *b, const struct store_msg *m, const struct ui_chat_key *k)
{
	struct ui_lines *body = &b->part[UI_CHAT_BODY], *tail = &b->part[UI_CHAT_TAIL];
	struct ui_lines *peek = &b->part[UI_CHAT_PEEK];
	bool streaming = k->state == STORE_STREAMING;
	/* the reply laid out last time, grown (its id comes with its first
	 * write to the store) */
	bool grown = b->valid && b->key.state == STORE_STREAMING && (b->key.id == k->id || b->key.id == 0) &&
	    b->key.width == k->width && b->key.role0 == k->role0;
	bool think_grown = grown && k->thinking >= b->key.thinking && k->show_thinking == b->key.show_thinking;

	ui_chat_think(t, b, m, k, k->thinking, think_grown, streaming);
	if (ui_chat_is_markdown(m) && b->md != NULL && grown && k->content >= b->key.content &&
	    k->code_base == b->key.code_base) {
		if (streaming)
			ui_md_stream_update(b->md, m->content, k->content, body, tail, peek);
		else {
			ui_md_stream_end(b->md, m->content, k->content, body, tail, peek);
			ui_md_stream_free(b->md);
			b->md = NULL;
		}
	} else {
		ui_md_stream_free(b->md);
		b->md = NULL;
		ui_lines_clear(body);
		ui_lines_clear(tail);
		ui_lines_clear(peek);
		if (!ui_chat_is_markdown(m))
			ui_chat_plain(body, m->content, k->content,
			    strcmp(m->role, "tool") == 0 ? UI_ROLE_TOOL : strcmp(m->role, "system") == 0 ? UI_ROLE_SYSTEM
			                                                                                 : UI_ROLE_TEXT,
			    "", t->width);
		else if (streaming) {
			b->md = ui_md_stream_new(t->width, k->code_base);
			ui_md_stream_update(b->md, m->content, k->content, body, tail, peek);
		} else
			ui_md_render(body, m->content, k->content, t->width, k->code_base);
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
	ui_chat_plain(&b->part[UI_CHAT_BODY], b->note_text, strlen(b->note_text), (unsigned char)b->note_role, "  ",
	    t->width);
	ui_lines_add_str(&b->part[UI_CHAT_FOOT], "", UI_ROLE_TEXT, t->width);
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
		key.vcount = 1;
		if (t->versions != NULL)
			t->versions(arg, i, &key.vpos, &key.vcount);
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
	for (int i = 0; i < UI_CHAT_NPARTS; i++) {
		if (r < b->part[i].n)
			return &b->part[i].v[r];
		r -= b->part[i].n;
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
		for (int p = 0; p < UI_CHAT_NPARTS; p++) {
			const struct ui_lines *l = &t->blk[i]->part[p];

			if (n <= (int)l->ncodes)
				return l->codes[n - 1];
			n -= (int)l->ncodes;
		}
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
