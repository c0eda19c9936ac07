/* ui.h: the full-screen ncurses face. */
#ifndef PARLEY_UI_H
#define PARLEY_UI_H

#include "app.h"

/* Run the TUI until the user quits; returns the exit status. */
int ui_main(struct app *a);

#endif
