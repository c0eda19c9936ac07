/* slash.h: the slash commands, one table shared by the TUI and the REPL
 * (design.md 2). Commands that only change the conversation run here; the
 * ones that show something ask the face through struct slash_face. */
#ifndef PARLEY_SLASH_H
#define PARLEY_SLASH_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "chat.h"

/* What an argument is, for completion. */
enum slash_arg {
	SLASH_ARG_NONE,
	SLASH_ARG_TEXT,
	SLASH_ARG_MODEL,
	SLASH_ARG_FILE,
	SLASH_ARG_SESSION,
	SLASH_ARG_THEME,
	SLASH_ARG_SETTING,
};

struct slash_cmd {
	const char *name; /* "/model" */
	const char *args; /* "[NAME]" for help */
	const char *help; /* one line */
	enum slash_arg complete;
};

extern const struct slash_cmd slash_table[];
extern const size_t slash_count;

/* A y/n answer to a face's ask. */
typedef void (*slash_answer_fn)(void *ctx, bool yes);

/* What a face does for the commands that show or ask something. Each
 * returns 0, or -1 after reporting its own error. Any may be NULL: the
 * command then says it is not available here. */
struct slash_face {
	void (*print)(void *arg, const char *text); /* output, may be several lines */
	void (*error)(void *arg, const char *msg); /* one line */
	int (*models)(void *arg); /* /models */
	int (*pull)(void *arg, const char *model); /* /pull NAME */
	int (*sessions)(void *arg, const char *filter); /* /sessions [FILTER] */
	int (*help)(void *arg); /* /help */
	int (*theme)(void *arg, const char *name); /* /theme [NAME] */
	int (*copy)(void *arg, int block); /* /copy [N]: 0 = the last reply */
	int (*attach)(void *arg, const char *path); /* /attach FILE */
	int (*quit)(void *arg); /* /quit */
	int (*send)(void *arg); /* a turn was started (/retry): follow it */
	/* Ask a y/n question (/rm) and call answer(ctx, yes) once, now or
	 * later; a face that goes away with the question out answers no. */
	void (*ask)(void *arg, const char *question, slash_answer_fn answer, void *ctx);
	/* A command that slash_run left pending (SLASH_PENDING) has ended
	 * with rc (0 or -1, its output already given). It may come before
	 * slash_run returns. */
	void (*done)(void *arg, int rc);
	int (*tools)(void *arg, const char *args); /* /tools [on|off WHAT] */
	/* /edit N without new text: offer message i's text (a question) in
	 * the input line; sending it then asks it instead (chat_edit). */
	int (*edit)(void *arg, size_t i, const char *text);
	/* The transcript on show changed under the face (/branch N): show it
	 * again. NULL: nothing to do (a face that draws from the chat). */
	int (*shown)(void *arg);
};

/* Run one line that starts with '/'. Returns 0, -1 on error (already
 * reported through face->error), 1 if the line is not a command (unknown
 * command names are an error, not 1), or SLASH_PENDING: the command waits
 * (for the backend, for an answer) and goes on from a callback, never
 * running the loop itself; face->done tells when it has ended. */
#define SLASH_PENDING 2
int slash_run(struct app *a, struct chat *c, const struct slash_face *face, void *arg, const char *line);
/* Whether a command of the face arg is still pending. */
bool slash_busy(const void *arg);
/* Stop the face arg's pending commands: a request to the backend is
 * cancelled (done follows, saying "interrupted"); a question out is
 * answered no when the face answers it. */
void slash_cancel(void *arg);
/* The face arg is going: its pending commands are stopped and say nothing
 * more to it (they end when their callbacks come; a question still out
 * must still be answered, and is taken as no). */
void slash_forget(void *arg);

/* The command list for /help: one line per command, allocated. */
char *slash_help_text(void);

/* The commands whose names start with prefix (with the '/'); returns how
 * many, filling out[] up to max. */
size_t slash_complete(const char *prefix, const struct slash_cmd **out, size_t max);

/* Settings /set understands, with help, for completion and /help. The
 * display settings (verbose, quiet, think, nothink) change a->cfg->verbose
 * and a->cfg->hide_thinking, which every face reads when it draws a reply;
 * the rest are model options of the chat (config_set_option names). */
struct slash_setting {
	const char *name;
	const char *help;
};
extern const struct slash_setting slash_settings[];
extern const size_t slash_nsettings;

/* The input history shared by the TUI and the REPL:
 * $XDG_DATA_HOME/parley/history, in libedit's history(3) format (a
 * "_HiStOrY_V2_" line, then one entry a line with white space, '\' and
 * control bytes as octal escapes), appended one entry at a time so that
 * two faces running at once both keep theirs. */
char *slash_history_path(void); /* allocated */
/* Entries oldest first (*lines allocated, each entry allocated); a missing
 * file is no entries. A file without the header is read as plain lines. */
int slash_history_read(const char *path, char ***lines, size_t *n, char **cause);
int slash_history_append(const char *path, const char *line, char **cause);
void slash_history_free(char **lines, size_t n);

#endif
