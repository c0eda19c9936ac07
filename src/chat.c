/*
 * chat.c: one conversation, shared by every face.
 *
 * The transcript is an array of store messages, oldest first; when the chat
 * is bound to a stored session every message is written through to the
 * store as it happens. A turn appends the user message and an empty
 * assistant message in state STREAMING at once, then fills the reply as
 * events arrive, writing it to the store at most every CHAT_FLUSH_MS (so a
 * kill -9 loses less than a second) and once more when it ends.
 *
 * Each request to the provider goes through a struct chat_turn. Stopping a
 * reply finishes it at once (marked interrupted) and detaches the turn, which
 * lives on, ignored, until the provider reports the end of the cancelled
 * request: the provider may only be able to cancel from the loop.
 *
 * A stored session's messages form a tree (see store.h); the transcript is
 * the branch on show. A retry adds the new reply beside the old one, an
 * edit adds the new question beside the old one; either way the old branch
 * stays, and switching to it re-reads the path from the store. A chat that
 * is not stored keeps its one branch only: there a retry replaces.
 *
 * History sent to the model is trimmed oldest first to fit the context
 * window (num_ctx, else the model's context length, else a default),
 * keeping the system prompt and the newest user message; thinking is stored
 * but never resent.
 */
#include "chat.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "tree.h"
#include "util.h"

#define CHAT_FLUSH_MS 200
#define CHAT_DEFAULT_CTX 8192
/* No model parley meets has a smaller window: a transcript that fits in
 * this is sent whole whatever the model's window turns out to be. */
#define CHAT_MIN_CTX 2048

struct chat_turn {
	struct chat *c; /* NULL once detached */
	struct prov_req *req; /* chat request, or NULL */
};

/* Asking the backend for a model's context window. */
struct chat_probe {
	struct chat *c; /* NULL once abandoned */
	struct prov_req *req;
	char *model;
	struct chat_turn *waiting; /* a turn sent once the answer is in, or NULL */
};

struct chat {
	struct app *app;
	char *origin;
	bool save;
	struct chat_hooks hooks;
	void *arg;

	struct store_session *sess; /* NULL until bound or created */
	char *new_title; /* title for the session to create */
	char *new_id; /* a client's own id for the session to create */
	char *model, *system, *think;
	char *tools_off; /* JSON array of tools /tools turned off, NULL = none */
	json_t *options, *tools, *tool_choice, *format, *schema_spec;
	bool stream;
	bool settings_dirty;

	struct store_msg **msgs;
	size_t n, cap;

	/* the shape of the stored tree, read again when it changed */
	struct store_node *tree;
	size_t ntree;
	size_t *tpos, *tcount; /* each node's place among its siblings */
	bool tree_stale;

	/* the reply being streamed */
	struct chat_turn *turn;
	struct store_msg *reply;
	struct buf content, thinking;
	json_t *tool_calls;
	struct loop_timer *flush;
	bool dirty;
	int64_t t_start, t_first; /* ns */

	/* statistics of the last reply */
	struct llm_stats stats;
	int64_t ttft_ms, elapsed_ms;
	int64_t ctx_used, ctx_size;
	size_t trimmed;

	/* context length of ctx_model, from the provider */
	char *ctx_model;
	int64_t ctx_model_len;
	struct chat_probe *probe; /* learning it, or NULL */

	bool store_warned;
	bool turn_user; /* this turn added the user message */
	bool turn_new_session; /* this turn created the session */
	int64_t turn_prev_head; /* the branch shown before a retry or edit */
};

static void chat_notice(struct chat *c, const char *fmt, ...) PRINTFLIKE(2, 3);
static void chat_take_back(struct chat *c);
static void chat_probe_drop(struct chat *c);
static int chat_reload_path(struct chat *c, char **cause);

static void
chat_notice(struct chat *c, const char *fmt, ...)
{
	va_list ap;
	char *m;

	if (c->hooks.notice == NULL)
		return;
	va_start(ap, fmt);
	m = xvasprintf(fmt, ap);
	va_end(ap);
	c->hooks.notice(c, m, c->arg);
	free(m);
}

static bool
chat_stored(const struct chat *c)
{
	return c->save && c->app->store != NULL;
}

/* A store write failed: say so once per reply; the chat goes on. */
static void
chat_store_failed(struct chat *c, char *cause)
{
	if (!c->store_warned)
		chat_notice(c, "%s", cause);
	c->store_warned = true;
	free(cause);
}

struct chat *
chat_new(struct app *a, const char *origin, bool save, const struct chat_hooks *hooks, void *arg)
{
	struct chat *c = xcalloc(1, sizeof *c);

	c->app = a;
	c->origin = xstrdup(origin);
	c->save = save;
	if (hooks != NULL)
		c->hooks = *hooks;
	c->arg = arg;
	c->options = json_object();
	c->stream = true;
	c->ttft_ms = -1;
	llm_stats_init(&c->stats);
	return c;
}

static void
chat_drop_msgs(struct chat *c)
{
	store_msgs_free(c->msgs, c->n);
	c->msgs = NULL;
	c->n = c->cap = 0;
	store_tree_free(c->tree, c->ntree);
	c->tree = NULL;
	c->ntree = 0;
	free(c->tpos);
	free(c->tcount);
	c->tpos = c->tcount = NULL;
	c->tree_stale = true;
}

void
chat_free(struct chat *c)
{
	if (c == NULL)
		return;
	memset(&c->hooks, 0, sizeof c->hooks);
	chat_stop(c);
	chat_probe_drop(c);
	chat_drop_msgs(c);
	store_session_free(c->sess);
	free(c->new_title);
	free(c->new_id);
	free(c->origin);
	free(c->model);
	free(c->system);
	free(c->tools_off);
	free(c->think);
	free(c->ctx_model);
	json_decref(c->options);
	json_decref(c->tools);
	json_decref(c->tool_choice);
	json_decref(c->format);
	json_decref(c->schema_spec);
	free(c);
}

static void
chat_push(struct chat *c, struct store_msg *m)
{
	c->tree_stale = true;
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->msgs = xreallocarray(c->msgs, c->cap, sizeof *c->msgs);
	}
	c->msgs[c->n++] = m;
}

static void
chat_set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = v != NULL ? xstrdup(v) : NULL;
}

/* Take the session's settings and transcript. */
static int
chat_bind(struct chat *c, struct store_session *s, char **cause)
{
	struct store_msg **v = NULL;
	size_t n = 0;

	if (store_messages(c->app->store, s->id, &v, &n, cause) != 0) {
		store_session_free(s);
		return -1;
	}
	chat_drop_msgs(c);
	store_session_free(c->sess);
	c->sess = s;
	c->msgs = v;
	c->n = c->cap = n;
	if (s->model != NULL && s->model[0] != '\0')
		chat_set_str(&c->model, s->model);
	chat_set_str(&c->system, s->system);
	chat_set_str(&c->tools_off, s->tools);
	json_decref(c->options);
	c->options = s->options ? json_loads(s->options, 0, NULL) : NULL;
	if (!json_is_object(c->options)) {
		json_decref(c->options);
		c->options = json_object();
	}
	c->settings_dirty = false;
	return 0;
}

int
chat_open(struct chat *c, const char *key, bool create, char **cause)
{
	struct store_session *s = NULL;
	int rc;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming");
	if (c->app->store == NULL)
		return util_fail(cause, "%s", c->app->store_error ? c->app->store_error : "the session store is not open");
	rc = store_session_find(c->app->store, key, &s, cause);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (!create)
			return util_fail(cause, "no session matches '%s'", key);
		chat_reset(c);
		chat_set_str(&c->new_title, key);
		return 0;
	}
	return chat_bind(c, s, cause);
}

int
chat_open_id(struct chat *c, const char *id, bool create, char **cause)
{
	struct store_session *s = NULL;
	int rc;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming");
	if (c->app->store == NULL)
		return util_fail(cause, "%s", c->app->store_error ? c->app->store_error : "the session store is not open");
	if (!store_session_id_valid(id))
		return util_fail(cause, "session id must be 1 to 64 characters of A-Z, a-z, 0-9, '.', '_' or '-'");
	rc = store_session_by_id(c->app->store, id, &s, cause);
	if (rc < 0)
		return -1;
	if (rc == 1) {
		if (!create)
			return util_fail(cause, "no session has the id '%s'", id);
		chat_reset(c);
		chat_set_str(&c->new_id, id);
		return 1;
	}
	return chat_bind(c, s, cause) == 0 ? 0 : -1;
}

int
chat_open_latest(struct chat *c, char **cause)
{
	struct store_session *s = NULL;
	int rc;

	if (c->app->store == NULL)
		return util_fail(cause, "%s", c->app->store_error ? c->app->store_error : "the session store is not open");
	rc = store_session_latest(c->app->store, &s, cause);
	if (rc != 0)
		return rc;
	return chat_bind(c, s, cause);
}

void
chat_reset(struct chat *c)
{
	chat_stop(c);
	chat_drop_msgs(c);
	store_session_free(c->sess);
	c->sess = NULL;
	free(c->new_title);
	c->new_title = NULL;
	free(c->new_id);
	c->new_id = NULL;
	c->ctx_used = 0;
	c->trimmed = 0;
}

int
chat_reload(struct chat *c, char **cause)
{
	struct store_session *s = NULL;

	if (c->sess == NULL || c->turn != NULL || c->app->store == NULL)
		return 0;
	if (store_session_find(c->app->store, c->sess->id, &s, cause) != 0)
		return -1;
	return chat_bind(c, s, cause);
}

/* Read the branch on show again, keeping everything else. */
static int
chat_reload_path(struct chat *c, char **cause)
{
	struct store_msg **v = NULL;
	size_t n = 0;

	if (store_messages(c->app->store, c->sess->id, &v, &n, cause) != 0)
		return -1;
	chat_drop_msgs(c);
	c->msgs = v;
	c->n = c->cap = n;
	return 0;
}

struct chat_sib {
	int64_t parent, id;
	size_t at;
};

static int
chat_sib_cmp(const void *a, const void *b)
{
	const struct chat_sib *x = a, *y = b;

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The stored tree, read when it changed, with every node's place among
 * its siblings (sorted by parent: one pass, not one per message). */
static void
chat_tree(struct chat *c)
{
	struct chat_sib *v;
	char *cause = NULL;

	if (!c->tree_stale)
		return;
	store_tree_free(c->tree, c->ntree);
	free(c->tpos);
	free(c->tcount);
	c->tree = NULL;
	c->tpos = c->tcount = NULL;
	c->ntree = 0;
	c->tree_stale = false;
	if (!chat_stored(c) || c->sess == NULL)
		return;
	if (store_tree(c->app->store, c->sess->id, &c->tree, &c->ntree, &cause) != 0) {
		chat_store_failed(c, cause);
		return;
	}
	v = xcalloc(c->ntree ? c->ntree : 1, sizeof *v);
	c->tpos = xcalloc(c->ntree ? c->ntree : 1, sizeof *c->tpos);
	c->tcount = xcalloc(c->ntree ? c->ntree : 1, sizeof *c->tcount);
	for (size_t i = 0; i < c->ntree; i++)
		v[i] = (struct chat_sib){ c->tree[i].parent, c->tree[i].id, i };
	qsort(v, c->ntree, sizeof *v, chat_sib_cmp);
	for (size_t i = 0, j; i < c->ntree; i = j) {
		for (j = i; j < c->ntree && v[j].parent == v[i].parent; j++)
			c->tpos[v[j].at] = j - i;
		for (size_t k = i; k < j; k++)
			c->tcount[v[k].at] = j - i;
	}
	free(v);
}

void
chat_branch_at(struct chat *c, size_t i, size_t *pos, size_t *count)
{
	size_t at;

	*pos = 0;
	*count = 1;
	if (i >= c->n || c->msgs[i]->id <= 0)
		return;
	chat_tree(c);
	at = tree_find(c->tree, c->ntree, c->msgs[i]->id);
	if (at < c->ntree) {
		*pos = c->tpos[at];
		*count = c->tcount[at];
	}
}

/* Show the branch that ends at leaf. */
static int
chat_show(struct chat *c, int64_t leaf, char **cause)
{
	if (store_set_head(c->app->store, c->sess->id, leaf, cause) != 0)
		return -1;
	return chat_reload_path(c, cause);
}

int
chat_switch(struct chat *c, size_t i, long delta, char **cause)
{
	size_t pos, count;
	int64_t to;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming (stop it first)");
	if (i >= c->n)
		return util_fail(cause, "there is no message %zu", i + 1);
	chat_branch_at(c, i, &pos, &count);
	if (count < 2)
		return util_fail(cause, "message %zu has no other versions", i + 1);
	to = tree_sibling(c->tree, c->ntree, c->msgs[i]->id, delta);
	if (to == 0)
		return util_fail(cause, "message %zu has no version %ld (it has %zu)", i + 1, (long)pos + 1 + delta, count);
	return chat_show(c, tree_leaf(c->tree, c->ntree, to), cause);
}

int
chat_goto(struct chat *c, int64_t id, char **cause)
{
	int64_t leaf;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming (stop it first)");
	if (!chat_stored(c) || c->sess == NULL)
		return util_fail(cause, "branches are kept in the session store; this chat is not saved");
	chat_tree(c);
	leaf = tree_leaf(c->tree, c->ntree, id);
	if (leaf == 0)
		return util_fail(cause, "no message %lld in session %s", (long long)id, c->sess->id);
	return chat_show(c, leaf, cause);
}

int
chat_rewind(struct chat *c, int64_t id, char **cause)
{
	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming (stop it first)");
	if (!chat_stored(c) || c->sess == NULL)
		return util_fail(cause, "branches are kept in the session store; this chat is not saved");
	return chat_show(c, id, cause);
}

size_t
chat_branches(struct chat *c, struct chat_branch **out)
{
	int64_t *leaves = NULL, head = c->n > 0 ? c->msgs[c->n - 1]->id : 0;
	size_t k;

	*out = NULL;
	if (!chat_stored(c) || c->sess == NULL)
		return 0;
	chat_tree(c);
	k = tree_leaves(c->tree, c->ntree, &leaves);
	*out = xcalloc(k ? k : 1, sizeof **out);
	for (size_t i = 0; i < k; i++) {
		struct chat_branch *b = &(*out)[i];
		size_t at = tree_find(c->tree, c->ntree, leaves[i]);

		b->leaf = leaves[i];
		b->depth = tree_depth(c->tree, c->ntree, leaves[i]);
		b->created = c->tree[at].created;
		b->current = leaves[i] == head;
		/* named by its last question */
		while (at < c->ntree && strcmp(c->tree[at].role, "user") != 0) {
			size_t up = c->tree[at].parent > 0 ? tree_find(c->tree, at, c->tree[at].parent) : at;

			if (up == at)
				break;
			at = up;
		}
		b->question = c->tree[at].preview;
		/* where it leaves the branch on show */
		for (size_t j = 0; j < c->n; j++) {
			if (!tree_on_path(c->tree, c->ntree, leaves[i], c->msgs[j]->id))
				break;
			b->shared = j + 1;
		}
	}
	free(leaves);
	return k;
}

int
chat_fork(struct chat *c, char **cause)
{
	struct store_session *ns = NULL;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming (stop it first)");
	if (!chat_stored(c) || c->sess == NULL || c->n == 0)
		return util_fail(cause, "nothing to fork: this chat has no stored messages");
	if (chat_save_settings(c, cause) != 0)
		return -1;
	if (store_session_fork(c->app->store, c->sess->id, c->msgs[c->n - 1]->id, NULL, &ns, cause) != 0)
		return -1;
	return chat_bind(c, ns, cause);
}

struct app *
chat_app(const struct chat *c)
{
	return c->app;
}

const char *
chat_session_id(const struct chat *c)
{
	return c->sess ? c->sess->id : NULL;
}

const char *
chat_title(const struct chat *c)
{
	if (c->sess != NULL)
		return c->sess->title;
	return c->new_title ? c->new_title : "";
}

int
chat_rename(struct chat *c, const char *title, char **cause)
{
	if (c->sess == NULL) {
		chat_set_str(&c->new_title, title);
		return 0;
	}
	if (store_session_rename(c->app->store, c->sess->id, title, cause) != 0)
		return -1;
	chat_set_str(&c->sess->title, title);
	return 0;
}

void
chat_set_model(struct chat *c, const char *model)
{
	if (util_streq(c->model, model))
		return;
	chat_set_str(&c->model, model);
	c->settings_dirty = true;
}

const char *
chat_model(const struct chat *c)
{
	return c->model;
}

void
chat_set_system(struct chat *c, const char *system)
{
	chat_set_str(&c->system, system != NULL && system[0] != '\0' ? system : NULL);
	c->settings_dirty = true;
}

const char *
chat_system(const struct chat *c)
{
	return c->system;
}

void
chat_set_tools_off(struct chat *c, const char *names)
{
	if (util_streq(c->tools_off, names))
		return;
	chat_set_str(&c->tools_off, names);
	c->settings_dirty = true;
}

const char *
chat_tools_off(const struct chat *c)
{
	return c->tools_off;
}

void
chat_set_think(struct chat *c, const char *think)
{
	chat_set_str(&c->think, think);
}

const char *
chat_think(const struct chat *c)
{
	return c->think;
}

json_t *
chat_options(struct chat *c)
{
	c->settings_dirty = true;
	return c->options;
}

void
chat_set_tools(struct chat *c, json_t *tools, json_t *tool_choice)
{
	json_decref(c->tools);
	json_decref(c->tool_choice);
	c->tools = tools;
	c->tool_choice = tool_choice;
}

void
chat_set_format(struct chat *c, json_t *format, json_t *schema_spec)
{
	json_decref(c->format);
	json_decref(c->schema_spec);
	c->format = format;
	c->schema_spec = schema_spec;
}

void
chat_set_stream(struct chat *c, bool stream)
{
	c->stream = stream;
}

/* Create the stored session on the first turn; first, the message that
 * opens it (or NULL), is stored with it in one transaction. */
static int
chat_ensure_session(struct chat *c, struct store_msg *first, char **cause)
{
	struct store_session *s;
	int rc;

	if (!chat_stored(c) || c->sess != NULL)
		return 0;
	s = xcalloc(1, sizeof *s);
	s->id = c->new_id; /* NULL: the store draws one */
	c->new_id = NULL;
	s->title = xstrdup(c->new_title ? c->new_title : "");
	s->provider = xstrdup(c->app->prov ? c->app->prov->kind : "");
	s->model = xstrdup(c->model ? c->model : "");
	s->system = c->system ? xstrdup(c->system) : NULL;
	s->options = json_object_size(c->options) ? json_dumps(c->options, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	s->tools = c->tools_off ? xstrdup(c->tools_off) : NULL;
	s->origin = xstrdup(c->origin);
	if (first != NULL)
		rc = store_session_start(c->app->store, s, first, cause);
	else
		rc = store_session_new(c->app->store, s, cause);
	if (rc != 0) {
		store_session_free(s);
		return -1;
	}
	c->sess = s;
	c->settings_dirty = false;
	return 0;
}

int
chat_save_settings(struct chat *c, char **cause)
{
	if (!chat_stored(c) || c->sess == NULL || !c->settings_dirty)
		return 0;
	chat_set_str(&c->sess->model, c->model ? c->model : "");
	chat_set_str(&c->sess->system, c->system);
	chat_set_str(&c->sess->tools, c->tools_off);
	free(c->sess->options);
	c->sess->options = json_object_size(c->options) ? json_dumps(c->options, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	chat_set_str(&c->sess->provider, c->app->prov ? c->app->prov->kind : "");
	if (store_session_update(c->app->store, c->sess, cause) != 0)
		return -1;
	c->settings_dirty = false;
	return 0;
}

/* The parent of a message added to the end of the transcript: the last
 * one, a new root when there is none, or the store's head when the last
 * one could not be stored. */
static int64_t
chat_tail(const struct chat *c)
{
	if (c->n == 0)
		return STORE_ROOT;
	return c->msgs[c->n - 1]->id;
}

/* Append a message to the transcript and the store (unless it was stored
 * with its new session). Takes m. */
static void
chat_record(struct chat *c, struct store_msg *m)
{
	char *cause = NULL;

	if (m->id != 0) {
		chat_push(c, m);
		return;
	}
	if (m->session == NULL && c->sess != NULL)
		m->session = xstrdup(c->sess->id);
	if (m->parent == 0)
		m->parent = chat_tail(c);
	m->created = util_wall_ms();
	if (chat_stored(c) && c->sess != NULL) {
		if (store_msg_add(c->app->store, m, &cause) != 0)
			chat_store_failed(c, cause);
		else if (c->sess->title == NULL || c->sess->title[0] == '\0') {
			/* the store names an untitled session after its first
			 * user message; keep our copy in step */
			struct store_session *s = NULL;

			if (store_session_find(c->app->store, c->sess->id, &s, NULL) == 0) {
				chat_set_str(&c->sess->title, s->title);
				store_session_free(s);
			}
		}
	}
	chat_push(c, m);
}

static struct store_msg *
chat_msg_new(const char *role, const char *content)
{
	struct store_msg *m = xcalloc(1, sizeof *m);

	m->role = xstrdup(role);
	m->content = xstrdup(content ? content : "");
	m->prompt_tokens = -1;
	m->reply_tokens = -1;
	m->ttft_ms = -1;
	return m;
}

int
chat_append(struct chat *c, const char *role, const char *content, const char *tool_call_id,
    const char *tool_name, char **cause)
{
	struct store_msg *m;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming");
	m = chat_msg_new(role, content);
	m->tool_call_id = tool_call_id ? xstrdup(tool_call_id) : NULL;
	m->tool_name = tool_name ? xstrdup(tool_name) : NULL;
	if (chat_ensure_session(c, m, cause) != 0) {
		store_msg_free(m);
		return -1;
	}
	chat_record(c, m);
	return 0;
}

int
chat_append_tool(struct chat *c, const char *tool_call_id, const char *tool_name, const char *content,
    const char *error, int64_t ms, char **cause)
{
	struct store_msg *m;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming");
	m = chat_msg_new("tool", content);
	m->tool_call_id = tool_call_id ? xstrdup(tool_call_id) : NULL;
	m->tool_name = tool_name ? xstrdup(tool_name) : NULL;
	m->error = error ? xstrdup(error) : NULL;
	m->total_ns = ms * 1000000;
	if (chat_ensure_session(c, m, cause) != 0) {
		store_msg_free(m);
		return -1;
	}
	chat_record(c, m);
	return 0;
}

int
chat_append_msg(struct chat *c, const struct llm_msg *lm, char **cause)
{
	struct store_msg *m;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming");
	m = chat_msg_new(lm->role, lm->content);
	m->thinking = lm->thinking ? xstrdup(lm->thinking) : NULL;
	m->tool_calls = json_array_size(lm->tool_calls) > 0 ? json_dumps(lm->tool_calls, JSON_COMPACT) : NULL;
	m->tool_call_id = lm->tool_call_id ? xstrdup(lm->tool_call_id) : NULL;
	m->tool_name = lm->tool_name ? xstrdup(lm->tool_name) : NULL;
	if (lm->nimages > 0) {
		json_t *att = json_array();

		for (size_t i = 0; i < lm->nimages; i++)
			json_array_append_new(att, json_pack("{s:s, s:s, s:s}", "type", "image", "mime", lm->images[i].mime, "data", lm->images[i].b64));
		m->attachments = json_dumps(att, JSON_COMPACT);
		json_decref(att);
	}
	if (chat_ensure_session(c, m, cause) != 0) {
		store_msg_free(m);
		return -1;
	}
	chat_record(c, m);
	return 0;
}

/* --- building the request --------------------------------------------- */

static int64_t
chat_msg_tokens(const struct store_msg *m)
{
	int64_t t = 4 + llm_estimate_tokens(m->content, strlen(m->content));

	if (m->tool_calls != NULL)
		t += llm_estimate_tokens(m->tool_calls, strlen(m->tool_calls));
	if (m->attachments != NULL)
		t += 768; /* an image costs the model a few hundred tokens */
	return t;
}

/* Should this stored message go to the model at all? */
static bool
chat_msg_sendable(const struct store_msg *m)
{
	if (m->state == STORE_ERROR)
		return false;
	if (strcmp(m->role, "assistant") == 0 && m->content[0] == '\0' && m->tool_calls == NULL)
		return false;
	return true;
}

static void
chat_fill_llm_msg(struct llm_msg *o, const struct store_msg *m)
{
	json_t *att, *e;
	size_t i;

	o->role = xstrdup(m->role);
	o->content = xstrdup(m->content);
	if (m->tool_calls != NULL)
		o->tool_calls = json_loads(m->tool_calls, 0, NULL);
	o->tool_call_id = m->tool_call_id ? xstrdup(m->tool_call_id) : NULL;
	o->tool_name = m->tool_name ? xstrdup(m->tool_name) : NULL;
	if (m->attachments == NULL)
		return;
	att = json_loads(m->attachments, 0, NULL);
	json_array_foreach(att, i, e)
	{
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *data = json_string_value(json_object_get(e, "data"));
		const char *mime = json_string_value(json_object_get(e, "mime"));

		if (!util_streq(type, "image") || data == NULL)
			continue;
		o->images = xreallocarray(o->images, o->nimages + 1, sizeof *o->images);
		o->images[o->nimages].mime = xstrdup(mime ? mime : "image/png");
		o->images[o->nimages].b64 = xstrdup(data);
		o->nimages++;
	}
	json_decref(att);
}

static int64_t
chat_context_window(const struct chat *c)
{
	json_t *v = json_object_get(c->options, "num_ctx");

	if (json_is_integer(v) && json_integer_value(v) > 0)
		return json_integer_value(v);
	if (c->ctx_model_len > 0 && util_streq(c->ctx_model, c->model))
		return c->ctx_model_len;
	return CHAT_DEFAULT_CTX;
}

/* Tokens of a WINDOW left for the transcript once the reply's share is
 * set aside. */
static int64_t
chat_budget(const struct chat *c, int64_t window)
{
	json_t *mt = json_object_get(c->options, "max_tokens");
	int64_t reserve = json_is_integer(mt) ? json_integer_value(mt) : window / 4;

	if (reserve > 4096)
		reserve = 4096;
	if (reserve > window / 2)
		reserve = window / 2;
	return window - reserve;
}

static int64_t
chat_system_tokens(const struct chat *c)
{
	return c->system != NULL ? 4 + llm_estimate_tokens(c->system, strlen(c->system)) : 0;
}

/* Whether messages [0, upto) go whole whatever this model's window is:
 * they fit in any, or there is only the newest, which always goes. */
static bool
chat_fits_any_window(const struct chat *c, size_t upto)
{
	int64_t budget = chat_budget(c, CHAT_MIN_CTX), used = chat_system_tokens(c);
	size_t n = 0;

	for (size_t i = 0; i < upto; i++) {
		if (chat_msg_sendable(c->msgs[i]) && strcmp(c->msgs[i]->role, "system") != 0) {
			used += chat_msg_tokens(c->msgs[i]);
			if (++n > 1 && used > budget)
				return false;
		}
	}
	return true;
}

/* The messages to send: system prompt, then the newest history that fits.
 * The last message (the user turn or tool result) is always sent. */
static struct llm_msg *
chat_build(struct chat *c, size_t upto, size_t *nout)
{
	int64_t window = chat_context_window(c), budget = chat_budget(c, window);
	int64_t used = chat_system_tokens(c);
	struct llm_msg *out;
	size_t first, k = 0;

	/* walk back from the newest message while it fits */
	first = upto;
	while (first > 0) {
		const struct store_msg *m = c->msgs[first - 1];
		int64_t t;

		if (!chat_msg_sendable(m) || strcmp(m->role, "system") == 0) {
			first--;
			continue;
		}
		t = chat_msg_tokens(m);
		if (used + t > budget && first < upto)
			break;
		used += t;
		first--;
	}
	/* a tool result without the call that asked for it confuses models:
	 * the call goes too, even over the budget (the results of the newest
	 * round are what the model must see) */
	while (first > 0 && first < upto && strcmp(c->msgs[first]->role, "tool") == 0)
		first--;
	c->trimmed = 0;
	for (size_t i = 0; i < first; i++)
		if (chat_msg_sendable(c->msgs[i]) && strcmp(c->msgs[i]->role, "system") != 0)
			c->trimmed++;
	c->ctx_used = used;
	c->ctx_size = window;
	if (c->trimmed > 0)
		chat_notice(c, "history trimmed: %zu older message%s left out to fit the %lld-token context",
		    c->trimmed, c->trimmed == 1 ? "" : "s", (long long)window);

	out = xcalloc(upto - first + 2, sizeof *out);
	if (c->system != NULL) {
		out[k].role = xstrdup("system");
		out[k].content = xstrdup(c->system);
		k++;
	}
	for (size_t i = first; i < upto; i++) {
		if (!chat_msg_sendable(c->msgs[i]) || strcmp(c->msgs[i]->role, "system") == 0)
			continue;
		chat_fill_llm_msg(&out[k++], c->msgs[i]);
	}
	*nout = k;
	return out;
}

/* --- the reply ---------------------------------------------------------- */

static void
chat_sync_reply(struct chat *c)
{
	struct store_msg *r = c->reply;

	/* the reply's strings are views of the growing buffers */
	r->content = c->content.data ? c->content.data : (char *)"";
	r->thinking = c->thinking.len ? c->thinking.data : NULL;
}

static void
chat_flush_reply(struct chat *c)
{
	char *cause = NULL;
	char *tc = NULL;
	int rc;

	if (!chat_stored(c) || c->reply == NULL || c->sess == NULL)
		return;
	chat_sync_reply(c);
	if (c->tool_calls != NULL) {
		tc = json_dumps(c->tool_calls, JSON_COMPACT);
		c->reply->tool_calls = tc;
	}
	/* The reply is inserted by its first write, not as an empty row when
	 * the turn starts: one transaction fewer for every reply, and nothing
	 * of value is lost before then. */
	if (c->reply->id == 0) {
		int64_t created = c->reply->created;

		rc = store_msg_add(c->app->store, c->reply, &cause);
		c->reply->created = created;
		c->tree_stale = true; /* a new node: a retry's reply shows its version */
	} else
		rc = store_msg_update(c->app->store, c->reply, &cause);
	if (rc != 0)
		chat_store_failed(c, cause);
	c->reply->tool_calls = NULL;
	free(tc);
	c->dirty = false;
}

static void
chat_flush_timer(void *arg)
{
	struct chat *c = arg;

	c->flush = NULL;
	if (c->dirty)
		chat_flush_reply(c);
}

static void
chat_mark_dirty(struct chat *c)
{
	c->dirty = true;
	if (c->flush == NULL && chat_stored(c))
		c->flush = loop_timer_add(c->app->loop, CHAT_FLUSH_MS, chat_flush_timer, c);
}

/* The reply is over: give its strings back to the message, write it. */
static void
chat_finish_reply(struct chat *c, enum store_state state, const char *error)
{
	struct store_msg *r = c->reply;

	loop_timer_cancel(c->app->loop, c->flush);
	c->flush = NULL;
	r->state = state;
	free(r->error);
	r->error = error ? xstrdup(error) : NULL;
	c->elapsed_ms = (util_now_ns() - c->t_start) / 1000000;
	chat_flush_reply(c);
	r->content = buf_steal(&c->content);
	r->thinking = c->thinking.len ? buf_steal(&c->thinking) : NULL;
	buf_free(&c->thinking);
	if (c->tool_calls != NULL) {
		r->tool_calls = json_dumps(c->tool_calls, JSON_COMPACT);
		json_decref(c->tool_calls);
		c->tool_calls = NULL;
	}
	c->reply = NULL;
	c->turn = NULL;
}

static void
chat_emit(struct chat *c, const struct llm_ev *ev)
{
	if (c->hooks.event != NULL)
		c->hooks.event(c, ev, c->arg);
}

static void
chat_on_event(const struct llm_ev *ev, void *arg)
{
	struct chat_turn *t = arg;
	struct chat *c = t->c;
	struct llm_tool_call *tc;

	if (c == NULL) {
		/* detached: wait for the end, then go */
		if (ev->type == LLM_EV_DONE || ev->type == LLM_EV_ERROR)
			free(t);
		return;
	}
	switch (ev->type) {
	case LLM_EV_TOKEN:
	case LLM_EV_THINKING:
		if (c->t_first == 0) {
			c->t_first = util_now_ns();
			c->ttft_ms = (c->t_first - c->t_start) / 1000000;
			c->reply->ttft_ms = c->ttft_ms;
		}
		buf_append(ev->type == LLM_EV_TOKEN ? &c->content : &c->thinking, ev->text, ev->len);
		chat_sync_reply(c);
		chat_mark_dirty(c);
		break;
	case LLM_EV_TOOL_CALL:
		tc = (struct llm_tool_call *)ev->call;
		if (c->tool_calls == NULL)
			c->tool_calls = json_array();
		json_array_append_new(c->tool_calls,
		    json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", tc->id ? tc->id : "", "type", "function",
		        "function", "name", tc->name ? tc->name : "", "arguments", tc->args ? tc->args : "{}"));
		chat_mark_dirty(c);
		break;
	case LLM_EV_DONE: {
		struct store_msg *r = c->reply;

		c->stats = *ev->stats;
		if (c->stats.reply_tokens < 0) {
			c->stats.reply_tokens = llm_estimate_tokens(c->content.data ? c->content.data : "", c->content.len) +
			    llm_estimate_tokens(c->thinking.data ? c->thinking.data : "", c->thinking.len);
			c->stats.estimated = true;
		}
		if (c->stats.prompt_tokens < 0) {
			c->stats.prompt_tokens = c->ctx_used;
			c->stats.estimated = true;
		} else
			c->ctx_used = c->stats.prompt_tokens;
		c->ctx_used += c->stats.reply_tokens;
		r->prompt_tokens = c->stats.prompt_tokens;
		r->reply_tokens = c->stats.reply_tokens;
		r->estimated = c->stats.estimated;
		r->total_ns = c->stats.total_ns;
		r->load_ns = c->stats.load_ns;
		r->prompt_ns = c->stats.prompt_ns;
		r->eval_ns = c->stats.eval_ns;
		chat_finish_reply(c, STORE_COMPLETE, NULL);
		free(t);
		chat_emit(c, ev);
		break;
	}
	case LLM_EV_ERROR: {
		char *msg = xstrndup(ev->text ? ev->text : "", ev->len);
		bool nothing = c->content.len == 0 && c->thinking.len == 0 && c->tool_calls == NULL;

		llm_stats_init(&c->stats);
		chat_finish_reply(c, ev->err == LLM_ERR_CANCELLED ? STORE_INTERRUPTED : STORE_ERROR, msg);
		free(msg);
		free(t);
		if (nothing && (ev->err == LLM_ERR_CONNECT || ev->err == LLM_ERR_NOT_FOUND))
			chat_take_back(c);
		chat_emit(c, ev);
		break;
	}
	}
	if (ev->type == LLM_EV_TOKEN || ev->type == LLM_EV_THINKING || ev->type == LLM_EV_TOOL_CALL)
		chat_emit(c, ev);
}

/* Undo a turn that never reached a model: its messages, and the session if
 * the turn created it. */
static void
chat_take_back(struct chat *c)
{
	size_t drop = c->turn_user ? 2 : 1;
	char *cause = NULL;

	for (size_t i = 0; i < drop && c->n > 0; i++) {
		struct store_msg *m = c->msgs[--c->n];

		if (chat_stored(c) && m->id != 0 && !c->turn_new_session &&
		    store_msg_delete(c->app->store, m->id, &cause) != 0)
			chat_store_failed(c, cause);
		store_msg_free(m);
	}
	if (c->turn_new_session && c->sess != NULL && c->n == 0) {
		if (chat_stored(c) && store_session_delete(c->app->store, c->sess->id, &cause) != 0)
			chat_store_failed(c, cause);
		store_session_free(c->sess);
		c->sess = NULL;
	}
	c->turn_user = false;
	/* a retry or an edit that failed shows the branch it started from */
	if (c->turn_prev_head > 0 && chat_stored(c) && c->sess != NULL) {
		int64_t head = c->turn_prev_head;

		c->turn_prev_head = 0;
		if (store_set_head(c->app->store, c->sess->id, head, &cause) != 0 ||
		    chat_reload_path(c, &cause) != 0)
			chat_store_failed(c, cause);
	}
}

/* Send the transcript up to (not including) the reply placeholder. */
static void
chat_dispatch(struct chat *c, struct chat_turn *t)
{
	struct llm_req req = { 0 };
	struct llm_msg *msgs;
	size_t n;

	msgs = chat_build(c, c->n - 1, &n);
	req.model = c->model;
	req.msgs = msgs;
	req.nmsgs = n;
	req.options = c->options;
	req.think = c->think;
	req.tools = c->tools;
	req.tool_choice = c->tool_choice;
	req.format = c->format;
	req.schema_spec = c->schema_spec;
	req.stream = c->stream;
	c->t_start = util_now_ns();
	t->req = c->app->prov->ops->chat(c->app->prov, &req, chat_on_event, t);
	llm_msgs_free(msgs, n);
}

static void
chat_on_probe(enum llm_err err, const char *msg, json_t *result, void *arg)
{
	struct chat_probe *p = arg;
	struct chat *c = p->c;

	(void)msg;
	if (c != NULL) {
		c->probe = NULL;
		chat_set_str(&c->ctx_model, p->model);
		c->ctx_model_len = err == LLM_OK ? json_integer_value(json_object_get(result, "context_length")) : 0;
		if (c->ctx_model_len <= 0)
			c->ctx_model_len = -1; /* asked; unknown */
		if (p->waiting != NULL)
			chat_dispatch(c, p->waiting);
		else if (util_streq(p->model, c->model) && !json_is_integer(json_object_get(c->options, "num_ctx")))
			c->ctx_size = chat_context_window(c); /* the size the faces show */
	}
	free(p->model);
	free(p);
}

/* Ask for the window of the chat's model, unless that is under way. */
static void
chat_probe_start(struct chat *c)
{
	if (c->probe != NULL && util_streq(c->probe->model, c->model))
		return;
	chat_probe_drop(c);
	c->probe = xcalloc(1, sizeof *c->probe);
	c->probe->c = c;
	c->probe->model = xstrdup(c->model);
	c->probe->req = c->app->prov->ops->show(c->app->prov, c->model, chat_on_probe, c->probe);
}

/* Abandon the lookup (another model's, or the chat is going); its answer
 * is then dropped. */
static void
chat_probe_drop(struct chat *c)
{
	if (c->probe == NULL)
		return;
	c->probe->c = NULL;
	prov_cancel(c->probe->req);
	c->probe = NULL;
}

/* Start a request for the transcript as it stands, with an empty reply. */
static int
chat_start(struct chat *c, char **cause)
{
	struct chat_turn *t;
	json_t *nc = json_object_get(c->options, "num_ctx");

	if (c->model == NULL || c->model[0] == '\0')
		return util_fail(cause, "no model chosen; name one with -m (see `parley models`)");
	c->reply = chat_msg_new("assistant", "");
	c->reply->model = xstrdup(c->model);
	c->reply->state = STORE_STREAMING;
	c->reply->created = util_wall_ms();
	if (c->sess != NULL)
		c->reply->session = xstrdup(c->sess->id);
	c->reply->parent = chat_tail(c);
	c->store_warned = false;
	chat_push(c, c->reply);
	free(c->reply->content);
	c->reply->content = NULL;
	buf_reset(&c->content);
	buf_reset(&c->thinking);
	buf_append(&c->content, "", 0);
	chat_sync_reply(c);
	c->t_first = 0;
	c->ttft_ms = -1;
	c->t_start = util_now_ns();

	t = xcalloc(1, sizeof *t);
	t->c = c;
	c->turn = t;
	/* Learn the model's context window once, unless num_ctx says it:
	 * before the chat if trimming the history needs it, else beside it. */
	if (!json_is_integer(nc) && !util_streq(c->ctx_model, c->model)) {
		chat_probe_start(c);
		if (!chat_fits_any_window(c, c->n - 1)) {
			c->probe->waiting = t;
			return 0;
		}
	}
	chat_dispatch(c, t);
	return 0;
}

/* Ready for a turn; first: the turn's user message, stored with the
 * session when the turn creates one. */
static int
chat_ready(struct chat *c, struct store_msg *first, char **cause)
{
	c->turn_user = false;
	c->turn_prev_head = 0;
	c->turn_new_session = c->sess == NULL;
	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming (stop it first)");
	if (c->app->prov == NULL)
		return util_fail(cause, "no backend");
	if (c->model == NULL || c->model[0] == '\0')
		return util_fail(cause, "no model chosen; name one with -m (see `parley models`)");
	if (chat_ensure_session(c, first, cause) != 0)
		return -1;
	if (chat_save_settings(c, cause) != 0)
		return -1;
	return 0;
}

int
chat_send(struct chat *c, const char *text, struct llm_image *images, size_t nimages, char **cause)
{
	struct store_msg *m = chat_msg_new("user", text);
	char *why = NULL;

	if (nimages > 0) {
		json_t *att = json_array();

		for (size_t i = 0; i < nimages; i++) {
			json_array_append_new(att, json_pack("{s:s, s:s, s:s}", "type", "image", "mime", images[i].mime, "data", images[i].b64));
			free(images[i].mime);
			free(images[i].b64);
		}
		free(images);
		m->attachments = json_dumps(att, JSON_COMPACT);
		json_decref(att);
	}
	if (chat_ready(c, m, &why) != 0) {
		/* a broken store must not stop the conversation */
		if (c->turn != NULL || c->model == NULL || c->app->prov == NULL || c->model[0] == '\0') {
			*cause = why;
			store_msg_free(m);
			return -1;
		}
		chat_store_failed(c, why);
	}
	chat_record(c, m);
	if (chat_start(c, cause) != 0)
		return -1;
	c->turn_user = true;
	return 0;
}

int
chat_continue(struct chat *c, char **cause)
{
	if (chat_ready(c, NULL, cause) != 0)
		return -1;
	return chat_start(c, cause);
}

/* The id of the last message on show, to come back to if a retry or an
 * edit never reaches the model. */
static int64_t
chat_head(const struct chat *c)
{
	return chat_stored(c) && c->sess != NULL && c->n > 0 ? c->msgs[c->n - 1]->id : 0;
}

/* Take the transcript's messages from i on off the branch on show: in the
 * store they stay, on the branch they belong to (a chat that is not stored
 * has no other branch: there they are gone). */
static void
chat_cut(struct chat *c, size_t i)
{
	while (c->n > i)
		store_msg_free(c->msgs[--c->n]);
	c->tree_stale = true;
}

int
chat_retry(struct chat *c, char **cause)
{
	int64_t head = chat_head(c);
	size_t i;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming (stop it first)");
	/* the new reply goes beside the replies after the last question */
	for (i = c->n; i > 0 && strcmp(c->msgs[i - 1]->role, "assistant") == 0; i--)
		;
	if (i == 0)
		return util_fail(cause, "nothing to retry");
	if (chat_ready(c, NULL, cause) != 0)
		return -1;
	c->turn_prev_head = head;
	chat_cut(c, i);
	return chat_start(c, cause);
}

int
chat_edit(struct chat *c, size_t i, const char *text, char **cause)
{
	int64_t head = chat_head(c);
	struct store_msg *m;

	if (c->turn != NULL)
		return util_fail(cause, "a reply is still streaming (stop it first)");
	if (i >= c->n || strcmp(c->msgs[i]->role, "user") != 0)
		return util_fail(cause, "message %zu is not one of your questions", i + 1);
	if (chat_ready(c, NULL, cause) != 0)
		return -1;
	m = chat_msg_new("user", text);
	/* the images go with the question */
	m->attachments = c->msgs[i]->attachments ? xstrdup(c->msgs[i]->attachments) : NULL;
	c->turn_prev_head = head;
	chat_cut(c, i);
	chat_record(c, m);
	c->turn_user = true;
	return chat_start(c, cause);
}

void
chat_stop(struct chat *c)
{
	struct chat_turn *t = c->turn;
	struct llm_ev ev = { 0 };

	if (t == NULL)
		return;
	chat_finish_reply(c, STORE_INTERRUPTED, "interrupted");
	t->c = NULL;
	if (t->req != NULL) {
		prov_cancel(t->req);
	} else {
		/* still waiting for the window: the lookup goes on without it */
		if (c->probe != NULL && c->probe->waiting == t)
			c->probe->waiting = NULL;
		free(t);
	}
	ev.type = LLM_EV_ERROR;
	ev.err = LLM_ERR_CANCELLED;
	ev.text = "interrupted";
	ev.len = strlen(ev.text);
	chat_emit(c, &ev);
}

bool
chat_busy(const struct chat *c)
{
	return c->turn != NULL;
}

int
chat_clear(struct chat *c, char **cause)
{
	chat_stop(c);
	if (chat_stored(c) && c->sess != NULL && store_session_clear(c->app->store, c->sess->id, cause) != 0)
		return -1;
	chat_drop_msgs(c);
	c->ctx_used = 0;
	return 0;
}

size_t
chat_count(const struct chat *c)
{
	return c->n;
}

const struct store_msg *
chat_msg(const struct chat *c, size_t i)
{
	return i < c->n ? c->msgs[i] : NULL;
}

const struct llm_stats *
chat_stats(const struct chat *c)
{
	return &c->stats;
}

int64_t
chat_ttft_ms(const struct chat *c)
{
	return c->ttft_ms;
}

int64_t
chat_elapsed_ms(const struct chat *c)
{
	if (c->turn != NULL)
		return (util_now_ns() - c->t_start) / 1000000;
	return c->elapsed_ms;
}

int64_t
chat_context_used(const struct chat *c)
{
	return c->ctx_used;
}

int64_t
chat_context_size(const struct chat *c)
{
	return c->ctx_size ? c->ctx_size : chat_context_window(c);
}

void
chat_set_model_context(struct chat *c, const char *model, int64_t len)
{
	chat_set_str(&c->ctx_model, model);
	c->ctx_model_len = len > 0 ? len : -1;
}

int64_t
chat_model_context(const struct chat *c, const char **model)
{
	if (model != NULL)
		*model = c->ctx_model;
	return c->ctx_model != NULL ? c->ctx_model_len : 0;
}

size_t
chat_trimmed(const struct chat *c)
{
	return c->trimmed;
}
