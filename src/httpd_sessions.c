/*
 * httpd_sessions.c: the listener's view of the session store:
 * /v1/sessions (list, one with its messages, rename, delete) and the
 * drop-in /sessions and /chat/clear. Every answer is built at once from
 * the store (one SQLite connection per process, shared with the faces);
 * sessions are addressed by their exact id only, never by prefix or title,
 * so a client cannot land in the wrong conversation by accident.
 *
 * Shapes: /v1 sessions are {"id","object":"session","title","model",
 * "provider","origin","system","created","updated","message_count"} with
 * unix-second times; the drop-in list uses "session_id", "message_count"
 * and ISO 8601 times. One session also has "head", the id of the last
 * message of the branch on show, and "messages", that branch (or, with
 * ?branches=all, every message), each with its "id" and "parent".
 */
#include "httpd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HTTPD_SESSIONS_LIMIT 100
#define HTTPD_SESSIONS_MAX 1000

static const char *const httpd_sessions_states[] = { "complete", "streaming", "interrupted", "error" };

/* The store, or an answer saying why there is none. */
static struct store *
httpd_sessions_store(struct httpd_req *r)
{
	struct app *a = httpd_req_app(r);

	if (a->store == NULL)
		httpd_fail(r, 503, "server_error", NULL, "store_unavailable", "the session store is not available: %s",
		    a->store_error ? a->store_error : "not opened");
	return a->store;
}

static json_t *
httpd_sessions_json(const struct store_session *s)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s?, s:I, s:I, s:I}", "id", s->id, "object", "session",
	    "title", s->title ? s->title : "", "model", s->model ? s->model : "", "provider",
	    s->provider ? s->provider : "", "origin", s->origin ? s->origin : "", "system", s->system,
	    "created", (json_int_t)(s->created / 1000), "updated", (json_int_t)(s->updated / 1000),
	    "message_count", (json_int_t)s->nmessages);
}

static json_t *
httpd_sessions_msg(const struct store_msg *m)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)m->id, "role", m->role, "content",
	    m->content ? m->content : "", "state",
	    httpd_sessions_states[m->state >= STORE_COMPLETE && m->state <= STORE_ERROR ? m->state : 0], "created",
	    (json_int_t)(m->created / 1000));
	json_t *v;

	if (o == NULL) /* text the store kept is not UTF-8: say so, do not fail */
		o = json_pack("{s:I, s:s, s:s}", "id", (json_int_t)m->id, "role", m->role, "content", "");
	json_object_set_new(o, "parent", m->parent > 0 ? json_integer((json_int_t)m->parent) : json_null());
	if (m->thinking != NULL)
		json_object_set_new(o, "reasoning_content", json_string(m->thinking));
	if (m->tool_calls != NULL && (v = json_loads(m->tool_calls, 0, NULL)) != NULL)
		json_object_set_new(o, "tool_calls", v);
	if (m->tool_call_id != NULL)
		json_object_set_new(o, "tool_call_id", json_string(m->tool_call_id));
	if (m->tool_name != NULL)
		json_object_set_new(o, "name", json_string(m->tool_name));
	if (m->model != NULL)
		json_object_set_new(o, "model", json_string(m->model));
	if (m->error != NULL)
		json_object_set_new(o, "error", json_string(m->error));
	if (m->attachments != NULL && (v = json_loads(m->attachments, 0, NULL)) != NULL) {
		json_object_set_new(o, "attachments", json_integer((json_int_t)json_array_size(v)));
		json_decref(v);
	}
	if (m->prompt_tokens >= 0 || m->reply_tokens >= 0)
		json_object_set_new(o, "usage", json_pack("{s:I, s:I, s:b}", "prompt_tokens", (json_int_t)(m->prompt_tokens > 0 ? m->prompt_tokens : 0), "completion_tokens", (json_int_t)(m->reply_tokens > 0 ? m->reply_tokens : 0), "estimated", m->estimated));
	return o;
}

/* The session named by the path, or an answer (404) saying there is none. */
static struct store_session *
httpd_sessions_find(struct httpd_req *r, struct store *st, const char *id)
{
	struct store_session *s = NULL;
	char *cause = NULL;
	int rc;

	if (!store_session_id_valid(id)) {
		httpd_fail(r, 404, "invalid_request_error", "session_id", "session_not_found", "no session has the id '%.64s'", id);
		return NULL;
	}
	rc = store_session_by_id(st, id, &s, &cause);
	if (rc < 0) {
		httpd_fail(r, 500, "server_error", NULL, NULL, "%s", cause);
		free(cause);
		return NULL;
	}
	if (rc == 1)
		httpd_fail(r, 404, "invalid_request_error", "session_id", "session_not_found", "no session has the id '%s'", id);
	return s;
}

static size_t
httpd_sessions_limit(struct httpd_req *r)
{
	const char *v = httpd_req_query(r, "limit");
	long n = v != NULL ? strtol(v, NULL, 10) : 0;

	if (n <= 0)
		return HTTPD_SESSIONS_LIMIT;
	return n > HTTPD_SESSIONS_MAX ? HTTPD_SESSIONS_MAX : (size_t)n;
}

void
httpd_sessions_list(struct httpd_req *r)
{
	struct store *st = httpd_sessions_store(r);
	struct store_session **v = NULL;
	char *cause = NULL;
	size_t n = 0;
	json_t *data;

	if (st == NULL)
		return;
	if (store_session_list(st, httpd_req_query(r, "q"), httpd_sessions_limit(r), &v, &n, &cause) != 0) {
		httpd_fail(r, 500, "server_error", NULL, NULL, "%s", cause);
		free(cause);
		return;
	}
	data = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(data, httpd_sessions_json(v[i]));
	store_sessions_free(v, n);
	httpd_reply(r, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

void
httpd_sessions_get(struct httpd_req *r)
{
	struct store *st = httpd_sessions_store(r);
	struct store_session *s;
	struct store_msg **v = NULL;
	char *cause = NULL;
	size_t n = 0;
	json_t *o, *msgs;
	bool all;

	if (st == NULL || (s = httpd_sessions_find(r, st, httpd_req_arg(r))) == NULL)
		return;
	/* the branch on show, or ?branches=all every message of the tree */
	all = util_streq(httpd_req_query(r, "branches"), "all");
	if ((all ? store_messages_all : store_messages)(st, s->id, &v, &n, &cause) != 0) {
		httpd_fail(r, 500, "server_error", NULL, NULL, "%s", cause);
		free(cause);
		store_session_free(s);
		return;
	}
	o = httpd_sessions_json(s);
	/* the last message of the branch on show */
	if (n > 0)
		json_object_set_new(o, "head", json_integer((json_int_t)(all && s->head > 0 ? s->head : v[n - 1]->id)));
	msgs = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(msgs, httpd_sessions_msg(v[i]));
	json_object_set_new(o, "messages", msgs);
	store_msgs_free(v, n);
	store_session_free(s);
	httpd_reply(r, 200, o);
}

void
httpd_sessions_patch(struct httpd_req *r)
{
	struct store *st = httpd_sessions_store(r);
	json_t *title = json_object_get(httpd_req_body(r), "title");
	struct store_session *s;
	char *cause = NULL;

	if (st == NULL)
		return;
	if (!json_is_string(title)) {
		httpd_fail(r, 400, NULL, "title", NULL, "title: must be a string");
		return;
	}
	if (json_string_length(title) > 1000) {
		httpd_fail(r, 400, NULL, "title", NULL, "title: at most 1000 bytes");
		return;
	}
	if ((s = httpd_sessions_find(r, st, httpd_req_arg(r))) == NULL)
		return;
	if (store_session_rename(st, s->id, json_string_value(title), &cause) != 0) {
		httpd_fail(r, 500, "server_error", NULL, NULL, "%s", cause);
		free(cause);
		store_session_free(s);
		return;
	}
	free(s->title);
	s->title = xstrdup(json_string_value(title));
	httpd_changed(httpd_req_httpd(r), s->id);
	httpd_reply(r, 200, httpd_sessions_json(s));
	store_session_free(s);
}

void
httpd_sessions_delete(struct httpd_req *r)
{
	struct store *st = httpd_sessions_store(r);
	struct store_session *s;
	char *cause = NULL;

	if (st == NULL || (s = httpd_sessions_find(r, st, httpd_req_arg(r))) == NULL)
		return;
	if (store_session_delete(st, s->id, &cause) != 0) {
		httpd_fail(r, 500, "server_error", NULL, NULL, "%s", cause);
		free(cause);
		store_session_free(s);
		return;
	}
	httpd_changed(httpd_req_httpd(r), s->id);
	httpd_reply(r, 200, json_pack("{s:s, s:s, s:b}", "id", s->id, "object", "session.deleted", "deleted", 1));
	store_session_free(s);
}

/* ---- drop-in routes ---- */

static json_t *
httpd_sessions_iso(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char b[32];

	gmtime_r(&t, &tm);
	strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(b);
}

void
httpd_sessions_plain(struct httpd_req *r)
{
	struct store *st = httpd_sessions_store(r);
	struct store_session **v = NULL;
	char *cause = NULL;
	size_t n = 0;
	json_t *list;

	if (st == NULL)
		return;
	if (store_session_list(st, NULL, httpd_sessions_limit(r), &v, &n, &cause) != 0) {
		httpd_fail(r, 500, NULL, NULL, NULL, "%s", cause);
		free(cause);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s, s:I, s:o, s:o}", "session_id", v[i]->id, "title", v[i]->title ? v[i]->title : "", "model", v[i]->model ? v[i]->model : "", "origin", v[i]->origin ? v[i]->origin : "", "message_count", (json_int_t)v[i]->nmessages, "created_at", httpd_sessions_iso(v[i]->created), "updated_at", httpd_sessions_iso(v[i]->updated)));
	store_sessions_free(v, n);
	httpd_reply(r, 200, json_pack("{s:o, s:I}", "sessions", list, "count", (json_int_t)n));
}

void
httpd_sessions_clear(struct httpd_req *r)
{
	struct store *st = httpd_sessions_store(r);
	json_t *id = json_object_get(httpd_req_body(r), "session_id");
	struct store_session *s;
	char *cause = NULL;

	if (st == NULL)
		return;
	if (!json_is_string(id) || json_string_length(id) == 0) {
		httpd_fail(r, 400, NULL, "session_id", NULL, "session_id is required");
		return;
	}
	if ((s = httpd_sessions_find(r, st, json_string_value(id))) == NULL)
		return;
	if (store_session_clear(st, s->id, &cause) != 0) {
		httpd_fail(r, 500, NULL, NULL, NULL, "%s", cause);
		free(cause);
		store_session_free(s);
		return;
	}
	httpd_changed(httpd_req_httpd(r), s->id);
	httpd_reply(r, 200, json_pack("{s:s, s:s}", "status", "cleared", "session_id", s->id));
	store_session_free(s);
}
