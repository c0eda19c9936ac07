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

static char *
llm_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct llm_req *
llm_req_copy(const struct llm_req *r)
{
	struct llm_req *o = xcalloc(1, sizeof *o);
	struct llm_msg *m = xcalloc(r->nmsgs ? r->nmsgs : 1, sizeof *m);

	*o = *r;
	o->model = llm_dup(r->model);
	o->think = llm_dup(r->think);
	for (size_t i = 0; i < r->nmsgs; i++) {
		const struct llm_msg *s = &r->msgs[i];

		m[i].role = llm_dup(s->role);
		m[i].content = llm_dup(s->content);
		m[i].thinking = llm_dup(s->thinking);
		m[i].tool_calls = json_incref(s->tool_calls);
		m[i].tool_name = llm_dup(s->tool_name);
		m[i].tool_call_id = llm_dup(s->tool_call_id);
		m[i].nimages = s->nimages;
		m[i].images = s->nimages ? xcalloc(s->nimages, sizeof *m[i].images) : NULL;
		for (size_t k = 0; k < s->nimages; k++) {
			m[i].images[k].mime = llm_dup(s->images[k].mime);
			m[i].images[k].b64 = llm_dup(s->images[k].b64);
		}
	}
	o->msgs = m;
	o->options = json_incref(r->options);
	o->tools = json_incref(r->tools);
	o->tool_choice = json_incref(r->tool_choice);
	o->format = json_incref(r->format);
	o->schema_spec = json_incref(r->schema_spec);
	return o;
}

void
llm_req_clear(struct llm_req *r)
{
	if (r == NULL)
		return;
	free((char *)r->model);
	free((char *)r->think);
	llm_msgs_free((struct llm_msg *)r->msgs, r->nmsgs);
	json_decref(r->options);
	json_decref(r->tools);
	json_decref(r->tool_choice);
	json_decref(r->format);
	json_decref(r->schema_spec);
	memset(r, 0, sizeof *r);
}

void
llm_req_free(struct llm_req *r)
{
	llm_req_clear(r);
	free(r);
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
