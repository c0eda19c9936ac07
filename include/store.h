/* store.h: the session store. One SQLite file (WAL) shared by every face and
 * every parley process: sessions, their messages, full-text search. */
#ifndef PARLEY_STORE_H
#define PARLEY_STORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

struct store_session {
	char *id; /* short, typeable: 8 chars of [0-9a-z] (or a client's own) */
	char *title; /* "" until the first user message names it */
	char *provider;
	char *model;
	char *system; /* NULL = none */
	char *options; /* JSON object text, NULL = none */
	char *tools; /* JSON array of the tools /tools turned off, NULL = none */
	char *origin; /* tui, repl, pipe, api */
	int64_t created; /* unix ms */
	int64_t updated; /* unix ms */
	int64_t nmessages; /* filled by list/find: every branch's */
	int64_t head; /* the current branch's last message; 0 = the newest */
};

enum store_state {
	STORE_COMPLETE = 0,
	STORE_STREAMING = 1,
	STORE_INTERRUPTED = 2,
	STORE_ERROR = 3,
};

/* store_msg.parent when adding: a new root (a branch from the very start). */
#define STORE_ROOT (-1)

/* A session's messages form a tree: each has the message it answers or
 * follows as its parent, and siblings are alternatives (a regenerated
 * reply, an edited question). The session's head names the leaf of the
 * branch on show; the path from the root to the head is the transcript. */
struct store_msg {
	int64_t id;
	char *session;
	int64_t parent; /* 0 = none (a root); see store_msg_add */
	char *role; /* system, user, assistant, tool */
	char *content;
	char *thinking; /* NULL = none */
	char *tool_calls; /* JSON array text (OpenAI shape), NULL = none */
	char *tool_call_id; /* tool messages */
	char *tool_name; /* tool messages */
	char *attachments; /* JSON array text [{"type":"image","mime","name","data"}|{"type":"file","name"}], NULL */
	char *model;
	enum store_state state;
	char *error; /* state ERROR: the message, else NULL */
	int64_t prompt_tokens; /* -1 unknown */
	int64_t reply_tokens; /* -1 unknown */
	bool estimated; /* counts are parley's estimate */
	int64_t ttft_ms; /* -1 unknown */
	int64_t total_ns, load_ns, prompt_ns, eval_ns; /* 0 unknown */
	int64_t created; /* unix ms */
};

/* One message of a session's tree, without its body. */
struct store_node {
	int64_t id;
	int64_t parent; /* 0 = a root */
	char role[12];
	char *preview; /* the first line of the content, cut to about 60 characters */
	int64_t created;
};

struct store_hit {
	char *session;
	char *title;
	int64_t msg;
	char *role;
	char *snippet; /* match wrapped in the marks given to store_search */
	int64_t created;
};

/* Open (creating the file and its directory, and migrating the schema).
 * Messages left STREAMING by a process that no longer exists become
 * INTERRUPTED. NULL with a clear *cause: unwritable directory, not a
 * database, corrupt, or made by a newer parley. */
struct store *store_open(const char *path, char **cause);
void store_close(struct store *st);
const char *store_path(const struct store *st);
/* Default path: $PARLEY_DB, else $XDG_DATA_HOME/parley/parley.db. Allocated. */
char *store_default_path(void);

/* Create a session; fills s->created, s->updated and s->id, unless s->id
 * is preset (a listener client's own id): then that id is used, and one
 * that is invalid (see store_session_id_valid) or taken is an error. */
int store_session_new(struct store *st, struct store_session *s, char **cause);
/* store_session_new and store_msg_add of its first message in one
 * transaction (fills m->session too); an untitled s takes the title the
 * message gives it. */
int store_session_start(struct store *st, struct store_session *s, struct store_msg *first, char **cause);
/* An id a client may choose: 1 to 64 characters of [A-Za-z0-9._-]. */
bool store_session_id_valid(const char *id);
/* Find by exact id only. 0 found (*out allocated), 1 none, -1 error. */
int store_session_by_id(struct store *st, const char *id, struct store_session **out, char **cause);
/* Find by exact id, unique id prefix, or exact title (newest wins for a
 * title). 0 found (*out allocated), 1 nothing matches, -1 error (an
 * ambiguous prefix is an error naming the candidates). */
int store_session_find(struct store *st, const char *key, struct store_session **out, char **cause);
/* The most recently updated session. 0, 1 if there is none, -1. */
int store_session_latest(struct store *st, struct store_session **out, char **cause);
/* Newest first; filter (NULL = all) matches title or id substrings. */
int store_session_list(struct store *st, const char *filter, size_t limit,
    struct store_session ***out, size_t *n, char **cause);
/* Write title, provider, model, system, options of s (by s->id). */
int store_session_update(struct store *st, const struct store_session *s, char **cause);
int store_session_rename(struct store *st, const char *id, const char *title, char **cause);
int store_session_delete(struct store *st, const char *id, char **cause);
/* Delete every message of a session, keep the session. */
int store_session_clear(struct store *st, const char *id, char **cause);
void store_session_free(struct store_session *s);
void store_sessions_free(struct store_session **v, size_t n);

/* The transcript of a session: the messages on the path from the root to
 * its head, oldest first. */
int store_messages(struct store *st, const char *session, struct store_msg ***out, size_t *n, char **cause);
/* Every message of every branch, oldest first (parents before children). */
int store_messages_all(struct store *st, const char *session, struct store_msg ***out, size_t *n, char **cause);
/* The shape of a session's tree, oldest first. */
int store_tree(struct store *st, const char *session, struct store_node **out, size_t *n, char **cause);
void store_tree_free(struct store_node *v, size_t n);
/* Show the branch through message id: it becomes the session's head (a
 * face passes the leaf it wants; see tree_leaf). */
int store_set_head(struct store *st, const char *session, int64_t id, char **cause);
/* Append m to m->session (fills m->id, m->created and m->parent) and make
 * it the head. m->parent: an id of the session's, 0 for the head (the end
 * of the branch on show), or STORE_ROOT. Bumps the session's updated time;
 * a session without a title takes the first user message, cut to about 60
 * characters at a word boundary. */
int store_msg_add(struct store *st, struct store_msg *m, char **cause);
/* Rewrite a message's content, thinking, tool_calls, state, error, model and
 * stats (by m->id), in one small transaction. Used while streaming (at least
 * every 250 ms) and once at the end. */
int store_msg_update(struct store *st, const struct store_msg *m, char **cause);
/* Its children, if any, move up to its parent; a head moves there too. */
int store_msg_delete(struct store *st, int64_t id, char **cause);
void store_msg_free(struct store_msg *m);
void store_msgs_free(struct store_msg **v, size_t n);

/* FTS5 search over message text, best first (ranked among the newest 1000
 * matches, so a word found everywhere stays quick). Every word must match;
 * the last, from three characters on, also as the start of a word. The
 * match in each snippet is wrapped in open/close marks (e.g. "\033[1m",
 * "\033[0m" or "[", "]"). */
int store_search(struct store *st, const char *query, const char *open, const char *close,
    size_t limit, struct store_hit ***out, size_t *n, char **cause);
void store_hits_free(struct store_hit **v, size_t n);

/* Changes when another connection commits (PRAGMA data_version): the faces
 * poll it to show other processes' writes live. */
int64_t store_data_version(struct store *st);

/* A new session with the settings of session id and a copy of the path
 * from its root to message upto (0 = the head); title NULL = the old one
 * with " (fork)". *out allocated. */
int store_session_fork(struct store *st, const char *id, int64_t upto, const char *title,
    struct store_session **out, char **cause);

/* A session with its messages as JSON ({"version":2,"session":{...},
 * "messages":[...]}, every branch), and back: import creates a new session
 * (new id) with the same messages, tree, head, roles, order and stats, and
 * reads version 1 files (one branch, in order) too. */
int store_export_json(struct store *st, const char *id, json_t **out, char **cause);
int store_import_json(struct store *st, json_t *doc, char **id_out, char **cause);
/* Markdown transcript of a session, allocated. */
int store_export_md(struct store *st, const char *id, char **out, char **cause);

/* Cap the file at this many pages (PRAGMA max_page_count): lets the tests
 * meet a full disk. */
int store_set_max_pages(struct store *st, int64_t pages, char **cause);

#endif
