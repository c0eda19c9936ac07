/*
 * test_attach.c: attachments as every face reads them: images told by
 * their first bytes whatever their names, text framed, binary refused,
 * and a failing -i/-f list keeping nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "attach.h"
#include "tcase.h"
#include "util.h"

static char dir[] = "/tmp/parley-attach.XXXXXX";

static char *
put(const char *name, const void *data, size_t len)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

static void
test_mime(void **state)
{
	(void)state;
	assert_string_equal(attach_mime("\x89PNG\r\n\x1a\nxxxx", 12), "image/png");
	assert_string_equal(attach_mime("\xff\xd8\xff\xe0", 4), "image/jpeg");
	assert_string_equal(attach_mime("GIF89a..", 8), "image/gif");
	assert_string_equal(attach_mime("RIFF\0\0\0\0WEBPVP8 ", 16), "image/webp");
	assert_null(attach_mime("RIFF\0\0\0\0WAVE", 12));
	assert_null(attach_mime("\x89PN", 3));
	assert_null(attach_mime("", 0));
}

static void
test_file(void **state)
{
	char *png = put("photo.txt", "\x89PNG\r\n\x1a\n\0\0", 10); /* the name lies */
	char *txt = put("notes.md", "line one\nline two", 17);
	char *bin = put("blob.bin", "ab\0cd", 5);
	char *cause = NULL;
	struct llm_image img = { 0 };
	struct buf b = { 0 };
	bool is_image;

	(void)state;
	assert_int_equal(attach_file(png, &img, &b, &is_image, &cause), 0);
	assert_true(is_image);
	assert_string_equal(img.mime, "image/png");
	assert_string_equal(img.b64, "iVBORw0KGgoAAA==");
	assert_int_equal(b.len, 0);
	free(img.mime);
	free(img.b64);

	assert_int_equal(attach_file(txt, &img, &b, &is_image, &cause), 0);
	assert_false(is_image);
	{
		char *want = xasprintf("--- %s ---\nline one\nline two\n--- end of %s ---\n", txt, txt);

		assert_string_equal(b.data, want);
		free(want);
	}
	/* a second file is set apart from the first */
	assert_int_equal(attach_text(&b, txt, &cause), 0);
	assert_non_null(strstr(b.data, " ---\n\n\n--- "));
	buf_free(&b);

	assert_int_equal(attach_file(bin, &img, &b, &is_image, &cause), -1);
	assert_non_null(strstr(cause, "is neither text nor a PNG, JPEG, GIF or WebP image"));
	free(cause);
	cause = NULL;
	assert_int_equal(attach_text(&b, bin, &cause), -1);
	assert_non_null(strstr(cause, "is not a text file (use -i for images)"));
	free(cause);
	cause = NULL;
	assert_int_equal(attach_image(txt, &img, &cause), -1);
	assert_non_null(strstr(cause, "is not a PNG, JPEG, GIF or WebP image"));
	free(cause);
	cause = NULL;
	buf_free(&b);

	/* typed at a prompt: ~/ is the home folder, the frame keeps what was typed */
	{
		char *old = getenv("HOME") ? xstrdup(getenv("HOME")) : NULL;

		setenv("HOME", dir, 1);
		assert_int_equal(attach_file("~/notes.md", &img, &b, &is_image, &cause), 0);
		assert_false(is_image);
		assert_string_equal(b.data, "--- ~/notes.md ---\nline one\nline two\n--- end of ~/notes.md ---\n");
		buf_free(&b);
		assert_int_equal(attach_file("~/photo.txt", &img, &b, &is_image, &cause), 0);
		assert_true(is_image);
		free(img.mime);
		free(img.b64);
		if (old != NULL)
			setenv("HOME", old, 1);
		free(old);
	}
	free(png);
	free(txt);
	free(bin);
}

static void
test_config(void **state)
{
	char *png = put("a.png", "\x89PNG\r\n\x1a\n", 8);
	char *txt = put("a.txt", "hello\n", 6);
	char *missing = xasprintf("%s/none.png", dir);
	char *imgs[2] = { png, missing }, *files[1] = { txt };
	char *text = xstrdup("question"), *cause = NULL;
	struct config cfg;
	struct llm_image *v = NULL;
	size_t n = 0;

	(void)state;
	memset(&cfg, 0, sizeof cfg);
	cfg.images = imgs;
	cfg.nimages = 1;
	cfg.files = files;
	cfg.nfiles = 1;
	assert_int_equal(attach_config(&cfg, &text, &v, &n, &cause), 0);
	assert_int_equal(n, 1);
	assert_true(util_prefix(text, "question\n\n--- "));
	attach_images_free(v, n);
	/* the second image is missing: nothing is kept, the text stays */
	cfg.nimages = 2;
	assert_int_equal(attach_config(&cfg, &text, &v, &n, &cause), -1);
	assert_null(v);
	assert_int_equal(n, 0);
	assert_non_null(strstr(cause, "none.png"));
	assert_true(util_prefix(text, "question\n\n--- "));
	free(cause);
	free(text);
	free(png);
	free(txt);
	free(missing);
}

static int
rmdir_all(void **state)
{
	char *cmd = xasprintf("rm -rf '%s'", dir);
	int rc = system(cmd);

	(void)state;
	free(cmd);
	return rc == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mime),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_config),
	};

	if (mkdtemp(dir) == NULL)
		return 1;
	return cmocka_run_group_tests(tests, NULL, rmdir_all);
}
