/* mcp_transport.h: how an MCP server's messages travel. mcp.c speaks
 * JSON-RPC over one of these: mcp_stdio.c (a child process, one message a
 * line) and mcp_http.c (Streamable HTTP: a POST a message, answers as JSON
 * or server-sent events). A transport hands up whole messages and says
 * once when it is gone. */
#ifndef PARLEY_MCP_TRANSPORT_H
#define PARLEY_MCP_TRANSPORT_H

#include <jansson.h>
#include <stddef.h>

#include "app.h"

struct mcp_transport;

struct mcp_transport_cbs {
	/* One message as received (a JSON object, or an array from an old
	 * peer that batches); not yet parsed. */
	void (*message)(const char *data, size_t len, void *arg);
	/* The transport is gone (the process exited, the session cannot be
	 * had back); why says so. No callback follows. */
	void (*closed)(const char *why, void *arg);
	/* The server ended the session (HTTP 404): initialise again, then send
	 * again every request still waiting. */
	void (*reset)(void *arg);
	/* A line of the server's own log (stderr, or what a transport notes). */
	void (*log)(const char *line, void *arg);
};

struct mcp_transport_ops {
	const char *name; /* "stdio", "http" */
	/* conf: the server's entry, checked by mcp_config_load. */
	struct mcp_transport *(*open)(struct app *a, json_t *conf, const struct mcp_transport_cbs *cbs, void *arg,
	    char **cause);
	/* Send one message (compact JSON, no newline). */
	void (*send)(struct mcp_transport *t, const char *msg, size_t len);
	/* The negotiated protocol version, for transports that send it. */
	void (*set_version)(struct mcp_transport *t, const char *version);
	/* Start going away (stdio: close the child's stdin); no callbacks after. */
	void (*hangup)(struct mcp_transport *t);
	/* Finish going away by deadline_ms (util_now_ms clock), then free. */
	void (*free)(struct mcp_transport *t, int64_t deadline_ms);
};

extern const struct mcp_transport_ops mcp_stdio_ops;
extern const struct mcp_transport_ops mcp_http_ops;

#endif
