/*
 * test_store.c: the session store against real SQLite files, one temporary
 * directory per test. Some tests reach past the API with raw SQLite to set up
 * what parley itself never writes (an old schema, a newer one, a foreign
 * file) or to look at what the store left on disk.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "store.h"
#include "tree.h"
#include "util.h"

struct fixture {
	char dir[64];
	char *db;
};

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int
setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof *f);

	snprintf(f->dir, sizeof f->dir, "/tmp/parley-store.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->db = xasprintf("%s/data/parley/parley.db", f->dir);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f->db);
	free(f);
	return 0;
}

/* One integer from raw SQL on a separate connection. */
static int64_t
raw_int(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	int64_t v = -999;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 10000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static char *
raw_text(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *s;
	char *v = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_finalize(s);
	sqlite3_close(db);
	return v;
}

static void
raw_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s", err);
	sqlite3_close(db);
}

static struct store *
open_ok(const char *path)
{
	char *cause = NULL;
	struct store *st = store_open(path, &cause);

	if (st == NULL)
		fail_msg("store_open: %s", cause);
	return st;
}

static char *
new_session(struct store *st, const char *title, const char *model)
{
	struct store_session s = { 0 };
	char *cause = NULL;

	s.title = (char *)title;
	s.provider = (char *)"ollama";
	s.model = (char *)model;
	s.origin = (char *)"pipe";
	if (store_session_new(st, &s, &cause) != 0)
		fail_msg("store_session_new: %s", cause);
	assert_int_equal(strlen(s.id), 8);
	assert_true(s.created > 0);
	return s.id;
}

static int64_t
add_msg(struct store *st, const char *session, const char *role, const char *content)
{
	struct store_msg m = { 0 };
	char *cause = NULL;

	m.session = (char *)session;
	m.role = (char *)role;
	m.content = (char *)content;
	m.prompt_tokens = m.reply_tokens = m.ttft_ms = -1;
	if (store_msg_add(st, &m, &cause) != 0)
		fail_msg("store_msg_add: %s", cause);
	assert_true(m.id > 0);
	return m.id;
}

static struct store_session *
find_ok(struct store *st, const char *key)
{
	struct store_session *s = NULL;
	char *cause = NULL;
	int rc = store_session_find(st, key, &s, &cause);

	if (rc != 0)
		fail_msg("find '%s': %d %s", key, rc, cause ? cause : "");
	return s;
}

static void
test_open_creates(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	char *mode;

	assert_string_equal(store_path(st), f->db);
	assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 4);
	mode = raw_text(f->db, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	store_close(st);
	/* Opening again is quiet and keeps the version. */
	st = open_ok(f->db);
	store_close(st);
	assert_int_equal(raw_int(f->db, "PRAGMA user_version"), 4);
}

static void
test_default_path(void **state)
{
	char *p;

	(void)state;
	setenv("PARLEY_DB", "/x/y.db", 1);
	p = store_default_path();
	assert_string_equal(p, "/x/y.db");
	free(p);
	unsetenv("PARLEY_DB");
	setenv("XDG_DATA_HOME", "/data", 1);
	p = store_default_path();
	assert_string_equal(p, "/data/parley/parley.db");
	free(p);
}

static void
test_find(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	char *ids[40], *cause = NULL, prefix[2] = { 0 };
	struct store_session *s;
	int counts[256] = { 0 };

	for (int i = 0; i < 40; i++) {
		char title[32];

		snprintf(title, sizeof title, "chat %d", i);
		ids[i] = new_session(st, title, "llama3.2");
		counts[(unsigned char)ids[i][0]]++;
		for (int j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
	/* exact id, unique prefix, title */
	s = find_ok(st, ids[7]);
	assert_string_equal(s->title, "chat 7");
	assert_string_equal(s->model, "llama3.2");
	assert_string_equal(s->provider, "ollama");
	assert_string_equal(s->origin, "pipe");
	store_session_free(s);
	s = find_ok(st, "chat 12");
	assert_string_equal(s->id, ids[12]);
	store_session_free(s);
	for (int i = 0; i < 40; i++) {
		char p7[8];
		int same = 0;

		memcpy(p7, ids[i], 7);
		p7[7] = '\0';
		for (int j = 0; j < 40; j++)
			same += strncmp(ids[j], p7, 7) == 0;
		if (same == 1) {
			s = find_ok(st, p7);
			assert_string_equal(s->id, ids[i]);
			store_session_free(s);
		}
	}
	/* 40 ids over 36 first characters: some first character repeats. */
	for (int c = 0; c < 256; c++)
		if (counts[c] >= 2)
			prefix[0] = (char)c;
	assert_true(prefix[0] != 0);
	s = NULL;
	assert_int_equal(store_session_find(st, prefix, &s, &cause), -1);
	assert_null(s);
	assert_non_null(strstr(cause, "matches several sessions"));
	free(cause);
	cause = NULL;
	/* nothing */
	assert_int_equal(store_session_find(st, "zzzzzzzzz", &s, &cause), 1);
	assert_int_equal(store_session_find(st, "no such title", &s, &cause), 1);
	assert_int_equal(store_session_find(st, "", &s, &cause), 1);
	assert_null(cause);
	/* a title shared by two: the newest wins */
	char *older = new_session(st, "twin", "m"), *newer;

	usleep(2000);
	newer = new_session(st, "twin", "m");
	s = find_ok(st, "twin");
	assert_string_equal(s->id, newer);
	store_session_free(s);
	free(older);
	free(newer);
	/* latest */
	assert_int_equal(store_session_latest(st, &s, &cause), 0);
	assert_string_equal(s->title, "twin");
	store_session_free(s);
	for (int i = 0; i < 40; i++)
		free(ids[i]);
	store_close(st);
}

/* A client's own session id: used as given, looked up exactly, refused
 * when invalid or taken. */
static void
test_preset_id(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_session s = { 0 }, *got = NULL;
	char *cause = NULL;

	s.id = (char *)"Client.Session-1_x";
	s.origin = (char *)"api";
	assert_int_equal(store_session_new(st, &s, &cause), 0);
	assert_string_equal(s.id, "Client.Session-1_x");
	assert_int_equal(store_session_by_id(st, "Client.Session-1_x", &got, &cause), 0);
	assert_string_equal(got->origin, "api");
	store_session_free(got);
	/* exact only: neither a prefix nor a title matches */
	assert_int_equal(store_session_by_id(st, "Client", &got, &cause), 1);
	assert_null(got);
	assert_int_equal(store_session_new(st, &s, &cause), -1);
	assert_non_null(strstr(cause, "already taken"));
	free(cause);
	cause = NULL;
	s.id = (char *)"bad id!";
	assert_int_equal(store_session_new(st, &s, &cause), -1);
	assert_non_null(strstr(cause, "session id"));
	free(cause);
	assert_true(store_session_id_valid("a"));
	assert_false(store_session_id_valid(""));
	assert_false(store_session_id_valid("x/y"));
	assert_true(store_session_id_valid("0123456789012345678901234567890123456789012345678901234567890123"));
	assert_false(store_session_id_valid("01234567890123456789012345678901234567890123456789012345678901234"));
	store_close(st);
}

/* A session and its first message in one go, as a new conversation starts. */
static void
test_session_start(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_session s = { 0 }, t = { 0 }, *got;
	struct store_msg m = { 0 }, m2 = { 0 }, **v;
	char *cause = NULL;
	size_t n;

	s.title = xstrdup("");
	s.origin = (char *)"api";
	m.role = (char *)"user";
	m.content = (char *)"  plan a   trip to Oslo ";
	m.prompt_tokens = m.reply_tokens = m.ttft_ms = -1;
	assert_int_equal(store_session_start(st, &s, &m, &cause), 0);
	assert_true(m.id > 0);
	assert_string_equal(m.session, s.id);
	assert_string_equal(s.title, "plan a trip to Oslo");
	assert_true(m.created > 0 && s.updated >= m.created);
	got = find_ok(st, s.id);
	assert_string_equal(got->title, "plan a trip to Oslo");
	assert_int_equal(got->nmessages, 1);
	assert_int_equal(got->updated, s.updated);
	store_session_free(got);
	assert_int_equal(store_messages(st, s.id, &v, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->content, m.content);
	store_msgs_free(v, n);

	/* a titled session keeps its title; a taken id stores nothing */
	t.id = s.id;
	t.title = xstrdup("mine");
	t.origin = (char *)"api";
	m2.role = (char *)"user";
	m2.content = (char *)"other";
	m2.prompt_tokens = m2.reply_tokens = m2.ttft_ms = -1;
	assert_int_equal(store_session_start(st, &t, &m2, &cause), -1);
	assert_non_null(strstr(cause, "already taken"));
	free(cause);
	assert_int_equal(m2.id, 0);
	assert_null(m2.session);
	t.id = (char *)"mine-1";
	assert_int_equal(store_session_start(st, &t, &m2, &cause), 0);
	assert_int_equal(store_session_by_id(st, "mine-1", &got, &cause), 0);
	assert_string_equal(got->title, "mine");
	store_session_free(got);
	free(m.session);
	free(m2.session);
	free(s.id);
	free(s.title);
	free(t.title);
	store_close(st);
}

static void
test_list(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_session **v;
	char *a, *b, *c, *cause = NULL;
	size_t n;

	a = new_session(st, "Alpha talk", "m1");
	usleep(2000);
	b = new_session(st, "beta talk", "m2");
	usleep(2000);
	c = new_session(st, "gamma", "m3");
	usleep(2000);
	add_msg(st, a, "user", "hello");
	add_msg(st, a, "assistant", "hi there");

	assert_int_equal(store_session_list(st, NULL, 0, &v, &n, &cause), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[0]->id, a); /* touched last */
	assert_string_equal(v[1]->id, c);
	assert_string_equal(v[2]->id, b);
	assert_int_equal(v[0]->nmessages, 2);
	assert_int_equal(v[1]->nmessages, 0);
	assert_true(v[0]->updated > v[0]->created);
	store_sessions_free(v, n);

	assert_int_equal(store_session_list(st, "TALK", 0, &v, &n, &cause), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->id, a);
	assert_string_equal(v[1]->id, b);
	store_sessions_free(v, n);

	assert_int_equal(store_session_list(st, c + 2, 0, &v, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(v[0]->id, c);
	store_sessions_free(v, n);

	assert_int_equal(store_session_list(st, "%", 0, &v, &n, &cause), 0);
	assert_int_equal(n, 0);
	store_sessions_free(v, n);

	assert_int_equal(store_session_list(st, NULL, 2, &v, &n, &cause), 0);
	assert_int_equal(n, 2);
	store_sessions_free(v, n);
	free(a);
	free(b);
	free(c);
	store_close(st);
}

static void
test_messages_and_titles(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_session *s;
	struct store_msg m = { 0 }, **v;
	char *id, *id2, *cause = NULL;
	size_t n;
	int64_t first;

	id = new_session(st, "", "m");
	add_msg(st, id, "system", "be brief");
	first = add_msg(st, id, "user", "  What   is\tthe\n\ncapital of   France?  ");
	s = find_ok(st, id);
	assert_string_equal(s->title, "What is the capital of France?");
	store_session_free(s);
	add_msg(st, id, "user", "second question");
	s = find_ok(st, id);
	assert_string_equal(s->title, "What is the capital of France?");
	store_session_free(s);

	m.session = id;
	m.parent = first;
	m.role = (char *)"assistant";
	m.content = (char *)"Paris.";
	m.thinking = (char *)"easy one";
	m.tool_calls = (char *)"[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]";
	m.attachments = (char *)"[{\"type\":\"file\",\"name\":\"a.txt\"}]";
	m.model = (char *)"llama3.2";
	m.prompt_tokens = 12;
	m.reply_tokens = 3;
	m.estimated = true;
	m.ttft_ms = 150;
	m.total_ns = 1000;
	m.load_ns = 10;
	m.prompt_ns = 200;
	m.eval_ns = 700;
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	assert_int_equal(store_messages_all(st, id, &v, &n, &cause), 0);
	assert_int_equal(n, 4);
	assert_string_equal(v[0]->role, "system");
	assert_string_equal(v[1]->content, "  What   is\tthe\n\ncapital of   France?  ");
	assert_string_equal(v[3]->content, "Paris.");
	assert_int_equal(v[3]->parent, first);
	assert_int_equal(v[1]->parent, v[0]->id); /* added after the head */
	assert_string_equal(v[3]->thinking, "easy one");
	assert_null(v[1]->thinking);
	assert_string_equal(v[3]->tool_calls, m.tool_calls);
	assert_string_equal(v[3]->attachments, m.attachments);
	assert_string_equal(v[3]->model, "llama3.2");
	assert_int_equal(v[3]->prompt_tokens, 12);
	assert_int_equal(v[3]->reply_tokens, 3);
	assert_true(v[3]->estimated);
	assert_int_equal(v[3]->ttft_ms, 150);
	assert_int_equal(v[3]->total_ns, 1000);
	assert_int_equal(v[3]->load_ns, 10);
	assert_int_equal(v[3]->prompt_ns, 200);
	assert_int_equal(v[3]->eval_ns, 700);
	assert_int_equal(v[3]->state, STORE_COMPLETE);
	assert_int_equal(v[1]->prompt_tokens, -1);
	assert_string_equal(v[3]->session, id);
	store_msgs_free(v, n);

	/* update and delete */
	m.content = (char *)"Paris, France.";
	m.state = STORE_ERROR;
	m.error = (char *)"backend went away";
	assert_int_equal(store_msg_update(st, &m, &cause), 0);
	assert_int_equal(store_msg_delete(st, first, &cause), 0);
	assert_int_equal(store_messages_all(st, id, &v, &n, &cause), 0);
	assert_int_equal(n, 3);
	assert_string_equal(v[2]->content, "Paris, France.");
	assert_int_equal(v[2]->state, STORE_ERROR);
	assert_string_equal(v[2]->error, "backend went away");
	store_msgs_free(v, n);
	s = find_ok(st, id);
	assert_int_equal(s->nmessages, 3);
	store_session_free(s);
	m.id = 999999;
	assert_int_equal(store_msg_update(st, &m, &cause), -1);
	free(cause);
	cause = NULL;
	assert_int_equal(store_msg_delete(st, 999999, &cause), -1);
	free(cause);
	cause = NULL;
	/* a message for a session that does not exist */
	m.session = (char *)"nosuchid";
	assert_int_equal(store_msg_add(st, &m, &cause), -1);
	assert_non_null(strstr(cause, "nosuchid"));
	free(cause);
	cause = NULL;

	/* a long first message: cut at a word boundary near 60 characters */
	id2 = new_session(st, "", "m");
	add_msg(st, id2, "user", "Explain in detail how the Linux kernel schedules threads across many cores under heavy load");
	s = find_ok(st, id2);
	assert_string_equal(s->title, "Explain in detail how the Linux kernel schedules threads…");
	store_session_free(s);
	/* rename sticks */
	assert_int_equal(store_session_rename(st, id2, "Scheduling", &cause), 0);
	add_msg(st, id2, "user", "more");
	s = find_ok(st, "Scheduling");
	assert_string_equal(s->id, id2);
	store_session_free(s);
	assert_int_equal(store_session_rename(st, "nosuchid", "x", &cause), -1);
	assert_string_equal(cause, "no session matches 'nosuchid'");
	free(cause);
	cause = NULL;
	free(id2);

	/* one very long word, multibyte: a hard cut on a character boundary */
	id2 = new_session(st, "", "m");
	{
		char text[400] = "";

		for (int i = 0; i < 80; i++)
			strcat(text, "é");
		add_msg(st, id2, "user", text);
	}
	s = find_ok(st, id2);
	assert_true(util_utf8_valid(s->title, strlen(s->title)));
	assert_int_equal(strlen(s->title), 59 * 2 + 3);
	store_session_free(s);
	free(id2);

	/* session update */
	s = find_ok(st, id);
	free(s->model);
	s->model = xstrdup("qwen3");
	s->options = xstrdup("{\"temperature\":0.2}");
	assert_int_equal(store_session_update(st, s, &cause), 0);
	store_session_free(s);
	s = find_ok(st, id);
	assert_string_equal(s->model, "qwen3");
	assert_string_equal(s->options, "{\"temperature\":0.2}");
	store_session_free(s);
	free(id);
	store_close(st);
}

static void
test_streaming(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db), *other = open_ok(f->db);
	struct store_msg m = { 0 }, **v;
	char *id, *cause = NULL, text[4096] = "";
	int64_t v0, t0, elapsed;
	size_t n;

	id = new_session(st, "", "m");
	add_msg(st, id, "user", "tell me a story");
	m.session = id;
	m.role = (char *)"assistant";
	m.content = (char *)"";
	m.state = STORE_STREAMING;
	m.prompt_tokens = m.reply_tokens = m.ttft_ms = -1;
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	v0 = store_data_version(other);
	t0 = util_now_ns();
	for (int i = 0; i < 200; i++) {
		strcat(text, "word ");
		m.content = text;
		m.reply_tokens = i + 1;
		assert_int_equal(store_msg_update(st, &m, &cause), 0);
	}
	elapsed = util_now_ns() - t0;
	/* Each update must be cheap next to the 250 ms between them. */
	print_message("# 200 streaming updates: %.2f ms each\n", elapsed / 200 / 1e6);
	assert_true(elapsed / 200 < 20 * 1000 * 1000);
	assert_true(store_data_version(other) != v0);
	/* another connection sees the partial reply, still streaming */
	assert_int_equal(store_messages(other, id, &v, &n, &cause), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[1]->content, text);
	assert_int_equal(v[1]->state, STORE_STREAMING);
	assert_int_equal(v[1]->reply_tokens, 200);
	store_msgs_free(v, n);
	m.state = STORE_COMPLETE;
	assert_int_equal(store_msg_update(st, &m, &cause), 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM messages_fts WHERE messages_fts MATCH 'word'"), 1);
	free(id);
	store_close(other);
	store_close(st);
}

static void
test_dead_writer(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_msg m = { 0 }, **v;
	char *id, *cause = NULL;
	int status;
	pid_t pid;
	size_t n;

	id = new_session(st, "", "m");
	/* a streaming reply of this (live) process */
	m.session = id;
	m.role = (char *)"assistant";
	m.content = (char *)"alive";
	m.state = STORE_STREAMING;
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	store_close(st);

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct store *cs = store_open(f->db, NULL);
		struct store_msg cm = { 0 };

		cm.session = id;
		cm.role = (char *)"assistant";
		cm.content = (char *)"half a rep";
		cm.state = STORE_STREAMING;
		if (cs == NULL || store_msg_add(cs, &cm, NULL) != 0 ||
		    store_msg_update(cs, &cm, NULL) != 0)
			_exit(1);
		_exit(0); /* dies mid-stream, no close */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM messages WHERE state = 1"), 2);

	st = open_ok(f->db);
	assert_int_equal(store_messages(st, id, &v, &n, &cause), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->content, "alive");
	assert_int_equal(v[0]->state, STORE_STREAMING);
	assert_string_equal(v[1]->content, "half a rep");
	assert_int_equal(v[1]->state, STORE_INTERRUPTED);
	store_msgs_free(v, n);
	/* rewritten on disk, not just shown */
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM messages WHERE state = 2"), 1);
	free(id);
	store_close(st);
}

static int64_t
search_count(struct store *st, const char *q)
{
	struct store_hit **h;
	size_t n;
	char *cause = NULL;

	if (store_search(st, q, "[", "]", 0, &h, &n, &cause) != 0)
		fail_msg("search '%s': %s", q, cause);
	store_hits_free(h, n);
	return (int64_t)n;
}

static void
test_search(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_hit **h;
	char *a, *b, *cause = NULL;
	size_t n;
	static const char *const odd[] = { "\"foo", "AND", "a AND", "(", "NEAR(",
		"*", "\"\"", "foo OR", "-x", "^", ":", "col:foo", "'", "{a b}", "a+b",
		"NOT", "\\" };

	a = new_session(st, "Cooking", "m");
	b = new_session(st, "Travel", "m");
	add_msg(st, a, "user", "How do I make a good French omelette?");
	add_msg(st, a, "assistant", "Whisk the eggs, heat butter, and keep stirring: a foo-bar trick.");
	add_msg(st, b, "user", "Best café in Zürich near the lake? 日本語 too");
	add_msg(st, b, "assistant", "Try the one by the AND gate, says the foo guide.");

	assert_int_equal(store_search(st, "omelette", "[", "]", 10, &h, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_string_equal(h[0]->session, a);
	assert_string_equal(h[0]->title, "Cooking");
	assert_string_equal(h[0]->role, "user");
	assert_non_null(strstr(h[0]->snippet, "[omelette]"));
	assert_true(h[0]->msg > 0);
	assert_true(h[0]->created > 0);
	store_hits_free(h, n);

	/* words are ANDed, the last is a prefix */
	assert_int_equal(search_count(st, "eggs butt"), 1);
	assert_int_equal(search_count(st, "eggs lake"), 0);
	assert_int_equal(search_count(st, "foo"), 2);
	/* unicode: diacritics folded, case folded, CJK */
	assert_int_equal(search_count(st, "cafe"), 1);
	assert_int_equal(search_count(st, "ZURICH"), 1);
	assert_int_equal(search_count(st, "日本語"), 1);
	/* FTS syntax typed by a person is text, never an error */
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
		search_count(st, odd[i]);
	assert_int_equal(search_count(st, "\"foo"), 2);
	assert_int_equal(search_count(st, "AND gate"), 1);
	assert_int_equal(search_count(st, ""), 0);
	/* a prefix needs three characters */
	assert_int_equal(search_count(st, "om"), 0);
	assert_int_equal(search_count(st, "ome"), 1);
	assert_int_equal(search_count(st, "   "), 0);
	/* bold marks */
	assert_int_equal(store_search(st, "whisk", "\033[1m", "\033[0m", 10, &h, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_non_null(strstr(h[0]->snippet, "\033[1mWhisk\033[0m"));
	store_hits_free(h, n);
	/* a word in very many messages: only the newest 1000 are ranked */
	for (int i = 0; i < 1100; i++)
		add_msg(st, b, "user", i == 0 ? "needle oldest" : "needle");
	assert_int_equal(search_count(st, "needle"), 1000);
	assert_int_equal(search_count(st, "needle oldest"), 1);
	assert_int_equal(store_search(st, "needle", "[", "]", 5, &h, &n, &cause), 0);
	assert_int_equal(n, 5);
	store_hits_free(h, n);
	free(a);
	free(b);
	store_close(st);
}

static void
test_rename_delete_clear(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_session *s;
	char *a, *b, *cause = NULL, *expect;

	a = new_session(st, "", "m");
	b = new_session(st, "", "m");
	add_msg(st, a, "user", "unicorn stories");
	add_msg(st, a, "assistant", "once upon a unicorn");
	add_msg(st, b, "user", "unicorn facts");
	assert_int_equal(search_count(st, "unicorn"), 3);

	assert_int_equal(store_session_clear(st, a, &cause), 0);
	assert_int_equal(search_count(st, "unicorn"), 1);
	s = find_ok(st, a);
	assert_int_equal(s->nmessages, 0);
	assert_string_equal(s->title, "unicorn stories"); /* kept */
	store_session_free(s);

	assert_int_equal(store_session_delete(st, b, &cause), 0);
	assert_int_equal(search_count(st, "unicorn"), 0);
	assert_int_equal(store_session_find(st, b, &s, &cause), 1);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM messages"), 0);
	assert_int_equal(store_session_delete(st, b, &cause), -1);
	expect = xasprintf("no session matches '%s'", b);
	assert_string_equal(cause, expect);
	free(expect);
	free(cause);
	cause = NULL;
	assert_int_equal(store_session_clear(st, "nosuchid", &cause), -1);
	free(cause);
	cause = NULL;
	raw_exec(f->db, "INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')");
	free(a);
	free(b);
	store_close(st);
}

/* A session with one of everything, as an export. */
static char *
rich_session(struct store *st)
{
	struct store_session s = { 0 };
	struct store_msg m;
	char *cause = NULL;
	int64_t u;

	s.title = (char *)"Rich";
	s.provider = (char *)"openai";
	s.model = (char *)"qwen3";
	s.system = (char *)"You are terse.";
	s.options = (char *)"{\"temperature\":0.5,\"stop\":[\"x\"]}";
	s.tools = (char *)"[\"fs__write_file\",\"memory__delete_entities\"]";
	s.origin = (char *)"api";
	assert_int_equal(store_session_new(st, &s, &cause), 0);
	u = add_msg(st, s.id, "user", "weather in Oslo?");
	memset(&m, 0, sizeof m);
	m.session = s.id;
	m.parent = u;
	m.role = (char *)"assistant";
	m.content = (char *)"";
	m.thinking = (char *)"need a tool\nsecond line";
	m.tool_calls = (char *)"[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Oslo\\\"}\"}}]";
	m.model = (char *)"qwen3";
	m.prompt_tokens = 30;
	m.reply_tokens = 12;
	m.ttft_ms = 80;
	m.total_ns = 5;
	m.load_ns = 1;
	m.prompt_ns = 2;
	m.eval_ns = 3;
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	memset(&m, 0, sizeof m);
	m.session = s.id;
	m.role = (char *)"tool";
	m.content = (char *)"{\"temp\": -3}";
	m.tool_call_id = (char *)"c1";
	m.tool_name = (char *)"weather";
	m.prompt_tokens = m.reply_tokens = m.ttft_ms = -1;
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	memset(&m, 0, sizeof m);
	m.session = s.id;
	m.role = (char *)"assistant";
	m.content = (char *)"It is -3 °C in Osl";
	m.model = (char *)"qwen3";
	m.state = STORE_INTERRUPTED;
	m.prompt_tokens = 50;
	m.reply_tokens = 7;
	m.estimated = true;
	m.ttft_ms = -1;
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	memset(&m, 0, sizeof m);
	m.session = s.id;
	m.role = (char *)"user";
	m.content = (char *)"look at this";
	m.attachments = (char *)"[{\"type\":\"image\",\"mime\":\"image/png\",\"name\":\"a.png\",\"data\":\"iVBORw0KGgo=\"}]";
	m.prompt_tokens = m.reply_tokens = m.ttft_ms = -1;
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	memset(&m, 0, sizeof m);
	m.session = s.id;
	m.role = (char *)"assistant";
	m.content = (char *)"";
	m.state = STORE_ERROR;
	m.error = (char *)"model 'qwen3' not found";
	m.prompt_tokens = m.reply_tokens = m.ttft_ms = -1;
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	return s.id;
}

/* The ids of a session's transcript (the branch on show), as "1 2 3". */
static char *
path_ids(struct store *st, const char *session)
{
	struct store_msg **v;
	char *cause = NULL;
	size_t n;
	struct buf b = { 0 };

	if (store_messages(st, session, &v, &n, &cause) != 0)
		fail_msg("store_messages: %s", cause);
	buf_append(&b, "", 0);
	for (size_t i = 0; i < n; i++)
		buf_printf(&b, "%s%lld", i ? " " : "", (long long)v[i]->id);
	store_msgs_free(v, n);
	return buf_steal(&b);
}

static int64_t
add_child(struct store *st, const char *session, int64_t parent, const char *role, const char *content)
{
	struct store_msg m = { 0 };
	char *cause = NULL;

	m.session = (char *)session;
	m.parent = parent;
	m.role = (char *)role;
	m.content = (char *)content;
	m.prompt_tokens = m.reply_tokens = m.ttft_ms = -1;
	if (store_msg_add(st, &m, &cause) != 0)
		fail_msg("store_msg_add: %s", cause);
	return m.id;
}

#define assert_path(st, id, want) \
	do { \
		char *got_ = path_ids(st, id); \
		assert_string_equal(got_, want); \
		free(got_); \
	} while (0)

/* Messages form a tree: a retry and an edit are siblings, the head picks
 * the branch, deleting moves children up, forking copies one path. */
static void
test_tree(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	char *id = new_session(st, "Tree", "m"), *cause = NULL, *other = new_session(st, "Other", "m");
	int64_t q1, a1, q2, a2, a2b, q2b, a3, leaves_n, *leaves;
	struct store_node *t;
	struct store_session *fk, *s;
	size_t n, pos;
	json_t *doc, *doc2;
	char *id2;

	q1 = add_msg(st, id, "user", "first question");
	a1 = add_msg(st, id, "assistant", "first answer");
	q2 = add_msg(st, id, "user", "second question");
	a2 = add_msg(st, id, "assistant", "second answer");
	/* a regenerated reply: beside a2, and now the head */
	a2b = add_child(st, id, q2, "assistant", "second answer, again");
	{
		char *want = xasprintf("%lld %lld %lld %lld", (long long)q1, (long long)a1, (long long)q2, (long long)a2b);

		assert_path(st, id, want);
		free(want);
	}
	/* an edited question, from the root */
	q2b = add_child(st, id, STORE_ROOT, "user", "a different first question\nwith a second line");
	a3 = add_msg(st, id, "assistant", "its answer");
	{
		char *want = xasprintf("%lld %lld", (long long)q2b, (long long)a3);

		assert_path(st, id, want);
		free(want);
	}
	/* a parent from another session is refused */
	{
		struct store_msg m = { 0 };

		m.session = other;
		m.parent = q1;
		m.role = (char *)"user";
		m.content = (char *)"x";
		assert_int_equal(store_msg_add(st, &m, &cause), -1);
		assert_non_null(strstr(cause, "is not in session"));
		free(cause);
		cause = NULL;
	}
	assert_int_equal(store_tree(st, id, &t, &n, &cause), 0);
	assert_int_equal(n, 7);
	assert_int_equal(tree_siblings(t, n, a2b, &pos), 2);
	assert_int_equal(pos, 1);
	assert_int_equal(tree_sibling(t, n, a2b, -1), a2);
	assert_int_equal(tree_sibling(t, n, a2b, 1), 0);
	assert_int_equal(tree_siblings(t, n, q1, &pos), 2);
	assert_int_equal(pos, 0);
	assert_int_equal(tree_leaf(t, n, q1), a2b);
	assert_int_equal(tree_leaf(t, n, a2), a2);
	assert_int_equal(tree_depth(t, n, a2b), 4);
	assert_true(tree_on_path(t, n, a2b, q2));
	assert_false(tree_on_path(t, n, a2b, a2));
	assert_string_equal(t[tree_find(t, n, q2b)].preview, "a different first question…");
	assert_string_equal(t[tree_find(t, n, q2b)].role, "user");
	leaves_n = (int64_t)tree_leaves(t, n, &leaves);
	assert_int_equal(leaves_n, 3);
	assert_int_equal(leaves[0], a2);
	assert_int_equal(leaves[1], a2b);
	assert_int_equal(leaves[2], a3);
	free(leaves);
	store_tree_free(t, n);

	/* switching: the head names the branch */
	assert_int_equal(store_set_head(st, id, a2, &cause), 0);
	{
		char *want = xasprintf("%lld %lld %lld %lld", (long long)q1, (long long)a1, (long long)q2, (long long)a2);

		assert_path(st, id, want);
		free(want);
	}
	assert_int_equal(store_set_head(st, other, a2, &cause), -1);
	assert_non_null(strstr(cause, "no message"));
	free(cause);
	cause = NULL;
	s = find_ok(st, id);
	assert_int_equal(s->head, a2);
	assert_int_equal(s->nmessages, 7);
	store_session_free(s);

	/* export keeps every branch and the head; import gives them back */
	assert_int_equal(store_export_json(st, id, &doc, &cause), 0);
	assert_int_equal(json_array_size(json_object_get(doc, "messages")), 7);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "session"), "head")), 3);
	assert_true(json_is_null(json_object_get(json_array_get(json_object_get(doc, "messages"), 5), "parent")));
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(doc, "messages"), 4), "parent")), 2);
	assert_int_equal(store_import_json(st, doc, &id2, &cause), 0);
	assert_int_equal(store_export_json(st, id2, &doc2, &cause), 0);
	json_object_set_new(json_object_get(doc2, "session"), "id", json_string(id));
	assert_true(json_equal(doc, doc2));
	json_decref(doc2);
	free(id2);
	json_decref(doc);

	/* a v1 export: one branch, in order */
	doc = json_loads("{\"version\":1,\"session\":{},\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
	                 "{\"role\":\"assistant\",\"content\":\"b\"},{\"role\":\"user\",\"content\":\"c\"}]}",
	    0, NULL);
	assert_int_equal(store_import_json(st, doc, &id2, &cause), 0);
	json_decref(doc);
	assert_int_equal(store_export_json(st, id2, &doc, &cause), 0);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(doc, "messages"), 2), "parent")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(doc, "session"), "head")), 2);
	json_decref(doc);
	free(id2);

	/* fork: the path to a2, in a new session */
	assert_int_equal(store_session_fork(st, id, 0, NULL, &fk, &cause), 0);
	assert_string_equal(fk->title, "Tree (fork)");
	assert_int_equal(store_tree(st, fk->id, &t, &n, &cause), 0);
	assert_int_equal(n, 4);
	assert_string_equal(t[3].preview, "second answer");
	assert_int_equal(t[3].parent, t[2].id);
	assert_int_equal(t[0].parent, 0);
	store_tree_free(t, n);
	store_session_free(fk);
	assert_int_equal(store_session_fork(st, id, a3, "Named", &fk, &cause), 0);
	assert_string_equal(fk->title, "Named");
	store_session_free(fk);
	assert_int_equal(store_session_fork(st, id, 999999, NULL, &fk, &cause), -1);
	free(cause);
	cause = NULL;

	/* deleting a middle message moves its children up, and a head */
	assert_int_equal(store_msg_delete(st, q2, &cause), 0);
	{
		char *want = xasprintf("%lld %lld %lld", (long long)q1, (long long)a1, (long long)a2);

		assert_path(st, id, want);
		free(want);
	}
	assert_int_equal(store_msg_delete(st, a2, &cause), 0);
	{
		char *want = xasprintf("%lld %lld", (long long)q1, (long long)a1);

		assert_path(st, id, want);
		free(want);
	}
	/* a new message goes on the branch on show */
	{
		int64_t q4 = add_msg(st, id, "user", "third");
		char *want = xasprintf("%lld %lld %lld", (long long)q1, (long long)a1, (long long)q4);

		assert_path(st, id, want);
		free(want);
	}
	assert_int_equal(store_session_clear(st, id, &cause), 0);
	assert_path(st, id, "");
	{
		int64_t q5 = add_msg(st, id, "user", "after clear");
		char *want = xasprintf("%lld", (long long)q5);

		assert_path(st, id, want);
		free(want);
	}
	free(id);
	free(other);
	store_close(st);
}

/* A v2 file, as parley wrote it before branches (tests/data/store-v2.sql:
 * two imported sessions, one of them with two replies to one question). */
static void
test_migrate_v2(void **state)
{
	struct fixture *f = *state;
	char *path = xasprintf("%s/v2.db", f->dir), *sql, *cause = NULL;
	const char *dir = getenv("TESTS_DIR");
	char *file = xasprintf("%s/data/store-v2.sql", dir ? dir : "tests");
	struct store *st;
	struct store_msg **v;
	size_t n;

	sql = util_read_file(file, NULL, 1 << 20, &cause);
	if (sql == NULL)
		fail_msg("%s", cause);
	raw_exec(path, sql);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 2);
	st = open_ok(path);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 4);
	/* v4: no session has turned a tool off yet */
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sessions WHERE tools IS NOT NULL"), 0);
	/* the session without parents is one branch, in order */
	assert_path(st, "6hq1ub7b", "6 7 8");
	assert_int_equal(raw_int(path, "SELECT parent FROM messages WHERE id = 8"), 7);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM messages WHERE parent IS NULL"), 2);
	/* the one with two replies shows the newest; the other is its sibling */
	assert_path(st, "3u7r8sey", "1 2 3 5");
	assert_int_equal(store_messages_all(st, "3u7r8sey", &v, &n, &cause), 0);
	assert_int_equal(n, 5);
	assert_int_equal(v[3]->parent, 3);
	assert_int_equal(v[3]->state, STORE_INTERRUPTED);
	store_msgs_free(v, n);
	/* and writes go on the branch on show */
	add_msg(st, "6hq1ub7b", "user", "more");
	assert_path(st, "6hq1ub7b", "6 7 8 9");
	assert_int_equal(search_count(st, "omelette"), 1);
	store_close(st);
	free(sql);
	free(file);
	free(path);
}

static void
test_export_import(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	json_t *doc, *doc2, *bad;
	char *id, *id2, *cause = NULL, *md;
	struct store_session *s;
	static const char *const bad_docs[] = {
		"[]",
		"{\"version\":3,\"session\":{},\"messages\":[]}",
		"{\"version\":2,\"session\":{\"head\":0},\"messages\":[]}",
		"{\"version\":1,\"session\":[],\"messages\":[]}",
		"{\"version\":1,\"session\":{},\"messages\":{}}",
		"{\"version\":1,\"session\":{\"title\":5},\"messages\":[]}",
		"{\"version\":1,\"session\":{},\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}",
		"{\"version\":1,\"session\":{},\"messages\":[{\"content\":\"x\"}]}",
		"{\"version\":1,\"session\":{},\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"parent\":0}]}",
		"{\"version\":1,\"session\":{},\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"state\":\"weird\"}]}",
		"{\"version\":1,\"session\":{},\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":{}}]}",
		"{\"version\":1,\"session\":{},\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"reply_tokens\":\"3\"}]}",
		"{\"version\":1,\"session\":{\"options\":[1]},\"messages\":[]}",
		"{\"version\":1,\"session\":{},\"messages\":[{\"role\":\"user\",\"content\":\"x\"},\"y\"]}",
	};

	id = rich_session(st);
	assert_int_equal(store_export_json(st, id, &doc, &cause), 0);
	assert_int_equal(json_integer_value(json_object_get(doc, "version")), 2);
	assert_int_equal(json_array_size(json_object_get(doc, "messages")), 6);
	assert_true(json_is_object(json_object_get(json_object_get(doc, "session"), "options")));
	/* the /tools choices go with it */
	assert_int_equal(json_array_size(json_object_get(json_object_get(doc, "session"), "tools_off")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(json_object_get(doc, "messages"), 1), "parent")), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(doc, "messages"), 3), "state")), "interrupted");

	assert_int_equal(store_import_json(st, doc, &id2, &cause), 0);
	assert_string_not_equal(id, id2);
	assert_int_equal(store_export_json(st, id2, &doc2, &cause), 0);
	/* identical except the id */
	json_object_set_new(json_object_get(doc2, "session"), "id", json_string(id));
	if (!json_equal(doc, doc2)) {
		char *x = json_dumps(doc, JSON_INDENT(1)), *y = json_dumps(doc2, JSON_INDENT(1));

		fail_msg("round trip differs:\n%s\n---\n%s", x, y);
	}
	json_decref(doc2);
	free(id2);

	/* markdown */
	assert_int_equal(store_export_md(st, id, &md, &cause), 0);
	assert_true(util_prefix(md, "# Rich\n"));
	assert_non_null(strstr(md, "## User\n\nweather in Oslo?"));
	assert_non_null(strstr(md, "## Assistant (qwen3)"));
	assert_non_null(strstr(md, "<details><summary>Thinking</summary>\n\n> need a tool\n> second line\n"));
	assert_non_null(strstr(md, "## Tool (weather)"));
	assert_non_null(strstr(md, "[interrupted]"));
	assert_non_null(strstr(md, "[error: model 'qwen3' not found]"));
	assert_non_null(strstr(md, "Attached: a.png"));
	assert_non_null(strstr(md, "You are terse."));
	free(md);
	assert_int_equal(store_export_md(st, "nosuchid", &md, &cause), -1);
	free(cause);
	cause = NULL;

	/* bad documents: refused, nothing written */
	for (size_t i = 0; i < sizeof bad_docs / sizeof bad_docs[0]; i++) {
		char *nid = NULL;

		bad = json_loads(bad_docs[i], 0, NULL);
		assert_non_null(bad);
		if (store_import_json(st, bad, &nid, &cause) != -1)
			fail_msg("accepted: %s", bad_docs[i]);
		assert_null(nid);
		assert_non_null(cause);
		free(cause);
		cause = NULL;
		json_decref(bad);
	}
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM sessions"), 2);
	/* minimal document */
	bad = json_loads("{\"version\":1,\"session\":{},\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}", 0, NULL);
	assert_int_equal(store_import_json(st, bad, &id2 /* reuse */, &cause), 0);
	s = find_ok(st, id2);
	assert_int_equal(s->nmessages, 1);
	store_session_free(s);
	free(id2);
	json_decref(bad);
	json_decref(doc);
	free(id);
	store_close(st);
}

/* A v1 file made with raw SQL, as the first parley release wrote it. */
static void
test_migrate_v1(void **state)
{
	struct fixture *f = *state;
	struct store *st;
	struct store_session *s;
	struct store_session **v;
	char *cause = NULL, *path = xasprintf("%s/v1.db", f->dir);
	size_t n;

	raw_exec(path,
	    "PRAGMA journal_mode = WAL;"
	    "CREATE TABLE sessions (id TEXT PRIMARY KEY NOT NULL,"
	    " title TEXT NOT NULL DEFAULT '', provider TEXT NOT NULL DEFAULT '',"
	    " model TEXT NOT NULL DEFAULT '', system TEXT, options TEXT,"
	    " origin TEXT NOT NULL DEFAULT '', created INTEGER NOT NULL,"
	    " updated INTEGER NOT NULL);"
	    "CREATE INDEX sessions_updated ON sessions(updated);"
	    "CREATE TABLE messages (id INTEGER PRIMARY KEY,"
	    " session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	    " parent INTEGER, role TEXT NOT NULL, content TEXT NOT NULL DEFAULT '',"
	    " thinking TEXT, tool_calls TEXT, tool_call_id TEXT, tool_name TEXT,"
	    " attachments TEXT, model TEXT, state INTEGER NOT NULL DEFAULT 0,"
	    " error TEXT, prompt_tokens INTEGER NOT NULL DEFAULT -1,"
	    " reply_tokens INTEGER NOT NULL DEFAULT -1,"
	    " estimated INTEGER NOT NULL DEFAULT 0, ttft_ms INTEGER NOT NULL DEFAULT -1,"
	    " total_ns INTEGER NOT NULL DEFAULT 0, load_ns INTEGER NOT NULL DEFAULT 0,"
	    " prompt_ns INTEGER NOT NULL DEFAULT 0, eval_ns INTEGER NOT NULL DEFAULT 0,"
	    " created INTEGER NOT NULL, writer_pid INTEGER);"
	    "CREATE INDEX messages_session ON messages(session, id);"
	    "CREATE INDEX messages_streaming ON messages(state) WHERE state = 1;"
	    "INSERT INTO sessions VALUES ('old00001', 'Old chat', 'ollama', 'llama2',"
	    " NULL, NULL, 'tui', 1600000000000, 1600000001000);"
	    "INSERT INTO sessions VALUES ('old00002', 'Older chat', 'ollama', 'llama2',"
	    " NULL, NULL, 'repl', 1500000000000, 1500000000000);"
	    "INSERT INTO messages (session, role, content, created) VALUES"
	    " ('old00001', 'user', 'remember the aardvark', 1600000000500),"
	    " ('old00001', 'assistant', 'aardvarks eat ants', 1600000001000),"
	    " ('old00002', 'user', 'hi', 1500000000000);"
	    "PRAGMA user_version = 1;");
	st = open_ok(path);
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 4);
	assert_int_equal(store_session_list(st, NULL, 0, &v, &n, &cause), 0);
	assert_int_equal(n, 2);
	assert_string_equal(v[0]->id, "old00001");
	assert_int_equal(v[0]->nmessages, 2);
	assert_int_equal(v[1]->nmessages, 1);
	store_sessions_free(v, n);
	/* the old text is searchable, and new writes keep counts */
	assert_int_equal(search_count(st, "aardvark"), 2);
	add_msg(st, "old00002", "assistant", "hello aardvark");
	assert_int_equal(store_session_find(st, "old0000", &s, &cause), -1);
	assert_string_equal(cause, "'old0000' matches several sessions: old00001 (Old chat), old00002 (Older chat); type more of the id");
	free(cause);
	cause = NULL;
	s = find_ok(st, "Older chat");
	assert_int_equal(s->nmessages, 2);
	store_session_free(s);
	assert_int_equal(search_count(st, "aardvark"), 3);
	store_close(st);
	raw_exec(path, "INSERT INTO messages_fts(messages_fts) VALUES ('integrity-check')");
	free(path);
}

static void
test_refusals(void **state)
{
	struct fixture *f = *state;
	char *cause = NULL, *path, *expect;
	FILE *fp;

	/* newer schema */
	path = xasprintf("%s/newer.db", f->dir);
	raw_exec(path, "CREATE TABLE future (x); PRAGMA user_version = 7;");
	assert_null(store_open(path, &cause));
	expect = xasprintf("%s was written by a newer parley (schema 7); upgrade parley", path);
	assert_string_equal(cause, expect);
	free(expect);
	free(cause);
	cause = NULL;
	assert_int_equal(raw_int(path, "PRAGMA user_version"), 7);
	free(path);

	/* not a database */
	path = xasprintf("%s/notes.db", f->dir);
	fp = fopen(path, "w");
	for (int i = 0; i < 200; i++)
		fputs("this is a text file, not a database\n", fp);
	fclose(fp);
	assert_null(store_open(path, &cause));
	expect = xasprintf("%s is not a parley session store or is corrupt: ", path);
	assert_true(util_prefix(cause, expect));
	assert_non_null(strstr(cause, "(move it aside to start a new one)"));
	free(expect);
	free(cause);
	cause = NULL;
	free(path);

	/* another program's database */
	path = xasprintf("%s/other.db", f->dir);
	raw_exec(path, "CREATE TABLE sessions (x); INSERT INTO sessions VALUES (1);");
	assert_null(store_open(path, &cause));
	assert_non_null(strstr(cause, "is not a parley session store"));
	free(cause);
	cause = NULL;
	free(path);

	/* a directory that cannot be made: a parent is a regular file */
	path = xasprintf("%s/file", f->dir);
	fp = fopen(path, "w");
	fclose(fp);
	free(path);
	path = xasprintf("%s/file/sub/parley.db", f->dir);
	assert_null(store_open(path, &cause));
	expect = xasprintf("cannot create the session store at %s: Not a directory", path);
	assert_string_equal(cause, expect);
	free(expect);
	free(cause);
	cause = NULL;
	free(path);

	/* a directory in place of the file */
	path = xasprintf("%s/dir.db", f->dir);
	mkdir(path, 0700);
	assert_null(store_open(path, &cause));
	assert_true(util_prefix(cause, "cannot create the session store at "));
	free(cause);
	free(path);
}

static void
test_disk_full(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_msg m = { 0 }, **v;
	char *id, *cause = NULL, *big, *expect, *ic;
	int64_t pages;
	size_t n;

	id = new_session(st, "", "m");
	add_msg(st, id, "user", "small question");
	pages = raw_int(f->db, "PRAGMA page_count");
	assert_int_equal(store_set_max_pages(st, pages, &cause), 0);
	big = xmalloc(300000);
	memset(big, 'a', 299999);
	big[299999] = '\0';
	m.session = id;
	m.role = (char *)"assistant";
	m.content = big;
	assert_int_equal(store_msg_add(st, &m, &cause), -1);
	expect = xasprintf("the disk is full: the session store at %s could not be written; the reply was not saved", f->db);
	assert_string_equal(cause, expect);
	free(expect);
	free(cause);
	cause = NULL;
	/* nothing half-written, and the store still works */
	assert_int_equal(store_messages(st, id, &v, &n, &cause), 0);
	assert_int_equal(n, 1);
	store_msgs_free(v, n);
	assert_int_equal(store_set_max_pages(st, 1 << 30, &cause), 0);
	assert_int_equal(store_msg_add(st, &m, &cause), 0);
	free(big);
	free(id);
	store_close(st);
	ic = raw_text(f->db, "PRAGMA integrity_check");
	assert_string_equal(ic, "ok");
	free(ic);
}

/* Children wait on a pipe so they all start writing at once. */
static void
run_children(int nkids, void (*body)(const char *, int), const char *path)
{
	int fds[2], status;
	pid_t pids[16];

	assert_int_equal(pipe(fds), 0);
	for (int i = 0; i < nkids; i++) {
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			char c;

			close(fds[1]);
			if (read(fds[0], &c, 1) < 0)
				_exit(3);
			body(path, i);
			_exit(0);
		}
	}
	close(fds[0]);
	close(fds[1]);
	for (int i = 0; i < nkids; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			fail_msg("child %d failed (status %d)", i, status);
	}
}

static char concurrent_session[16];

static void
child_adds(const char *path, int k)
{
	char *cause = NULL;
	struct store *st = store_open(path, &cause);

	if (st == NULL) {
		fprintf(stderr, "child %d: %s\n", k, cause);
		_exit(1);
	}
	for (int i = 0; i < 50; i++) {
		struct store_msg m = { 0 };
		char text[64];

		snprintf(text, sizeof text, "child %d message %d", k, i);
		m.session = concurrent_session;
		m.role = (char *)(i % 2 ? "assistant" : "user");
		m.content = text;
		if (store_msg_add(st, &m, &cause) != 0) {
			fprintf(stderr, "child %d: %s\n", k, cause);
			_exit(2);
		}
	}
	store_close(st);
}

static void
child_creates(const char *path, int k)
{
	char *cause = NULL;
	struct store *st = store_open(path, &cause);
	struct store_session s = { 0 };

	(void)k;
	if (st == NULL) {
		fprintf(stderr, "child %d: %s\n", k, cause);
		_exit(1);
	}
	if (store_session_new(st, &s, &cause) != 0) {
		fprintf(stderr, "child %d: %s\n", k, cause);
		_exit(2);
	}
	for (int i = 0; i < 10; i++)
		if (store_msg_add(st, &(struct store_msg){ .session = s.id, .role = (char *)"user", .content = (char *)"x" }, &cause) != 0) {
			fprintf(stderr, "child %d: %s\n", k, cause);
			_exit(2);
		}
	free(s.id);
	store_close(st);
}

static void
test_concurrency(void **state)
{
	struct fixture *f = *state;
	struct store *st = open_ok(f->db);
	struct store_session *s;
	char *id, *path;

	id = new_session(st, "shared", "m");
	snprintf(concurrent_session, sizeof concurrent_session, "%s", id);
	/* no connection crosses a fork */
	store_close(st);
	run_children(8, child_adds, f->db);
	st = open_ok(f->db);
	s = find_ok(st, id);
	assert_int_equal(s->nmessages, 400);
	store_session_free(s);
	assert_int_equal(raw_int(f->db, "SELECT count(*) FROM messages"), 400);
	assert_int_equal(raw_int(f->db, "SELECT count(DISTINCT content) FROM messages"), 400);
	assert_int_equal(search_count(st, "child"), 400);
	store_close(st);
	free(id);

	/* eight processes meeting a file that does not exist yet */
	path = xasprintf("%s/fresh/parley.db", f->dir);
	run_children(8, child_creates, path);
	assert_int_equal(raw_int(path, "SELECT count(*) FROM sessions"), 8);
	assert_int_equal(raw_int(path, "SELECT sum(nmessages) FROM sessions"), 80);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates, setup, teardown),
		cmocka_unit_test(test_default_path),
		cmocka_unit_test_setup_teardown(test_find, setup, teardown),
		cmocka_unit_test_setup_teardown(test_preset_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_start, setup, teardown),
		cmocka_unit_test_setup_teardown(test_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_messages_and_titles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_streaming, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_delete_clear, setup, teardown),
		cmocka_unit_test_setup_teardown(test_export_import, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v1, setup, teardown),
		cmocka_unit_test_setup_teardown(test_migrate_v2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tree, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_disk_full, setup, teardown),
		cmocka_unit_test_setup_teardown(test_concurrency, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
