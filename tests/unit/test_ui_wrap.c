/*
 * test_ui_wrap.c: the curses-free parts of the TUI. Wrapping measures CJK
 * and emoji as two columns and never splits a character, and gives the
 * same rows fed in pieces as whole; control bytes never reach a row;
 * Markdown becomes styled rows with numbered code blocks; a streaming
 * reply laid out piece by piece gets the rows it gets laid out at once at
 * every step, and at the end those of md4c on the whole (for Markdown
 * chosen to trip it: fences, lists, tables, emphasis across lines); theme
 * files parse (and bad ones are refused with the line); the input editor
 * lays out and moves by characters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <locale.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "ui_chat.h"
#include "ui_input.h"
#include "ui_md.h"
#include "ui_text.h"
#include "ui_theme.h"
#include "util.h"

static void same_rows(const struct ui_lines *a, const struct ui_lines *b, const char *what, const char *doc, size_t at);

static void
wrap(struct ui_lines *out, const char *text, int width, bool hard)
{
	struct ui_para p = { 0 };

	p.text = text;
	p.len = strlen(text);
	p.pfx_style = 0;
	p.hard = hard;
	ui_text_wrap(out, &p, width);
}

static void
test_widths(void **state)
{
	(void)state;
	assert_int_equal(ui_text_width("abc", 3), 3);
	assert_int_equal(ui_text_width("中文", strlen("中文")), 4);
	assert_int_equal(ui_text_width("😀", strlen("😀")), 2);
	assert_int_equal(ui_text_width("e\xcc\x81", 3), 1); /* e + combining acute */
	/* a wide character that does not fit is not split */
	assert_int_equal(ui_text_fit("a中", strlen("a中"), 2), 1);
	assert_int_equal(ui_text_fit("a中", strlen("a中"), 3), 4);
}

static void
test_wrap_words(void **state)
{
	struct ui_lines l = { 0 };

	(void)state;
	wrap(&l, "the quick brown fox jumps", 10, false);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].text, "the quick");
	assert_string_equal(l.v[1].text, "brown fox");
	assert_string_equal(l.v[2].text, "jumps");
	for (size_t i = 0; i < l.n; i++)
		assert_true(l.v[i].width <= 10);
	ui_lines_clear(&l);

	/* a word longer than the row is cut */
	wrap(&l, "abcdefghijkl", 5, false);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].text, "abcde");
	ui_lines_clear(&l);

	/* hard breaks */
	wrap(&l, "one\ntwo", 20, false);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[1].text, "two");
	ui_lines_clear(&l);

	/* spaces where a row ends go, however many (this read past the text) */
	wrap(&l, "aaaa  b", 4, false);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].text, "aaaa");
	assert_string_equal(l.v[1].text, "b");
	ui_lines_clear(&l);
	wrap(&l, "aaaa   ", 4, false);
	assert_int_equal(l.n, 1);
	ui_lines_clear(&l);
}

/* A paragraph fed to a ui_wrap in pieces (none splitting a character)
 * gives the rows of ui_text_wrap on the whole, and a copy taken on the way
 * shows the paragraph so far. */
static void
test_wrap_pieces(void **state)
{
	static const char *const atoms[] = { "a", "word", "longerwords", " ", "  ", "\n", "中", "😀", "e\xcc\x81", "\t",
		"\x01", "\xff", "ï", "\r" };
	unsigned seed = 1;

	(void)state;
	for (int iter = 0; iter < 3000; iter++) {
		char text[512];
		unsigned char style[512];
		size_t len = 0, pos = 0;
		struct ui_para p = { 0 };
		struct ui_lines want = { 0 }, got = { 0 };
		struct ui_wrap *w;
		int width;

#define RND() (seed = seed * 1103515245 + 12345, (seed >> 16) & 0x7fff)
		for (int k = (int)RND() % 60; k > 0; k--) {
			const char *a = atoms[RND() % (sizeof atoms / sizeof atoms[0])];

			if (len + strlen(a) >= sizeof text)
				break;
			memcpy(text + len, a, strlen(a));
			len += strlen(a);
		}
		text[len] = '\0';
		for (size_t k = 0; k < len; k++)
			style[k] = (unsigned char)(RND() % 4);
		p.text = text;
		p.len = len;
		p.style = RND() % 2 ? style : NULL;
		p.pfx1 = RND() % 2 ? "• " : NULL;
		p.pfx2 = RND() % 2 ? "  " : NULL;
		p.pfx_style = 7;
		p.hard = RND() % 4 == 0;
		width = 1 + (int)(RND() % 14);
		ui_text_wrap(&want, &p, width);
		w = ui_wrap_new(&p, width);
		while (pos < len) {
			size_t n = 1 + RND() % 7;
			struct ui_wrap *copy;
			struct ui_lines so_far = { 0 }, a = { 0 };

			if (n > len - pos)
				n = len - pos;
			while (pos + n < len && ((unsigned char)text[pos + n] & 0xc0) == 0x80)
				n++;
			ui_wrap_feed(w, &got, text + pos, p.style ? style + pos : NULL, n);
			pos += n;
			/* the copy, ended, is what wrapping text[0..pos) gives */
			copy = ui_wrap_dup(w);
			for (size_t i = 0; i < got.n; i++)
				ui_lines_add(&so_far, got.v[i].text, got.v[i].style, got.v[i].len, got.v[i].fill);
			ui_wrap_end(copy, &so_far);
			ui_wrap_free(copy);
			p.len = pos;
			ui_text_wrap(&a, &p, width);
			p.len = len;
			same_rows(&a, &so_far, "a copy of the wrapper", text, pos);
			ui_lines_clear(&a);
			ui_lines_clear(&so_far);
		}
		ui_wrap_end(w, &got);
		ui_wrap_free(w);
		same_rows(&want, &got, "wrapped in pieces", text, len);
		ui_lines_clear(&want);
		ui_lines_clear(&got);
#undef RND
	}
}

static void
test_wrap_wide(void **state)
{
	struct ui_lines l = { 0 };

	(void)state;
	/* CJK has no spaces: it breaks between characters, 2 columns each */
	wrap(&l, "中文字符中文字符", 7, false);
	for (size_t i = 0; i < l.n; i++)
		assert_true(l.v[i].width <= 7);
	assert_string_equal(l.v[0].text, "中文字");
	assert_int_equal(l.n, 3);
	ui_lines_clear(&l);

	wrap(&l, "ok 😀😀😀😀", 5, false);
	for (size_t i = 0; i < l.n; i++) {
		assert_true(l.v[i].width <= 5);
		assert_true(util_utf8_valid(l.v[i].text, l.v[i].len));
	}
	ui_lines_clear(&l);
}

static void
test_wrap_sanitises(void **state)
{
	struct ui_lines l = { 0 };

	(void)state;
	wrap(&l, "a\033[2Jb\x01\xff\tc\r", 40, false);
	assert_int_equal(l.n, 1);
	assert_null(memchr(l.v[0].text, '\033', l.v[0].len));
	assert_null(memchr(l.v[0].text, '\x01', l.v[0].len));
	assert_null(memchr(l.v[0].text, '\r', l.v[0].len));
	assert_true(util_utf8_valid(l.v[0].text, l.v[0].len));
	assert_non_null(strstr(l.v[0].text, "    c")); /* tab: 4 spaces */
	ui_lines_clear(&l);
}

/* Find a row containing s; its style at the first byte of s. */
static int
style_of(const struct ui_lines *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++) {
		const char *p = strstr(l->v[i].text, s);

		if (p != NULL)
			return l->v[i].style[p - l->v[i].text];
	}
	return -1;
}

static bool
has_row(const struct ui_lines *l, const char *s)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].text, s) == 0)
			return true;
	return false;
}

static void
check_markdown(void (*render)(struct ui_lines *, const char *, size_t, int, int))
{
	const char *md = "# Title\n\nSome **bold** and *slanted* and `code`.\n\n- one\n- two\n\n> quoted\n\n```c\nint x;\n```\n";
	struct ui_lines l = { 0 };

	render(&l, md, strlen(md), 40, 3);
	assert_true(has_row(&l, "Title"));
	assert_int_equal(UI_ST_ROLE(style_of(&l, "Title")), UI_ROLE_HEADING);
	assert_true(style_of(&l, "bold") & UI_ST_BOLD);
	assert_true(style_of(&l, "slanted") & UI_ST_ITALIC);
	assert_int_equal(UI_ST_ROLE(style_of(&l, "code")), UI_ROLE_CODE);
	assert_true(has_row(&l, "• one"));
	assert_true(has_row(&l, "│ quoted"));
	assert_true(has_row(&l, "[3] c"));
	assert_true(has_row(&l, "int x;"));
	assert_int_equal(l.ncodes, 1);
	assert_string_equal(l.codes[0], "int x;");
	for (size_t i = 0; i < l.n; i++)
		if (strcmp(l.v[i].text, "int x;") == 0)
			assert_int_equal(l.v[i].fill, UI_ROLE_CODEBLOCK);
	assert_int_equal(style_of(&l, "**"), -1); /* markers are not shown */
	ui_lines_clear(&l);
}

static void
test_markdown(void **state)
{
	(void)state;
	check_markdown(ui_md_render);
}

static void
test_markdown_light(void **state)
{
	(void)state;
	check_markdown(ui_md_light);
}

/* Fail unless a and b are the same rows with the same code blocks. */
static void
same_rows(const struct ui_lines *a, const struct ui_lines *b, const char *what, const char *doc, size_t at)
{
	size_t n = a->n < b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++) {
		const struct ui_line *x = &a->v[i], *y = &b->v[i];

		if (x->len != y->len || memcmp(x->text, y->text, x->len) != 0 || memcmp(x->style, y->style, x->len) != 0 ||
		    x->width != y->width || x->fill != y->fill)
			fail_msg("%s, row %zu, %zu bytes in:\n  want [%s]\n  got  [%s]\ndoc:\n%s", what, i, at, x->text, y->text, doc);
	}
	if (a->n != b->n)
		fail_msg("%s, %zu bytes in: %zu rows, want %zu (next: [%s])\ndoc:\n%s", what, at, b->n, a->n,
		    a->n > b->n ? a->v[n].text : b->v[n].text, doc);
	if (a->ncodes != b->ncodes)
		fail_msg("%s, %zu bytes in: %zu code blocks, want %zu\ndoc:\n%s", what, at, b->ncodes, a->ncodes, doc);
	for (size_t i = 0; i < a->ncodes; i++)
		if (strcmp(a->codes[i], b->codes[i]) != 0)
			fail_msg("%s, %zu bytes in: code block %zu is [%s], want [%s]", what, at, i, b->codes[i], a->codes[i]);
}

/* body, tail and peek as one list of rows (copies) */
static void
joined(struct ui_lines *out, const struct ui_lines *parts, int n)
{
	for (int p = 0; p < n; p++) {
		for (size_t i = 0; i < parts[p].n; i++)
			ui_lines_add(out, parts[p].v[i].text, parts[p].v[i].style, parts[p].v[i].len, parts[p].v[i].fill);
		for (size_t i = 0; i < parts[p].ncodes; i++)
			ui_lines_add_code(out, parts[p].codes[i], strlen(parts[p].codes[i]));
	}
}

/* Markdown a reply might hold, and the cases where laying it out in pieces
 * could go wrong: emphasis and code spans across lines, fences (unclosed,
 * with blank lines, an info string with a backtick, longer closers,
 * indented inside list items), loose and nested lists with paragraphs
 * after blank lines, quotes, setext headings, tables, reference links
 * defined after their use, indented code, CRLF, a BOM, wide characters. */
static const char *const md_docs[] = {
	"# Title\n\nSome **bold** and *slanted* and `code`.\n\n- one\n- two\n\n> quoted\n\n```c\nint x;\n```\n",
	"A paragraph with *emphasis that\nruns over* two lines and **bold\nacross** and `a code\nspan` too.\n\nNext one.\n",
	"Hello, world! na\xc3\xafve \"quoted\" code\nHello, world! na\xc3\xafve \"quoted\" code\nHello, world! na\xc3\xafve "
	"\"quoted\" code\nHello, world!\n",
	"intro\n\n```\ncode\n\nmore code\n\n```\n\nafter the fence\n\n~~~py\nx = 1\n\n~~~~\n\ntext\n\n```\nnever closed\n\nstill code\n",
	"para\n\n```x`y\nnot a fence\n\nstill a paragraph\n```\nreal fence\n\nin it\n```\n\nend\n",
	"````\n```\ninner\n```\n\nstill in\n````\n\nout\n",
	"- a\n- b\n\n- c, loose now\n\n  a second paragraph of c\n\n- d\n\nnot in the list\n",
	"1. one\n2. two\n\n3. three\n\n1. again\n\n10) ten\n\nplain\n\n- x\n  - nested\n\n    deeper para\n\n      code?\n\nend\n",
	"- item\n\n  ```sh\n  echo hi\n\n  echo there\n  ```\n\n- next item\n\nafter\n\n```\ntop\n```\n\nlast\n",
	"> a quote\n> over lines\n\n> another quote\nlazy line\n\n>\n> > nested\n\nplain\n",
	"Setext\n======\n\nAnother\n---\n\n---\n\n***\n\ntext\n***\n",
	"| a | b |\n|---|---|\n| 1 | 2 |\n| 3 | 4 |\n\nafter the table\n\n| x |\n|---|\n```\nin a fence?\n\nmaybe\n```\n\ndone\n",
	"See [the docs][d] and [this].\n\nMore text.\n\n[d]: https://example.com/docs\n[this]: https://example.com\n",
	"    indented code\n\n    more of it\n\nplain\n\n\tTabbed code\n\n\tmore\n\nend\n",
	"line one\r\nline two\r\n\r\nsecond para\r\n\r\n```\r\ncode\r\n\r\nx\r\n```\r\n\r\nend\r\n",
	"\xef\xbb\xbf"
	"BOM at the start\n\n\xef\xbb\xbf"
	"BOM again\n\nplain\n",
	"\n\n\nleading blank lines\n\n\n\nmany blank lines\n\n",
	"中文字符中文字符中文字符中文字符中文字符 and 😀😀😀 wide text that wraps around the row a few times over\n\n"
	"第二段 paragraph\n",
	"#\n\n# \n\n## Heading *with emphasis*\n\ntext\n\n-\n\n- \n\n1.\n\nend\n",
	"A line with two  spaces  at  many  places  so  a  row  ends  in  them  somewhere  along  the  way  "
	"and  keeps  going  for  a  while  longer  still\n\nand **unclosed bold\n\nnew para\n",
	"***bold italic*** and ~~struck~~ and &amp; &copy; &#x263A; entities, <b>html</b>\n\n- [ ] task\n- [x] done\n",
	"text\n\n[x]:\n/url\n\n[x]\n",
	"> ```\n> code\n```\ntext\n```\ncode\n\nmore\n```\n\nend\n",
	"- ```\n  code\n\nb\n```\ncode2\n\nc\n```\n\nd\n",
	"para\n    ```\ncode\n\nmore\n```\n\nend\n",
	"Title\n---\n```py\ncode\n\nmore\n```\n\nend\n",
	"a | b\n--|--\n```\nrow?\n\nafter\n```\n\nend\n",
	"```\ncode\n```\t\n\nstill code\n```\n\nout\n",
	"No newline at the end, in a fence:\n\n```js\nlet a = 1;",
};

/* The tail of a streaming reply, laid out a piece at a time, is what one
 * update with the whole text gives at every step; when the reply ends the
 * rows are those of ui_md_render on the whole. Pieces: every byte, every
 * line, and seeded random cuts. */
static void
check_stream(const char *doc, int width, const size_t *cuts, size_t ncuts)
{
	size_t len = strlen(doc);
	struct ui_md_stream *s = ui_md_stream_new(width, 2);
	struct ui_lines parts[3] = { 0 }, want = { 0 };

	for (size_t c = 0; c <= ncuts; c++) {
		size_t at = c < ncuts ? cuts[c] : len;
		struct ui_md_stream *once = ui_md_stream_new(width, 2);
		struct ui_lines op[3] = { 0 }, a = { 0 }, b = { 0 };

		ui_md_stream_update(s, doc, at, &parts[0], &parts[1], &parts[2]);
		ui_md_stream_update(once, doc, at, &op[0], &op[1], &op[2]);
		joined(&a, op, 3);
		joined(&b, parts, 3);
		same_rows(&a, &b, "streaming, piece by piece against at once", doc, at);
		ui_lines_clear(&a);
		ui_lines_clear(&b);
		for (int p = 0; p < 3; p++)
			ui_lines_clear(&op[p]);
		ui_md_stream_free(once);
	}
	ui_md_stream_end(s, doc, len, &parts[0], &parts[1], &parts[2]);
	assert_int_equal(parts[1].n + parts[2].n, 0);
	ui_md_render(&want, doc, len, width, 2);
	same_rows(&want, &parts[0], "the end against ui_md_render", doc, len);
	ui_lines_clear(&want);
	for (int p = 0; p < 3; p++)
		ui_lines_clear(&parts[p]);
	ui_md_stream_free(s);
}

static void
test_stream(void **state)
{
	static const int widths[] = { 12, 37, 80 };
	unsigned seed = 42;

	(void)state;
	for (size_t d = 0; d < sizeof md_docs / sizeof md_docs[0]; d++) {
		const char *doc = md_docs[d];
		size_t len = strlen(doc), n = 0;
		size_t *cuts = calloc(len + 1, sizeof *cuts);

		for (size_t w = 0; w < sizeof widths / sizeof widths[0]; w++) {
			/* every byte */
			for (n = 0; n + 1 < len; n++)
				cuts[n] = n + 1;
			check_stream(doc, widths[w], cuts, n);
			/* every line */
			n = 0;
			for (size_t i = 0; i < len; i++)
				if (doc[i] == '\n')
					cuts[n++] = i + 1;
			check_stream(doc, widths[w], cuts, n);
			/* random pieces of 1-40 bytes */
			for (int r = 0; r < 5; r++) {
				n = 0;
				for (size_t at = 0;;) {
					seed = seed * 1103515245 + 12345;
					at += 1 + (seed >> 16) % 40;
					if (at >= len)
						break;
					cuts[n++] = at;
				}
				check_stream(doc, widths[w], cuts, n);
			}
		}
		free(cuts);
	}
}

/* Long paragraphs go to the wrapper a piece at a time: the rows are those
 * of the paragraph wrapped whole, styles and all; and a long reply streams
 * to the same rows as it lays out at once. */
static void
test_stream_long(void **state)
{
	static const char line[] = "Hello, world! na\xc3\xafve \"quoted\" code and 中文字符 😀\n";
	static const char *const extra[] = { "", "some *slanted\ntext* and `a span` here\n", "\n", "- item\n", "\n```\nx\n\ny\n```\n",
		"> q\n", "\n\n" };
	struct buf doc = { 0 }, flat = { 0 };
	struct ui_lines want = { 0 }, got = { 0 };
	struct ui_para p = { 0 };
	size_t *cuts, n = 0;
	unsigned seed = 3;

	(void)state;
	for (int i = 0; i < 200; i++) {
		buf_puts(&doc, line);
		buf_append(&flat, line, strlen(line) - 1);
		buf_puts(&flat, i < 199 ? " " : "");
	}
	/* one paragraph of 14 kB: md4c joins its lines with spaces */
	ui_md_render(&got, doc.data, doc.len, 57, 1);
	p.text = flat.data;
	p.len = flat.len;
	p.pfx_style = UI_ROLE_TEXT;
	ui_text_wrap(&want, &p, 57);
	same_rows(&want, &got, "a long paragraph", "", doc.len);
	ui_lines_clear(&want);
	ui_lines_clear(&got);
	/* styles far into a long paragraph */
	buf_puts(&doc, "and **far in** it\n");
	ui_md_render(&got, doc.data, doc.len, 57, 1);
	assert_true(style_of(&got, "far in") & UI_ST_BOLD);
	assert_false(style_of(&got, "and") & UI_ST_BOLD);
	ui_lines_clear(&got);
	/* a long reply of many kinds of blocks, streamed */
	for (int i = 0; i < 300; i++) {
		seed = seed * 1103515245 + 12345;
		buf_puts(&doc, (seed >> 16) % 3 ? line : extra[(seed >> 16) % (sizeof extra / sizeof extra[0])]);
	}
	cuts = calloc(doc.len, sizeof *cuts);
	for (size_t at = 0;;) {
		seed = seed * 1103515245 + 12345;
		at += 1 + (seed >> 16) % 600;
		if (at >= doc.len)
			break;
		cuts[n++] = at;
	}
	check_stream(doc.data, 37, cuts, n);
	check_stream(doc.data, 120, cuts, n);
	free(cuts);
	buf_free(&doc);
	buf_free(&flat);
}

static void
test_stream_boundaries(void **state)
{
	struct ui_md_stream *s;
	struct ui_lines l[3] = { 0 };
	const char *a = "para one\n\npara two\n\nthree\nunfinished";
	const char *b = "intro\n\n```\ncode\n\nmore code\n";
	const char *c = "- one\n\n- two\n\n  more of two\n\nafter\n";

	(void)state;
	s = ui_md_stream_new(40, 1);
	ui_md_stream_update(s, a, strlen(a), &l[0], &l[1], &l[2]);
	assert_int_equal(ui_md_stream_stable(s), strlen("para one\n\npara two\n\n"));
	assert_true(has_row(&l[0], "para two"));
	assert_true(has_row(&l[1], "three unfinished") || has_row(&l[2], "three unfinished"));
	ui_md_stream_free(s);
	for (int i = 0; i < 3; i++)
		ui_lines_clear(&l[i]);
	/* a blank line inside an open fence is not a boundary */
	s = ui_md_stream_new(40, 1);
	ui_md_stream_update(s, b, strlen(b), &l[0], &l[1], &l[2]);
	assert_int_equal(ui_md_stream_stable(s), strlen("intro\n\n"));
	ui_md_stream_free(s);
	for (int i = 0; i < 3; i++)
		ui_lines_clear(&l[i]);
	/* nor is one a list can go on through */
	s = ui_md_stream_new(40, 1);
	ui_md_stream_update(s, c, strlen(c), &l[0], &l[1], &l[2]);
	assert_int_equal(ui_md_stream_stable(s), strlen("- one\n\n- two\n\n  more of two\n\n"));
	ui_md_stream_free(s);
	for (int i = 0; i < 3; i++)
		ui_lines_clear(&l[i]);
}

static void
test_theme(void **state)
{
	struct ui_theme t = { 0 };
	char *cause = NULL;

	(void)state;
	ui_theme_defaults(&t);
	assert_int_equal(ui_theme_parse(&t, "# comment\nheading = 214 default bold underline\n"
	                                    "code = #ff0000 black  # trailing\n"
	                                    "user = bright-blue\n",
	                     &cause),
	    0);
	assert_int_equal(t.roles[UI_ROLE_HEADING].fg, 214);
	assert_int_equal(t.roles[UI_ROLE_HEADING].bg, UI_COLOR_DEFAULT);
	assert_int_equal(t.roles[UI_ROLE_HEADING].attrs, UI_ATTR_BOLD | UI_ATTR_UNDERLINE);
	assert_int_equal(t.roles[UI_ROLE_CODE].fg, 196);
	assert_int_equal(t.roles[UI_ROLE_CODE].bg, 0);
	assert_int_equal(t.roles[UI_ROLE_USER].fg, 12);
	/* 8-colour fallback */
	assert_int_equal(ui_theme_to8(196), 1);
	assert_int_equal(ui_theme_to8(21), 4);
	assert_int_equal(ui_theme_to8(255), 7);

	assert_int_equal(ui_theme_parse(&t, "text = default\nnosuchrole = red\n", &cause), -1);
	assert_non_null(strstr(cause, "line 2"));
	free(cause);
	cause = NULL;
	assert_int_equal(ui_theme_parse(&t, "text = red blinking\n", &cause), -1);
	assert_non_null(strstr(cause, "blinking"));
	free(cause);
	ui_theme_clear(&t);
}

static void
test_shipped_themes(void **state)
{
	static const char *const names[] = { "default", "light", "gruvbox", "solarized-dark", "mono" };

	(void)state;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *path = xasprintf("%s/../themes/%s.theme", getenv("TESTS_DIR") ? getenv("TESTS_DIR") : "tests", names[i]);
		struct ui_theme t = { 0 };
		char *cause = NULL;

		if (ui_theme_load(&t, path, &cause) != 0)
			fail_msg("%s: %s", names[i], cause);
		for (int r = 0; r < UI_ROLE_COUNT; r++)
			if (!t.roles[r].set)
				fail_msg("%s does not set role %s", names[i], ui_theme_roles[r].name);
		ui_theme_clear(&t);
		free(path);
	}
}

static void
test_input(void **state)
{
	struct ui_input *in = ui_input_new(NULL);
	struct ui_lines l = { 0 };
	int cy, cx;

	(void)state;
	ui_input_insert(in, "héllo 中文", strlen("héllo 中文"));
	ui_input_action(in, UI_ACT_LEFT);
	ui_input_action(in, UI_ACT_BACKSPACE);
	assert_string_equal(ui_input_text(in), "héllo 文");
	ui_input_action(in, UI_ACT_BOL);
	ui_input_action(in, UI_ACT_KILL_WORD_FWD);
	assert_string_equal(ui_input_text(in), " 文");
	ui_input_set(in, "line one\nline two");
	ui_input_layout(in, 40, 10, &l, &cy, &cx);
	assert_int_equal(l.n, 2);
	assert_int_equal(cy, 1);
	assert_int_equal(cx, 2 + 8);
	ui_lines_clear(&l);
	/* Up on the second line moves up, on the first walks history */
	ui_input_remember(in, "earlier");
	ui_input_set(in, "a\nb");
	ui_input_action(in, UI_ACT_HIST_PREV);
	assert_string_equal(ui_input_text(in), "a\nb");
	ui_input_action(in, UI_ACT_HIST_PREV);
	assert_string_equal(ui_input_text(in), "earlier");
	ui_input_action(in, UI_ACT_HIST_NEXT);
	assert_string_equal(ui_input_text(in), "a\nb");
	/* the layout scrolls to the cursor and caps the rows */
	ui_input_set(in, "1\n2\n3\n4\n5\n6");
	ui_input_layout(in, 40, 3, &l, &cy, &cx);
	assert_int_equal(l.n, 3);
	assert_int_equal(cy, 2);
	ui_lines_clear(&l);
	ui_input_free(in);
}

static struct store_msg test_msgs[3];

static const struct store_msg *
get_msg(void *arg, size_t i)
{
	(void)arg;
	return &test_msgs[i];
}

static void
test_transcript(void **state)
{
	struct ui_chat *t = ui_chat_new();
	const struct ui_line *rows[5];
	char big[4096];

	(void)state;
	memset(test_msgs, 0, sizeof test_msgs);
	test_msgs[0].role = (char *)"user";
	test_msgs[0].content = (char *)"hello";
	test_msgs[1].role = (char *)"assistant";
	test_msgs[1].model = (char *)"m";
	for (size_t i = 0; i < sizeof big - 1; i++)
		big[i] = i % 50 == 49 ? '\n' : 'x';
	big[sizeof big - 1] = '\0';
	test_msgs[1].content = big;
	test_msgs[1].state = STORE_STREAMING;
	ui_chat_sync(t, get_msg, NULL, 2, 40);
	assert_true(ui_chat_following(t));
	ui_chat_view(t, 5, rows);
	assert_non_null(rows[4]);
	/* scrolling up leaves follow mode; End returns to it */
	ui_chat_scroll(t, -10, 5);
	assert_false(ui_chat_following(t));
	assert_true(ui_chat_below(t, 5) > 0);
	/* a resize keeps the reading position inside the same message */
	ui_chat_sync(t, get_msg, NULL, 2, 20);
	assert_false(ui_chat_following(t));
	ui_chat_scroll(t, 100000, 5);
	assert_true(ui_chat_following(t));
	ui_chat_top(t);
	ui_chat_view(t, 5, rows);
	assert_non_null(rows[0]);
	assert_string_equal(rows[0]->text, "▌ You");
	ui_chat_free(t);
}

/* All the rows of a transcript, as one list (copies). */
static void
all_rows(struct ui_chat *t, struct ui_lines *out)
{
	size_t n = ui_chat_rows(t);
	const struct ui_line **rows = calloc(n + 1, sizeof *rows);

	ui_chat_follow(t);
	ui_chat_view(t, (int)n, rows);
	for (size_t i = 0; i < n; i++)
		ui_lines_add(out, rows[i]->text, rows[i]->style, rows[i]->len, rows[i]->fill);
	for (int i = 1; i <= ui_chat_ncodes(t); i++)
		ui_lines_add_code(out, ui_chat_code(t, i), strlen(ui_chat_code(t, i)));
	free(rows);
}

/* A reply with thinking streams into the transcript a piece at a time
 * (getting its id from the store on the way): at every step its rows are
 * those of a transcript that sees the same text at once, and when it ends
 * those of the finished message. Folded thinking too. */
static void
check_transcript_stream(bool show_thinking, int width)
{
	static const char thinking[] = "The user wants a greeting.\nI should answer in **Markdown**, with a "
	                               "list and some code; and wide 中文 text. 😀";
	const char *content = md_docs[8];
	size_t clen = strlen(content), tlen = strlen(thinking);
	char *c = calloc(clen + 1, 1), *th = calloc(tlen + 1, 1);
	struct ui_chat *t = ui_chat_new();
	unsigned seed = 7;

	memset(test_msgs, 0, sizeof test_msgs);
	test_msgs[0].role = (char *)"user";
	test_msgs[0].content = (char *)"hello";
	test_msgs[1].role = (char *)"assistant";
	test_msgs[1].model = (char *)"m";
	test_msgs[1].content = c;
	test_msgs[1].thinking = th;
	test_msgs[1].state = STORE_STREAMING;
	ui_chat_set_thinking(t, show_thinking);
	for (size_t tn = 0, cn = 0; tn < tlen || cn < clen;) {
		struct ui_chat *once = ui_chat_new();
		struct ui_lines a = { 0 }, b = { 0 };

		seed = seed * 1103515245 + 12345;
		if (tn < tlen)
			tn += 1 + (seed >> 16) % 9 < tlen - tn ? 1 + (seed >> 16) % 9 : tlen - tn;
		else
			cn += 1 + (seed >> 16) % 23 < clen - cn ? 1 + (seed >> 16) % 23 : clen - cn;
		memcpy(th, thinking, tn);
		memcpy(c, content, cn);
		if (cn > 30)
			test_msgs[1].id = 9;
		ui_chat_sync(t, get_msg, NULL, 2, width);
		ui_chat_set_thinking(once, show_thinking);
		ui_chat_sync(once, get_msg, NULL, 2, width);
		all_rows(once, &a);
		all_rows(t, &b);
		same_rows(&a, &b, "transcript, piece by piece against at once", content, cn);
		ui_lines_clear(&a);
		ui_lines_clear(&b);
		ui_chat_free(once);
	}
	test_msgs[1].state = STORE_COMPLETE;
	ui_chat_sync(t, get_msg, NULL, 2, width);
	{
		struct ui_chat *once = ui_chat_new();
		struct ui_lines a = { 0 }, b = { 0 };

		ui_chat_set_thinking(once, show_thinking);
		ui_chat_sync(once, get_msg, NULL, 2, width);
		all_rows(once, &a);
		all_rows(t, &b);
		same_rows(&a, &b, "the finished transcript", content, clen);
		ui_lines_clear(&a);
		ui_lines_clear(&b);
		ui_chat_free(once);
	}
	ui_chat_free(t);
	free(c);
	free(th);
}

static void
test_transcript_stream(void **state)
{
	(void)state;
	check_transcript_stream(true, 30);
	check_transcript_stream(false, 30);
	check_transcript_stream(true, 80);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_widths),
		cmocka_unit_test(test_wrap_words),
		cmocka_unit_test(test_wrap_pieces),
		cmocka_unit_test(test_wrap_wide),
		cmocka_unit_test(test_wrap_sanitises),
		cmocka_unit_test(test_markdown),
		cmocka_unit_test(test_markdown_light),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_stream_long),
		cmocka_unit_test(test_stream_boundaries),
		cmocka_unit_test(test_theme),
		cmocka_unit_test(test_shipped_themes),
		cmocka_unit_test(test_input),
		cmocka_unit_test(test_transcript),
		cmocka_unit_test(test_transcript_stream),
	};

	if (setlocale(LC_ALL, "C.UTF-8") == NULL)
		setlocale(LC_ALL, "en_US.UTF-8");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
