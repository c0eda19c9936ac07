/*
 * store.c: the session store, one SQLite file shared by every parley process
 * (TUI, REPL, pipe runs, the listener). Nothing is lost when several of them
 * write at once: the file is in WAL mode, every connection waits up to
 * STORE_BUSY_MS for a lock (busy_timeout), every write transaction starts
 * with BEGIN IMMEDIATE so it takes the write lock up front instead of failing
 * on a read-to-write upgrade, and the few places where SQLite reports
 * SQLITE_BUSY without calling the busy handler (WAL recovery, changing the
 * journal mode of a new file) are retried here until the same deadline.
 *
 * Schema (PRAGMA user_version holds its version; store_migrate() walks a file
 * forward one step at a time, inside one transaction):
 *
 *   v1  sessions(id TEXT PK, title, provider, model, system, options JSON,
 *                origin, created ms, updated ms)      index on updated
 *       messages(id INTEGER PK, session -> sessions ON DELETE CASCADE,
 *                parent, role, content, thinking, tool_calls JSON,
 *                tool_call_id, tool_name, attachments JSON, model,
 *                state 0 complete/1 streaming/2 interrupted/3 error, error,
 *                prompt_tokens, reply_tokens (-1 unknown), estimated,
 *                ttft_ms (-1 unknown), total/load/prompt/eval_ns (0 unknown),
 *                created ms, writer_pid)
 *                index on (session, id); partial index on state = streaming
 *   v2  sessions.nmessages, kept by triggers, so a listing never counts rows;
 *       messages_fts, an FTS5 index over messages.content (external content,
 *       unicode61 without diacritics) kept in step by insert/update/delete
 *       triggers; an index on sessions.title for lookups by title.
 *   v3  messages form a tree: every message but a root has a parent (v2
 *       files kept none: each message gets the one before it, so a v2
 *       transcript is one branch); sessions.head names the leaf of the
 *       branch on show (NULL = the newest message); an index on
 *       (session, parent) for a message's children.
 *   v4  sessions.tools: the tools the session has turned off with /tools,
 *       a JSON array of their model names (NULL = none off).
 *
 * messages.parent is a plain integer, not a foreign key: a self-reference
 * would make every message delete search the table for children. A parent
 * is always older than its children (a smaller id), so ORDER BY id lists a
 * tree parents first, and walking up from the head cannot loop.
 *
 * A reply is inserted as STREAMING with the writer's pid and rewritten every
 * few hundred milliseconds; if that process dies the row stays STREAMING, so
 * a streaming row whose writer no longer exists is reported as INTERRUPTED
 * and rewritten so when a store is opened.
 *
 * Hot statements are prepared once (SQLITE_PREPARE_PERSISTENT) and kept in
 * struct store, so a streaming update is a bind, two steps and a commit.
 *
 * Export format (store_export_json, read back by store_import_json):
 *
 *   {"version": 1,
 *    "session": {"id", "title", "provider", "model", "system" (string|null),
 *                "options" (object|null), "origin", "created", "updated"},
 *    "messages": [{"role", "content", "thinking" (string|null),
 *                  "tool_calls" (array|null), "tool_call_id", "tool_name"
 *                  (string|null), "attachments" (array|null), "model"
 *                  (string|null), "state" ("complete", "streaming",
 *                  "interrupted", "error"), "error" (string|null),
 *                  "prompt_tokens", "reply_tokens" (integer|null = unknown),
 *                  "estimated" (bool), "ttft_ms" (integer|null),
 *                  "total_ns", "load_ns", "prompt_ns", "eval_ns" (integer,
 *                  0 = unknown), "created", "parent" (index of an earlier
 *                  entry of "messages", or null for a root)}]}
 *
 * "version" is 2; "session" also has "head", the index of the message the
 * session shows (null when empty), and "tools_off" (array of tool names
 * or null, absent in older files), and "messages" holds every branch.
 * Version 1 files (parley before branches) held the transcript alone with
 * "parent" null throughout: each message follows the one before it.
 *
 * Times are unix milliseconds. Import makes a new session (new ids) and keeps
 * everything else, times included, so export → import → export differs only
 * in ids.
 */
#include "store.h"

#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#define STORE_SCHEMA 4
#define STORE_EXPORT_VERSION 2
#define STORE_PREVIEW_MAX 60
#define STORE_BUSY_MS 10000
#define STORE_ID_LEN 8
#define STORE_ID_MAX 64 /* a client-chosen id */
#define STORE_TITLE_MAX 60
#define STORE_SEARCH_WINDOW 1000
#define STORE_PREFIX_MIN 3

enum store_stmt_id {
	S_BEGIN,
	S_COMMIT,
	S_ROLLBACK,
	S_SESSION_INSERT,
	S_SESSION_BY_ID,
	S_SESSION_BY_PREFIX,
	S_SESSION_BY_TITLE,
	S_SESSION_LATEST,
	S_SESSION_LIST,
	S_SESSION_UPDATE,
	S_SESSION_RENAME,
	S_SESSION_DELETE,
	S_SESSION_CLEAR,
	S_SESSION_TOUCH,
	S_SESSION_BUMP,
	S_SESSION_SET_UPDATED,
	S_SESSION_SET_HEAD,
	S_SESSION_HEAD,
	S_MSG_INSERT,
	S_MSG_LINKS,
	S_MSG_REPARENT,
	S_HEAD_UP,
	S_MSG_UPDATE,
	S_MSG_TOUCH,
	S_MSG_DELETE,
	S_MSGS,
	S_MSGS_ALL,
	S_TREE,
	S_SEARCH,
	S_SEARCH_FLOOR,
	S_DATA_VERSION,
	S_STREAMING,
	S_INTERRUPT,
	S_COUNT
};

#define SESSION_COLS "id, title, provider, model, system, options, origin, " \
	             "created, updated, nmessages, head, tools"
#define MSG_COLS "id, session, parent, role, content, thinking, tool_calls, " \
	         "tool_call_id, tool_name, attachments, model, state, error, " \
	         "prompt_tokens, reply_tokens, estimated, ttft_ms, total_ns, " \
	         "load_ns, prompt_ns, eval_ns, created, writer_pid"

/* The end of the branch session ?1 shows: its head, else (none yet, or
 * a head cleared away) the newest message. */
#define STORE_HEAD_SQL "coalesce((SELECT m.id FROM sessions s JOIN messages m " \
	               "ON m.id = s.head AND m.session = s.id WHERE s.id = ?1), " \
	               "(SELECT max(id) FROM messages WHERE session = ?1))"

static const char *const store_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SESSION_INSERT] = "INSERT INTO sessions (id, title, provider, model, "
	                     "system, options, origin, created, updated, tools) "
	                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9)",
	[S_SESSION_BY_ID] = "SELECT " SESSION_COLS " FROM sessions WHERE id = ?1",
	/* Ids are [A-Za-z0-9._-] and '~' sorts after them: a range scan on
	 * the key. */
	[S_SESSION_BY_PREFIX] = "SELECT " SESSION_COLS " FROM sessions "
	                        "WHERE id >= ?1 AND id < ?1 || '~' ORDER BY id LIMIT 6",
	[S_SESSION_BY_TITLE] = "SELECT " SESSION_COLS " FROM sessions WHERE "
	                       "title = ?1 ORDER BY updated DESC, rowid DESC LIMIT 1",
	[S_SESSION_LATEST] = "SELECT " SESSION_COLS " FROM sessions "
	                     "ORDER BY updated DESC, rowid DESC LIMIT 1",
	[S_SESSION_LIST] = "SELECT " SESSION_COLS " FROM sessions WHERE ?1 IS NULL "
	                   "OR instr(lower(title), lower(?1)) > 0 OR instr(id, lower(?1)) > 0 "
	                   "ORDER BY updated DESC, rowid DESC LIMIT ?2",
	[S_SESSION_UPDATE] = "UPDATE sessions SET title = ?2, provider = ?3, "
	                     "model = ?4, system = ?5, options = ?6, tools = ?7 WHERE id = ?1",
	[S_SESSION_RENAME] = "UPDATE sessions SET title = ?2 WHERE id = ?1",
	[S_SESSION_DELETE] = "DELETE FROM sessions WHERE id = ?1",
	[S_SESSION_CLEAR] = "DELETE FROM messages WHERE session = ?1",
	/* A session without a title takes its first user message's. */
	[S_SESSION_TOUCH] = "UPDATE sessions SET updated = max(updated, ?2), "
	                    "head = ?4, "
	                    "title = CASE WHEN title = '' AND ?3 IS NOT NULL "
	                    "THEN ?3 ELSE title END WHERE id = ?1",
	/* The same without a title: setting title at all, even to itself,
	 * rewrites its index entry, a page more in every commit. */
	[S_SESSION_BUMP] = "UPDATE sessions SET updated = max(updated, ?2), head = ?4 WHERE id = ?1",
	[S_SESSION_SET_UPDATED] = "UPDATE sessions SET updated = ?2 WHERE id = ?1",
	[S_SESSION_SET_HEAD] = "UPDATE sessions SET head = ?2 WHERE id = ?1 AND "
	                       "(?2 IS NULL OR EXISTS (SELECT 1 FROM messages "
	                       "WHERE id = ?2 AND session = ?1))",
	/* The end of the branch on show: the head, else the newest message. */
	[S_SESSION_HEAD] = "SELECT " STORE_HEAD_SQL,
	[S_MSG_INSERT] = "INSERT INTO messages (session, parent, role, content, "
	                 "thinking, tool_calls, tool_call_id, tool_name, attachments, "
	                 "model, state, error, prompt_tokens, reply_tokens, estimated, "
	                 "ttft_ms, total_ns, load_ns, prompt_ns, eval_ns, created, "
	                 "writer_pid) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
	                 "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
	[S_MSG_UPDATE] = "UPDATE messages SET content = ?2, thinking = ?3, "
	                 "tool_calls = ?4, state = ?5, error = ?6, model = ?7, "
	                 "prompt_tokens = ?8, reply_tokens = ?9, estimated = ?10, "
	                 "ttft_ms = ?11, total_ns = ?12, load_ns = ?13, prompt_ns = ?14, "
	                 "eval_ns = ?15, writer_pid = ?16 WHERE id = ?1",
	[S_MSG_TOUCH] = "UPDATE sessions SET updated = max(updated, ?2) WHERE id = "
	                "(SELECT session FROM messages WHERE id = ?1)",
	[S_MSG_DELETE] = "DELETE FROM messages WHERE id = ?1",
	[S_MSG_LINKS] = "SELECT session, parent FROM messages WHERE id = ?1",
	[S_MSG_REPARENT] = "UPDATE messages SET parent = ?2 WHERE session = ?3 AND parent = ?1",
	[S_HEAD_UP] = "UPDATE sessions SET head = ?2 WHERE id = ?3 AND head = ?1",
	/* Up from the head to the root; a parent is older than its child,
	 * which also stops a damaged file from looping. */
	[S_MSGS] = "WITH RECURSIVE path(id) AS (SELECT " STORE_HEAD_SQL
	           " UNION ALL SELECT m.parent FROM messages m JOIN "
	           "path ON m.id = path.id WHERE m.parent < m.id) "
	           "SELECT " MSG_COLS " FROM messages WHERE session = ?1 AND id IN "
	           "(SELECT id FROM path) ORDER BY id",
	[S_MSGS_ALL] = "SELECT " MSG_COLS " FROM messages WHERE session = ?1 ORDER BY id",
	[S_TREE] = "SELECT id, parent, role, substr(content, 1, 400), created "
	           "FROM messages WHERE session = ?1 ORDER BY id",
	[S_SEARCH] = "SELECT m.session, s.title, m.id, m.role, "
	             "snippet(messages_fts, 0, ?2, ?3, '…', 16), m.created "
	             "FROM messages_fts JOIN messages m ON m.id = messages_fts.rowid "
	             "JOIN sessions s ON s.id = m.session "
	             "WHERE messages_fts MATCH ?1 AND messages_fts.rowid >= ?5 "
	             "ORDER BY rank LIMIT ?4",
	/* Ranking every match of a word found in most messages costs a
	 * second at 500,000 messages; walking matches newest first is cheap,
	 * so only the newest STORE_SEARCH_WINDOW are ranked. */
	[S_SEARCH_FLOOR] = "SELECT rowid FROM messages_fts WHERE messages_fts "
	                   "MATCH ?1 ORDER BY rowid DESC LIMIT 1 OFFSET ?2",
	[S_DATA_VERSION] = "PRAGMA data_version",
	[S_STREAMING] = "SELECT id, writer_pid FROM messages WHERE state = 1",
	[S_INTERRUPT] = "UPDATE messages SET state = 2 WHERE id = ?1 AND state = 1",
};

/* Schema steps: store_schema[v] takes a file from version v to v + 1. */
static const char *const store_schema[STORE_SCHEMA] = {
	/* v0 -> v1 */
	"CREATE TABLE sessions ("
	" id TEXT PRIMARY KEY NOT NULL,"
	" title TEXT NOT NULL DEFAULT '',"
	" provider TEXT NOT NULL DEFAULT '',"
	" model TEXT NOT NULL DEFAULT '',"
	" system TEXT,"
	" options TEXT,"
	" origin TEXT NOT NULL DEFAULT '',"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE INDEX sessions_updated ON sessions(updated);"
	"CREATE TABLE messages ("
	" id INTEGER PRIMARY KEY,"
	" session TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,"
	" parent INTEGER,"
	" role TEXT NOT NULL,"
	" content TEXT NOT NULL DEFAULT '',"
	" thinking TEXT,"
	" tool_calls TEXT,"
	" tool_call_id TEXT,"
	" tool_name TEXT,"
	" attachments TEXT,"
	" model TEXT,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" error TEXT,"
	" prompt_tokens INTEGER NOT NULL DEFAULT -1,"
	" reply_tokens INTEGER NOT NULL DEFAULT -1,"
	" estimated INTEGER NOT NULL DEFAULT 0,"
	" ttft_ms INTEGER NOT NULL DEFAULT -1,"
	" total_ns INTEGER NOT NULL DEFAULT 0,"
	" load_ns INTEGER NOT NULL DEFAULT 0,"
	" prompt_ns INTEGER NOT NULL DEFAULT 0,"
	" eval_ns INTEGER NOT NULL DEFAULT 0,"
	" created INTEGER NOT NULL,"
	" writer_pid INTEGER);"
	"CREATE INDEX messages_session ON messages(session, id);"
	"CREATE INDEX messages_streaming ON messages(state) WHERE state = 1;",

	/* v1 -> v2 */
	"ALTER TABLE sessions ADD COLUMN nmessages INTEGER NOT NULL DEFAULT 0;"
	"UPDATE sessions SET nmessages ="
	" (SELECT count(*) FROM messages WHERE messages.session = sessions.id);"
	"CREATE INDEX sessions_title ON sessions(title);"
	"CREATE VIRTUAL TABLE messages_fts USING fts5(content,"
	" content='messages', content_rowid='id',"
	" tokenize='unicode61 remove_diacritics 2');"
	"INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');"
	"CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN"
	" INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);"
	" UPDATE sessions SET nmessages = nmessages + 1 WHERE id = new.session;"
	" END;"
	"CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN"
	" INSERT INTO messages_fts(messages_fts, rowid, content)"
	"  VALUES ('delete', old.id, old.content);"
	" UPDATE sessions SET nmessages = nmessages - 1 WHERE id = old.session;"
	" END;"
	/* Streaming rewrites stats often; only a content change is reindexed. */
	"CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages"
	" WHEN old.content IS NOT new.content BEGIN"
	" INSERT INTO messages_fts(messages_fts, rowid, content)"
	"  VALUES ('delete', old.id, old.content);"
	" INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);"
	" END;",

	/* v2 -> v3 */
	"ALTER TABLE sessions ADD COLUMN head INTEGER;"
	"UPDATE messages SET parent = (SELECT max(p.id) FROM messages p"
	" WHERE p.session = messages.session AND p.id < messages.id)"
	" WHERE parent IS NULL;"
	"UPDATE sessions SET head ="
	" (SELECT max(id) FROM messages WHERE messages.session = sessions.id);"
	"CREATE INDEX messages_parent ON messages(session, parent);",

	/* v3 -> v4 */
	"ALTER TABLE sessions ADD COLUMN tools TEXT;",
};

static const char *const store_state_names[] = {
	[STORE_COMPLETE] = "complete",
	[STORE_STREAMING] = "streaming",
	[STORE_INTERRUPTED] = "interrupted",
	[STORE_ERROR] = "error",
};

struct store {
	sqlite3 *db;
	char *path;
	sqlite3_stmt *stmt[S_COUNT];
};

/* Translate a SQLite failure into a message for a person. */
static int
store_fail(struct store *st, int rc, char **cause, const char *what)
{
	const char *msg = sqlite3_errmsg(st->db);

	switch (rc & 0xff) {
	case SQLITE_FULL:
		return util_fail(cause, "the disk is full: the session store at %s "
		                        "could not be written; the reply was not saved",
		    st->path);
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return util_fail(cause, "%s is not a parley session store or is "
		                        "corrupt: %s (move it aside to start a new one)",
		    st->path, msg);
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
		return util_fail(cause, "cannot write the session store at %s: %s",
		    st->path, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return util_fail(cause, "the session store at %s stayed locked by "
		                        "another process for %d seconds (%s)",
		    st->path, STORE_BUSY_MS / 1000, what);
	default:
		return util_fail(cause, "session store %s: %s: %s", st->path, what,
		    msg);
	}
}

static void
store_pause(void)
{
	struct timespec ts = { 0, 2 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

/* Run SQL that returns no rows we need, retrying on the SQLITE_BUSY cases
 * that bypass the busy handler. */
static int
store_exec(struct store *st, const char *sql)
{
	int64_t deadline = util_now_ms() + STORE_BUSY_MS;
	int rc;

	for (;;) {
		rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
		if ((rc & 0xff) != SQLITE_BUSY || util_now_ms() > deadline ||
		    !sqlite3_get_autocommit(st->db))
			return rc;
		store_pause();
	}
}

/* A cached statement, ready for binding. */
static sqlite3_stmt *
store_stmt(struct store *st, enum store_stmt_id id, int *rcp)
{
	int rc;

	if (st->stmt[id] == NULL) {
		rc = sqlite3_prepare_v3(st->db, store_sql[id], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[id], NULL);
		if (rc == SQLITE_OK && st->stmt[id] == NULL)
			fatal("store: statement %d is empty", (int)id);
		if (rc != SQLITE_OK) {
			*rcp = rc;
			return NULL;
		}
	}
	return st->stmt[id];
}

static void
store_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

/* First step of a statement. Outside a transaction a SQLITE_BUSY has no side
 * effect, so it is retried (WAL recovery does not call the busy handler). */
static int
store_step(struct store *st, sqlite3_stmt *s)
{
	int64_t deadline = 0;
	int rc;

	for (;;) {
		rc = sqlite3_step(s);
		if ((rc & 0xff) != SQLITE_BUSY || !sqlite3_get_autocommit(st->db))
			return rc;
		if (deadline == 0)
			deadline = util_now_ms() + STORE_BUSY_MS;
		else if (util_now_ms() > deadline)
			return rc;
		sqlite3_reset(s);
		store_pause();
	}
}

/* Run a cached statement that returns no rows. */
static int
store_run(struct store *st, sqlite3_stmt *s)
{
	int rc = store_step(st, s);

	store_done(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

static int
store_begin(struct store *st, char **cause)
{
	int rc = SQLITE_OK;
	sqlite3_stmt *s = store_stmt(st, S_BEGIN, &rc);

	if (s == NULL || (rc = store_run(st, s)) != SQLITE_OK)
		return store_fail(st, rc, cause, "begin");
	return 0;
}

/* Undo a transaction after a failure (SQLite may already have rolled back,
 * e.g. on SQLITE_FULL). */
static void
store_rollback(struct store *st)
{
	int rc = SQLITE_OK;
	sqlite3_stmt *s;

	if (sqlite3_get_autocommit(st->db))
		return;
	s = store_stmt(st, S_ROLLBACK, &rc);
	if (s != NULL)
		store_run(st, s);
}

static int
store_commit(struct store *st, char **cause)
{
	int rc = SQLITE_OK;
	sqlite3_stmt *s = store_stmt(st, S_COMMIT, &rc);

	if (s == NULL || (rc = store_run(st, s)) != SQLITE_OK) {
		store_fail(st, rc, cause, "commit");
		store_rollback(st);
		return -1;
	}
	return 0;
}

static void
store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

static char *
store_col_text(sqlite3_stmt *s, int i)
{
	const unsigned char *v = sqlite3_column_text(s, i);

	return v == NULL ? NULL : xstrdup((const char *)v);
}

static char *
store_col_str(sqlite3_stmt *s, int i)
{
	char *v = store_col_text(s, i);

	return v == NULL ? xstrdup("") : v;
}

static bool
store_pid_alive(int64_t pid)
{
	char path[64], stat[256], *rp;
	FILE *fp;
	size_t n;

	if (pid <= 0 || pid > 0x7fffffff)
		return false;
	if (kill((pid_t)pid, 0) != 0 && errno != EPERM)
		return false;
	/* A killed writer its parent has not reaped yet is a zombie: dead for
	 * our purposes, though kill() still finds it. */
	snprintf(path, sizeof path, "/proc/%lld/stat", (long long)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return true;
	n = fread(stat, 1, sizeof stat - 1, fp);
	fclose(fp);
	stat[n] = '\0';
	rp = strrchr(stat, ')');
	return rp == NULL || rp[1] != ' ' || (rp[2] != 'Z' && rp[2] != 'X');
}

/* ---------------------------------------------------------------------- */
/* Opening, schema */

static int
store_user_version(struct store *st, int *version)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = store_step(st, s);
	if (rc == SQLITE_ROW) {
		*version = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

static int
store_count_objects(struct store *st, int *n)
{
	sqlite3_stmt *s;
	int rc;

	rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master", -1,
	    &s, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = store_step(st, s);
	if (rc == SQLITE_ROW) {
		*n = sqlite3_column_int(s, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(s);
	return rc;
}

/* Bring the schema to STORE_SCHEMA. The version is read again under the
 * write lock: another process may have migrated the file meanwhile. */
static int
store_migrate(struct store *st, char **cause)
{
	int version = 0, nobj = 0, rc;
	char *sql;

	if (store_begin(st, cause) != 0)
		return -1;
	if ((rc = store_user_version(st, &version)) != SQLITE_OK ||
	    (rc = store_count_objects(st, &nobj)) != SQLITE_OK) {
		store_fail(st, rc, cause, "reading the schema");
		goto fail;
	}
	if (version > STORE_SCHEMA) {
		util_fail(cause, "%s was written by a newer parley (schema %d); "
		                 "upgrade parley",
		    st->path, version);
		goto fail;
	}
	if (version == 0 && nobj != 0) {
		util_fail(cause, "%s is not a parley session store or is corrupt: "
		                 "it holds other tables (move it aside to start a new one)",
		    st->path);
		goto fail;
	}
	for (; version < STORE_SCHEMA; version++) {
		rc = sqlite3_exec(st->db, store_schema[version], NULL, NULL, NULL);
		if (rc != SQLITE_OK) {
			char *what = xasprintf("upgrading the schema to version %d",
			    version + 1);

			store_fail(st, rc, cause, what);
			free(what);
			goto fail;
		}
	}
	/* PRAGMA takes no parameters; the number is ours, not user text. */
	sql = xasprintf("PRAGMA user_version = %d", STORE_SCHEMA);
	rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
	free(sql);
	if (rc != SQLITE_OK) {
		store_fail(st, rc, cause, "setting the schema version");
		goto fail;
	}
	return store_commit(st, cause);

fail:
	store_rollback(st);
	return -1;
}

/* Streaming rows whose writer is gone become INTERRUPTED. */
static int
store_sweep(struct store *st, char **cause)
{
	int64_t *ids = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if ((s = store_stmt(st, S_STREAMING, &rc)) == NULL)
		return store_fail(st, rc, cause, "reading streaming messages");
	for (rc = store_step(st, s); rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		if (store_pid_alive(sqlite3_column_int64(s, 1)))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			ids = xreallocarray(ids, cap, sizeof *ids);
		}
		ids[n++] = sqlite3_column_int64(s, 0);
	}
	store_done(s);
	if (rc != SQLITE_DONE) {
		free(ids);
		return store_fail(st, rc, cause, "reading streaming messages");
	}
	if (n == 0)
		return 0;
	if (store_begin(st, cause) != 0) {
		free(ids);
		return -1;
	}
	if ((s = store_stmt(st, S_INTERRUPT, &rc)) == NULL)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(s, 1, ids[i]);
		if ((rc = store_run(st, s)) != SQLITE_OK)
			goto fail;
	}
	free(ids);
	return store_commit(st, cause);

fail:
	free(ids);
	store_fail(st, rc, cause, "marking interrupted messages");
	store_rollback(st);
	return -1;
}

static int
store_pragmas(struct store *st, char **cause)
{
	static const char *const pragmas[] = {
		"PRAGMA journal_mode = WAL",
		/* In WAL mode NORMAL only risks the last commits on power loss,
		 * never the file, and saves an fsync per streaming update. */
		"PRAGMA synchronous = NORMAL",
		"PRAGMA foreign_keys = ON",
		/* The TUI and the listener run for days: a bounded page cache
		 * keeps their memory flat as the store grows (SQLite's default
		 * is 2 MB a connection); a chat's hot pages are few. */
		"PRAGMA cache_size = -512",
	};
	int rc;

	for (size_t i = 0; i < sizeof pragmas / sizeof pragmas[0]; i++) {
		if ((rc = store_exec(st, pragmas[i])) != SQLITE_OK)
			return store_fail(st, rc, cause, pragmas[i]);
	}
	return 0;
}

struct store *
store_open(const char *path, char **cause)
{
	struct store *st;
	char *dir, *slash;
	int rc, version = 0;

	dir = xstrdup(path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (util_mkdirs(dir) != 0) {
			util_fail(cause, "cannot create the session store at %s: %s",
			    path, strerror(errno));
			free(dir);
			return NULL;
		}
	}
	free(dir);

	st = xcalloc(1, sizeof *st);
	st->path = xstrdup(path);
	rc = sqlite3_open_v2(path, &st->db,
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		int err = sqlite3_system_errno(st->db);

		if (st->db == NULL)
			fatal("out of memory");
		util_fail(cause, "cannot create the session store at %s: %s", path,
		    err != 0 ? strerror(err) : sqlite3_errmsg(st->db));
		store_close(st);
		return NULL;
	}
	sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
	sqlite3_extended_result_codes(st->db, 1);

	/* Read the version first: a foreign or newer file is refused before
	 * anything (journal mode included) is changed in it. */
	if ((rc = store_user_version(st, &version)) != SQLITE_OK) {
		if ((rc & 0xff) == SQLITE_CANTOPEN || (rc & 0xff) == SQLITE_READONLY ||
		    (rc & 0xff) == SQLITE_PERM) {
			int err = sqlite3_system_errno(st->db);

			util_fail(cause, "cannot create the session store at %s: %s",
			    path, err != 0 ? strerror(err) : sqlite3_errmsg(st->db));
		} else
			store_fail(st, rc, cause, "reading the schema version");
		goto fail;
	}
	if (version > STORE_SCHEMA) {
		util_fail(cause, "%s was written by a newer parley (schema %d); "
		                 "upgrade parley",
		    path, version);
		goto fail;
	}
	if (store_pragmas(st, cause) != 0)
		goto fail;
	if (version < STORE_SCHEMA && store_migrate(st, cause) != 0)
		goto fail;
	if (store_sweep(st, cause) != 0)
		goto fail;
	return st;

fail:
	store_close(st);
	return NULL;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st->path);
	free(st);
}

const char *
store_path(const struct store *st)
{
	return st->path;
}

char *
store_default_path(void)
{
	const char *env = getenv("PARLEY_DB");
	char *dir, *path;

	if (env != NULL && *env != '\0')
		return xstrdup(env);
	dir = util_xdg_dir("DATA");
	path = xasprintf("%s/parley.db", dir);
	free(dir);
	return path;
}

int
store_set_max_pages(struct store *st, int64_t pages, char **cause)
{
	char *sql = xasprintf("PRAGMA max_page_count = %lld", (long long)pages);
	int rc = store_exec(st, sql);

	free(sql);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, cause, "setting the page limit");
	return 0;
}

int64_t
store_data_version(struct store *st)
{
	sqlite3_stmt *s;
	int64_t v = -1;
	int rc = SQLITE_OK;

	if ((s = store_stmt(st, S_DATA_VERSION, &rc)) == NULL)
		return -1;
	if (store_step(st, s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	store_done(s);
	return v;
}

/* ---------------------------------------------------------------------- */
/* Sessions */

/* 8 characters of [0-9a-z] from the kernel's random pool. */
static void
store_new_id(char id[STORE_ID_LEN + 1])
{
	static const char alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned char rnd[64];
	size_t n = 0, i = 0;

	while (n < STORE_ID_LEN) {
		if (i == 0 || i >= sizeof rnd) {
			ssize_t got = getrandom(rnd, sizeof rnd, 0);

			if (got != (ssize_t)sizeof rnd)
				fatal("getrandom: %s", strerror(errno));
			i = 0;
		}
		/* 252 = 7 * 36: reject the top bytes to keep the draw uniform. */
		if (rnd[i] < 252)
			id[n++] = alphabet[rnd[i] % 36];
		i++;
	}
	id[STORE_ID_LEN] = '\0';
}

static struct store_session *
store_row_session(sqlite3_stmt *s)
{
	struct store_session *ss = xcalloc(1, sizeof *ss);

	ss->id = store_col_str(s, 0);
	ss->title = store_col_str(s, 1);
	ss->provider = store_col_str(s, 2);
	ss->model = store_col_str(s, 3);
	ss->system = store_col_text(s, 4);
	ss->options = store_col_text(s, 5);
	ss->origin = store_col_str(s, 6);
	ss->created = sqlite3_column_int64(s, 7);
	ss->updated = sqlite3_column_int64(s, 8);
	ss->nmessages = sqlite3_column_int64(s, 9);
	ss->head = sqlite3_column_int64(s, 10);
	ss->tools = store_col_text(s, 11);
	return ss;
}

bool
store_session_id_valid(const char *id)
{
	size_t len = id != NULL ? strlen(id) : 0;

	return len >= 1 && len <= STORE_ID_MAX &&
	    strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == len;
}

/* Insert s inside the caller's transaction, with a fresh id or with the
 * one preset in s->id (a client-chosen id: taken means an error, not a
 * redraw); created and updated are taken from s when set (import), else
 * now. */
static int
store_session_insert(struct store *st, struct store_session *s, char **cause)
{
	char id[STORE_ID_MAX + 1];
	sqlite3_stmt *q;
	int64_t now = s->created > 0 ? s->created : util_wall_ms();
	int rc = SQLITE_OK;
	bool preset = s->id != NULL;

	if (preset && !store_session_id_valid(s->id))
		return util_fail(cause, "session id must be 1 to %d characters of A-Z, a-z, 0-9, '.', '_' or '-'", STORE_ID_MAX);
	if ((q = store_stmt(st, S_SESSION_INSERT, &rc)) == NULL)
		return store_fail(st, rc, cause, "creating a session");
	for (int tries = 0; tries < 16; tries++) {
		if (preset)
			snprintf(id, sizeof id, "%s", s->id);
		else
			store_new_id(id);
		sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, s->title ? s->title : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 3, s->provider ? s->provider : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 4, s->model ? s->model : "", -1, SQLITE_STATIC);
		store_bind_text(q, 5, s->system);
		store_bind_text(q, 6, s->options);
		sqlite3_bind_text(q, 7, s->origin ? s->origin : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 8, now);
		store_bind_text(q, 9, s->tools);
		rc = store_run(st, q);
		if (rc == SQLITE_OK) {
			if (!preset) {
				free(s->id);
				s->id = xstrdup(id);
			}
			s->created = now;
			if (s->updated < now)
				s->updated = now;
			return 0;
		}
		/* An id already taken: draw another. */
		if (rc != SQLITE_CONSTRAINT_PRIMARYKEY && (rc & 0xff) != SQLITE_CONSTRAINT)
			break;
		if (preset)
			return util_fail(cause, "session id '%s' is already taken", s->id);
	}
	return store_fail(st, rc, cause, "creating a session");
}

int
store_session_new(struct store *st, struct store_session *s, char **cause)
{
	if (store_begin(st, cause) != 0)
		return -1;
	s->created = 0;
	s->updated = 0;
	if (store_session_insert(st, s, cause) != 0) {
		store_rollback(st);
		return -1;
	}
	return store_commit(st, cause);
}

/* Run a session query with one text parameter; collect up to max rows. */
static int
store_session_query(struct store *st, enum store_stmt_id id, const char *arg,
    struct store_session **rows, size_t max, size_t *n, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	*n = 0;
	if ((s = store_stmt(st, id, &rc)) == NULL)
		return store_fail(st, rc, cause, "finding a session");
	if (arg != NULL)
		sqlite3_bind_text(s, 1, arg, -1, SQLITE_STATIC);
	for (rc = store_step(st, s); rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		if (*n < max)
			rows[(*n)++] = store_row_session(s);
	}
	store_done(s);
	if (rc != SQLITE_DONE) {
		for (size_t i = 0; i < *n; i++)
			store_session_free(rows[i]);
		*n = 0;
		return store_fail(st, rc, cause, "finding a session");
	}
	return 0;
}

/* Free n sessions of an array the caller owns. */
static void
store_sessions_free_n(struct store_session **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_session_free(v[i]);
}

int
store_session_find(struct store *st, const char *key, struct store_session **out,
    char **cause)
{
	struct store_session *rows[6];
	size_t n = 0, np = 0;
	struct buf b = { 0 };

	*out = NULL;
	if (key == NULL || *key == '\0')
		return 1;
	/* Any id a session can have, ours or a client's, is looked up as an
	 * id first: an exact id wins over everything else. */
	if (store_session_id_valid(key)) {
		if (store_session_query(st, S_SESSION_BY_ID, key, rows, 1, &n, cause) != 0)
			return -1;
		if (n == 1) {
			*out = rows[0];
			return 0;
		}
		if (store_session_query(st, S_SESSION_BY_PREFIX, key, rows, 6, &np,
		        cause) != 0)
			return -1;
		if (np == 1) {
			*out = rows[0];
			return 0;
		}
	}
	/* A title wins over an ambiguous prefix: it names one session. */
	if (store_session_query(st, S_SESSION_BY_TITLE, key, out, 1, &n, cause) != 0) {
		store_sessions_free_n(rows, np);
		return -1;
	}
	if (n == 1) {
		store_sessions_free_n(rows, np);
		return 0;
	}
	if (np == 0)
		return 1;
	buf_printf(&b, "'%s' matches several sessions:", key);
	for (size_t i = 0; i < np && i < 5; i++)
		buf_printf(&b, "%s %s%s%s%s", i ? "," : "", rows[i]->id,
		    *rows[i]->title ? " (" : "", rows[i]->title,
		    *rows[i]->title ? ")" : "");
	if (np > 5)
		buf_puts(&b, ", ...");
	buf_puts(&b, "; type more of the id");
	store_sessions_free_n(rows, np);
	*cause = buf_steal(&b);
	return -1;
}

int
store_session_by_id(struct store *st, const char *id, struct store_session **out, char **cause)
{
	size_t n = 0;

	*out = NULL;
	if (id == NULL || *id == '\0')
		return 1;
	if (store_session_query(st, S_SESSION_BY_ID, id, out, 1, &n, cause) != 0)
		return -1;
	return n == 1 ? 0 : 1;
}

int
store_session_latest(struct store *st, struct store_session **out, char **cause)
{
	size_t n = 0;

	*out = NULL;
	if (store_session_query(st, S_SESSION_LATEST, NULL, out, 1, &n, cause) != 0)
		return -1;
	return n == 1 ? 0 : 1;
}

int
store_session_list(struct store *st, const char *filter, size_t limit,
    struct store_session ***out, size_t *n, char **cause)
{
	struct store_session **v = NULL;
	size_t cap = 0;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	*out = NULL;
	*n = 0;
	if ((s = store_stmt(st, S_SESSION_LIST, &rc)) == NULL)
		return store_fail(st, rc, cause, "listing sessions");
	store_bind_text(s, 1, filter != NULL && *filter != '\0' ? filter : NULL);
	sqlite3_bind_int64(s, 2, limit == 0 ? -1 : (sqlite3_int64)limit);
	for (rc = store_step(st, s); rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[(*n)++] = store_row_session(s);
	}
	store_done(s);
	if (rc != SQLITE_DONE) {
		store_sessions_free(v, *n);
		*n = 0;
		return store_fail(st, rc, cause, "listing sessions");
	}
	*out = v;
	return 0;
}

/* Run one write statement as its own transaction; 1 if it changed no row. */
static int
store_write1(struct store *st, sqlite3_stmt *s, const char *what, char **cause)
{
	int rc, changed;

	if (store_begin(st, cause) != 0) {
		store_done(s);
		return -1;
	}
	rc = store_run(st, s);
	changed = sqlite3_changes(st->db);
	if (rc != SQLITE_OK) {
		store_fail(st, rc, cause, what);
		store_rollback(st);
		return -1;
	}
	if (store_commit(st, cause) != 0)
		return -1;
	return changed > 0 ? 0 : 1;
}

static int
store_no_session(const char *id, char **cause)
{
	return util_fail(cause, "no session matches '%s'", id);
}

int
store_session_update(struct store *st, const struct store_session *ss, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if ((s = store_stmt(st, S_SESSION_UPDATE, &rc)) == NULL)
		return store_fail(st, rc, cause, "updating a session");
	sqlite3_bind_text(s, 1, ss->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, ss->title ? ss->title : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, ss->provider ? ss->provider : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, ss->model ? ss->model : "", -1, SQLITE_STATIC);
	store_bind_text(s, 5, ss->system);
	store_bind_text(s, 6, ss->options);
	store_bind_text(s, 7, ss->tools);
	rc = store_write1(st, s, "updating a session", cause);
	return rc == 1 ? store_no_session(ss->id, cause) : rc;
}

int
store_session_rename(struct store *st, const char *id, const char *title, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if ((s = store_stmt(st, S_SESSION_RENAME, &rc)) == NULL)
		return store_fail(st, rc, cause, "renaming a session");
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, title, -1, SQLITE_STATIC);
	rc = store_write1(st, s, "renaming a session", cause);
	return rc == 1 ? store_no_session(id, cause) : rc;
}

int
store_session_delete(struct store *st, const char *id, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK, changed;

	if (store_begin(st, cause) != 0)
		return -1;
	/* Messages first, explicitly: their delete trigger keeps the FTS index
	 * in step whatever the foreign key settings of this connection. */
	if ((s = store_stmt(st, S_SESSION_CLEAR, &rc)) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if ((rc = store_run(st, s)) != SQLITE_OK)
		goto fail;
	if ((s = store_stmt(st, S_SESSION_DELETE, &rc)) == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	if ((rc = store_run(st, s)) != SQLITE_OK)
		goto fail;
	changed = sqlite3_changes(st->db);
	if (store_commit(st, cause) != 0)
		return -1;
	return changed > 0 ? 0 : store_no_session(id, cause);

fail:
	store_fail(st, rc, cause, "deleting a session");
	store_rollback(st);
	return -1;
}

int
store_session_clear(struct store *st, const char *id, char **cause)
{
	struct store_session *ss = NULL;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	rc = store_session_query(st, S_SESSION_BY_ID, id, &ss, 1, &(size_t){ 0 }, cause);
	if (rc != 0)
		return -1;
	if (ss == NULL)
		return store_no_session(id, cause);
	store_session_free(ss);
	if ((s = store_stmt(st, S_SESSION_CLEAR, &rc)) == NULL)
		return store_fail(st, rc, cause, "clearing a session");
	sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
	return store_write1(st, s, "clearing a session", cause) < 0 ? -1 : 0;
}

void
store_session_free(struct store_session *s)
{
	if (s == NULL)
		return;
	free(s->id);
	free(s->title);
	free(s->provider);
	free(s->model);
	free(s->system);
	free(s->options);
	free(s->tools);
	free(s->origin);
	free(s);
}

void
store_sessions_free(struct store_session **v, size_t n)
{
	if (v == NULL)
		return;
	store_sessions_free_n(v, n);
	free(v);
}

/* ---------------------------------------------------------------------- */
/* Messages */

/* Bytes of the UTF-8 sequence starting at p (1 for a stray byte). */
static size_t
store_utf8_len(const unsigned char *p)
{
	if (*p < 0xc0)
		return 1;
	if (*p < 0xe0)
		return p[1] ? 2 : 1;
	if (*p < 0xf0)
		return p[1] && p[2] ? 3 : 1;
	return p[1] && p[2] && p[3] ? 4 : 1;
}

/* A title from a user message: whitespace collapsed, at most about
 * STORE_TITLE_MAX characters, cut at a word boundary with an ellipsis.
 * NULL when the text has no words. */
static char *
store_title(const char *text)
{
	struct buf b = { 0 };
	const unsigned char *p = (const unsigned char *)text;
	size_t chars = 0, last_space = 0, last_space_chars = 0;
	bool space = false, cut = false;

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' ||
	    *p == '\v')
		p++;
	while (*p != '\0') {
		size_t n;

		if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' ||
		    *p == '\f' || *p == '\v') {
			space = true;
			p++;
			continue;
		}
		if (space) {
			if (chars + 1 > STORE_TITLE_MAX) {
				cut = true;
				break;
			}
			last_space = b.len;
			last_space_chars = chars;
			buf_putc(&b, ' ');
			chars++;
			space = false;
		}
		if (chars + 1 > STORE_TITLE_MAX) {
			cut = true;
			break;
		}
		n = store_utf8_len(p);
		buf_append(&b, p, n);
		chars++;
		p += n;
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	if (cut) {
		/* Back to the last word boundary unless that drops most of it. */
		if (last_space > 0 && last_space_chars >= STORE_TITLE_MAX / 2)
			b.len = last_space;
		else if (chars >= STORE_TITLE_MAX) {
			/* one long word: make room for the ellipsis */
			size_t i = b.len;

			while (i > 0 && ((unsigned char)b.data[i - 1] & 0xc0) == 0x80)
				i--;
			b.len = i > 0 ? i - 1 : 0;
		}
		b.data[b.len] = '\0';
		buf_puts(&b, "…");
	}
	return buf_steal(&b);
}

static struct store_msg *
store_row_msg(sqlite3_stmt *s)
{
	struct store_msg *m = xcalloc(1, sizeof *m);
	int state;

	m->id = sqlite3_column_int64(s, 0);
	m->session = store_col_str(s, 1);
	m->parent = sqlite3_column_int64(s, 2);
	m->role = store_col_str(s, 3);
	m->content = store_col_str(s, 4);
	m->thinking = store_col_text(s, 5);
	m->tool_calls = store_col_text(s, 6);
	m->tool_call_id = store_col_text(s, 7);
	m->tool_name = store_col_text(s, 8);
	m->attachments = store_col_text(s, 9);
	m->model = store_col_text(s, 10);
	state = sqlite3_column_int(s, 11);
	m->state = state >= STORE_COMPLETE && state <= STORE_ERROR ? (enum store_state)state : STORE_ERROR;
	m->error = store_col_text(s, 12);
	m->prompt_tokens = sqlite3_column_int64(s, 13);
	m->reply_tokens = sqlite3_column_int64(s, 14);
	m->estimated = sqlite3_column_int(s, 15) != 0;
	m->ttft_ms = sqlite3_column_int64(s, 16);
	m->total_ns = sqlite3_column_int64(s, 17);
	m->load_ns = sqlite3_column_int64(s, 18);
	m->prompt_ns = sqlite3_column_int64(s, 19);
	m->eval_ns = sqlite3_column_int64(s, 20);
	m->created = sqlite3_column_int64(s, 21);
	/* A reply whose writer died mid-stream will never be finished. */
	if (m->state == STORE_STREAMING && !store_pid_alive(sqlite3_column_int64(s, 22)))
		m->state = STORE_INTERRUPTED;
	return m;
}

static int
store_msgs_query(struct store *st, enum store_stmt_id id, const char *session,
    struct store_msg ***out, size_t *n, char **cause)
{
	struct store_msg **v = NULL;
	size_t cap = 0;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	*out = NULL;
	*n = 0;
	if ((s = store_stmt(st, id, &rc)) == NULL)
		return store_fail(st, rc, cause, "reading messages");
	sqlite3_bind_text(s, 1, session, -1, SQLITE_STATIC);
	for (rc = store_step(st, s); rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[(*n)++] = store_row_msg(s);
	}
	store_done(s);
	if (rc != SQLITE_DONE) {
		store_msgs_free(v, *n);
		*n = 0;
		return store_fail(st, rc, cause, "reading messages");
	}
	*out = v;
	return 0;
}

int
store_messages(struct store *st, const char *session, struct store_msg ***out,
    size_t *n, char **cause)
{
	return store_msgs_query(st, S_MSGS, session, out, n, cause);
}

int
store_messages_all(struct store *st, const char *session, struct store_msg ***out,
    size_t *n, char **cause)
{
	return store_msgs_query(st, S_MSGS_ALL, session, out, n, cause);
}

/* The first line of text, cut at a character boundary near
 * STORE_PREVIEW_MAX bytes, with "…" when there is more. */
static char *
store_preview(const char *text)
{
	const char *p = text ? text : "";
	size_t len, cut;
	bool more;

	p += strspn(p, " \t\r\n");
	len = strcspn(p, "\r\n");
	more = p[len + strspn(p + len, " \t\r\n")] != '\0';
	cut = len;
	if (len > STORE_PREVIEW_MAX) {
		cut = STORE_PREVIEW_MAX;
		while (cut > 0 && ((unsigned char)p[cut] & 0xc0) == 0x80)
			cut--;
		more = true;
	}
	return xasprintf("%.*s%s", (int)cut, p, more ? "…" : "");
}

int
store_tree(struct store *st, const char *session, struct store_node **out, size_t *n,
    char **cause)
{
	struct store_node *v = NULL;
	size_t cap = 0;
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	*out = NULL;
	*n = 0;
	if ((s = store_stmt(st, S_TREE, &rc)) == NULL)
		return store_fail(st, rc, cause, "reading messages");
	sqlite3_bind_text(s, 1, session, -1, SQLITE_STATIC);
	for (rc = store_step(st, s); rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		struct store_node *d;
		const char *role = (const char *)sqlite3_column_text(s, 2);

		if (*n == cap) {
			cap = cap ? cap * 2 : 32;
			v = xreallocarray(v, cap, sizeof *v);
		}
		d = &v[(*n)++];
		memset(d, 0, sizeof *d);
		d->id = sqlite3_column_int64(s, 0);
		d->parent = sqlite3_column_int64(s, 1);
		snprintf(d->role, sizeof d->role, "%s", role ? role : "");
		d->preview = store_preview((const char *)sqlite3_column_text(s, 3));
		d->created = sqlite3_column_int64(s, 4);
	}
	store_done(s);
	if (rc != SQLITE_DONE) {
		store_tree_free(v, *n);
		*n = 0;
		return store_fail(st, rc, cause, "reading messages");
	}
	*out = v;
	return 0;
}

void
store_tree_free(struct store_node *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].preview);
	free(v);
}

/* The session and parent of message id: 0, 1 if there is none, -1. */
static int
store_msg_links(struct store *st, int64_t id, char **session, int64_t *parent, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	*session = NULL;
	*parent = 0;
	if ((s = store_stmt(st, S_MSG_LINKS, &rc)) == NULL)
		return store_fail(st, rc, cause, "reading a message");
	sqlite3_bind_int64(s, 1, id);
	rc = store_step(st, s);
	if (rc == SQLITE_ROW) {
		*session = store_col_str(s, 0);
		*parent = sqlite3_column_int64(s, 1);
	}
	store_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(st, rc, cause, "reading a message");
	return rc == SQLITE_ROW ? 0 : 1;
}

/* The end of the branch a session shows (0 when it is empty). */
static int
store_head(struct store *st, const char *session, int64_t *head, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	*head = 0;
	if ((s = store_stmt(st, S_SESSION_HEAD, &rc)) == NULL)
		return store_fail(st, rc, cause, "reading a session");
	sqlite3_bind_text(s, 1, session, -1, SQLITE_STATIC);
	rc = store_step(st, s);
	if (rc == SQLITE_ROW)
		*head = sqlite3_column_int64(s, 0);
	store_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(st, rc, cause, "reading a session");
	return 0;
}

/* Settle m->parent (see store_msg_add) inside the caller's transaction. */
static int
store_msg_parent(struct store *st, struct store_msg *m, char **cause)
{
	char *session = NULL;
	int64_t up;
	int rc;

	if (m->parent < 0) {
		m->parent = 0;
		return 0;
	}
	if (m->parent == 0)
		return store_head(st, m->session, &m->parent, cause);
	rc = store_msg_links(st, m->parent, &session, &up, cause);
	if (rc < 0)
		return -1;
	if (rc == 1 || !util_streq(session, m->session)) {
		free(session);
		return util_fail(cause, "message %lld is not in session %s", (long long)m->parent, m->session);
	}
	free(session);
	return 0;
}

/* Insert m inside the caller's transaction. */
static int
store_msg_insert(struct store *st, struct store_msg *m, int64_t pid, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if (store_msg_parent(st, m, cause) != 0)
		return -1;
	if ((s = store_stmt(st, S_MSG_INSERT, &rc)) == NULL)
		return store_fail(st, rc, cause, "saving a message");
	sqlite3_bind_text(s, 1, m->session, -1, SQLITE_STATIC);
	if (m->parent > 0)
		sqlite3_bind_int64(s, 2, m->parent);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_text(s, 3, m->role ? m->role : "user", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, m->content ? m->content : "", -1, SQLITE_STATIC);
	store_bind_text(s, 5, m->thinking);
	store_bind_text(s, 6, m->tool_calls);
	store_bind_text(s, 7, m->tool_call_id);
	store_bind_text(s, 8, m->tool_name);
	store_bind_text(s, 9, m->attachments);
	store_bind_text(s, 10, m->model);
	sqlite3_bind_int(s, 11, (int)m->state);
	store_bind_text(s, 12, m->error);
	sqlite3_bind_int64(s, 13, m->prompt_tokens);
	sqlite3_bind_int64(s, 14, m->reply_tokens);
	sqlite3_bind_int(s, 15, m->estimated);
	sqlite3_bind_int64(s, 16, m->ttft_ms);
	sqlite3_bind_int64(s, 17, m->total_ns);
	sqlite3_bind_int64(s, 18, m->load_ns);
	sqlite3_bind_int64(s, 19, m->prompt_ns);
	sqlite3_bind_int64(s, 20, m->eval_ns);
	sqlite3_bind_int64(s, 21, m->created);
	if (pid > 0)
		sqlite3_bind_int64(s, 22, pid);
	else
		sqlite3_bind_null(s, 22);
	rc = store_run(st, s);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return store_no_session(m->session, cause);
	if (rc != SQLITE_OK)
		return store_fail(st, rc, cause, "saving a message");
	m->id = sqlite3_last_insert_rowid(st->db);
	return 0;
}

/* The title m gives an untitled session, or NULL. */
static char *
store_msg_title(const struct store_msg *m)
{
	if (util_streq(m->role, "user") && m->content != NULL)
		return store_title(m->content);
	return NULL;
}

/* Append m inside the caller's transaction: the row, the session's updated
 * time and, for an untitled session, title (may be NULL). */
static int
store_msg_append(struct store *st, struct store_msg *m, const char *title, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	m->created = util_wall_ms();
	if (store_msg_insert(st, m, getpid(), cause) != 0)
		return -1;
	if ((s = store_stmt(st, title != NULL ? S_SESSION_TOUCH : S_SESSION_BUMP, &rc)) == NULL)
		return store_fail(st, rc, cause, "saving a message");
	sqlite3_bind_text(s, 1, m->session, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, m->created);
	if (title != NULL)
		sqlite3_bind_text(s, 3, title, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, m->id);
	if ((rc = store_run(st, s)) != SQLITE_OK)
		return store_fail(st, rc, cause, "saving a message");
	return 0;
}

int
store_msg_add(struct store *st, struct store_msg *m, char **cause)
{
	char *title;

	if (m->session == NULL)
		return util_fail(cause, "a message needs a session");
	if (store_begin(st, cause) != 0)
		return -1;
	title = store_msg_title(m);
	if (store_msg_append(st, m, title, cause) != 0) {
		free(title);
		store_rollback(st);
		return -1;
	}
	free(title);
	return store_commit(st, cause);
}

/* A new conversation is a session and its first message: one commit, and
 * the pages both touch (the session's row and indexes) written once. */
int
store_session_start(struct store *st, struct store_session *s, struct store_msg *first, char **cause)
{
	char *title = NULL, *given = s->title;

	if (store_begin(st, cause) != 0)
		return -1;
	/* the session is born with the title its message gives it */
	if (given == NULL || given[0] == '\0')
		title = store_msg_title(first);
	if (title != NULL)
		s->title = title;
	s->created = 0;
	s->updated = 0;
	if (store_session_insert(st, s, cause) != 0)
		goto fail;
	free(first->session);
	first->session = xstrdup(s->id);
	if (store_msg_append(st, first, NULL, cause) != 0 || store_commit(st, cause) != 0)
		goto fail;
	if (s->updated < first->created)
		s->updated = first->created;
	if (title != NULL)
		free(given);
	return 0;

fail:
	store_rollback(st);
	s->title = given;
	free(title);
	free(first->session);
	first->session = NULL;
	first->id = 0;
	return -1;
}

int
store_msg_update(struct store *st, const struct store_msg *m, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if (store_begin(st, cause) != 0)
		return -1;
	if ((s = store_stmt(st, S_MSG_UPDATE, &rc)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, m->id);
	sqlite3_bind_text(s, 2, m->content ? m->content : "", -1, SQLITE_STATIC);
	store_bind_text(s, 3, m->thinking);
	store_bind_text(s, 4, m->tool_calls);
	sqlite3_bind_int(s, 5, (int)m->state);
	store_bind_text(s, 6, m->error);
	store_bind_text(s, 7, m->model);
	sqlite3_bind_int64(s, 8, m->prompt_tokens);
	sqlite3_bind_int64(s, 9, m->reply_tokens);
	sqlite3_bind_int(s, 10, m->estimated);
	sqlite3_bind_int64(s, 11, m->ttft_ms);
	sqlite3_bind_int64(s, 12, m->total_ns);
	sqlite3_bind_int64(s, 13, m->load_ns);
	sqlite3_bind_int64(s, 14, m->prompt_ns);
	sqlite3_bind_int64(s, 15, m->eval_ns);
	sqlite3_bind_int64(s, 16, (int64_t)getpid());
	if ((rc = store_run(st, s)) != SQLITE_OK)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		store_rollback(st);
		return util_fail(cause, "no message %lld in the session store",
		    (long long)m->id);
	}
	if ((s = store_stmt(st, S_MSG_TOUCH, &rc)) == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, m->id);
	sqlite3_bind_int64(s, 2, util_wall_ms());
	if ((rc = store_run(st, s)) != SQLITE_OK)
		goto fail;
	return store_commit(st, cause);

fail:
	store_fail(st, rc, cause, "saving a message");
	store_rollback(st);
	return -1;
}

int
store_msg_delete(struct store *st, int64_t id, char **cause)
{
	static const enum store_stmt_id steps[] = { S_MSG_REPARENT, S_HEAD_UP, S_MSG_DELETE };
	char *session = NULL;
	int64_t parent;
	sqlite3_stmt *s;
	int rc = SQLITE_OK, found;

	if (store_begin(st, cause) != 0)
		return -1;
	found = store_msg_links(st, id, &session, &parent, cause);
	if (found != 0) {
		store_rollback(st);
		return found < 0 ? -1 : util_fail(cause, "no message %lld in the session store", (long long)id);
	}
	/* Children move up to the parent, and so does a head. */
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		if ((s = store_stmt(st, steps[i], &rc)) == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, id);
		if (steps[i] != S_MSG_DELETE) {
			if (parent > 0)
				sqlite3_bind_int64(s, 2, parent);
			else
				sqlite3_bind_null(s, 2);
			sqlite3_bind_text(s, 3, session, -1, SQLITE_STATIC);
		}
		if ((rc = store_run(st, s)) != SQLITE_OK)
			goto fail;
	}
	free(session);
	return store_commit(st, cause);

fail:
	free(session);
	store_fail(st, rc, cause, "deleting a message");
	store_rollback(st);
	return -1;
}

int
store_set_head(struct store *st, const char *session, int64_t id, char **cause)
{
	sqlite3_stmt *s;
	int rc = SQLITE_OK;

	if ((s = store_stmt(st, S_SESSION_SET_HEAD, &rc)) == NULL)
		return store_fail(st, rc, cause, "switching branches");
	sqlite3_bind_text(s, 1, session, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, id);
	rc = store_write1(st, s, "switching branches", cause);
	if (rc == 1)
		return util_fail(cause, "no message %lld in session %s", (long long)id, session);
	return rc;
}

void
store_msg_free(struct store_msg *m)
{
	if (m == NULL)
		return;
	free(m->session);
	free(m->role);
	free(m->content);
	free(m->thinking);
	free(m->tool_calls);
	free(m->tool_call_id);
	free(m->tool_name);
	free(m->attachments);
	free(m->model);
	free(m->error);
	free(m);
}

void
store_msgs_free(struct store_msg **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		store_msg_free(v[i]);
	free(v);
}

/* ---------------------------------------------------------------------- */
/* Search */

/* What a person typed, as an FTS5 query that cannot be a syntax error: each
 * word becomes a quoted string (so AND, NOT, NEAR, quotes and parentheses
 * are plain text), the words must all match, and the last one (from
 * STORE_PREFIX_MIN characters on) may be the start of a word, so results
 * come while typing. NULL if there are no words. */
static char *
store_fts_query(const char *text)
{
	struct buf b = { 0 };
	const char *p = text;
	size_t last_chars = 0;

	while (*p != '\0') {
		size_t n;

		p += strspn(p, " \t\r\n\f\v");
		n = strcspn(p, " \t\r\n\f\v");
		if (n == 0)
			break;
		if (b.len > 0)
			buf_putc(&b, ' ');
		buf_putc(&b, '"');
		last_chars = 0;
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '"')
				buf_putc(&b, '"');
			buf_putc(&b, p[i]);
			if (((unsigned char)p[i] & 0xc0) != 0x80)
				last_chars++;
		}
		buf_putc(&b, '"');
		p += n;
	}
	if (b.len == 0)
		return NULL;
	/* One or two letters would expand to a large part of the vocabulary:
	 * those are matched as whole words. */
	if (last_chars >= STORE_PREFIX_MIN)
		buf_putc(&b, '*');
	return buf_steal(&b);
}

int
store_search(struct store *st, const char *query, const char *open,
    const char *close, size_t limit, struct store_hit ***out, size_t *n,
    char **cause)
{
	struct store_hit **v = NULL;
	size_t cap = 0;
	sqlite3_stmt *s;
	char *fts;
	int64_t lowest;
	int rc = SQLITE_OK;

	*out = NULL;
	*n = 0;
	if (!util_utf8_valid(query, strlen(query)))
		return util_fail(cause, "the search text is not valid UTF-8");
	if ((fts = store_fts_query(query)) == NULL)
		return 0;
	if ((s = store_stmt(st, S_SEARCH_FLOOR, &rc)) == NULL) {
		free(fts);
		return store_fail(st, rc, cause, "searching");
	}
	sqlite3_bind_text(s, 1, fts, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, STORE_SEARCH_WINDOW - 1);
	rc = store_step(st, s);
	lowest = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	store_done(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		free(fts);
		return store_fail(st, rc, cause, "searching");
	}
	if ((s = store_stmt(st, S_SEARCH, &rc)) == NULL) {
		free(fts);
		return store_fail(st, rc, cause, "searching");
	}
	sqlite3_bind_text(s, 1, fts, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, lowest);
	sqlite3_bind_text(s, 2, open ? open : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, close ? close : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 4, limit == 0 ? -1 : (sqlite3_int64)limit);
	for (rc = store_step(st, s); rc == SQLITE_ROW; rc = sqlite3_step(s)) {
		struct store_hit *h = xcalloc(1, sizeof *h);

		h->session = store_col_str(s, 0);
		h->title = store_col_str(s, 1);
		h->msg = sqlite3_column_int64(s, 2);
		h->role = store_col_str(s, 3);
		h->snippet = store_col_str(s, 4);
		h->created = sqlite3_column_int64(s, 5);
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[(*n)++] = h;
	}
	store_done(s);
	free(fts);
	if (rc != SQLITE_DONE) {
		store_hits_free(v, *n);
		*n = 0;
		return store_fail(st, rc, cause, "searching");
	}
	*out = v;
	return 0;
}

void
store_hits_free(struct store_hit **v, size_t n)
{
	if (v == NULL)
		return;
	for (size_t i = 0; i < n; i++) {
		free(v[i]->session);
		free(v[i]->title);
		free(v[i]->role);
		free(v[i]->snippet);
		free(v[i]);
	}
	free(v);
}

/* ---------------------------------------------------------------------- */
/* Export and import */

/* Text as a JSON string; bytes that are not UTF-8 (a backend may have sent
 * some) become U+FFFD rather than losing the whole field. */
static json_t *
store_json_str(const char *s)
{
	struct buf b = { 0 };
	json_t *v;

	if (s == NULL)
		return json_null();
	if ((v = json_string(s)) != NULL)
		return v;
	for (const char *p = s; *p != '\0';) {
		size_t n = store_utf8_len((const unsigned char *)p);

		if (util_utf8_valid(p, n))
			buf_append(&b, p, n);
		else
			buf_puts(&b, "\xef\xbf\xbd");
		p += n;
	}
	v = json_stringn(b.data ? b.data : "", b.len);
	buf_free(&b);
	return v != NULL ? v : json_string("");
}

/* Stored JSON text back as a value; text that does not parse is kept as a
 * string rather than lost. */
static json_t *
store_json_text(const char *s)
{
	json_t *v;

	if (s == NULL)
		return json_null();
	v = json_loads(s, JSON_DECODE_ANY, NULL);
	return v != NULL ? v : json_string(s);
}

static json_t *
store_json_count(int64_t v)
{
	return v < 0 ? json_null() : json_integer(v);
}

/* Fetch a session by exact id (the callers resolved what a person typed). */
static int
store_session_get(struct store *st, const char *id, struct store_session **out,
    char **cause)
{
	size_t n = 0;

	*out = NULL;
	if (store_session_query(st, S_SESSION_BY_ID, id, out, 1, &n, cause) != 0)
		return -1;
	return n == 1 ? 0 : store_no_session(id, cause);
}

int
store_session_fork(struct store *st, const char *id, int64_t upto, const char *title,
    struct store_session **out, char **cause)
{
	struct store_session *ss = NULL, *ns = NULL;
	struct store_msg **v = NULL;
	size_t n = 0, k = 0, *path = NULL;
	int64_t at = upto, up = 0;

	*out = NULL;
	if (store_session_get(st, id, &ss, cause) != 0)
		return -1;
	if (store_messages_all(st, ss->id, &v, &n, cause) != 0 ||
	    (at == 0 && store_head(st, ss->id, &at, cause) != 0))
		goto fail;
	/* the path, newest first: v is in id order, parents before children */
	path = xcalloc(n ? n : 1, sizeof *path);
	for (size_t i = n; i-- > 0 && at > 0;) {
		if (v[i]->id == at) {
			path[k++] = i;
			at = v[i]->parent;
		}
	}
	if (upto > 0 && (k == 0 || v[path[0]]->id != upto)) {
		util_fail(cause, "no message %lld in session %s", (long long)upto, ss->id);
		goto fail;
	}
	ns = xcalloc(1, sizeof *ns);
	ns->title = title ? xstrdup(title) : xasprintf("%s (fork)", ss->title[0] ? ss->title : ss->id);
	ns->provider = xstrdup(ss->provider);
	ns->model = xstrdup(ss->model);
	ns->system = ss->system ? xstrdup(ss->system) : NULL;
	ns->options = ss->options ? xstrdup(ss->options) : NULL;
	ns->tools = ss->tools ? xstrdup(ss->tools) : NULL;
	ns->origin = xstrdup(ss->origin);
	if (store_begin(st, cause) != 0)
		goto fail;
	if (store_session_insert(st, ns, cause) != 0)
		goto fail_tx;
	while (k-- > 0) {
		struct store_msg *m = v[path[k]];

		free(m->session);
		m->session = xstrdup(ns->id);
		m->parent = up > 0 ? up : STORE_ROOT;
		if (store_msg_insert(st, m, 0, cause) != 0)
			goto fail_tx;
		up = m->id;
	}
	if (up > 0) {
		sqlite3_stmt *s;
		int rc = SQLITE_OK;

		if ((s = store_stmt(st, S_SESSION_SET_HEAD, &rc)) == NULL) {
			store_fail(st, rc, cause, "forking a session");
			goto fail_tx;
		}
		sqlite3_bind_text(s, 1, ns->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, up);
		if ((rc = store_run(st, s)) != SQLITE_OK) {
			store_fail(st, rc, cause, "forking a session");
			goto fail_tx;
		}
	}
	if (store_commit(st, cause) != 0)
		goto fail;
	ns->head = up;
	store_msgs_free(v, n);
	free(path);
	store_session_free(ss);
	*out = ns;
	return 0;

fail_tx:
	store_rollback(st);
fail:
	store_msgs_free(v, n);
	free(path);
	store_session_free(ss);
	store_session_free(ns);
	return -1;
}

int
store_export_json(struct store *st, const char *id, json_t **out, char **cause)
{
	struct store_session *ss;
	struct store_msg **v = NULL;
	size_t n = 0;
	int64_t head = 0;
	json_t *doc, *msgs, *jhead = json_null();

	*out = NULL;
	if (store_session_get(st, id, &ss, cause) != 0)
		return -1;
	if (store_messages_all(st, ss->id, &v, &n, cause) != 0 ||
	    store_head(st, ss->id, &head, cause) != 0) {
		store_session_free(ss);
		return -1;
	}
	msgs = json_array();
	for (size_t i = 0; i < n; i++) {
		struct store_msg *m = v[i];
		json_t *parent = json_null();

		/* Parents are ids inside the store, indexes in the file. */
		for (size_t j = 0; m->parent > 0 && j < i; j++) {
			if (v[j]->id == m->parent) {
				json_decref(parent);
				parent = json_integer((json_int_t)j);
				break;
			}
		}
		if (m->id == head) {
			json_decref(jhead);
			jhead = json_integer((json_int_t)i);
		}
		json_array_append_new(msgs, json_pack("{s:s, s:o, s:o, s:o, s:o, s:o, "
		                                      "s:o, s:o, s:s, s:o, s:o, s:o, s:b, s:o, s:I, s:I, "
		                                      "s:I, s:I, s:I, s:o}",
		                                "role", m->role, "content", store_json_str(m->content), "thinking", store_json_str(m->thinking), "tool_calls", store_json_text(m->tool_calls), "tool_call_id", store_json_str(m->tool_call_id), "tool_name", store_json_str(m->tool_name), "attachments", store_json_text(m->attachments), "model", store_json_str(m->model), "state", store_state_names[m->state], "error", store_json_str(m->error), "prompt_tokens", store_json_count(m->prompt_tokens), "reply_tokens", store_json_count(m->reply_tokens), "estimated", m->estimated, "ttft_ms", store_json_count(m->ttft_ms), "total_ns", (json_int_t)m->total_ns, "load_ns", (json_int_t)m->load_ns, "prompt_ns", (json_int_t)m->prompt_ns, "eval_ns", (json_int_t)m->eval_ns, "created", (json_int_t)m->created, "parent", parent));
	}
	doc = json_pack("{s:i, s:{s:s, s:o, s:s, s:s, s:o, s:o, s:o, s:s, s:I, s:I, s:o}, s:o}",
	    "version", STORE_EXPORT_VERSION, "session", "id", ss->id, "title", store_json_str(ss->title),
	    "provider", ss->provider, "model", ss->model,
	    "system", store_json_str(ss->system),
	    "options", store_json_text(ss->options), "tools_off", store_json_text(ss->tools), "origin", ss->origin,
	    "created", (json_int_t)ss->created, "updated", (json_int_t)ss->updated,
	    "head", jhead, "messages", msgs);
	store_msgs_free(v, n);
	store_session_free(ss);
	if (doc == NULL)
		return util_fail(cause, "cannot build the export of session %s", id);
	*out = doc;
	return 0;
}

/* Field readers for import: 0 ok, -1 with cause naming where. */
static int
store_imp_str(json_t *o, const char *key, bool nullable, const char *where,
    const char **out, char **cause)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!nullable && v != NULL)
			return util_fail(cause, "%s: \"%s\" must be a string", where, key);
		return 0;
	}
	if (!json_is_string(v))
		return util_fail(cause, "%s: \"%s\" must be a string%s", where, key,
		    nullable ? " or null" : "");
	*out = json_string_value(v);
	return 0;
}

static int
store_imp_int(json_t *o, const char *key, int64_t dflt, const char *where,
    int64_t *out, char **cause)
{
	json_t *v = json_object_get(o, key);

	*out = dflt;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_integer(v))
		return util_fail(cause, "%s: \"%s\" must be an integer", where, key);
	*out = json_integer_value(v);
	return 0;
}

/* A JSON value stored as text: must be of the given type or null. */
static int
store_imp_json(json_t *o, const char *key, json_type type, const char *where,
    char **out, char **cause)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_typeof(v) != type)
		return util_fail(cause, "%s: \"%s\" must be %s or null", where, key,
		    type == JSON_OBJECT ? "an object" : "an array");
	*out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
	if (*out == NULL)
		fatal("out of memory");
	return 0;
}

static void
store_imp_msg_clear(struct store_msg *m)
{
	free(m->tool_calls);
	free(m->attachments);
	memset(m, 0, sizeof *m);
}

/* Read message i of an import into m (strings borrowed from the document,
 * tool_calls and attachments allocated). */
static int
store_imp_msg(json_t *jm, size_t i, struct store_msg *m, int64_t *parent_index,
    char **cause)
{
	static const char *const roles[] = { "system", "user", "assistant", "tool" };
	const char *state = NULL;
	char where[48];
	json_t *est;
	bool ok = false;

	memset(m, 0, sizeof *m);
	snprintf(where, sizeof where, "message %zu", i + 1);
	if (!json_is_object(jm))
		return util_fail(cause, "%s must be an object", where);
	if (store_imp_str(jm, "role", false, where, (const char **)&m->role, cause) != 0)
		return -1;
	for (size_t k = 0; m->role != NULL && k < sizeof roles / sizeof roles[0]; k++)
		ok = ok || strcmp(m->role, roles[k]) == 0;
	if (!ok)
		return util_fail(cause, "%s: \"role\" must be one of system, user, "
		                        "assistant, tool",
		    where);
	if (store_imp_str(jm, "content", true, where, (const char **)&m->content, cause) != 0 ||
	    store_imp_str(jm, "thinking", true, where, (const char **)&m->thinking, cause) != 0 ||
	    store_imp_str(jm, "tool_call_id", true, where, (const char **)&m->tool_call_id, cause) != 0 ||
	    store_imp_str(jm, "tool_name", true, where, (const char **)&m->tool_name, cause) != 0 ||
	    store_imp_str(jm, "model", true, where, (const char **)&m->model, cause) != 0 ||
	    store_imp_str(jm, "error", true, where, (const char **)&m->error, cause) != 0 ||
	    store_imp_str(jm, "state", true, where, &state, cause) != 0 ||
	    store_imp_int(jm, "prompt_tokens", -1, where, &m->prompt_tokens, cause) != 0 ||
	    store_imp_int(jm, "reply_tokens", -1, where, &m->reply_tokens, cause) != 0 ||
	    store_imp_int(jm, "ttft_ms", -1, where, &m->ttft_ms, cause) != 0 ||
	    store_imp_int(jm, "total_ns", 0, where, &m->total_ns, cause) != 0 ||
	    store_imp_int(jm, "load_ns", 0, where, &m->load_ns, cause) != 0 ||
	    store_imp_int(jm, "prompt_ns", 0, where, &m->prompt_ns, cause) != 0 ||
	    store_imp_int(jm, "eval_ns", 0, where, &m->eval_ns, cause) != 0 ||
	    store_imp_int(jm, "created", 0, where, &m->created, cause) != 0 ||
	    store_imp_int(jm, "parent", -1, where, parent_index, cause) != 0 ||
	    store_imp_json(jm, "tool_calls", JSON_ARRAY, where, &m->tool_calls, cause) != 0 ||
	    store_imp_json(jm, "attachments", JSON_ARRAY, where, &m->attachments, cause) != 0)
		goto fail;
	m->state = STORE_COMPLETE;
	if (state != NULL) {
		size_t k;

		for (k = 0; k < sizeof store_state_names / sizeof store_state_names[0]; k++)
			if (strcmp(state, store_state_names[k]) == 0)
				break;
		if (k == sizeof store_state_names / sizeof store_state_names[0]) {
			util_fail(cause, "%s: \"state\" must be one of complete, "
			                 "streaming, interrupted, error",
			    where);
			goto fail;
		}
		m->state = (enum store_state)k;
	}
	est = json_object_get(jm, "estimated");
	if (est != NULL && !json_is_null(est) && !json_is_boolean(est)) {
		util_fail(cause, "%s: \"estimated\" must be true or false", where);
		goto fail;
	}
	m->estimated = json_is_true(est);
	if (*parent_index >= (int64_t)i) {
		util_fail(cause, "%s: \"parent\" must be the index of an earlier "
		                 "message or null",
		    where);
		goto fail;
	}
	return 0;

fail:
	store_imp_msg_clear(m);
	return -1;
}

int
store_import_json(struct store *st, json_t *doc, char **id_out, char **cause)
{
	struct store_session ss = { 0 };
	json_t *js, *jmsgs, *jv;
	int64_t *ids = NULL, created, updated, head, version;
	size_t i, n;
	const char *system = NULL;

	*id_out = NULL;
	if (!json_is_object(doc))
		return util_fail(cause, "not a parley session export: the document "
		                        "must be a JSON object");
	jv = json_object_get(doc, "version");
	version = json_integer_value(jv);
	if (!json_is_integer(jv) || version < 1)
		return util_fail(cause, "not a parley session export: \"version\" "
		                        "must be 1 or %d",
		    STORE_EXPORT_VERSION);
	if (version > STORE_EXPORT_VERSION)
		return util_fail(cause, "this export was written by a newer parley "
		                        "(version %lld); upgrade parley to import it",
		    (long long)version);
	js = json_object_get(doc, "session");
	jmsgs = json_object_get(doc, "messages");
	if (!json_is_object(js))
		return util_fail(cause, "not a parley session export: \"session\" "
		                        "must be an object");
	if (!json_is_array(jmsgs))
		return util_fail(cause, "not a parley session export: \"messages\" "
		                        "must be an array");
	if (store_imp_str(js, "title", true, "session", (const char **)&ss.title, cause) != 0 ||
	    store_imp_str(js, "provider", true, "session", (const char **)&ss.provider, cause) != 0 ||
	    store_imp_str(js, "model", true, "session", (const char **)&ss.model, cause) != 0 ||
	    store_imp_str(js, "origin", true, "session", (const char **)&ss.origin, cause) != 0 ||
	    store_imp_str(js, "system", true, "session", &system, cause) != 0 ||
	    store_imp_int(js, "created", 0, "session", &created, cause) != 0 ||
	    store_imp_int(js, "updated", 0, "session", &updated, cause) != 0 ||
	    store_imp_int(js, "head", -1, "session", &head, cause) != 0)
		return -1;
	if (head >= (int64_t)json_array_size(jmsgs))
		return util_fail(cause, "session: \"head\" must be the index of a message or null");
	if (store_imp_json(js, "options", JSON_OBJECT, "session", &ss.options, cause) != 0)
		return -1;
	if (store_imp_json(js, "tools_off", JSON_ARRAY, "session", &ss.tools, cause) != 0) {
		free(ss.options);
		free(ss.tools);
		return -1;
	}
	ss.system = (char *)system;
	ss.created = created > 0 ? created : util_wall_ms();

	/* Check everything before writing anything. */
	n = json_array_size(jmsgs);
	for (i = 0; i < n; i++) {
		struct store_msg m;
		int64_t parent;

		if (store_imp_msg(json_array_get(jmsgs, i), i, &m, &parent, cause) != 0) {
			free(ss.options);
			free(ss.tools);
			return -1;
		}
		store_imp_msg_clear(&m);
	}

	if (store_begin(st, cause) != 0) {
		free(ss.options);
		free(ss.tools);
		return -1;
	}
	ss.id = NULL;
	if (store_session_insert(st, &ss, cause) != 0)
		goto fail;
	ids = xcalloc(n ? n : 1, sizeof *ids);
	for (i = 0; i < n; i++) {
		struct store_msg m;
		int64_t parent;
		int rc;

		store_imp_msg(json_array_get(jmsgs, i), i, &m, &parent, NULL);
		m.session = ss.id;
		/* version 1: one branch, each message after the one before */
		if (parent < 0 && version == 1 && i > 0)
			parent = (int64_t)i - 1;
		m.parent = parent >= 0 ? ids[parent] : STORE_ROOT;
		if (m.created == 0)
			m.created = ss.created;
		rc = store_msg_insert(st, &m, 0, cause);
		ids[i] = m.id;
		store_imp_msg_clear(&m);
		if (rc != 0)
			goto fail;
	}
	{
		sqlite3_stmt *s;
		int rc = SQLITE_OK;

		if ((s = store_stmt(st, S_SESSION_SET_UPDATED, &rc)) == NULL) {
			store_fail(st, rc, cause, "importing a session");
			goto fail;
		}
		sqlite3_bind_text(s, 1, ss.id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, updated > 0 ? updated : ss.created);
		if ((rc = store_run(st, s)) != SQLITE_OK) {
			store_fail(st, rc, cause, "importing a session");
			goto fail;
		}
		if (n > 0) {
			if ((s = store_stmt(st, S_SESSION_SET_HEAD, &rc)) == NULL) {
				store_fail(st, rc, cause, "importing a session");
				goto fail;
			}
			sqlite3_bind_text(s, 1, ss.id, -1, SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, ids[head >= 0 ? head : (int64_t)n - 1]);
			if ((rc = store_run(st, s)) != SQLITE_OK) {
				store_fail(st, rc, cause, "importing a session");
				goto fail;
			}
		}
	}
	if (store_commit(st, cause) != 0)
		goto fail_nr;
	free(ids);
	free(ss.options);
	free(ss.tools);
	*id_out = ss.id;
	return 0;

fail:
	store_rollback(st);
fail_nr:
	free(ids);
	free(ss.options);
	free(ss.tools);
	free(ss.id);
	return -1;
}

static void
store_md_time(struct buf *b, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	if (localtime_r(&t, &tm) != NULL && strftime(s, sizeof s, "%Y-%m-%d %H:%M", &tm) > 0)
		buf_puts(b, s);
}

/* Text in a blockquote, line by line. */
static void
store_md_quote(struct buf *b, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		size_t n = strcspn(p, "\n");

		buf_puts(b, n > 0 ? "> " : ">");
		buf_append(b, p, n);
		buf_putc(b, '\n');
		p += n;
		if (*p == '\n')
			p++;
	}
}

int
store_export_md(struct store *st, const char *id, char **out, char **cause)
{
	struct store_session *ss;
	struct store_msg **v;
	struct buf b = { 0 };
	size_t n;

	*out = NULL;
	if (store_session_get(st, id, &ss, cause) != 0)
		return -1;
	if (store_messages(st, ss->id, &v, &n, cause) != 0) {
		store_session_free(ss);
		return -1;
	}
	buf_printf(&b, "# %s\n\n", *ss->title ? ss->title : "Untitled session");
	buf_printf(&b, "*Session %s", ss->id);
	if (*ss->model)
		buf_printf(&b, " · %s", ss->model);
	if (*ss->provider)
		buf_printf(&b, " · %s", ss->provider);
	buf_puts(&b, " · ");
	store_md_time(&b, ss->created);
	buf_printf(&b, " · %zu message%s*\n", n, n == 1 ? "" : "s");
	if (ss->system != NULL && *ss->system) {
		buf_puts(&b, "\n## System\n\n");
		buf_puts(&b, ss->system);
		buf_putc(&b, '\n');
	}
	for (size_t i = 0; i < n; i++) {
		struct store_msg *m = v[i];

		if (strcmp(m->role, "user") == 0)
			buf_puts(&b, "\n## User\n\n");
		else if (strcmp(m->role, "assistant") == 0) {
			buf_puts(&b, "\n## Assistant");
			if (m->model != NULL && *m->model)
				buf_printf(&b, " (%s)", m->model);
			buf_puts(&b, "\n\n");
		} else if (strcmp(m->role, "tool") == 0) {
			buf_puts(&b, "\n## Tool");
			if (m->tool_name != NULL)
				buf_printf(&b, " (%s)", m->tool_name);
			buf_puts(&b, "\n\n");
		} else
			buf_puts(&b, "\n## System\n\n");
		if (m->thinking != NULL && *m->thinking) {
			buf_puts(&b, "<details><summary>Thinking</summary>\n\n");
			store_md_quote(&b, m->thinking);
			buf_puts(&b, "\n</details>\n\n");
		}
		if (*m->content) {
			buf_puts(&b, m->content);
			if (m->content[strlen(m->content) - 1] != '\n')
				buf_putc(&b, '\n');
		}
		if (m->tool_calls != NULL)
			buf_printf(&b, "\nTool calls:\n\n```json\n%s\n```\n", m->tool_calls);
		if (m->attachments != NULL) {
			json_t *a = json_loads(m->attachments, 0, NULL);
			size_t k;
			json_t *it;

			json_array_foreach(a, k, it)
			{
				const char *name = json_string_value(json_object_get(it, "name"));

				buf_printf(&b, "\n*Attached: %s*\n", name ? name : "(unnamed)");
			}
			json_decref(a);
		}
		if (m->state == STORE_INTERRUPTED)
			buf_puts(&b, "\n*[interrupted]*\n");
		else if (m->state == STORE_STREAMING)
			buf_puts(&b, "\n*[still streaming]*\n");
		else if (m->state == STORE_ERROR)
			buf_printf(&b, "\n*[error: %s]*\n", m->error ? m->error : "unknown");
	}
	store_msgs_free(v, n);
	store_session_free(ss);
	*out = buf_steal(&b);
	return 0;
}
