/*
 * cmd_tools.c: parley tools [--json] [SERVER|SERVER__TOOL ...]. Starts the
 * configured MCP servers (or those named), waits until each is ready or
 * failed, and prints each server's state and tools: the name the model
 * sees, the hints, the parameters and the description; --json prints
 * everything, input schemas included. Exit 0 when every server started
 * is ready, 1 when one failed, 2 for a bad file or name.
 *
 * parley tools --call NAME [--args JSON] [--repeat N] runs one tool by
 * hand (no model involved) and prints what the model would get back, or
 * with --json the result and each call's time in microseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "mcp.h"
#include "tools.h"
#include "util.h"

static void
cmd_tools_done(void *arg)
{
	*(bool *)arg = true;
}

/* "path, head?, tail?" from a tool's input schema. */
static char *
cmd_tools_params(const json_t *schema)
{
	json_t *props = json_object_get(schema, "properties"), *req = json_object_get(schema, "required"), *v, *r;
	struct buf b = { 0 };
	const char *k;
	size_t i;

	json_object_foreach(props, k, v)
	{
		bool needed = false;

		json_array_foreach(req, i, r)
		{
			needed = needed || util_streq(json_string_value(r), k);
		}
		buf_printf(&b, "%s%s%s", b.len ? ", " : "", k, needed ? "" : "?");
	}
	return b.data ? buf_steal(&b) : xstrdup("");
}

/* One line of a description, cut for a terminal. */
static void
cmd_tools_line(const char *s, char *out, size_t n)
{
	size_t k = 0;

	for (; s != NULL && *s != '\0' && *s != '\n' && k + 1 < n; s++)
		out[k++] = (unsigned char)*s < 0x20 ? ' ' : *s;
	out[k] = '\0';
	if (k >= 100)
		strcpy(out + 97, "...");
}

static json_t *
cmd_tools_json(struct mcp *m)
{
	json_t *servers = json_array();

	for (size_t i = 0; i < mcp_server_count(m); i++) {
		struct mcp_server *s = mcp_server_at(m, i);
		json_t *tools = json_array();

		for (size_t j = 0; j < mcp_tool_count(m); j++) {
			struct mcp_tool *t = mcp_tool_at(m, j);

			if (t->server != s)
				continue;
			json_array_append_new(tools, json_pack("{s:s, s:s, s:s?, s:s?, s:O, s:b, s:{s:b, s:b, s:b, s:b}}", "name", t->llm_name, "tool", t->name, "title", t->title, "description", t->description, "input_schema", t->schema, "enabled", t->enabled, "hints", "read_only", t->read_only, "destructive", t->destructive, "idempotent", t->idempotent, "open_world", t->open_world));
		}
		json_array_append_new(servers,
		    json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:s?, s:O?, s:I, s:b, s:o}", "name", mcp_server_name(s), "state",
		        mcp_state_name(mcp_server_state(s)), "transport", mcp_server_transport(s), "target",
		        mcp_server_target(s), "error", mcp_server_error(s), "protocol", mcp_server_version(s), "server",
		        mcp_server_info(s), "ready_ms", (json_int_t)mcp_server_ready_ms(s), "picked", mcp_server_picked(s),
		        "tools", tools));
	}
	return json_pack("{s:o}", "servers", servers);
}

static void
cmd_tools_text(struct mcp *m)
{
	for (size_t i = 0; i < mcp_server_count(m); i++) {
		struct mcp_server *s = mcp_server_at(m, i);
		json_t *info = mcp_server_info(s);
		size_t n = 0;

		if (!mcp_server_picked(s) && mcp_server_state(s) != MCP_DISABLED)
			continue;
		for (size_t j = 0; j < mcp_tool_count(m); j++)
			n += mcp_tool_at(m, j)->server == s;
		printf("%s  %s  %s %s\n", mcp_server_name(s), mcp_state_name(mcp_server_state(s)), mcp_server_transport(s),
		    mcp_server_target(s) ? mcp_server_target(s) : "");
		if (mcp_server_state(s) == MCP_FAILED)
			printf("  error: %s\n", mcp_server_error(s));
		if (mcp_server_state(s) != MCP_READY)
			continue;
		printf("  %s %s, protocol %s, ready in %lld ms, %zu tool%s\n",
		    json_string_value(json_object_get(info, "name")) ? json_string_value(json_object_get(info, "name")) : "?",
		    json_string_value(json_object_get(info, "version")) ? json_string_value(json_object_get(info, "version")) : "",
		    mcp_server_version(s), (long long)mcp_server_ready_ms(s), n, n == 1 ? "" : "s");
		for (size_t j = 0; j < mcp_tool_count(m); j++) {
			struct mcp_tool *t = mcp_tool_at(m, j);
			char hints[64], desc[128], *params;

			if (t->server != s)
				continue;
			params = cmd_tools_params(t->schema);
			cmd_tools_line(t->description ? t->description : t->title, desc, sizeof desc);
			printf("  %s%s(%s)  [%s]\n", t->enabled ? "" : "(off) ", t->llm_name, params,
			    tools_hints(t, hints, sizeof hints));
			if (desc[0] != '\0')
				printf("      %s\n", desc);
			free(params);
		}
	}
}

struct cmd_tools_call {
	struct mcp_tool *tool;
	const char *args;
	long left;
	bool done, failed;
	char *text;
	json_t *us;
};

static void
cmd_tools_called(const struct mcp_result *res, void *arg)
{
	struct cmd_tools_call *k = arg;

	json_array_append_new(k->us, json_integer((json_int_t)res->us));
	free(k->text);
	k->text = xstrdup(res->text);
	k->failed = res->is_error || res->rpc_error;
	if (--k->left > 0 && !k->failed)
		mcp_call(k->tool, k->args, cmd_tools_called, k);
	else
		k->done = true;
}

/* --call: 0 when the tool answered, 1 when it failed. */
static int
cmd_tools_call(struct app *a, struct mcp *m, const char *name, const char *args, long repeat, bool json)
{
	struct cmd_tools_call k = { 0 };
	int rc;

	k.tool = mcp_tool_find(m, name);
	if (k.tool == NULL) {
		fprintf(stderr, "parley: tools --call: no tool is called %s (parley tools lists them)\n", name);
		return 2;
	}
	k.args = args;
	k.left = repeat;
	k.us = json_array();
	mcp_call(k.tool, args, cmd_tools_called, &k);
	app_run_until(a, &k.done);
	if (json) {
		json_t *o = json_pack("{s:s, s:s, s:b, s:O}", "name", name, "content", k.text ? k.text : "", "error",
		    k.failed, "us", k.us);
		char *s = json_dumps(o, JSON_COMPACT);

		puts(s);
		free(s);
		json_decref(o);
	} else
		printf("%s\n", k.text ? k.text : "");
	rc = k.failed ? 1 : 0;
	free(k.text);
	json_decref(k.us);
	return rc;
}

int
cmd_tools(struct config *cfg, int argc, char **argv)
{
	const char *call = NULL, *call_args = "{}";
	long repeat = 1;
	struct buf list = { 0 };
	bool json = cfg->json, done = false, failed = false;
	char *cause = NULL;
	struct mcp *m;
	struct app a;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = true;
		else if (strcmp(argv[i], "--call") == 0 && i + 1 < argc)
			call = argv[++i];
		else if (strcmp(argv[i], "--args") == 0 && i + 1 < argc)
			call_args = argv[++i];
		else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) {
			char *end;

			repeat = strtol(argv[++i], &end, 10);
			if (*end != '\0' || repeat < 1 || repeat > 1000000) {
				fprintf(stderr, "parley: tools: --repeat takes a count from 1 to 1000000\n");
				return 2;
			}
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "parley: tools: unknown option %s (usage: parley tools [--json] [SERVER|SERVER__TOOL ...] "
			                "[--call NAME [--args JSON] [--repeat N]])\n",
			    argv[i]);
			return 2;
		} else
			buf_printf(&list, "%s%s", list.len ? "," : "", argv[i]);
	}
	app_init(&a, cfg);
	m = tools_mcp_open(&a, list.data ? list.data : cfg->tools, cmd_tools_done, &done, &cause);
	buf_free(&list);
	if (m == NULL) {
		fprintf(stderr, "parley: %s\n", cause);
		free(cause);
		app_free(&a);
		return 2;
	}
	if (mcp_server_count(m) == 0 && !json)
		fprintf(stderr, "parley: no MCP servers are configured; list them in %s as "
		                "{\"mcpServers\": {\"NAME\": {\"command\": ..., \"args\": [...]}}}\n",
		    cfg->mcp_path ? cfg->mcp_path : "$XDG_CONFIG_HOME/parley/mcp.json");
	app_run_until(&a, &done);
	if (call != NULL) {
		json_t *j = json_loads(call_args, 0, NULL);
		int rc;

		if (!json_is_object(j)) {
			fprintf(stderr, "parley: tools: --args must be a JSON object, not %s\n", call_args);
			rc = 2;
		} else
			rc = cmd_tools_call(&a, m, call, call_args, repeat, json);
		json_decref(j);
		mcp_free(m);
		app_free(&a);
		return rc;
	}
	for (size_t i = 0; i < mcp_server_count(m); i++)
		failed = failed || mcp_server_state(mcp_server_at(m, i)) == MCP_FAILED;
	if (json) {
		json_t *o = cmd_tools_json(m);
		char *s = json_dumps(o, JSON_INDENT(2));

		puts(s);
		free(s);
		json_decref(o);
	} else
		cmd_tools_text(m);
	fflush(stdout);
	mcp_free(m);
	app_free(&a);
	return failed ? 1 : 0;
}
