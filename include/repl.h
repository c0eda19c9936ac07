/* repl.h: the line-mode face on libedit. */
#ifndef PARLEY_REPL_H
#define PARLEY_REPL_H

#include "app.h"

/* Run the REPL until the user quits; returns the exit status. */
int repl_main(struct app *a);

#endif
