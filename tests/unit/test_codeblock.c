/* test_codeblock.c: the code blocks of a reply as every face counts them
 * (backtick and tilde fences, a fence inside a longer one, indented code,
 * lists, an unclosed fence, none), and the chat screen's renderer
 * recording the same blocks, so "[N]" on the screen is /copy N everywhere. */
#include <stdio.h>
#include <string.h>

#include "codeblock.h"
#include "tcase.h"
#include "ui_md.h"
#include "ui_text.h"

struct want {
	const char *lang, *text;
};

static void
expect_blocks(const char *md, const struct want *w, size_t n)
{
	struct codeblocks cb;

	assert_int_equal(codeblock_list(md, strlen(md), &cb), 0);
	assert_int_equal(cb.n, n);
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(cb.v[i].lang, w[i].lang);
		assert_string_equal(cb.v[i].text, w[i].text);
		assert_int_equal(cb.v[i].len, strlen(w[i].text));
	}
	codeblocks_free(&cb);
}

static void
test_fences(void **state)
{
	(void)state;
	{
		static const struct want w[] = { { "sh", "echo hi\nls -l" }, { "", "plain" } };

		expect_blocks("Run this:\n\n```sh\necho hi\nls -l\n```\n\nthen\n\n```\nplain\n```\n", w, 2);
	}
	{
		/* tildes, and an info string of several words */
		static const struct want w[] = { { "python", "print(1)" } };

		expect_blocks("~~~python title=x.py\nprint(1)\n~~~\n", w, 1);
	}
	{
		/* a longer fence holds a shorter one: one block, not two */
		static const struct want w[] = { { "markdown", "```c\nint x;\n```" } };

		expect_blocks("````markdown\n```c\nint x;\n```\n````\n", w, 1);
	}
	{
		/* indented code, and code inside a list item */
		static const struct want w[] = { { "", "make check" }, { "js", "f();" } };

		expect_blocks("Para.\n\n    make check\n\n- step one:\n\n  ```js\n  f();\n  ```\n", w, 2);
	}
	{
		/* a reply cut off mid-block: the block runs to the end */
		static const struct want w[] = { { "go", "func main() {\n" } };

		expect_blocks("```go\nfunc main() {\n\n", w, 1);
	}
	expect_blocks("no code here, only `inline` code\n", NULL, 0);
	expect_blocks("", NULL, 0);
}

static void
test_same_as_the_screen(void **state)
{
	static const char *const samples[] = {
		"```sh\necho hi\n```\n",
		"text\n\n~~~\na\n\nb\n~~~\n\n    indented\n    two\n",
		"````md\n```c\nx\n```\n````\n\n1. a\n\n   ```\n   in a list\n   ```\n",
		"> quoted\n>\n> ```rb\n> puts 1\n> ```\n",
		"```\nopen to the end\n",
		"| a | b |\n|---|---|\n| 1 | 2 |\n\n```json\n{}\n```\n",
	};

	(void)state;
	for (size_t k = 0; k < sizeof samples / sizeof samples[0]; k++) {
		struct ui_lines l = { 0 };
		struct codeblocks cb;

		ui_md_render(&l, samples[k], strlen(samples[k]), 60, 1);
		assert_int_equal(codeblock_list(samples[k], strlen(samples[k]), &cb), 0);
		assert_int_equal(l.ncodes, cb.n);
		for (size_t i = 0; i < cb.n; i++)
			assert_string_equal(l.codes[i], cb.v[i].text);
		codeblocks_free(&cb);
		ui_lines_clear(&l);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fences),
		cmocka_unit_test(test_same_as_the_screen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
