/*
 * llm.c: helpers for the shared chat vocabulary of llm.h: freeing messages
 * and tool calls, statistics defaults, the token estimate used when a backend
 * reports no counts, and error names.
 */
#include "llm.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

void
llm_stats_init(struct llm_stats *s)
{
	memset(s, 0, sizeof *s);
	s->prompt_tokens = -1;
	s->reply_tokens = -1;
}

void
llm_msg_clear(struct llm_msg *m)
{
	free(m->role);
	free(m->content);
	free(m->thinking);
	json_decref(m->tool_calls);
	free(m->tool_name);
	free(m->tool_call_id);
	for (size_t i = 0; i < m->nimages; i++) {
		free(m->images[i].mime);
		free(m->images[i].b64);
	}
	free(m->images);
	memset(m, 0, sizeof *m);
}

void
llm_msgs_free(struct llm_msg *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		llm_msg_clear(&m[i]);
	free(m);
}

void
llm_tool_call_clear(struct llm_tool_call *c)
{
	free(c->id);
	free(c->name);
	free(c->args);
	memset(c, 0, sizeof *c);
}

int64_t
llm_estimate_tokens(const char *text, size_t len)
{
	size_t chars = 0;

	/* Count characters, not bytes, so CJK text is not overestimated 3x. */
	for (size_t i = 0; i < len; i++)
		if (((unsigned char)text[i] & 0xc0) != 0x80)
			chars++;
	return (int64_t)((chars + 3) / 4);
}

const char *
llm_err_name(enum llm_err e)
{
	switch (e) {
	case LLM_OK:
		return "ok";
	case LLM_ERR_USAGE:
		return "usage";
	case LLM_ERR_CONNECT:
		return "unreachable";
	case LLM_ERR_NOT_FOUND:
		return "model_not_found";
	case LLM_ERR_BACKEND:
		return "backend";
	case LLM_ERR_CANCELLED:
		return "interrupted";
	case LLM_ERR_OTHER:
		break;
	}
	return "error";
}

void
llm_emit_text(llm_ev_cb cb, void *arg, enum llm_ev_type type, const char *text, size_t len)
{
	struct llm_ev ev = { 0 };

	if (len == 0)
		return;
	ev.type = type;
	ev.text = text;
	ev.len = len;
	cb(&ev, arg);
}

void
llm_emit_error(llm_ev_cb cb, void *arg, enum llm_err err, const char *msg, size_t len)
{
	struct llm_ev ev = { 0 };

	ev.type = LLM_EV_ERROR;
	ev.err = err;
	ev.text = msg;
	ev.len = len;
	cb(&ev, arg);
}
