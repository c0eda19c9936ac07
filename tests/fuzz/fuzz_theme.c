/*
 * fuzz_theme.c: theme files. The input is parsed as a theme over the
 * built-in defaults, as a user's theme file is; whatever it says, every
 * role must come out with colours a terminal can take (the default or
 * 0..255, folding to one of the 8 basic colours) and known attributes,
 * and a refusal must say why.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ui_theme.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ATTRS (UI_ATTR_BOLD | UI_ATTR_DIM | UI_ATTR_ITALIC | UI_ATTR_UNDERLINE | UI_ATTR_REVERSE)

static void
fuzz_check_color(short c)
{
	short c8;

	if (c < UI_COLOR_DEFAULT || c > 255)
		abort();
	c8 = ui_theme_to8(c);
	if (c8 < UI_COLOR_DEFAULT || c8 > 7 || (c == UI_COLOR_DEFAULT) != (c8 == UI_COLOR_DEFAULT))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ui_theme t = { 0 };
	char *text, *cause = NULL;

	if (size > 65536)
		return 0;
	text = malloc(size + 1);
	if (text == NULL)
		abort();
	memcpy(text, data, size);
	text[size] = '\0';
	ui_theme_defaults(&t);
	if (ui_theme_parse(&t, text, &cause) != 0 && cause == NULL)
		abort(); /* a refusal says why */
	for (int i = 0; i < UI_ROLE_COUNT; i++) {
		fuzz_check_color(t.roles[i].fg);
		fuzz_check_color(t.roles[i].bg);
		if ((t.roles[i].attrs & ~FUZZ_ATTRS) != 0)
			abort();
	}
	free(cause);
	ui_theme_clear(&t);
	free(text);
	return 0;
}
