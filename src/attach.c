/*
 * attach.c: reading attachments. A file is read whole (up to ATTACH_CAP)
 * before anything is sent, so a message never goes out with half a file;
 * an image is told by its content, not its name, and text must be valid
 * UTF-8 without NUL bytes, so a binary file is refused with a clear word
 * instead of reaching the model as garbage.
 */
#include "attach.h"

#include <stdlib.h>
#include <string.h>

#include "b64.h"
#include "util.h"

const char *
attach_mime(const void *data, size_t len)
{
	const unsigned char *u = data;

	if (len >= 8 && memcmp(u, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (len >= 3 && u[0] == 0xff && u[1] == 0xd8 && u[2] == 0xff)
		return "image/jpeg";
	if (len >= 6 && (memcmp(u, "GIF87a", 6) == 0 || memcmp(u, "GIF89a", 6) == 0))
		return "image/gif";
	if (len >= 12 && memcmp(u, "RIFF", 4) == 0 && memcmp(u + 8, "WEBP", 4) == 0)
		return "image/webp";
	return NULL;
}

/* An image's bytes into *img; not one: 1, *img untouched. */
static int
attach_take_image(const char *data, size_t len, struct llm_image *img)
{
	const char *mime = attach_mime(data, len);

	if (mime == NULL)
		return 1;
	img->mime = xstrdup(mime);
	img->b64 = b64_encode(data, len);
	return 0;
}

/* A text file's bytes appended to b, framed; not text: 1, b untouched. */
static int
attach_take_text(struct buf *b, const char *path, const char *data, size_t len)
{
	if (!util_utf8_valid(data, len) || memchr(data, '\0', len) != NULL)
		return 1;
	buf_printf(b, "%s--- %s ---\n%s%s--- end of %s ---\n", b->len ? "\n\n" : "", path, data,
	    len && data[len - 1] != '\n' ? "\n" : "", path);
	return 0;
}

int
attach_image(const char *path, struct llm_image *img, char **cause)
{
	size_t len;
	char *data = util_read_file(path, &len, ATTACH_CAP, cause);
	int rc;

	if (data == NULL)
		return -1;
	rc = attach_take_image(data, len, img);
	free(data);
	if (rc != 0)
		return util_fail(cause, "%s is not a PNG, JPEG, GIF or WebP image", path);
	return 0;
}

int
attach_text(struct buf *b, const char *path, char **cause)
{
	size_t len;
	char *data = util_read_file(path, &len, ATTACH_CAP, cause);
	int rc;

	if (data == NULL)
		return -1;
	rc = attach_take_text(b, path, data, len);
	free(data);
	if (rc != 0)
		return util_fail(cause, "%s is not a text file (use -i for images)", path);
	return 0;
}

int
attach_file(const char *path, struct llm_image *img, struct buf *b, bool *is_image, char **cause)
{
	const char *home = getenv("HOME");
	/* typed at a prompt, not expanded by a shell: "~/x" is $HOME/x */
	char *file = path[0] == '~' && (path[1] == '/' || path[1] == '\0') && home != NULL
	    ? xasprintf("%s%s", home, path + 1)
	    : xstrdup(path);
	size_t len;
	char *data = util_read_file(file, &len, ATTACH_CAP, cause);
	int rc;

	free(file);

	*is_image = false;
	if (data == NULL)
		return -1;
	if (attach_take_image(data, len, img) == 0) {
		*is_image = true;
		rc = 0;
	} else
		rc = attach_take_text(b, path, data, len);
	free(data);
	if (rc != 0)
		return util_fail(cause, "%s is neither text nor a PNG, JPEG, GIF or WebP image", path);
	return 0;
}

int
attach_config(const struct config *cfg, char **text, struct llm_image **images, size_t *nimages, char **cause)
{
	struct buf b = { 0 };

	*images = NULL;
	*nimages = 0;
	for (int i = 0; i < cfg->nimages; i++) {
		*images = xreallocarray(*images, *nimages + 1, sizeof **images);
		if (attach_image(cfg->images[i], &(*images)[*nimages], cause) != 0)
			goto fail;
		(*nimages)++;
	}
	buf_puts(&b, *text);
	for (int i = 0; i < cfg->nfiles; i++)
		if (attach_text(&b, cfg->files[i], cause) != 0)
			goto fail;
	free(*text);
	*text = buf_steal(&b);
	return 0;

fail:
	buf_free(&b);
	attach_images_free(*images, *nimages);
	*images = NULL;
	*nimages = 0;
	return -1;
}

void
attach_images_free(struct llm_image *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].mime);
		free(v[i].b64);
	}
	free(v);
}
