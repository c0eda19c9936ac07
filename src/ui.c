/*
 * ui.c: the full-screen face. Start-up, the screen layout, key dispatch,
 * and the glue between the chat core, the transcript model and curses.
 *
 * Everything runs on the app's loop: stdin is a watch, SIGWINCH comes
 * through the loop's self-pipe, the spinner and the store poll are timers
 * that exist only while they matter (a reply is under way; a session is
 * shown or the sessions overlay is open), so an idle screen sleeps in
 * poll(). Handlers never draw: they change state and set ui->dirty. The
 * prepare hook paints when dirty, at most once per UI_FRAME_MS, and
 * otherwise tells the loop how long it may sleep before the next frame is
 * due, so the last tokens of a burst are always painted. A paint redraws
 * every row into stdscr and ends in one doupdate(); curses sends only the
 * cells that changed, and the transcript rows come from ui_chat's cache.
 *
 * Screen, top to bottom: the bar (provider, model, session, connection),
 * the transcript, the message line (when there is a message or a
 * question), a rule with completion hints, the input (grows to a third of
 * the screen), the status line. Overlays (picker, pull, sessions, help)
 * are views stacked on top; the topmost gets the keys.
 */
#include "ui.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "attach.h"
#include "b64.h"
#include "buf.h"
#include "chat.h"
#include "httpd.h"
#include "pipe.h"
#include "prov_multi.h"
#include "slash.h"
#include "ui_chat.h"
#include "ui_curses.h"
#include "ui_input.h"
#include "ui_keys.h"
#include "ui_text.h"
#include "ui_theme.h"
#include "ui_view.h"
#include "tools.h"
#include "util.h"

#define UI_FRAME_MS 16
#define UI_SPIN_MS 100
#define UI_STORE_POLL_MS 500
#define UI_INFO_MS 5000
#define UI_QUIT_MS 2000
#define UI_MAX_VIEWS 8
#define UI_KEY_PASTE_BEGIN (KEY_MAX + 1)
#define UI_KEY_PASTE_END (KEY_MAX + 2)

struct ui {
	struct app *app;
	struct config *cfg;
	struct chat *chat;
	struct ui_chat *tr;
	struct ui_input *in;
	struct ui_theme theme;
	struct ui_view *views[UI_MAX_VIEWS];
	int nviews;

	bool dirty;
	bool quit;
	bool paste; /* inside a bracketed paste */
	bool online;
	bool curses;
	bool connecting; /* until a backend is chosen */
	int held_key; /* a key that needs the backend, pressed before it was known */
	struct app_connecting *conn;
	struct loop_timer *conn_t;
	int64_t last_paint;
	int64_t frames;
	int64_t paint_ns, loops; /* measured, for PARLEY_TUI_STATS */
	int64_t sent_ns; /* when the turn under way was sent, until its last frame */
	int64_t shown_ns; /* the last turn: sent to its last frame painted, or -1 */
	int trans_h; /* transcript rows at the last paint */

	struct loop_timer *spin_t, *msg_t, *store_t;
	int spin;
	int store_watchers;
	int64_t data_version;
	struct httpd *httpd; /* --listen */
	bool ext_changed; /* the listener wrote to the store */
	struct chat *mirror; /* a listener chat streaming into the shown session */

	char *msg;
	unsigned char msg_role;
	char *ask_q;
	char *tool_q; /* a tool call waits for y/n/a/s */
	struct mcp *mcp; /* --tools */
	struct tools *tools;
	ui_ask_cb ask_cb;
	void *ask_arg;

	int64_t ctrlc_at;
	int64_t ntok; /* tokens of the reply under way */
	int64_t first_ms; /* when its first token came */
	char *last_sent; /* to offer the text again when a turn is taken back */
	bool edit_pending; /* /edit N: sending asks question edit_at again */
	size_t edit_at;
	char *sess_id; /* the session shown, to notice changes */

	struct prov_req *pick;
	struct prov_req *backends; /* a router: asking every backend at start */
	struct llm_image *imgs; /* /attach'ed, for the next message */
	size_t nimgs;
	char *doc; /* /attach'ed text files */
};

static void ui_store_arm(struct ui *ui);
static void ui_slash_hint(const char *t, struct buf *b);

/* --- services ---------------------------------------------------------- */

struct app *
ui_app(struct ui *ui)
{
	return ui->app;
}

struct chat *
ui_conv(struct ui *ui)
{
	return ui->chat;
}

void
ui_dirty(struct ui *ui)
{
	ui->dirty = true;
}

static void
ui_msg_expire(void *arg)
{
	struct ui *ui = arg;

	ui->msg_t = NULL;
	free(ui->msg);
	ui->msg = NULL;
	ui->dirty = true;
}

static void ui_message(struct ui *ui, unsigned char role, bool sticky, const char *fmt, va_list ap)
    PRINTFLIKE(4, 0);

static void
ui_message(struct ui *ui, unsigned char role, bool sticky, const char *fmt, va_list ap)
{
	free(ui->msg);
	ui->msg = xvasprintf(fmt, ap);
	/* one line: newlines would break the layout */
	for (char *p = ui->msg; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
	ui->msg_role = role;
	loop_timer_cancel(ui->app->loop, ui->msg_t);
	ui->msg_t = sticky ? NULL : loop_timer_add(ui->app->loop, UI_INFO_MS, ui_msg_expire, ui);
	ui->dirty = true;
}

void
ui_info(struct ui *ui, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ui_message(ui, UI_ROLE_INFO, false, fmt, ap);
	va_end(ap);
}

void
ui_error(struct ui *ui, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ui_message(ui, UI_ROLE_ERROR, true, fmt, ap);
	va_end(ap);
}

static void
ui_dismiss(struct ui *ui)
{
	loop_timer_cancel(ui->app->loop, ui->msg_t);
	ui->msg_t = NULL;
	free(ui->msg);
	ui->msg = NULL;
	ui->dirty = true;
}

static void ui_answer(struct ui *ui, bool yes);

void
ui_ask(struct ui *ui, const char *question, ui_ask_cb cb, void *arg)
{
	/* one question at a time: one still out is answered no */
	if (ui->ask_q != NULL)
		ui_answer(ui, false);
	free(ui->ask_q);
	ui->ask_q = xstrdup(question);
	ui->ask_cb = cb;
	ui->ask_arg = arg;
	ui->dirty = true;
}

static void
ui_answer(struct ui *ui, bool yes)
{
	ui_ask_cb cb = ui->ask_cb;
	void *arg = ui->ask_arg;

	free(ui->ask_q);
	ui->ask_q = NULL;
	ui->ask_cb = NULL;
	ui->dirty = true;
	if (cb != NULL)
		cb(ui, yes, arg);
}

void
ui_push(struct ui *ui, struct ui_view *v)
{
	if (ui->nviews == UI_MAX_VIEWS) {
		v->ops->free(v);
		return;
	}
	ui->views[ui->nviews++] = v;
	ui->dirty = true;
}

void
ui_pop(struct ui *ui, struct ui_view *v)
{
	for (int i = 0; i < ui->nviews; i++) {
		if (ui->views[i] != v)
			continue;
		memmove(&ui->views[i], &ui->views[i + 1], (size_t)(ui->nviews - i - 1) * sizeof ui->views[0]);
		ui->nviews--;
		v->ops->free(v);
		break;
	}
	ui->dirty = true;
}

static struct ui_view *
ui_find_view(struct ui *ui, const char *name)
{
	for (int i = 0; i < ui->nviews; i++)
		if (strcmp(ui->views[i]->ops->name, name) == 0)
			return ui->views[i];
	return NULL;
}

void
ui_session_changed(struct ui *ui)
{
	const char *id = chat_session_id(ui->chat);

	ui->mirror = NULL;
	free(ui->sess_id);
	ui->sess_id = id ? xstrdup(id) : NULL;
	ui_chat_reset(ui->tr);
	ui->data_version = ui->app->store ? store_data_version(ui->app->store) : 0;
	ui_store_arm(ui);
	ui->dirty = true;
}

void
ui_set_online(struct ui *ui, bool online, const char *why)
{
	ui->online = online;
	if (!online && why != NULL)
		ui_error(ui, "%s", why);
	ui->dirty = true;
}

void
ui_use_model(struct ui *ui, const char *model)
{
	char *cause = NULL;

	chat_set_model(ui->chat, model);
	if (chat_save_settings(ui->chat, &cause) != 0) {
		ui_error(ui, "%s", cause);
		free(cause);
	}
	ui_info(ui, "model: %s", model);
}

void
ui_models_changed(struct ui *ui)
{
	struct ui_view *v = ui_find_view(ui, "picker");

	if (v != NULL && v->ops->changed != NULL)
		v->ops->changed(v);
	ui->dirty = true;
}

void
ui_watch_store(struct ui *ui, bool on)
{
	ui->store_watchers += on ? 1 : -1;
	ui_store_arm(ui);
}

/* --- drawing helpers --------------------------------------------------- */

int
ui_draw_text(int y, int x, int w, const char *s, unsigned char style)
{
	size_t len = strlen(s), fit;
	struct ui_lines l = { 0 };
	int used;

	if (w <= 0)
		return 0;
	/* through the wrapper so control characters never reach the tty */
	ui_lines_add_str(&l, s, style, w);
	(void)len;
	fit = l.n ? l.v[0].len : 0;
	attrset((attr_t)ui_theme_attr(style));
	mvaddnstr(y, x, l.n ? l.v[0].text : "", (int)fit);
	used = l.n ? l.v[0].width : 0;
	ui_lines_clear(&l);
	return used;
}

void
ui_draw_fill(int y, int x, int w, unsigned char style)
{
	attrset((attr_t)ui_theme_attr(style));
	for (int i = 0; i < w; i++)
		mvaddch(y, x + i, ' ');
}

void
ui_draw_line(int y, int x, int w, const struct ui_line *l)
{
	size_t len = ui_text_fit(l->text, l->len, w), i = 0;
	int used;

	move(y, x);
	while (i < len) {
		size_t j = i;

		while (j < len && l->style[j] == l->style[i])
			j++;
		attrset((attr_t)ui_theme_attr(l->style[i]));
		addnstr(l->text + i, (int)(j - i));
		i = j;
	}
	used = ui_text_width(l->text, len);
	if (l->fill && used < w)
		ui_draw_fill(y, x + used, w - used, l->fill);
}

void
ui_draw_box(int y, int x, int h, int w, const char *title)
{
	if (h < 2 || w < 4)
		return;
	for (int r = y; r < y + h; r++)
		ui_draw_fill(r, x, w, UI_ROLE_OVERLAY);
	attrset((attr_t)ui_theme_attr(UI_ROLE_BORDER));
	mvaddstr(y, x, "┌");
	mvaddstr(y, x + w - 1, "┐");
	mvaddstr(y + h - 1, x, "└");
	mvaddstr(y + h - 1, x + w - 1, "┘");
	for (int c = x + 1; c < x + w - 1; c++) {
		mvaddstr(y, c, "─");
		mvaddstr(y + h - 1, c, "─");
	}
	for (int r = y + 1; r < y + h - 1; r++) {
		mvaddstr(r, x, "│");
		mvaddstr(r, x + w - 1, "│");
	}
	if (title != NULL) {
		char *t = xasprintf(" %s ", title);

		ui_draw_text(y, x + 2, w - 4, t, UI_ROLE_TITLE);
		free(t);
	}
}

/* --- painting ---------------------------------------------------------- */

static const struct store_msg *
ui_get_msg(void *arg, size_t i)
{
	return chat_msg(arg, i);
}

/* The transcript on screen: the session's, or while this process's
 * listener streams a reply into it, the listener's copy with the reply
 * growing. */
static void
ui_get_versions(void *arg, size_t i, size_t *pos, size_t *count)
{
	chat_branch_at(arg, i, pos, count);
}

static void
ui_sync_transcript(struct ui *ui, int width)
{
	struct chat *c = ui->mirror != NULL ? ui->mirror : ui->chat;

	ui_chat_sync(ui->tr, ui_get_msg, c, chat_count(c), width);
}

static void
ui_paint_bar(struct ui *ui, int w)
{
	struct buf b = { 0 };
	const char *model = chat_model(ui->chat), *title = chat_title(ui->chat);
	const char *state = ui->connecting              ? "◌ connecting"
	    : !ui->online                               ? "○ offline"
	    : chat_busy(ui->chat) || ui->mirror != NULL ? "● streaming"
	                                                : "● connected";
	int sw = ui_text_width(state, strlen(state));

	ui_draw_fill(0, 0, w, UI_ROLE_BAR);
	buf_puts(&b, " parley │ ");
	if (ui->app->prov != NULL && prov_is_multi(ui->app->prov)) {
		/* each backend with its state: ● up, ○ down, ◌ not asked yet */
		for (size_t i = 0; i < prov_multi_count(ui->app->prov); i++) {
			struct prov_backend_info bi;

			prov_multi_info(ui->app->prov, i, &bi);
			buf_printf(&b, "%s%s %s", i ? " " : "", bi.name,
			    bi.state == PROV_BACKEND_UP ? "●" : bi.state == PROV_BACKEND_DOWN ? "○"
			                                                                      : "◌");
		}
	} else
		buf_printf(&b, "%s %s", ui->app->prov ? ui->app->prov->kind : "backend",
		    ui->app->prov ? ui->app->prov->base_url : "…");
	buf_printf(&b, " │ %s │ %s", model && model[0] ? model : "(no model)",
	    title && title[0] ? title : chat_session_id(ui->chat) ? chat_session_id(ui->chat)
	                                                          : "new session");
	ui_draw_text(0, 0, w - sw - 2, b.data, UI_ROLE_BAR);
	if (w > sw + 2)
		ui_draw_text(0, w - sw - 1, sw, state, (unsigned char)(UI_ROLE_BAR | (ui->online ? 0 : UI_ST_BOLD)));
	buf_free(&b);
}

static void
ui_paint_status(struct ui *ui, int y, int w)
{
	static const char *const spin[] = { "⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏" };
	struct buf b = { 0 }, r = { 0 };
	int64_t now = util_now_ms();
	int rw;

	ui_draw_fill(y, 0, w, UI_ROLE_STATUS);
	if (chat_busy(ui->chat)) {
		int64_t el = chat_elapsed_ms(ui->chat);

		buf_printf(&b, " %s ", spin[ui->spin % 10]);
		if (ui->ntok == 0)
			buf_printf(&b, "waiting for %s… %.1fs", chat_model(ui->chat) ? chat_model(ui->chat) : "the model", (double)el / 1000.0);
		else {
			double secs = (double)(now - ui->first_ms) / 1000.0;

			buf_printf(&b, "%lld tokens", (long long)ui->ntok);
			if (secs > 0.2)
				buf_printf(&b, " · %.1f tok/s", (double)ui->ntok / secs);
			if (chat_ttft_ms(ui->chat) >= 0)
				buf_printf(&b, " · first token %lld ms", (long long)chat_ttft_ms(ui->chat));
		}
		buf_puts(&b, " · Esc stops");
	} else if (chat_stats(ui->chat)->reply_tokens > 0) {
		const struct llm_stats *s = chat_stats(ui->chat);
		int64_t el = chat_elapsed_ms(ui->chat), tt = chat_ttft_ms(ui->chat);
		double tps = 0;

		if (s->eval_ns > 0)
			tps = (double)s->reply_tokens * 1e9 / (double)s->eval_ns;
		else if (el > tt && tt >= 0)
			tps = (double)s->reply_tokens * 1000.0 / (double)(el - tt);
		buf_printf(&b, " %lld tokens%s", (long long)s->reply_tokens, s->estimated ? " (est.)" : "");
		if (tps > 0)
			buf_printf(&b, " · %.1f tok/s", tps);
		if (tt >= 0)
			buf_printf(&b, " · first token %lld ms", (long long)tt);
	} else
		buf_puts(&b, " F1 help · Ctrl-P models · Ctrl-O sessions");
	if (chat_context_size(ui->chat) > 0 && chat_context_used(ui->chat) > 0)
		buf_printf(&b, " · context %.1f%%",
		    (double)chat_context_used(ui->chat) * 100.0 / (double)chat_context_size(ui->chat));
	if (!ui_chat_following(ui->tr))
		buf_printf(&r, "↓ %zu more · End ", ui_chat_below(ui->tr, ui->trans_h));
	else if (chat_session_id(ui->chat))
		buf_printf(&r, "%s ", chat_session_id(ui->chat));
	rw = r.len ? ui_text_width(r.data, r.len) : 0;
	ui_draw_text(y, 0, w - rw - 1, b.data ? b.data : "", UI_ROLE_STATUS);
	if (rw > 0 && rw < w)
		ui_draw_text(y, w - rw, rw, r.data, UI_ROLE_STATUS);
	buf_free(&b);
	buf_free(&r);
}

/* The rule above the input, with what the input would do. */
static void
ui_paint_rule(struct ui *ui, int y, int w)
{
	struct buf b = { 0 };
	const char *t = ui_input_text(ui->in);

	attrset((attr_t)ui_theme_attr(UI_ROLE_BORDER));
	for (int x = 0; x < w; x++)
		mvaddstr(y, x, "─");
	if (t[0] == '/')
		ui_slash_hint(t, &b);
	if (ui->nimgs > 0 || ui->doc != NULL)
		buf_printf(&b, "%s📎 %zu image%s%s", b.len ? "  " : "", ui->nimgs, ui->nimgs == 1 ? "" : "s",
		    ui->doc ? " + text" : "");
	if (b.len > 0) {
		int bw = ui_text_width(b.data, b.len);

		if (bw > w - 4)
			bw = w - 4;
		ui_draw_text(y, w - bw - 2, bw, b.data, UI_ROLE_HINT);
	}
	buf_free(&b);
}

static void
ui_paint_empty(struct ui *ui, int y, int h, int w)
{
	static const char *const lines[] = {
		"parley",
		"",
		"Type a message and press Enter.",
		"Ctrl-P models · Ctrl-O sessions · F1 keys and commands",
	};
	int n = (int)(sizeof lines / sizeof lines[0]), top = y + (h - n) / 2;

	(void)ui;
	if (h < n)
		return;
	for (int i = 0; i < n; i++) {
		int lw = ui_text_width(lines[i], strlen(lines[i]));

		ui_draw_text(top + i, (w - lw) / 2 > 0 ? (w - lw) / 2 : 0, w, lines[i],
		    i == 0 ? (UI_ROLE_HEADING | UI_ST_BOLD) : UI_ROLE_DIM);
	}
}

static void
ui_paint(struct ui *ui)
{
	int h = LINES, w = COLS, maxin, nin, cy, cx, status_y, in_y, rule_y, msg_y, tr_h;
	struct ui_lines inl = { 0 };
	bool msgline = ui->msg != NULL || ui->ask_q != NULL || ui->tool_q != NULL;

	ui->last_paint = util_now_ms();
	ui->frames++;
	ui->dirty = false;
	erase();
	if (h < 4 || w < 10) {
		ui_draw_text(0, 0, w, "parley: the terminal is too small", UI_ROLE_WARN);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	maxin = h / 3 > 1 ? h / 3 : 1;
	nin = ui_input_layout(ui->in, w, maxin, &inl, &cy, &cx);
	status_y = h - 1;
	in_y = status_y - nin;
	rule_y = in_y - 1;
	msg_y = msgline ? rule_y - 1 : rule_y;
	tr_h = msg_y - 1;
	if (tr_h < 0)
		tr_h = 0;
	ui->trans_h = tr_h;

	ui_paint_bar(ui, w);
	ui_sync_transcript(ui, w);
	if (ui_chat_rows(ui->tr) == 0)
		ui_paint_empty(ui, 1, tr_h, w);
	else if (tr_h > 0) {
		const struct ui_line **rows = xcalloc((size_t)tr_h, sizeof *rows);

		ui_chat_view(ui->tr, tr_h, rows);
		for (int i = 0; i < tr_h; i++)
			if (rows[i] != NULL)
				ui_draw_line(1 + i, 0, w, rows[i]);
		free(rows);
	}
	if (msgline) {
		ui_draw_fill(msg_y, 0, w, UI_ROLE_TEXT);
		if (ui->tool_q != NULL) {
			char *q = xasprintf(" %s  [y]es [n]o [a]lways this tool, this [s]erver; Esc stops", ui->tool_q);

			ui_draw_text(msg_y, 0, w, q, UI_ROLE_WARN | UI_ST_BOLD);
			free(q);
		} else if (ui->ask_q != NULL) {
			char *q = xasprintf(" %s [y/n]", ui->ask_q);

			ui_draw_text(msg_y, 0, w, q, UI_ROLE_WARN | UI_ST_BOLD);
			free(q);
		} else {
			char *m = xasprintf(" %s%s", ui->msg, ui->msg_t == NULL ? "  (Esc)" : "");

			ui_draw_text(msg_y, 0, w, m, ui->msg_role);
			free(m);
		}
	}
	ui_paint_rule(ui, rule_y, w);
	for (int i = 0; i < nin; i++)
		ui_draw_line(in_y + i, 0, w, &inl.v[i]);
	if (ui_input_len(ui->in) == 0) {
		const char *ph = chat_busy(ui->chat) ? "Esc stops the reply" : "Send a message (/ for commands)";

		ui_draw_text(in_y, 2, w - 2, ph, UI_ROLE_HINT);
	}
	ui_paint_status(ui, status_y, w);
	for (int i = 0; i < ui->nviews; i++) {
		int oh = h - 2, ow = w > 60 ? w - 4 : w, ox = (w - ow) / 2;

		ui->views[i]->ops->draw(ui->views[i], 1, ox, oh, ow);
	}
	attrset(A_NORMAL);
	if (ui->nviews == 0 && ui->ask_q == NULL) {
		curs_set(1);
		move(in_y + cy, cx < w ? cx : w - 1);
	} else
		curs_set(0);
	ui_lines_clear(&inl);
	wnoutrefresh(stdscr);
	doupdate();
}

/* Before the loop sleeps: paint if due, else say when the frame is. */
static int
ui_prepare(void *arg)
{
	struct ui *ui = arg;
	int64_t since;

	ui->loops++;
	if (!ui->dirty || !ui->curses)
		return -1;
	since = util_now_ms() - ui->last_paint;
	/* The frame that shows a finished turn does not wait for the frame
	 * interval: there is only one, and it is the one being waited for. */
	if (since >= UI_FRAME_MS || (ui->sent_ns != 0 && !chat_busy(ui->chat))) {
		int64_t t0 = util_now_ns();

		ui_paint(ui);
		ui->paint_ns += util_now_ns() - t0;
		if (ui->sent_ns != 0 && !chat_busy(ui->chat)) {
			/* the first frame after the turn ended: the reply and the
			 * final status are on the screen */
			ui->shown_ns = util_now_ns() - ui->sent_ns;
			ui->sent_ns = 0;
		}
		return -1;
	}
	return (int)(UI_FRAME_MS - since);
}

/* --- timers ------------------------------------------------------------ */

static void
ui_spin_tick(void *arg)
{
	struct ui *ui = arg;

	ui->spin_t = NULL;
	if (!chat_busy(ui->chat))
		return;
	ui->spin++;
	ui->dirty = true;
	ui->spin_t = loop_timer_add(ui->app->loop, UI_SPIN_MS, ui_spin_tick, ui);
}

static void
ui_spin_start(struct ui *ui)
{
	if (ui->spin_t == NULL && chat_busy(ui->chat))
		ui->spin_t = loop_timer_add(ui->app->loop, UI_SPIN_MS, ui_spin_tick, ui);
}

static bool
ui_store_wanted(const struct ui *ui)
{
	if (ui->app->store == NULL)
		return false;
	return ui->ext_changed || ui->store_watchers > 0 || (chat_session_id(ui->chat) != NULL && !chat_busy(ui->chat));
}

/* Another process wrote to the store: show it. */
static void
ui_store_tick(void *arg)
{
	struct ui *ui = arg;
	int64_t v;

	ui->store_t = NULL;
	if (!ui_store_wanted(ui))
		return;
	v = store_data_version(ui->app->store);
	if (v != ui->data_version || ui->ext_changed) {
		char *cause = NULL;

		ui->data_version = v;
		ui->ext_changed = false;
		if (chat_session_id(ui->chat) != NULL && !chat_busy(ui->chat)) {
			if (chat_reload(ui->chat, &cause) != 0) {
				ui_error(ui, "%s", cause);
				free(cause);
			}
		}
		for (int i = 0; i < ui->nviews; i++)
			if (ui->views[i]->ops->changed != NULL)
				ui->views[i]->ops->changed(ui->views[i]);
		ui->dirty = true;
	}
	ui_store_arm(ui);
}

static void
ui_store_arm(struct ui *ui)
{
	if (ui->store_t == NULL && ui_store_wanted(ui))
		ui->store_t = loop_timer_add(ui->app->loop, UI_STORE_POLL_MS, ui_store_tick, ui);
}

/* The listener in this process wrote to the store. Its writes share our
 * connection, so data_version cannot show them; the next store tick (at
 * most one per poll interval, however fast a reply grows) reloads. */
/* A backend behind the router went up or down: the bar shows it. */
static void
ui_on_backends(void *arg)
{
	ui_dirty(arg);
}

/* The first word from every backend behind a router is in: the watch has
 * marked the bar for it already. */
static void
ui_backends_asked(enum llm_err err, const char *msg, void *arg)
{
	struct ui *ui = arg;

	(void)err;
	(void)msg;
	ui->backends = NULL;
	ui_dirty(ui);
}

static void
ui_on_listener_change(const char *session, void *arg)
{
	struct ui *ui = arg;

	(void)session;
	ui->ext_changed = true;
	ui_store_arm(ui);
}

/* An event of a conversation through the listener in this process. One
 * that streams into the session on screen is drawn from the listener's
 * chat as it grows, a frame at a time; at its end the session is read
 * again, so the screen goes on from the stored reply. */
static void
ui_on_listener_stream(struct chat *c, const struct llm_ev *ev, void *arg)
{
	struct ui *ui = arg;
	const char *sid = chat_session_id(c), *shown = chat_session_id(ui->chat);
	char *cause = NULL;

	if (ev == NULL || ev->type == LLM_EV_DONE || ev->type == LLM_EV_ERROR) {
		if (ui->mirror != c)
			return;
		ui->mirror = NULL;
		ui->dirty = true;
		if (ev != NULL && !chat_busy(ui->chat) && chat_reload(ui->chat, &cause) != 0) {
			ui_error(ui, "%s", cause);
			free(cause);
		}
		return;
	}
	if (sid == NULL || shown == NULL || strcmp(sid, shown) != 0 || chat_busy(ui->chat))
		return;
	ui->mirror = c;
	ui->dirty = true;
}

/* --- the conversation -------------------------------------------------- */

static void
ui_offer_pull(struct ui *ui, bool yes, void *arg)
{
	(void)arg;
	if (yes && chat_model(ui->chat) != NULL)
		ui_push(ui, ui_pull_new(ui, chat_model(ui->chat)));
}

static void
ui_on_event(struct chat *c, const struct llm_ev *ev, void *arg)
{
	struct ui *ui = arg;
	char *msg;

	(void)c;
	ui->dirty = true;
	switch (ev->type) {
	case LLM_EV_TOKEN:
		if (ui->ntok++ == 0)
			ui->first_ms = util_now_ms();
		break;
	case LLM_EV_THINKING:
		if (ui->first_ms == 0)
			ui->first_ms = util_now_ms();
		break;
	case LLM_EV_TOOL_CALL:
		break;
	case LLM_EV_DONE:
		ui->online = true;
		ui_store_arm(ui);
		/* tool calls run, then the model is asked again */
		if (ui->tools != NULL)
			tools_after_reply(ui->tools);
		break;
	case LLM_EV_ERROR:
		msg = xstrndup(ev->text ? ev->text : "", ev->len);
		if (ev->err == LLM_ERR_CANCELLED) {
			ui_info(ui, "stopped; the partial reply is kept");
		} else if (ev->err == LLM_ERR_NOT_FOUND || ev->err == LLM_ERR_CONNECT) {
			/* the turn was taken back: offer the text again */
			if (ui->last_sent != NULL && ui_input_len(ui->in) == 0)
				ui_input_set(ui->in, ui->last_sent);
			if (ev->err == LLM_ERR_CONNECT)
				ui_set_online(ui, false, msg);
			else if (ui->app->prov && prov_can_pull(ui->app->prov)) {
				char *q = xasprintf("%s; pull %s now?", msg, chat_model(ui->chat));

				ui_ask(ui, q, ui_offer_pull, NULL);
				free(q);
			} else
				ui_error(ui, "%s", msg);
		} else
			ui_error(ui, "%s", msg);
		free(msg);
		ui_store_arm(ui);
		break;
	}
	if (chat_session_id(ui->chat) != NULL && !util_streq(chat_session_id(ui->chat), ui->sess_id)) {
		/* the first turn created the session */
		free(ui->sess_id);
		ui->sess_id = xstrdup(chat_session_id(ui->chat));
	}
}

static void
ui_on_notice(struct chat *c, const char *msg, void *arg)
{
	struct ui *ui = arg;

	(void)c;
	if (strstr(msg, "trimmed") != NULL)
		ui_info(ui, "%s", msg);
	else
		ui_error(ui, "%s", msg);
}

static void
ui_free_attachments(struct ui *ui)
{
	for (size_t i = 0; i < ui->nimgs; i++) {
		free(ui->imgs[i].mime);
		free(ui->imgs[i].b64);
	}
	free(ui->imgs);
	ui->imgs = NULL;
	ui->nimgs = 0;
	free(ui->doc);
	ui->doc = NULL;
}

/* A turn started (sent, retried): follow it. */
static void
ui_started(struct ui *ui)
{
	ui->sent_ns = util_now_ns();
	ui->ntok = 0;
	ui->first_ms = 0;
	ui_chat_follow(ui->tr);
	ui_spin_start(ui);
	loop_timer_cancel(ui->app->loop, ui->store_t);
	ui->store_t = NULL;
	if (ui->msg_role == UI_ROLE_ERROR)
		ui_dismiss(ui);
	ui->dirty = true;
}

static void
ui_send(struct ui *ui, const char *text)
{
	char *cause = NULL, *full;
	int64_t t0 = util_now_ns();

	if (chat_busy(ui->chat)) {
		ui_info(ui, "a reply is still streaming; Esc stops it");
		return;
	}
	if (ui->tools != NULL && tools_busy(ui->tools)) {
		ui_info(ui, "tool calls are running; Esc stops them");
		return;
	}
	if (ui->tools != NULL)
		tools_new_turn(ui->tools);
	if (ui->edit_pending) {
		/* /edit N: the question asked again, on a branch of its own */
		ui->edit_pending = false;
		ui_input_remember(ui->in, text);
		if (chat_edit(ui->chat, ui->edit_at, text, &cause) != 0) {
			ui_error(ui, "%s", cause);
			free(cause);
			return;
		}
		ui_input_set(ui->in, "");
		if (ui->msg != NULL)
			ui_dismiss(ui);
		ui_started(ui);
		return;
	}
	full = ui->doc ? xasprintf("%s\n\n%s", text, ui->doc) : xstrdup(text);
	free(ui->last_sent);
	ui->last_sent = xstrdup(text);
	ui_input_remember(ui->in, text);
	ui_input_set(ui->in, "");
	if (chat_send(ui->chat, full, ui->imgs, ui->nimgs, &cause) != 0) {
		ui->imgs = NULL;
		ui->nimgs = 0;
		ui_input_set(ui->in, text);
		ui_error(ui, "%s", cause);
		free(cause);
		free(full);
		return;
	}
	ui->imgs = NULL;
	ui->nimgs = 0;
	free(ui->doc);
	ui->doc = NULL;
	free(full);
	ui_started(ui);
	ui->sent_ns = t0; /* sending (the store, the request) counts */
}

/* Show another version (delta -1 or +1) of the newest message on the
 * branch that has several. */
static void
ui_version(struct ui *ui, long delta)
{
	size_t n = chat_count(ui->chat), pos = 0, count = 1, i;
	char *cause = NULL;

	if (chat_busy(ui->chat)) {
		ui_info(ui, "a reply is still streaming; Esc stops it first");
		return;
	}
	for (i = n; i > 0; i--) {
		chat_branch_at(ui->chat, i - 1, &pos, &count);
		if (count > 1)
			break;
	}
	if (i == 0) {
		ui_info(ui, "nothing on this branch has other versions (%s regenerates the last reply)",
		    ui_keys_bound(UI_ACT_RETRY));
		return;
	}
	if ((delta < 0 && pos == 0) || (delta > 0 && pos + 1 >= count)) {
		ui_info(ui, "this is version %zu of %zu", pos + 1, count);
		return;
	}
	if (chat_switch(ui->chat, i - 1, delta, &cause) != 0) {
		ui_error(ui, "%s", cause);
		free(cause);
		return;
	}
	ui_chat_follow(ui->tr);
	ui_info(ui, "version %zu of %zu", pos + 1 + (size_t)(delta > 0) - (size_t)(delta < 0), count);
}

static void
ui_retry(struct ui *ui)
{
	char *cause = NULL;

	if (chat_retry(ui->chat, &cause) != 0) {
		ui_error(ui, "%s", cause);
		free(cause);
		return;
	}
	ui_started(ui);
}

/* Copy through OSC 52: the terminal (or tmux) puts it on the clipboard. */
static void
ui_osc52(const char *s)
{
	struct buf b = { 0 };

	buf_puts(&b, "\033]52;c;");
	b64_append(&b, s, strlen(s));
	buf_puts(&b, "\a");
	fflush(stdout);
	for (size_t off = 0; off < b.len;) {
		ssize_t w = write(STDOUT_FILENO, b.data + off, b.len - off);

		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			off += (size_t)w;
	}
	buf_free(&b);
}

/* block 0: the last reply; N: code block N. */
static int
ui_copy(struct ui *ui, int block)
{
	const char *text = NULL;

	if (block > 0) {
		text = ui_chat_code(ui->tr, block);
		if (text == NULL) {
			ui_error(ui, "no code block %d (there %s %d)", block, ui_chat_ncodes(ui->tr) == 1 ? "is" : "are",
			    ui_chat_ncodes(ui->tr));
			return -1;
		}
	} else {
		for (size_t i = chat_count(ui->chat); i > 0 && text == NULL; i--) {
			const struct store_msg *m = chat_msg(ui->chat, i - 1);

			if (strcmp(m->role, "assistant") == 0 && m->content[0] != '\0')
				text = m->content;
		}
		if (text == NULL) {
			ui_error(ui, "no reply to copy yet");
			return -1;
		}
	}
	ui_osc52(text);
	if (block > 0)
		ui_info(ui, "copied code block %d (%zu bytes)", block, strlen(text));
	else
		ui_info(ui, "copied the last reply (%zu bytes)", strlen(text));
	return 0;
}

/* Ctrl-G: edit the input in $EDITOR, the screen suspended. */
static void
ui_editor(struct ui *ui)
{
	char path[] = "/tmp/parley-input-XXXXXX";
	const char *ed = getenv("VISUAL") ? getenv("VISUAL") : getenv("EDITOR") ? getenv("EDITOR")
	                                                                        : "vi";
	int fd = mkstemp(path), status = 0;
	const char *t = ui_input_text(ui->in);
	char *text, *cause = NULL;
	size_t len;
	pid_t pid;

	if (fd < 0) {
		ui_error(ui, "cannot make a temporary file: %s", strerror(errno));
		return;
	}
	if (write(fd, t, strlen(t)) < 0)
		(void)0;
	close(fd);
	def_prog_mode();
	endwin();
	pid = fork();
	if (pid == 0) {
		execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", ed, path, (char *)NULL);
		_exit(127);
	}
	while (pid > 0 && waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	reset_prog_mode();
	clearok(curscr, TRUE);
	text = util_read_file(path, &len, 16u << 20, &cause);
	unlink(path);
	if (text == NULL || pid < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		ui_error(ui, "the editor (%s) failed; input unchanged", ed);
		free(cause);
		free(text);
	} else {
		while (len > 0 && text[len - 1] == '\n')
			text[--len] = '\0';
		ui_input_set(ui->in, text);
		free(text);
	}
	ui->dirty = true;
}

static void
ui_new_session(struct ui *ui)
{
	if (chat_busy(ui->chat))
		chat_stop(ui->chat);
	chat_reset(ui->chat);
	ui_free_attachments(ui);
	ui_session_changed(ui);
	ui_info(ui, "new session");
}

/* --- slash commands ---------------------------------------------------- */

/* What the input's /command would do, for the rule above the input. */
static void
ui_slash_hint(const char *t, struct buf *b)
{
	const struct slash_cmd *c[32];
	size_t wl = strcspn(t, " "), n;
	char *word = xstrndup(t, wl);

	n = slash_complete(word, c, 32);
	if (t[wl] == ' ' || (n == 1 && strcmp(c[0]->name, word) == 0)) {
		for (size_t i = 0; i < n; i++)
			if (strcmp(c[i]->name, word) == 0)
				buf_printf(b, "%s%s%s — %s", c[i]->name, c[i]->args[0] ? " " : "", c[i]->args, c[i]->help);
	} else if (n == 1)
		buf_printf(b, "%s%s%s — %s (Tab)", c[0]->name, c[0]->args[0] ? " " : "", c[0]->args, c[0]->help);
	else if (n == 0)
		buf_printf(b, "no command %s (F1 lists them)", word);
	else
		for (size_t i = 0; i < n && i < 12; i++)
			buf_printf(b, "%s%s", i ? " " : "", c[i]->name);
	free(word);
}

/* Tab: complete the command name (to the longest common prefix), or a
 * theme name after /theme. */
static void
ui_complete(struct ui *ui)
{
	const char *t = ui_input_text(ui->in);
	const struct slash_cmd *c[32];
	size_t wl = strcspn(t, " "), n, common;
	char *word;

	if (t[0] != '/')
		return;
	word = xstrndup(t, wl);
	if (t[wl] == ' ') {
		n = slash_complete(word, c, 32);
		if (n >= 1 && strcmp(c[0]->name, word) == 0 && c[0]->complete == SLASH_ARG_THEME) {
			size_t nt, match = 0;
			char **names = ui_theme_names(&nt);
			const char *arg = t + wl + 1, *hit = NULL;

			for (size_t i = 0; i < nt; i++)
				if (util_prefix(names[i], arg)) {
					hit = names[i];
					match++;
				}
			if (match == 1) {
				char *line = xasprintf("%s %s", word, hit);

				ui_input_set(ui->in, line);
				free(line);
			} else if (match > 1) {
				struct buf b = { 0 };

				for (size_t i = 0; i < nt; i++)
					if (util_prefix(names[i], arg))
						buf_printf(&b, "%s ", names[i]);
				ui_info(ui, "themes: %s", b.data);
				buf_free(&b);
			}
			ui_theme_names_free(names, nt);
		}
		free(word);
		return;
	}
	n = slash_complete(word, c, 32);
	free(word);
	if (n == 0)
		return;
	common = strlen(c[0]->name);
	for (size_t i = 1; i < n; i++) {
		size_t k = 0;

		while (k < common && c[i]->name[k] == c[0]->name[k])
			k++;
		common = k;
	}
	if (n == 1) {
		char *line = xasprintf("%s ", c[0]->name);

		ui_input_set(ui->in, line);
		free(line);
	} else if (common > wl) {
		char *line = xstrndup(c[0]->name, common);

		ui_input_set(ui->in, line);
		free(line);
	}
}

/* /new, /sessions ID and the like switch the conversation: show it. */
static void
ui_check_session(struct ui *ui)
{
	if (!util_streq(chat_session_id(ui->chat), ui->sess_id))
		ui_session_changed(ui);
}

static void
ui_sf_print(void *arg, const char *text)
{
	struct ui *ui = arg;

	ui_check_session(ui);
	ui_sync_transcript(ui, COLS);
	ui_chat_note(ui->tr, text, UI_ROLE_SYSTEM);
	ui_chat_follow(ui->tr);
	ui->dirty = true;
}

static void
ui_sf_error(void *arg, const char *msg)
{
	ui_error(arg, "%s", msg);
}

static int
ui_sf_models(void *arg)
{
	ui_push(arg, ui_picker_new(arg));
	return 0;
}

static int
ui_sf_pull(void *arg, const char *model)
{
	ui_push(arg, ui_pull_new(arg, model));
	return 0;
}

static int
ui_sf_sessions(void *arg, const char *filter)
{
	struct ui *ui = arg;
	struct store_session *s = NULL;
	char *cause = NULL;

	/* an exact id or title opens that session at once */
	if (filter != NULL && ui->app->store != NULL && store_session_find(ui->app->store, filter, &s, NULL) == 0) {
		char *id = xstrdup(s->id);

		store_session_free(s);
		if (chat_busy(ui->chat))
			chat_stop(ui->chat);
		if (chat_open(ui->chat, id, false, &cause) != 0) {
			ui_error(ui, "%s", cause);
			free(cause);
			free(id);
			return -1;
		}
		free(id);
		ui_session_changed(ui);
		return 0;
	}
	ui_push(ui, ui_sessions_new(ui, filter));
	return 0;
}

static int
ui_sf_help(void *arg)
{
	ui_push(arg, ui_help_new(arg));
	return 0;
}

static int
ui_sf_theme(void *arg, const char *name)
{
	struct ui *ui = arg;
	char *cause = NULL;

	if (name == NULL) {
		size_t n;
		char **v = ui_theme_names(&n);
		struct buf b = { 0 };

		buf_printf(&b, "theme: %s; available:", ui->theme.name ? ui->theme.name : "default");
		for (size_t i = 0; i < n; i++)
			buf_printf(&b, " %s", v[i]);
		ui_sf_print(ui, b.data);
		buf_free(&b);
		ui_theme_names_free(v, n);
		return 0;
	}
	if (ui_theme_load(&ui->theme, name, &cause) != 0) {
		ui_error(ui, "%s", cause);
		free(cause);
		return -1;
	}
	ui_theme_apply(&ui->theme);
	clearok(curscr, TRUE);
	ui_info(ui, "theme: %s", ui->theme.name);
	return 0;
}

static int
ui_sf_copy(void *arg, int block)
{
	return ui_copy(arg, block);
}

/* /edit N without text: the question in the input line, to change. */
static int
ui_sf_edit(void *arg, size_t i, const char *text)
{
	struct ui *ui = arg;

	ui->edit_pending = true;
	ui->edit_at = i;
	ui_input_set(ui->in, text);
	ui_info(ui, "editing a question: Enter asks it again on a new branch, Esc drops the edit");
	return 0;
}

/* /attach FILE: an image for vision models, else a text document. */
static int
ui_sf_attach(void *arg, const char *path)
{
	struct ui *ui = arg;
	struct llm_image img = { 0 };
	struct buf b = { 0 };
	char *cause = NULL;
	bool image;

	buf_puts(&b, ui->doc ? ui->doc : "");
	if (attach_file(path, &img, &b, &image, &cause) != 0) {
		ui_error(ui, "%s", cause);
		free(cause);
		buf_free(&b);
		return -1;
	}
	if (image) {
		ui->imgs = xreallocarray(ui->imgs, ui->nimgs + 1, sizeof *ui->imgs);
		ui->imgs[ui->nimgs++] = img;
		buf_free(&b);
		ui_info(ui, "attached image %s to the next message", path);
	} else {
		free(ui->doc);
		ui->doc = buf_steal(&b);
		ui_info(ui, "attached %s to the next message", path);
	}
	return 0;
}

static int
ui_sf_quit(void *arg)
{
	((struct ui *)arg)->quit = true;
	return 0;
}

static int
ui_sf_send(void *arg)
{
	ui_started(arg);
	return 0;
}

/* A command's question (/rm): asked on the message line; the command goes
 * on from its answer, the loop never run from here. */
struct ui_sf_question {
	slash_answer_fn answer;
	void *ctx;
};

static void
ui_sf_answer(struct ui *ui, bool yes, void *arg)
{
	struct ui_sf_question q = *(struct ui_sf_question *)arg;

	(void)ui;
	free(arg);
	q.answer(q.ctx, yes);
}

static void
ui_sf_ask(void *arg, const char *question, slash_answer_fn answer, void *ctx)
{
	struct ui_sf_question *q = xcalloc(1, sizeof *q);

	q->answer = answer;
	q->ctx = ctx;
	ui_ask(arg, question, ui_sf_answer, q);
}

/* A command that waited has ended: what it printed is on the screen. */
static void
ui_sf_done(void *arg, int rc)
{
	struct ui *ui = arg;

	(void)rc;
	ui_check_session(ui);
	ui->dirty = true;
}

static int
ui_sf_tools(void *arg, const char *args)
{
	struct ui *ui = arg;
	char *cause = NULL, *text;

	if ((text = tools_command(ui->tools, args, &cause)) == NULL) {
		ui_error(ui, "%s", cause);
		free(cause);
		return -1;
	}
	ui_sf_print(ui, text);
	free(text);
	return 0;
}

/* ---- tools ---- */

static void
ui_tool_ask(struct tools *t, const struct tools_call *call, void *arg)
{
	struct ui *ui = arg;
	char hints[64], *args = tools_safe(call->args, 4000), *note;

	(void)t;
	/* the whole call goes in the transcript; the question below it */
	note = xasprintf("%s wants to run %s [%s]%s%s\n%s", chat_model(ui->chat) ? chat_model(ui->chat) : "the model",
	    call->name, tools_hints(call->tool, hints, sizeof hints), call->tool->title ? ": " : "",
	    call->tool->title ? call->tool->title : "", args);
	ui_sf_print(ui, note);
	free(note);
	free(ui->tool_q);
	ui->tool_q = xasprintf("run %s?", call->name);
	free(args);
	ui->dirty = true;
}

static void
ui_tool_started(struct tools *t, const struct tools_call *call, void *arg)
{
	(void)t;
	ui_info(arg, "running %s ... (Esc stops it)", call->name);
}

static void
ui_tool_finished(struct tools *t, const struct tools_call *call, const char *text, const char *error, int64_t ms,
    void *arg)
{
	struct ui *ui = arg;
	char *shown = tools_safe(text, 200);

	(void)t;
	if (error != NULL)
		ui_error(ui, "%s: %s", call->name, shown);
	else
		ui_info(ui, "%s: %zu bytes in %lld ms", call->name, strlen(text), (long long)ms);
	free(shown);
	ui_check_session(ui);
	ui_sync_transcript(ui, COLS);
}

static void
ui_tool_progress(struct tools *t, const struct tools_call *call, double progress, double total, const char *msg,
    void *arg)
{
	char *safe = tools_safe(msg ? msg : "", 200);

	(void)t;
	if (total > 0)
		ui_info(arg, "running %s: %g of %g %s (Esc stops it)", call->name, progress, total, safe);
	else
		ui_info(arg, "running %s: %g %s (Esc stops it)", call->name, progress, safe);
	free(safe);
}

static void
ui_tool_ended(struct tools *t, const char *why, void *arg)
{
	struct ui *ui = arg;

	(void)t;
	free(ui->tool_q);
	ui->tool_q = NULL;
	ui_error(ui, "%s", why);
	ui_check_session(ui);
	ui_sync_transcript(ui, COLS);
}

static void
ui_mcp_ready(void *arg)
{
	struct ui *ui = arg;
	json_t *offered = mcp_tools_json(ui->mcp);

	tools_offer(ui->tools);
	tools_each_failure(ui->mcp, ui_sf_error, ui);
	if (ui->msg == NULL)
		ui_info(ui, "%zu MCP tools offered to the model (/tools)", offered ? json_array_size(offered) : 0);
	json_decref(offered);
}

static const struct slash_face ui_slash_face = {
	ui_sf_print,
	ui_sf_error,
	ui_sf_models,
	ui_sf_pull,
	ui_sf_sessions,
	ui_sf_help,
	ui_sf_theme,
	ui_sf_copy,
	ui_sf_attach,
	ui_sf_quit,
	ui_sf_send,
	ui_sf_ask,
	ui_sf_done,
	ui_sf_tools,
	ui_sf_edit,
	NULL, /* shown */
};

static void
ui_slash(struct ui *ui, const char *line)
{
	ui_input_remember(ui->in, line);
	ui_input_set(ui->in, "");
	slash_run(ui->app, ui->chat, &ui_slash_face, ui, line);
	ui_check_session(ui);
	ui->dirty = true;
}

/* --- keys -------------------------------------------------------------- */

static void
ui_quit_or_warn(struct ui *ui)
{
	int64_t now = util_now_ms();

	if (ui->ctrlc_at != 0 && now - ui->ctrlc_at <= UI_QUIT_MS) {
		ui->quit = true;
		return;
	}
	ui->ctrlc_at = now;
	ui_info(ui, "press Ctrl-C again to quit");
}

static void
ui_scroll(struct ui *ui, int delta)
{
	ui_chat_scroll(ui->tr, delta, ui->trans_h);
	ui->dirty = true;
}

static void
ui_main_key(struct ui *ui, int key)
{
	enum ui_action act = ui_keys_lookup(key);
	const char *text = ui_input_text(ui->in);
	int page = ui->trans_h > 2 ? ui->trans_h - 2 : 1;

	switch (act) {
	case UI_ACT_SEND: {
		char *line = xstrdup(text);
		size_t l = strlen(line);

		while (l > 0 && (line[l - 1] == ' ' || line[l - 1] == '\n'))
			line[--l] = '\0';
		if (line[0] == '/' && strchr(line, '\n') == NULL)
			ui_slash(ui, line);
		else if (l > 0)
			ui_send(ui, line);
		free(line);
		break;
	}
	case UI_ACT_STOP:
		if (ui->edit_pending) {
			ui->edit_pending = false;
			ui_input_set(ui->in, "");
			ui_info(ui, "edit dropped");
		} else if (chat_busy(ui->chat))
			chat_stop(ui->chat);
		else if (ui->tools != NULL && tools_busy(ui->tools))
			tools_stop(ui->tools, "stopped by the user");
		else if (slash_busy(ui))
			slash_cancel(ui); /* /show waiting on the backend */
		else if (ui->msg != NULL)
			ui_dismiss(ui);
		break;
	case UI_ACT_INTERRUPT:
		if (chat_busy(ui->chat))
			chat_stop(ui->chat);
		else if (ui->tools != NULL && tools_busy(ui->tools))
			tools_stop(ui->tools, "stopped by the user");
		else
			ui_quit_or_warn(ui);
		break;
	case UI_ACT_EOF:
		if (ui_input_len(ui->in) == 0)
			ui->quit = true;
		else
			ui_input_action(ui->in, act);
		break;
	case UI_ACT_RETRY:
		ui_retry(ui);
		break;
	case UI_ACT_VERSION_PREV:
		ui_version(ui, -1);
		break;
	case UI_ACT_VERSION_NEXT:
		ui_version(ui, 1);
		break;
	case UI_ACT_COPY:
		ui_copy(ui, 0);
		break;
	case UI_ACT_THINKING:
		ui_chat_set_thinking(ui->tr, !ui_chat_thinking(ui->tr));
		break;
	case UI_ACT_MODELS:
		ui_push(ui, ui_picker_new(ui));
		break;
	case UI_ACT_SESSIONS:
		ui_push(ui, ui_sessions_new(ui, NULL));
		break;
	case UI_ACT_NEW:
		ui_new_session(ui);
		break;
	case UI_ACT_HELP:
		ui_push(ui, ui_help_new(ui));
		break;
	case UI_ACT_EDITOR:
		ui_editor(ui);
		break;
	case UI_ACT_PAGE_UP:
		ui_scroll(ui, -page);
		break;
	case UI_ACT_PAGE_DOWN:
		ui_scroll(ui, page);
		break;
	case UI_ACT_TOP:
		ui_chat_top(ui->tr);
		break;
	case UI_ACT_BOTTOM:
		ui_chat_follow(ui->tr);
		break;
	case UI_ACT_REDRAW:
		clearok(curscr, TRUE);
		break;
	case UI_ACT_COMPLETE:
		ui_complete(ui);
		break;
	case UI_ACT_NONE:
		if (key >= ' ' && key < 0x110000 && key != 127) {
			char mb[8];
			size_t n = ui_text_key(key, mb);

			if (n > 0)
				ui_input_insert(ui->in, mb, n);
		}
		break;
	default:
		ui_input_action(ui->in, act);
		break;
	}
	ui->dirty = true;
}

/* What cannot be done before the backend is known: such a key is held
 * and acted on once it is (the last one wins). The rest (typing,
 * scrolling, help, quitting) works from the first frame. */
static bool
ui_needs_backend(enum ui_action act)
{
	switch (act) {
	case UI_ACT_SEND:
	case UI_ACT_RETRY:
	case UI_ACT_MODELS:
	case UI_ACT_SESSIONS:
	case UI_ACT_NEW:
	case UI_ACT_COMPLETE:
		return true;
	default:
		return false;
	}
}

static void
ui_key(struct ui *ui, int key)
{
	enum ui_action act;

	ui->dirty = true;
	if (ui->tool_q != NULL) {
		enum tools_answer a;

		if (key == 'y' || key == 'Y')
			a = TOOLS_YES;
		else if (key == 'n' || key == 'N')
			a = TOOLS_NO;
		else if (key == 'a' || key == 'A')
			a = TOOLS_YES_TOOL;
		else if (key == 's' || key == 'S')
			a = TOOLS_YES_SERVER;
		else if (key == 27 || key == 'q' || key == UI_KEY_CTRL('c') || key == UI_KEY_CTRL('g'))
			a = TOOLS_STOP;
		else
			return;
		free(ui->tool_q);
		ui->tool_q = NULL;
		tools_answer(ui->tools, a);
		return;
	}
	if (ui->ask_q != NULL) {
		if (key == 'y' || key == 'Y')
			ui_answer(ui, true);
		else if (key == 'n' || key == 'N' || key == 27 || key == UI_KEY_CTRL('c') || key == UI_KEY_CTRL('g'))
			ui_answer(ui, false);
		return;
	}
	act = ui_keys_lookup(key);
	if (act != UI_ACT_INTERRUPT)
		ui->ctrlc_at = 0;
	if (ui->connecting && ui->nviews == 0 && ui_needs_backend(act)) {
		ui->held_key = key;
		ui_info(ui, "waiting for the backend to answer; this goes ahead when it does");
		return;
	}
	if (ui->nviews > 0) {
		struct ui_view *v = ui->views[ui->nviews - 1];

		if (v->ops->key(v, key))
			return;
		if (act == UI_ACT_INTERRUPT) {
			if (chat_busy(ui->chat))
				chat_stop(ui->chat);
			else
				ui_quit_or_warn(ui);
		} else if (act == UI_ACT_HELP && strcmp(v->ops->name, "help") != 0)
			ui_push(ui, ui_help_new(ui));
		return;
	}
	ui_main_key(ui, key);
}

/* A bracketed paste goes in as it is: newlines stay newlines. */
static void
ui_paste_char(struct ui *ui, wint_t wc)
{
	char mb[8];
	size_t n = ui_text_key(wc == '\r' ? '\n' : (int)wc, mb);

	if (n > 0)
		ui_input_insert(ui->in, mb, n);
	ui->dirty = true;
}

static void
ui_mouse(struct ui *ui)
{
	MEVENT ev;

	if (getmouse(&ev) != OK)
		return;
	if (ev.bstate & BUTTON4_PRESSED) {
		if (ui->nviews > 0)
			ui_key(ui, UI_KEY_FN | KEY_UP);
		else
			ui_scroll(ui, -3);
	}
#ifdef BUTTON5_PRESSED
	if (ev.bstate & BUTTON5_PRESSED) {
		if (ui->nviews > 0)
			ui_key(ui, UI_KEY_FN | KEY_DOWN);
		else
			ui_scroll(ui, 3);
	}
#endif
}

static void
ui_resize(struct ui *ui)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 && ws.ws_col > 0)
		resize_term(ws.ws_row, ws.ws_col);
	for (int i = 0; i < ui->nviews; i++)
		if (ui->views[i]->ops->resize != NULL)
			ui->views[i]->ops->resize(ui->views[i]);
	clearok(curscr, TRUE);
	ui->dirty = true;
}

static void
ui_on_stdin(int fd, int events, void *arg)
{
	struct ui *ui = arg;
	wint_t wc;
	int r;

	(void)fd;
	(void)events;
	while ((r = wget_wch(stdscr, &wc)) != ERR) {
		int key;

		if (r == KEY_CODE_YES) {
			if (wc == UI_KEY_PASTE_BEGIN) {
				ui->paste = true;
				continue;
			}
			if (wc == UI_KEY_PASTE_END) {
				ui->paste = false;
				continue;
			}
			if (wc == KEY_RESIZE) {
				ui_resize(ui);
				continue;
			}
			if (wc == KEY_MOUSE) {
				ui_mouse(ui);
				continue;
			}
			if (ui->paste)
				continue;
			key = wc == KEY_ENTER ? 13 : UI_KEY_FN | (int)wc;
		} else if (ui->paste) {
			ui_paste_char(ui, wc);
			continue;
		} else if (wc == 27) {
			/* Esc, or Alt with the key that follows at once */
			wint_t nx;
			int r2 = wget_wch(stdscr, &nx);

			if (r2 == ERR)
				key = 27;
			else if (r2 == KEY_CODE_YES)
				key = UI_KEY_ALT | UI_KEY_FN | (int)nx;
			else if (nx == 127 || nx == 8)
				key = UI_KEY_ALT | UI_KEY_FN | KEY_BACKSPACE;
			else
				key = UI_KEY_ALT | (int)(nx == '\n' ? 13 : nx);
		} else if (wc == 127 || wc == 8) {
			key = UI_KEY_FN | KEY_BACKSPACE;
		} else
			key = (int)wc;
		ui_key(ui, key);
		if (ui->quit)
			break;
	}
}

static void
ui_on_winch(int sig, void *arg)
{
	(void)sig;
	ui_resize(arg);
}

static void
ui_on_term(int sig, void *arg)
{
	struct ui *ui = arg;

	(void)sig;
	ui->quit = true;
}

static void
ui_on_cont(int sig, void *arg)
{
	struct ui *ui = arg;

	(void)sig;
	ui_resize(ui);
}

/* --- start-up ---------------------------------------------------------- */

static void
ui_pick_cb(enum llm_err err, const char *msg, struct prov_model_list *l, void *arg)
{
	struct ui *ui = arg;
	const char *pick = NULL;

	ui->pick = NULL;
	if (err == LLM_ERR_CANCELLED) {
		prov_model_list_free(l);
		return;
	}
	if (err != LLM_OK) {
		ui_set_online(ui, err != LLM_ERR_CONNECT, NULL);
		ui_error(ui, "%s", msg);
		prov_model_list_free(l);
		return;
	}
	ui->online = true;
	for (size_t i = 0; l != NULL && i < l->n && pick == NULL; i++)
		if (l->v[i].loaded == 1)
			pick = l->v[i].name;
	if (pick == NULL && l != NULL && l->n > 0)
		pick = l->v[0].name;
	if (chat_model(ui->chat) == NULL || chat_model(ui->chat)[0] == '\0') {
		if (pick != NULL) {
			chat_set_model(ui->chat, pick);
			ui_info(ui, "no model named; using %s (Ctrl-P to change)", pick);
		} else if (prov_is_multi(ui->app->prov))
			ui_error(ui, "none of the backends (%s) offers a model: Ctrl-P, type a name, Enter pulls it%s",
			    ui->app->prov->base_url, prov_can_pull(ui->app->prov) ? "" : " (needs an Ollama backend)");
		else if (strcmp(ui->app->prov->kind, "ollama") == 0)
			ui_error(ui, "Ollama at %s has no models: Ctrl-P, type a name (e.g. llama3.2), Enter pulls it",
			    ui->app->prov->base_url);
		else
			ui_error(ui, "%s offers no models; load one there first", ui->app->prov->base_url);
	}
	prov_model_list_free(l);
	ui->dirty = true;
}

/* The session, model and options the command line asks for. */
static void
ui_setup_chat(struct ui *ui)
{
	struct config *cfg = ui->cfg;
	char *cause = NULL;
	const char *k;
	json_t *v;

	if (cfg->session != NULL && ui->app->store != NULL) {
		if (chat_open(ui->chat, cfg->session, true, &cause) != 0) {
			ui_error(ui, "%s", cause);
			free(cause);
			cause = NULL;
		}
	} else if (cfg->cont && ui->app->store != NULL) {
		if (chat_open_latest(ui->chat, &cause) < 0) {
			ui_error(ui, "%s", cause);
			free(cause);
			cause = NULL;
		}
	}
	if (cfg->model != NULL)
		chat_set_model(ui->chat, cfg->model);
	else if ((chat_model(ui->chat) == NULL || chat_model(ui->chat)[0] == '\0') && cfg->model_file != NULL)
		chat_set_model(ui->chat, cfg->model_file);
	if (cfg->system != NULL)
		chat_set_system(ui->chat, cfg->system);
	json_object_foreach(cfg->options, k, v)
	{
		json_object_set(chat_options(ui->chat), k, v);
	}
	chat_set_think(ui->chat, cfg->think);
	chat_set_stream(ui->chat, !cfg->no_stream);
	ui_chat_set_thinking(ui->tr, !cfg->hide_thinking);
}

/* A fatal error (a library that will not load, memory) must leave a
 * usable terminal behind, with its message on it. */
static void
ui_curses_abort(void)
{
	fputs("\033[?2004l", stdout);
	fflush(stdout);
	endwin();
}

static void
ui_curses_start(struct ui *ui)
{
	if (getenv("ESCDELAY") == NULL)
		set_escdelay(25);
	initscr();
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	scrollok(stdscr, FALSE);
	idlok(stdscr, FALSE);
	mousemask(BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
	        | BUTTON5_PRESSED
#endif
	    ,
	    NULL);
	mouseinterval(0);
	define_key("\033[200~", UI_KEY_PASTE_BEGIN);
	define_key("\033[201~", UI_KEY_PASTE_END);
	ui_theme_apply(&ui->theme);
	/* bracketed paste: a pasted newline must not send */
	fputs("\033[?2004h", stdout);
	fflush(stdout);
	ui->curses = true;
	util_set_fatal_hook(ui_curses_abort);
}

static void
ui_curses_end(struct ui *ui)
{
	if (!ui->curses)
		return;
	util_set_fatal_hook(NULL);
	fputs("\033[?2004l", stdout);
	fflush(stdout);
	endwin();
	ui->curses = false;
}

/* The backend is chosen (or none answered): start what needs it. */
static void
ui_connected(enum llm_err err, const char *msg, const char *note, void *arg)
{
	struct ui *ui = arg;
	struct app *a = ui->app;
	struct config *cfg = ui->cfg;

	ui->connecting = false;
	ui->conn = NULL;
	ui->online = err == LLM_OK;
	ui->dirty = true;
	if (a->prov != NULL && prov_is_multi(a->prov)) {
		/* the bar shows each backend's state: learn them now */
		prov_multi_watch(a->prov, ui_on_backends, ui);
		ui->backends = a->prov->ops->ping(a->prov, ui_backends_asked, ui);
	}
	if (cfg->listen != NULL) {
		char *why = NULL;

		ui->httpd = httpd_new(a, cfg->listen, &why);
		if (ui->httpd == NULL) {
			ui_chat_note(ui->tr, why, UI_ROLE_ERROR);
			free(why);
		} else {
			httpd_on_change(ui->httpd, ui_on_listener_change, ui);
			httpd_on_stream(ui->httpd, ui_on_listener_stream, ui);
			ui_info(ui, "listener on http://%s", httpd_address(ui->httpd));
		}
	}
	if (note != NULL)
		ui_info(ui, "%s", note);
	if (err != LLM_OK) {
		char *help = xasprintf("Cannot reach the backend. %s\nparley keeps running: start the backend, then "
		                       "press Ctrl-P to retry (or quit with Ctrl-D and pass --provider/--base-url).",
		    msg ? msg : "");

		ui_chat_note(ui->tr, help, UI_ROLE_ERROR);
		ui_error(ui, "%s", msg ? msg : "no backend");
		free(help);
	} else if (chat_model(ui->chat) == NULL || chat_model(ui->chat)[0] == '\0')
		ui->pick = a->prov->ops->list(a->prov, ui_pick_cb, ui);
	if (ui->held_key != 0) {
		int key = ui->held_key;

		ui->held_key = 0;
		ui_key(ui, key);
	}
}

/* After the first frame: find the backend (this loads libcurl). */
static void
ui_connect_later(void *arg)
{
	struct ui *ui = arg;

	ui->conn_t = NULL;
	ui->conn = app_connect_start(ui->app, ui_connected, ui);
}

int
ui_main(struct app *a)
{
	static const struct chat_hooks hooks = { ui_on_event, ui_on_notice };
	struct config *cfg = a->cfg;
	struct ui ui;
	char *warn = NULL, *cause = NULL, *dir, *hist;

	memset(&ui, 0, sizeof ui);
	ui.shown_ns = -1;
	ui.app = a;
	ui.cfg = cfg;
	ui.tr = ui_chat_new();
	ui_chat_set_versions(ui.tr, ui_get_versions);
	ui_keys_init(cfg->keys, &warn);
	ui_theme_defaults(&ui.theme);
	if (cfg->theme != NULL && ui_theme_load(&ui.theme, cfg->theme, &cause) != 0) {
		ui_chat_note(ui.tr, cause, UI_ROLE_ERROR);
		free(cause);
		cause = NULL;
	}
	dir = util_xdg_dir("DATA");
	util_mkdirs(dir);
	hist = xasprintf("%s/history", dir);
	ui.in = ui_input_new(hist);
	free(hist);
	free(dir);

	if (!cfg->no_save && app_open_store(a) != 0)
		ui_chat_note(ui.tr, a->store_error, UI_ROLE_ERROR);
	ui.chat = chat_new(a, "tui", !cfg->no_save, &hooks, &ui);
	ui_setup_chat(&ui);
	if (cfg->tools != NULL) {
		static const struct tools_hooks thooks = { ui_tool_ask, ui_tool_started, ui_tool_finished, ui_tool_progress,
			ui_tool_ended };

		/* the servers start behind the first frame; their tools are
		 * offered once they are ready */
		ui.mcp = tools_mcp_open(a, cfg->tools, ui_mcp_ready, &ui, &cause);
		if (ui.mcp == NULL) {
			ui_chat_note(ui.tr, cause, UI_ROLE_ERROR);
			free(cause);
			cause = NULL;
		} else
			ui.tools = tools_new(ui.chat, ui.mcp, tools_policy_of(cfg->approve), cfg->tool_rounds, &thooks, &ui);
	}
	if (chat_session_id(ui.chat) != NULL)
		ui.sess_id = xstrdup(chat_session_id(ui.chat));
	ui.data_version = a->store ? store_data_version(a->store) : 0;
	if (warn != NULL && warn[0] != '\0')
		ui_error(&ui, "%s", warn);
	free(warn);

	ui_curses_start(&ui);
	loop_watch(a->loop, STDIN_FILENO, LOOP_READ, ui_on_stdin, &ui);
	loop_signal(a->loop, SIGWINCH, ui_on_winch, &ui);
	loop_signal(a->loop, SIGTERM, ui_on_term, &ui);
	loop_signal(a->loop, SIGHUP, ui_on_term, &ui);
	loop_signal(a->loop, SIGINT, ui_on_term, &ui);
	loop_signal(a->loop, SIGCONT, ui_on_cont, &ui);
	loop_prepare_add(a->loop, ui_prepare, &ui);
	ui_store_arm(&ui);
	ui.dirty = true;
	/* The first frame is painted before the backend answers (or libcurl
	 * is even loaded): discovery runs on the loop behind it. */
	ui.connecting = true;
	ui_prepare(&ui);
	ui.conn_t = loop_timer_add(a->loop, 0, ui_connect_later, &ui);
	while (!ui.quit)
		loop_run_once(a->loop, -1);
	loop_timer_cancel(a->loop, ui.conn_t);
	app_connect_cancel(ui.conn);

	loop_prepare_remove(a->loop, ui_prepare, &ui);
	loop_unwatch(a->loop, STDIN_FILENO);
	for (int s = 0; s < 5; s++) {
		static const int sigs[] = { SIGWINCH, SIGTERM, SIGHUP, SIGINT, SIGCONT };

		loop_signal(a->loop, sigs[s], NULL, NULL);
	}
	ui_curses_end(&ui);
	while (ui.nviews > 0)
		ui_pop(&ui, ui.views[ui.nviews - 1]);
	/* commands still waiting are stopped, and speak no more to the screen */
	slash_forget(&ui);
	if (ui.ask_q != NULL)
		ui_answer(&ui, false);
	if (ui.pick != NULL)
		prov_cancel(ui.pick);
	if (ui.backends != NULL)
		prov_cancel(ui.backends);
	loop_timer_cancel(a->loop, ui.spin_t);
	loop_timer_cancel(a->loop, ui.msg_t);
	loop_timer_cancel(a->loop, ui.store_t);
	if (a->prov != NULL && prov_is_multi(a->prov))
		prov_multi_watch(a->prov, NULL, NULL);
	httpd_free(ui.httpd);
	tools_free(ui.tools);
	mcp_free(ui.mcp);
	chat_free(ui.chat);
	ui_chat_free(ui.tr);
	ui_input_free(ui.in);
	ui_theme_clear(&ui.theme);
	ui_free_attachments(&ui);
	free(ui.msg);
	free(ui.ask_q);
	free(ui.tool_q);
	free(ui.last_sent);
	free(ui.sess_id);
	if (getenv("PARLEY_TUI_STATS") != NULL) {
		fprintf(stderr, "parley: %lld frames painted in %.1f ms, %lld loop iterations", (long long)ui.frames,
		    (double)ui.paint_ns / 1e6, (long long)ui.loops);
		if (ui.shown_ns >= 0)
			fprintf(stderr, ", the last reply's final frame %.1f ms after sending", (double)ui.shown_ns / 1e6);
		fputc('\n', stderr);
	}
	return 0;
}
