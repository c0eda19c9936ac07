/* mcp.h: a Model Context Protocol client for the servers a user configured
 * (mcp.json in the mcpServers shape). Each server runs over stdio (a child
 * process on the loop) or Streamable HTTP (libcurl through net.h); parley
 * negotiates 2025-11-25 or 2025-06-18, lists its tools (every page, again
 * on notifications/tools/list_changed), answers ping and roots/list,
 * refuses sampling and elicitation, and calls tools with progress,
 * timeouts and cancellation. Tools are offered to models under names
 * "server__tool" made to fit OpenAI's ^[A-Za-z0-9_-]{1,64}$. */
#ifndef PARLEY_MCP_H
#define PARLEY_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"

struct mcp;
struct mcp_server;
struct mcp_call;

enum mcp_state {
	MCP_IDLE, /* configured, not started */
	MCP_STARTING, /* spawned or connecting, initialising, listing */
	MCP_READY,
	MCP_FAILED, /* mcp_server_error says why */
	MCP_DISABLED, /* "disabled": true in the file */
};

struct mcp_tool {
	struct mcp_server *server;
	char *name; /* the server's name for it */
	char *llm_name; /* what the model calls it */
	char *title; /* NULL if none */
	char *description; /* NULL if none */
	json_t *schema; /* inputSchema, "$schema" removed */
	bool read_only, destructive, idempotent, open_world; /* annotations, spec defaults */
	bool enabled;
};

struct mcp_result {
	bool is_error; /* the tool said it failed (isError) */
	bool rpc_error; /* no result: JSON-RPC error, timeout, server gone */
	char *text; /* what the model is sent back */
	int64_t ms; /* request to answer */
	int64_t us; /* the same in microseconds */
};

/* The servers of a config file. path NULL: $XDG_CONFIG_HOME/parley/mcp.json,
 * where a missing file means no servers; a named file must exist. -1 with
 * *cause naming the file, the server and the key that is wrong. */
int mcp_config_load(const char *path, json_t **servers, char **cause);

struct mcp *mcp_new(struct app *a, json_t *servers); /* servers stolen */
/* Stops every server: stdin closed, SIGTERM after 2 s, SIGKILL 2 s later. */
void mcp_free(struct mcp *m);

/* Start the servers picked (NULL: every one not disabled). done runs once
 * each is ready or failed (at once if none was picked). */
void mcp_start(struct mcp *m, void (*done)(void *arg), void *arg);
/* Pick servers and tools by a comma-separated list of server names and
 * model tool names ("all" or NULL: everything). -1 with *cause naming an
 * entry that is neither. Call before mcp_start. */
int mcp_pick(struct mcp *m, const char *list, char **cause);
/* Whether a ready server is listing its tools again (after
 * tools/list_changed); the change callback follows. */
bool mcp_relisting(const struct mcp *m);
/* cb(arg) runs whenever a server's tool list changed after start, until
 * mcp_unwatch with the same pair. */
void mcp_watch(struct mcp *m, void (*cb)(void *arg), void *arg);
void mcp_unwatch(struct mcp *m, void (*cb)(void *arg), void *arg);

size_t mcp_server_count(const struct mcp *m);
struct mcp_server *mcp_server_at(const struct mcp *m, size_t i);
struct mcp_server *mcp_server_find(const struct mcp *m, const char *name);
const char *mcp_server_name(const struct mcp_server *s);
enum mcp_state mcp_server_state(const struct mcp_server *s);
const char *mcp_state_name(enum mcp_state st);
const char *mcp_server_error(const struct mcp_server *s); /* NULL unless failed */
const char *mcp_server_transport(const struct mcp_server *s); /* "stdio" or "http" */
const char *mcp_server_target(const struct mcp_server *s); /* command line or URL */
const char *mcp_server_version(const struct mcp_server *s); /* negotiated protocol, NULL before */
json_t *mcp_server_info(const struct mcp_server *s); /* serverInfo, borrowed, NULL before */
int64_t mcp_server_ready_ms(const struct mcp_server *s); /* start to ready, -1 if not */
bool mcp_server_picked(const struct mcp_server *s);

/* Every tool of every ready server, in server order. */
size_t mcp_tool_count(const struct mcp *m);
struct mcp_tool *mcp_tool_at(const struct mcp *m, size_t i);
struct mcp_tool *mcp_tool_find(const struct mcp *m, const char *llm_name);
/* Turn a tool on or off for the model; kept across list changes. */
void mcp_tool_enable(struct mcp *m, struct mcp_tool *t, bool on);
/* The tools turned off, as a JSON array of model names (NULL: none, or
 * for mcp_off_names, allocated): a session's /tools choices. */
void mcp_set_off(struct mcp *m, const char *names);
char *mcp_off_names(const struct mcp *m);
/* The enabled tools of picked, ready servers, OpenAI's tools shape; NULL
 * if there are none. */
json_t *mcp_tools_json(const struct mcp *m);

/* Call a tool. args is the JSON text the model sent (NULL or "" is {}).
 * cb runs exactly once, later, unless the call is cancelled first. */
typedef void (*mcp_call_cb)(const struct mcp_result *res, void *arg);
struct mcp_call *mcp_call(struct mcp_tool *t, const char *args, mcp_call_cb cb, void *arg);
/* Progress of a running call, for a face to show; NULL clears. */
void mcp_call_on_progress(struct mcp_call *c, void (*cb)(double progress, double total, const char *msg, void *arg));
/* Stop waiting: notifications/cancelled goes to the server; cb is not run. */
void mcp_call_cancel(struct mcp_call *c, const char *reason);

/* A model tool name from a server and tool name: "server__tool", every
 * byte outside [A-Za-z0-9_-] made '_', cut to 64 with a hash of the whole
 * when longer. Allocated. */
char *mcp_llm_name(const char *server, const char *tool);

#endif
