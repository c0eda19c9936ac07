/* pipe.h: pipe mode: a prompt in, the answer on stdout. */
#ifndef PARLEY_PIPE_H
#define PARLEY_PIPE_H

#include "app.h"

/* Run one exchange; returns the exit status (design.md 1). */
int pipe_main(struct app *a);

/* Pick a model when none was named: a loaded one, else the first listed.
 * Runs the loop until the backend answers. NULL with *err and *msg. */
char *pipe_default_model(struct app *a, enum llm_err *err, char **msg);

/* Statistics as one human line ("22 tokens · 31.4 tok/s · ..."), allocated. */
char *pipe_stats_line(const struct llm_stats *s, int64_t ttft_ms, int64_t elapsed_ms);

#endif
