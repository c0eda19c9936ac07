/* attach.h: files attached to a message, read one way by every face: -i
 * and -f on the command line, /attach in the TUI and the REPL. An image
 * (PNG, JPEG, GIF, WebP, told by its first bytes) goes to vision models as
 * base64; any other file must be UTF-8 text and goes into the message,
 * between "--- NAME ---" and "--- end of NAME ---" lines. */
#ifndef PARLEY_ATTACH_H
#define PARLEY_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "config.h"
#include "llm.h"

#define ATTACH_CAP (16u << 20) /* bytes of one file */

/* The image type of data by its magic bytes, or NULL. */
const char *attach_mime(const void *data, size_t len);
/* Read an image into *img (allocated strings). */
int attach_image(const char *path, struct llm_image *img, char **cause);
/* Append a text file to b, framed. */
int attach_text(struct buf *b, const char *path, char **cause);
/* An image if the file is one (*is_image, into *img), else a text file
 * (appended to b, framed with path as given). A leading "~/" is the home
 * folder, as at a shell: the faces' /attach reads what was typed. */
int attach_file(const char *path, struct llm_image *img, struct buf *b, bool *is_image, char **cause);
/* The -i images and -f files of a configuration: images into *images,
 * files appended to *text. Nothing is kept when one fails. */
int attach_config(const struct config *cfg, char **text, struct llm_image **images, size_t *nimages,
    char **cause);
void attach_images_free(struct llm_image *v, size_t n);

#endif
