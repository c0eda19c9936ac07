/* tools.h: the tool loop every face runs beside its chat. When a reply
 * ends with tool calls, each is approved (or not), run through its MCP
 * server, and its result recorded as a tool message; then the model is
 * asked again, up to a number of rounds a turn. The face shows what
 * happens through its hooks and answers the approval question. */
#ifndef PARLEY_TOOLS_H
#define PARLEY_TOOLS_H

#include <stdbool.h>
#include <stddef.h>

#include "chat.h"
#include "mcp.h"

#define TOOLS_ROUNDS 10

struct tools;

enum tools_policy {
	TOOLS_ASK, /* ask through the ask hook */
	TOOLS_ALWAYS, /* run every call */
	TOOLS_NEVER, /* run none; the model is told they were not allowed */
};

enum tools_answer {
	TOOLS_NO,
	TOOLS_YES,
	TOOLS_YES_TOOL, /* this and later calls of the same tool */
	TOOLS_YES_SERVER, /* every tool of the same server */
	TOOLS_STOP, /* no, and end the turn */
};

struct tools_call {
	const char *id; /* the model's call id, may be "" */
	const char *name; /* as the model called it */
	const char *args; /* the JSON text it sent */
	struct mcp_tool *tool; /* NULL when no tool has that name */
	int round; /* 1 for the first round of the turn */
	size_t index, count; /* this call of the round's */
};

struct tools_hooks {
	/* Approval is wanted: answer with tools_answer (now or later). */
	void (*ask)(struct tools *t, const struct tools_call *call, void *arg);
	/* A call is sent to its server (may be NULL). */
	void (*started)(struct tools *t, const struct tools_call *call, void *arg);
	/* A call has its result (text is what the model gets); error is NULL,
	 * "tool error" or why there is no result (may be NULL). */
	void (*finished)(struct tools *t, const struct tools_call *call, const char *text, const char *error, int64_t ms,
	    void *arg);
	/* A running call's server reports progress (total 0: unknown; msg
	 * may be NULL). May be NULL. */
	void (*progress)(struct tools *t, const struct tools_call *call, double progress, double total, const char *msg,
	    void *arg);
	/* The run ended without asking the model again: why says so (round
	 * limit, stopped, the chat refused). The turn is over. */
	void (*ended)(struct tools *t, const char *why, void *arg);
};

/* The servers of a->cfg's file (--mcp, or the default), those of list
 * picked (NULL or "all": every one), started; done(arg) runs once each is
 * ready or failed. NULL with *cause for a file or a list that is wrong. */
struct mcp *tools_mcp_open(struct app *a, const char *list, void (*done)(void *arg), void *arg, char **cause);
/* cb(line) for each server that failed to start: "MCP server NAME: why
 * (its tools are left out)". */
void tools_each_failure(const struct mcp *m, void (*cb)(void *arg, const char *line), void *arg);
/* The policy --approve names; TOOLS_ASK when unset. */
enum tools_policy tools_policy_of(const char *approve);

struct tools *tools_new(struct chat *c, struct mcp *m, enum tools_policy policy, int rounds,
    const struct tools_hooks *hooks, void *arg);
void tools_free(struct tools *t); /* cancels a running call */

/* Offer the enabled tools to the model (chat_set_tools); again after the
 * servers' lists change. */
void tools_offer(struct tools *t);
/* A user turn starts: the round count begins again. */
void tools_new_turn(struct tools *t);
/* Call on the chat's DONE: true when the reply's tool calls are being
 * handled (the chat then goes on by itself, or ended is called); false
 * when there were none and the turn is over. */
bool tools_after_reply(struct tools *t);
void tools_answer(struct tools *t, enum tools_answer a);
/* Stop: a running call is cancelled (notifications/cancelled), the calls
 * left are recorded as not run, and the turn ends. */
void tools_stop(struct tools *t, const char *why);
bool tools_busy(const struct tools *t);
/* /tools (t NULL: a face without tools, which says so): with no args, the
 * tools and whether each is offered; "on WHAT"
 * or "off WHAT" (a tool, a server or "all") switches them and offers the
 * rest. The text to show, or NULL with *cause. */
char *tools_command(struct tools *t, const char *args, char **cause);
/* A model's or server's text as a face may show it: control bytes as
 * '?', cut after max bytes saying how long it was. Allocated. */
char *tools_safe(const char *s, size_t max);
/* "read-only", "destructive" ... for a face to show beside a call. */
const char *tools_hints(const struct mcp_tool *tool, char *buf, size_t len);

#endif
