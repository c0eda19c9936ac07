/* prov_multi.h: several backends behind one provider. The router is a
 * struct prov like any other (kind "multi"): its model list is every
 * backend's, a chat goes to a backend that has the model, and one that is
 * down or fails before the first token is passed over for the next. */
#ifndef PARLEY_PROV_MULTI_H
#define PARLEY_PROV_MULTI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prov.h"

enum prov_backend_state {
	PROV_BACKEND_UNKNOWN, /* not asked yet */
	PROV_BACKEND_UP,
	PROV_BACKEND_DOWN, /* checked again in the background, backing off */
};

/* What the faces show of one backend. Strings are valid until the next
 * turn of the loop. */
struct prov_backend_info {
	const char *name;
	const char *kind; /* ollama, lm-studio, openai */
	const char *url;
	int priority;
	bool discovered; /* found answering locally, not configured */
	enum prov_backend_state state;
	const char *error; /* DOWN: why */
	int64_t retry_ms; /* DOWN: the next check is this far off */
	int inflight; /* chats running on it */
	long models; /* in its last list; -1 not listed yet */
};

struct prov *prov_multi_new(struct net *net, struct loop *loop);
/* Add a backend (child is taken); names are unique. */
void prov_multi_add(struct prov *p, const char *name, struct prov *child, int priority, bool discovered);
bool prov_is_multi(const struct prov *p);
size_t prov_multi_count(const struct prov *p);
void prov_multi_info(const struct prov *p, size_t i, struct prov_backend_info *out);
/* The backend named, or NULL. */
struct prov *prov_multi_child(const struct prov *p, const char *name);
const char *prov_backend_state_name(enum prov_backend_state s);
/* cb(arg) runs whenever a backend goes up or down (NULL: no longer). One
 * watcher: the face showing the backends' states. */
void prov_multi_watch(struct prov *p, void (*cb)(void *arg), void *arg);
/* Whether models can be pulled: Ollama, or a router with an Ollama
 * backend. */
bool prov_can_pull(const struct prov *p);
/* "name@backend": the backend's index and the bare name (allocated), when
 * the part after the last '@' names a backend; else -1. */
long prov_multi_split(const struct prov *p, const char *model, char **bare);

#endif
