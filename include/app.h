/* app.h: the process-wide context every face starts from: configuration,
 * the loop, the network, the chosen provider and the session store. */
#ifndef PARLEY_APP_H
#define PARLEY_APP_H

#include <stdbool.h>

#include "config.h"
#include "llm.h"
#include "loop.h"
#include "net.h"
#include "prov.h"
#include "store.h"

struct app {
	struct config *cfg;
	struct loop *loop;
	struct net *net;
	struct prov *prov; /* set by app_connect */
	struct store *store; /* set by app_open_store; NULL if unavailable */
	char *store_error; /* why the store is unavailable */
	bool interrupted; /* SIGINT seen (pipe mode and commands) */
};

/* Loop and network from cfg. */
void app_init(struct app *a, struct config *cfg);
void app_free(struct app *a);

/* Choose the provider: the one named (flag, env, file), or auto-discovery
 * (Ollama at 127.0.0.1:11434, then LM Studio :1234 and llama-server :8080
 * probed in parallel). With probe false a named provider is used without
 * checking it answers. Returns LLM_OK or the error kind with *msg. A note
 * about what discovery chose goes to *note (may be NULL). */
enum llm_err app_connect(struct app *a, bool probe, char **msg, char **note);

/* The same without waiting: CB gets the outcome once a->prov is chosen
 * (msg and note may be NULL; they are freed after CB returns). A running
 * attempt can be cancelled; CB is then never called. */
struct app_connecting;
typedef void (*app_connect_cb)(enum llm_err err, const char *msg, const char *note, void *arg);
struct app_connecting *app_connect_start(struct app *a, app_connect_cb cb, void *arg);
void app_connect_cancel(struct app_connecting *c);

/* Open the session store (cfg->db_path or the default). On failure
 * a->store stays NULL and a->store_error says why; returns -1. */
int app_open_store(struct app *a);

/* Run the loop until *done. */
void app_run_until(struct app *a, const bool *done);

#endif
