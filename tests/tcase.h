/*
 * tcase.h: what the data-driven unit tests have in common. A case is a
 * folder tests/data/<area>/<case>/ holding `input`, `expected` and
 * optionally `cap` (a number). tcase_run feeds the input to a test's run
 * function whole, one byte per feed and split in two at every position, and
 * checks that each gives the expected dump; tcase_feed hands the pieces to a
 * parser, each in its own exact-size allocation so the sanitizer sees any
 * read past a piece. tcase_add_cases makes one cmocka test per case folder.
 * Also here: the dump of a JSON-escaped string and of LLM events, and JSON
 * comparison for the encoders.
 */
#ifndef PARLEY_TCASE_H
#define PARLEY_TCASE_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include "buf.h"
#include "llm.h"

/* Run in[0..len) cut at cuts[0..ncuts) (ascending) and return the dump, which
 * the caller frees. cap is the case's `cap` file, 0 when it has none. */
typedef char *(*tcase_run_fn)(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t cap, void *ctx);

/* Give one piece to a parser; non-zero stops the feeding. */
typedef int (*tcase_feed_fn)(const char *piece, size_t len, void *ctx);

/* Check case dir/name with run, fed whole, byte by byte and split at every
 * position; a wrong dump fails the test and prints both. */
void tcase_run(const char *dir, const char *name, tcase_run_fn run, void *ctx);

/* Feed in[0..len) cut at cuts[] until feed returns non-zero; return that
 * value, or 0. */
int tcase_feed(const char *in, size_t len, const size_t *cuts, size_t ncuts, tcase_feed_fn feed, void *ctx);

/* s[0..len) as a JSON string, or \xNN escapes when it is not UTF-8. */
void tcase_dump_str(struct buf *out, const char *s, size_t len);

/* Whether id looks like one parley made up: call_ + 8 of [a-z0-9]. */
bool tcase_generated_id_ok(const char *id);

/* The event dump: where tcase_on_ev writes and how it prints call ids. */
struct tcase_evdump {
	struct buf out;
	const char *input; /* whole input, to tell sent ids from generated ones */
	bool raw_ids; /* print generated ids as they are */
};

/* An llm_ev_cb taking a struct tcase_evdump: one line per event,
 *   token "<json>" | thinking "<json>" | tool_call <index> <id> <name> <args>
 *   done prompt=N reply=N [total=..] [load=..] [prompt_ns=..] [eval_ns=..] finish=F
 *   error <kind> "<json>"
 * with an id absent from the input shown as <generated> once checked. */
void tcase_on_ev(const struct llm_ev *ev, void *dump);

/* Fail unless got equals the JSON text want_text. */
void tcase_assert_json(json_t *got, const char *want_text);

/* Parse s (any JSON value) or fail. */
json_t *tcase_jparse(const char *s);

/* The tests of one file: fixed ones first, then one per case folder. */
struct tcase_tests {
	struct CMUnitTest *t;
	size_t n;
	char **names; /* case names, owned */
	size_t nnames;
};

void tcase_tests_init(struct tcase_tests *ts, const struct CMUnitTest *fixed, size_t nfixed);

/* Append one test per case folder under dir, by name, running fn with the
 * case name as its state. Exits if dir cannot be read. */
void tcase_add_cases(struct tcase_tests *ts, const char *dir, CMUnitTestFunction fn);

/* Run the tests as group, free them and return cmocka's result. */
int tcase_run_tests(const char *group, struct tcase_tests *ts);

#endif
