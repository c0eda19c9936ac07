/* httpd.h: the embedded OpenAI-compatible listener, on the app's loop. */
#ifndef PARLEY_HTTPD_H
#define PARLEY_HTTPD_H

#include "app.h"

struct httpd;

/* Listen on [ADDR:]PORT (default 127.0.0.1:8002). A non-loopback address
 * needs a key (cfg->serve_key). NULL with *cause. */
struct httpd *httpd_new(struct app *a, const char *listen, char **cause);
void httpd_free(struct httpd *h);
/* The address actually bound ("127.0.0.1:8002"), for messages. */
const char *httpd_address(const struct httpd *h);

#endif
