/*
 * mcp_config.c: the servers file (mcp.md 9), the "mcpServers" object that
 * Claude Desktop, Cursor and the servers' READMEs use, or VS Code's
 * "servers". Each entry is checked and handed on as a clean object:
 *
 *   stdio: {"command", "args": [...], "env": {...}, "cwd"?, "display"}
 *   http:  {"url", "headers": {...}}
 *   both:  "timeout" (seconds), "disabled", "roots" (paths answered to
 *          roots/list)
 *
 * ${NAME}, ${env:NAME}, ${NAME:-default} and ${userHome} are expanded in
 * command, args, env, cwd, url and headers. Unknown keys are ignored, as
 * other clients do (autoApprove, alwaysAllow ...).
 */
#include "mcp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

#define MCP_CONFIG_MAX (4u << 20)

/* Expand ${...} in s; -1 with *cause for one that cannot be. */
static int
mcp_config_expand(const char *s, char **out, char **cause)
{
	struct buf b = { 0 };

	while (*s != '\0') {
		const char *end;
		char *name, *dflt;
		const char *v;

		if (s[0] != '$' || s[1] != '{' || (end = strchr(s + 2, '}')) == NULL) {
			buf_putc(&b, *s++);
			continue;
		}
		name = xstrndup(s + 2, (size_t)(end - s - 2));
		dflt = strstr(name, ":-");
		if (dflt != NULL) {
			*dflt = '\0';
			dflt += 2;
		}
		if (strcmp(name, "userHome") == 0)
			v = getenv("HOME");
		else if (strncmp(name, "env:", 4) == 0)
			v = getenv(name + 4);
		else if (strchr(name, ':') != NULL) {
			util_fail(cause, "${%s} cannot be expanded: parley knows ${NAME}, ${env:NAME}, ${NAME:-default} and ${userHome}", name);
			free(name);
			buf_free(&b);
			return -1;
		} else
			v = getenv(name);
		if (v == NULL || (v[0] == '\0' && dflt != NULL))
			v = dflt != NULL ? dflt : "";
		buf_puts(&b, v);
		free(name);
		s = end + 1;
	}
	*out = b.data ? buf_steal(&b) : xstrdup("");
	return 0;
}

static json_t *
mcp_config_str(json_t *v, const char *where, const char *key, char **cause)
{
	char *e;
	json_t *o;

	if (!json_is_string(v)) {
		util_fail(cause, "%s: \"%s\" must be a string", where, key);
		return NULL;
	}
	if (mcp_config_expand(json_string_value(v), &e, cause) != 0) {
		char *c = *cause;

		util_fail(cause, "%s: \"%s\": %s", where, key, c);
		free(c);
		return NULL;
	}
	o = json_string(e);
	free(e);
	if (o == NULL)
		util_fail(cause, "%s: \"%s\" is not valid UTF-8", where, key);
	return o;
}

/* An object of strings (env, headers), expanded. */
static json_t *
mcp_config_map(json_t *v, const char *where, const char *key, char **cause)
{
	json_t *out = json_object(), *x, *e;
	const char *k;

	if (v == NULL || json_is_null(v))
		return out;
	if (!json_is_object(v)) {
		json_decref(out);
		util_fail(cause, "%s: \"%s\" must be an object of strings", where, key);
		return NULL;
	}
	json_object_foreach(v, k, x)
	{
		char *sub = xasprintf("%s.%s", key, k);

		e = mcp_config_str(x, where, sub, cause);
		free(sub);
		if (e == NULL) {
			json_decref(out);
			return NULL;
		}
		json_object_set_new(out, k, e);
	}
	return out;
}

static json_t *
mcp_config_entry(const char *name, json_t *in, char **cause)
{
	char *where = xasprintf("server \"%s\"", name);
	json_t *out = json_object(), *v, *args, *e;
	const char *type = json_string_value(json_object_get(in, "type"));
	bool http;
	size_t i;

	if (!json_is_object(in)) {
		util_fail(cause, "%s must be an object with \"command\" or \"url\"", where);
		goto fail;
	}
	if (json_object_get(in, "type") != NULL && type == NULL) {
		util_fail(cause, "%s: \"type\" must be a string", where);
		goto fail;
	}
	if (type != NULL && strcmp(type, "stdio") != 0 && strcmp(type, "http") != 0 && strcmp(type, "streamableHttp") != 0 &&
	    strcmp(type, "streamable-http") != 0) {
		util_fail(cause, "%s: type \"%s\" is not supported: parley speaks stdio and Streamable HTTP (\"http\")%s", where,
		    type, strcmp(type, "sse") == 0 ? "; the old SSE transport is not" : "");
		goto fail;
	}
	http = type != NULL ? strcmp(type, "stdio") != 0 : json_object_get(in, "command") == NULL;
	if (http) {
		if ((v = json_object_get(in, "url")) == NULL) {
			util_fail(cause, "%s needs \"command\" (a program to run) or \"url\" (a Streamable HTTP endpoint)", where);
			goto fail;
		}
		if ((e = mcp_config_str(v, where, "url", cause)) == NULL)
			goto fail;
		if (strncmp(json_string_value(e), "http://", 7) != 0 && strncmp(json_string_value(e), "https://", 8) != 0) {
			util_fail(cause, "%s: \"url\" must start with http:// or https://", where);
			json_decref(e);
			goto fail;
		}
		json_object_set_new(out, "url", e);
		if ((e = mcp_config_map(json_object_get(in, "headers"), where, "headers", cause)) == NULL)
			goto fail;
		json_object_set_new(out, "headers", e);
	} else {
		struct buf disp = { 0 };

		if ((e = mcp_config_str(json_object_get(in, "command"), where, "command", cause)) == NULL)
			goto fail;
		if (json_string_length(e) == 0) {
			util_fail(cause, "%s: \"command\" is empty", where);
			json_decref(e);
			goto fail;
		}
		buf_puts(&disp, json_string_value(e));
		json_object_set_new(out, "command", e);
		args = json_array();
		json_object_set_new(out, "args", args);
		v = json_object_get(in, "args");
		if (v != NULL && !json_is_array(v)) {
			util_fail(cause, "%s: \"args\" must be an array of strings", where);
			buf_free(&disp);
			goto fail;
		}
		json_array_foreach(v, i, e)
		{
			char key[32];

			snprintf(key, sizeof key, "args[%zu]", i);
			if ((e = mcp_config_str(e, where, key, cause)) == NULL) {
				buf_free(&disp);
				goto fail;
			}
			buf_printf(&disp, " %s", json_string_value(e));
			json_array_append_new(args, e);
		}
		json_object_set_new(out, "display", json_string(disp.data));
		buf_free(&disp);
		if ((e = mcp_config_map(json_object_get(in, "env"), where, "env", cause)) == NULL)
			goto fail;
		json_object_set_new(out, "env", e);
		if ((v = json_object_get(in, "cwd")) != NULL) {
			if ((e = mcp_config_str(v, where, "cwd", cause)) == NULL)
				goto fail;
			json_object_set_new(out, "cwd", e);
		}
	}
	v = json_object_get(in, "timeout");
	if (v != NULL && (!json_is_number(v) || json_number_value(v) <= 0)) {
		util_fail(cause, "%s: \"timeout\" must be a positive number of seconds", where);
		goto fail;
	}
	if (v != NULL)
		json_object_set(out, "timeout", v);
	if (json_is_true(json_object_get(in, "disabled")))
		json_object_set_new(out, "disabled", json_true());
	v = json_object_get(in, "roots");
	if (v != NULL) {
		json_t *r = json_array();

		json_object_set_new(out, "roots", r);
		if (!json_is_array(v)) {
			util_fail(cause, "%s: \"roots\" must be an array of paths", where);
			goto fail;
		}
		json_array_foreach(v, i, e)
		{
			if ((e = mcp_config_str(e, where, "roots", cause)) == NULL)
				goto fail;
			json_array_append_new(r, e);
		}
	}
	free(where);
	return out;
fail:
	free(where);
	json_decref(out);
	return NULL;
}

int
mcp_config_load(const char *path, json_t **servers, char **cause)
{
	char *dflt = NULL, *text, *c = NULL;
	json_t *root, *list, *v;
	json_error_t e;
	const char *name;
	size_t len;

	*servers = json_object();
	if (path == NULL) {
		char *dir = util_xdg_dir("CONFIG");

		dflt = xasprintf("%s/mcp.json", dir);
		free(dir);
		if (access(dflt, F_OK) != 0 && errno == ENOENT) {
			free(dflt);
			return 0;
		}
		path = dflt;
	}
	if ((text = util_read_file(path, &len, MCP_CONFIG_MAX, &c)) == NULL) {
		util_fail(cause, "%s", c);
		free(c);
		goto fail;
	}
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
	free(text);
	if (root == NULL) {
		util_fail(cause, "%s:%d:%d: %s", path, e.line, e.column, e.text);
		goto fail;
	}
	list = json_object_get(root, "mcpServers");
	if (list == NULL)
		list = json_object_get(root, "servers");
	if (!json_is_object(list)) {
		util_fail(cause, "%s: expected {\"mcpServers\": {\"NAME\": {\"command\": ...} | {\"url\": ...}}}", path);
		json_decref(root);
		goto fail;
	}
	json_object_foreach(list, name, v)
	{
		json_t *entry;

		if (name[0] == '\0' || strchr(name, ',') != NULL) {
			util_fail(cause, "%s: a server's name must be non-empty and have no comma", path);
			json_decref(root);
			goto fail;
		}
		if ((entry = mcp_config_entry(name, v, &c)) == NULL) {
			util_fail(cause, "%s: %s", path, c);
			free(c);
			json_decref(root);
			goto fail;
		}
		json_object_set_new(*servers, name, entry);
	}
	json_decref(root);
	free(dflt);
	return 0;
fail:
	free(dflt);
	json_decref(*servers);
	*servers = NULL;
	return -1;
}
