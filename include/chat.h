/* chat.h: one conversation, as every face sees it. A chat is bound to a
 * session in the store (or lives in memory with --no-save), holds the
 * transcript, sends turns through the provider with the history trimmed to
 * the model's context, and records the reply as it streams. */
#ifndef PARLEY_CHAT_H
#define PARLEY_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "llm.h"
#include "store.h"

struct chat;

struct chat_hooks {
	/* Every event of the reply as it arrives: TOKEN, THINKING, TOOL_CALL,
	 * then exactly one DONE or ERROR (after the transcript is updated). */
	void (*event)(struct chat *c, const struct llm_ev *ev, void *arg);
	/* Something worth telling a verbose user (history trimmed, store
	 * trouble). May be NULL. */
	void (*notice)(struct chat *c, const char *msg, void *arg);
};

/* origin: "tui", "repl", "pipe" or "api". save: record in a->store (when
 * it is open). */
struct chat *chat_new(struct app *a, const char *origin, bool save,
    const struct chat_hooks *hooks, void *arg);
void chat_free(struct chat *c); /* stops a running reply first */

/* Bind to a stored session by id, id prefix or exact title. With create, a
 * key that matches nothing starts a new session with that title. 0, or -1
 * with *cause (store error, ambiguous, or no match without create). */
int chat_open(struct chat *c, const char *key, bool create, char **cause);
/* Bind to the stored session with exactly this id (a listener client's
 * own; see store_session_id_valid). 0 bound; 1 none has it, and with create
 * the next turn starts a new session under that id; -1 with *cause. */
int chat_open_id(struct chat *c, const char *id, bool create, char **cause);
/* Bind to the most recently updated session; 1 if there is none. */
int chat_open_latest(struct chat *c, char **cause);
/* Start afresh: the next turn creates a new session. */
void chat_reset(struct chat *c);
/* Re-read the transcript from the store (another process wrote to it). */
int chat_reload(struct chat *c, char **cause);

const char *chat_session_id(const struct chat *c); /* NULL until stored */
struct app *chat_app(const struct chat *c);
const char *chat_title(const struct chat *c);
int chat_rename(struct chat *c, const char *title, char **cause);

void chat_set_model(struct chat *c, const char *model);
const char *chat_model(const struct chat *c);
void chat_set_system(struct chat *c, const char *system); /* NULL clears */
const char *chat_system(const struct chat *c);
/* The tools /tools turned off in this session: a JSON array of their model
 * names, or NULL for none; kept with the session's settings. */
void chat_set_tools_off(struct chat *c, const char *names);
const char *chat_tools_off(const struct chat *c);
void chat_set_think(struct chat *c, const char *think); /* NULL, "true", "false", level */
const char *chat_think(const struct chat *c);
/* Model options (parley names); borrowed: change it in place, then call
 * chat_save_settings to persist. */
json_t *chat_options(struct chat *c);
/* Tools offered to the model and OpenAI's tool_choice for them (struct
 * llm_req); both stolen, either may be NULL. */
void chat_set_tools(struct chat *c, json_t *tools, json_t *tool_choice);
/* The reply's format and, from an OpenAI client, its json_schema object
 * (struct llm_req); both stolen, either may be NULL. */
void chat_set_format(struct chat *c, json_t *format, json_t *schema_spec);
void chat_set_stream(struct chat *c, bool stream);
int chat_save_settings(struct chat *c, char **cause);

/* Send a user turn. images are stolen (may be NULL). -1 with *cause when a
 * reply is already streaming or no model is chosen. If the turn never
 * reaches a model (backend unreachable, model not found) it is taken back:
 * the user message and the empty reply leave the transcript and the store
 * (and so does a session this turn created) before the ERROR event, so a
 * face can offer the text again. */
int chat_send(struct chat *c, const char *text, struct llm_image *images, size_t nimages, char **cause);
/* Append a message without sending (e.g. a tool result); it goes out with
 * the next turn. */
int chat_append(struct chat *c, const char *role, const char *content, const char *tool_call_id,
    const char *tool_name, char **cause);
/* Append a tool's result without sending: content is what the model gets;
 * error, when the call failed, says how ("tool error" for one the tool
 * reported, else the cause); ms its time. */
int chat_append_tool(struct chat *c, const char *tool_call_id, const char *tool_name, const char *content,
    const char *error, int64_t ms, char **cause);
/* Append any message without sending: an earlier turn a client resends,
 * with its tool calls and images (copied). */
int chat_append_msg(struct chat *c, const struct llm_msg *m, char **cause);
/* Send the transcript as it is (after chat_append of a tool result). */
int chat_continue(struct chat *c, char **cause);
/* Ask again for the last reply. In a stored chat the old reply stays, as
 * another version beside the new one (see chat_switch). */
int chat_retry(struct chat *c, char **cause);
/* Ask question i of the transcript (a user message) again, as text: the
 * new question and its reply start a branch beside the old one, whose
 * images it keeps. */
int chat_edit(struct chat *c, size_t i, const char *text, char **cause);

/* Branches (stored chats; see store.h). Where message i stands among its
 * versions: the *pos-th (0-based) of *count (1 when it has none). */
void chat_branch_at(struct chat *c, size_t i, size_t *pos, size_t *count);
/* Show message i's version delta places away (-1 before, +1 after), with
 * the newest branch under it. */
int chat_switch(struct chat *c, size_t i, long delta, char **cause);
/* Show the newest branch through stored message id (a search hit). */
int chat_goto(struct chat *c, int64_t id, char **cause);
/* Show the branch up to stored message id and no further: what comes
 * next goes after it (beside any children it has). */
int chat_rewind(struct chat *c, int64_t id, char **cause);
struct chat_branch {
	int64_t leaf; /* its last message */
	size_t depth; /* messages on it */
	size_t shared; /* of them, in common with the branch on show */
	const char *question; /* its last question's first line; valid until the chat changes */
	int64_t created; /* of its last message, unix ms */
	bool current; /* the branch on show */
};
/* Every branch of the session, oldest first; *out allocated (free it). */
size_t chat_branches(struct chat *c, struct chat_branch **out);
/* Copy the branch on show to a new session, and continue there. */
int chat_fork(struct chat *c, char **cause);
/* Stop the reply: what arrived is kept, marked interrupted. */
void chat_stop(struct chat *c);
bool chat_busy(const struct chat *c);
/* Forget the transcript (and delete its messages from the store). */
int chat_clear(struct chat *c, char **cause);

/* The transcript, oldest first. While a reply streams, the last message is
 * that reply, its content growing. */
size_t chat_count(const struct chat *c);
const struct store_msg *chat_msg(const struct chat *c, size_t i);

/* Statistics of the last finished reply. */
const struct llm_stats *chat_stats(const struct chat *c);
int64_t chat_ttft_ms(const struct chat *c); /* -1 unknown */
int64_t chat_elapsed_ms(const struct chat *c); /* of the last or running reply */
/* Context: tokens the last request used (estimate or backend count) and
 * the model's window; messages left out of the last request. */
int64_t chat_context_used(const struct chat *c);
int64_t chat_context_size(const struct chat *c);
size_t chat_trimmed(const struct chat *c);
/* The model's own context length, learnt from the provider before the
 * first turn: -1 asked but unknown, 0 not asked yet (*model names the model
 * it belongs to). Telling a new chat what an earlier one learnt spares it
 * the lookup (the listener makes a chat per request). */
int64_t chat_model_context(const struct chat *c, const char **model);
void chat_set_model_context(struct chat *c, const char *model, int64_t len);

#endif
