/*
 * codeblock.c: the code blocks of Markdown text. md4c finds them (fenced
 * with ``` or ~~~ of any length, up to three spaces in, or indented by
 * four), so a fence inside a longer fence, a tilde fence or a list's code
 * counts as the chat screen's renderer counts it; the text callbacks of a
 * code block are its lines, which are kept whole.
 */
#include "codeblock.h"

#include <md4c.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

const unsigned codeblock_md_flags = MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_TASKLISTS | MD_FLAG_NOHTML;

struct codeblock_scan {
	struct codeblocks *out;
	bool in_code;
	struct buf code;
	char *lang;
};

static int
codeblock_enter(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct codeblock_scan *s = arg;

	if (type == MD_BLOCK_CODE) {
		const MD_BLOCK_CODE_DETAIL *d = detail;

		s->in_code = true;
		buf_reset(&s->code);
		free(s->lang);
		s->lang = xstrndup(d->lang.text != NULL ? d->lang.text : "", d->lang.size);
	}
	return 0;
}

static int
codeblock_leave(MD_BLOCKTYPE type, void *detail, void *arg)
{
	struct codeblock_scan *s = arg;
	struct codeblock *b;
	size_t len = s->code.len;

	(void)detail;
	if (type != MD_BLOCK_CODE || !s->in_code)
		return 0;
	s->in_code = false;
	if (len > 0 && s->code.data[len - 1] == '\n')
		len--;
	s->out->v = xreallocarray(s->out->v, s->out->n + 1, sizeof *s->out->v);
	b = &s->out->v[s->out->n++];
	b->lang = s->lang;
	s->lang = NULL;
	b->text = xstrndup(s->code.data != NULL ? s->code.data : "", len);
	b->len = len;
	return 0;
}

static int
codeblock_span(MD_SPANTYPE type, void *detail, void *arg)
{
	(void)type;
	(void)detail;
	(void)arg;
	return 0;
}

static int
codeblock_text(MD_TEXTTYPE type, const MD_CHAR *t, MD_SIZE n, void *arg)
{
	struct codeblock_scan *s = arg;

	if (!s->in_code)
		return 0;
	if (type == MD_TEXT_NULLCHAR)
		buf_puts(&s->code, "\xef\xbf\xbd");
	else
		buf_append(&s->code, t, n);
	return 0;
}

int
codeblock_list(const char *text, size_t len, struct codeblocks *out)
{
	MD_PARSER parser = {
		0,
		codeblock_md_flags,
		codeblock_enter,
		codeblock_leave,
		codeblock_span,
		codeblock_span,
		codeblock_text,
		NULL,
		NULL,
	};
	struct codeblock_scan s = { .out = out };
	int rc;

	out->v = NULL;
	out->n = 0;
	rc = md_parse(text, (MD_SIZE)len, &parser, &s);
	buf_free(&s.code);
	free(s.lang);
	if (rc != 0) {
		codeblocks_free(out);
		return -1;
	}
	return 0;
}

void
codeblocks_free(struct codeblocks *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].lang);
		free(c->v[i].text);
	}
	free(c->v);
	c->v = NULL;
	c->n = 0;
}
