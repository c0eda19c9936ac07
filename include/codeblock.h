/* codeblock.h: the code blocks of a Markdown reply, the one way every face
 * counts them (the chat screen's "[N] lang" labels, /copy N in the REPL,
 * pipe mode's --extract): fenced or indented, as CommonMark has them,
 * through md4c with the flags the chat screen renders with. */
#ifndef PARLEY_CODEBLOCK_H
#define PARLEY_CODEBLOCK_H

#include <stddef.h>

/* md4c parser flags every face parses replies with. */
extern const unsigned codeblock_md_flags;

struct codeblock {
	char *lang; /* the info string's first word, "" when none */
	char *text; /* the code, without its last newline */
	size_t len;
};

struct codeblocks {
	struct codeblock *v;
	size_t n;
};

/* Every code block of text, in order (an unclosed fence runs to the end).
 * 0, or -1 if md4c fails (out of memory); out is then empty. */
int codeblock_list(const char *text, size_t len, struct codeblocks *out);
void codeblocks_free(struct codeblocks *c);

#endif
