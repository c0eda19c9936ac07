/*
 * fakellm.c: a scriptable test double of the servers parley talks to
 * (Ollama, a generic OpenAI-compatible server, LM Studio, llama-server),
 * following /work/shared/protocols.md. This file holds main, the options,
 * the scenario and model list, the request log and the routing; the flavors
 * live in fake_ollama.c and fake_openai.c, the paced streaming in
 * fake_stream.c.
 *
 *   fakellm --flavor ollama|openai|lmstudio|llamaserver --scenario FILE
 *           [--port N] [--port-file FILE] [--log FILE] [--bind ADDR]
 *
 * --port 0 (default) takes any free port; the port is written to the port
 * file (tmp + rename) once listening. --bind defaults to 127.0.0.1.
 * --log appends one compact JSON line per request, flushed at once:
 *   {"method":"POST","path":"/api/chat","authorization":"Bearer x"|null,
 *    "body":<parsed JSON, or the raw string if not JSON, or null if empty>,
 *    "conn":<the TCP connection's number, 1 for the first accepted>,
 *    "expect":<the Expect header, or null>}
 * SIGTERM/SIGINT stop it cleanly.
 *
 * Scenario (JSON object; every key optional):
 *   "models": [MODEL...]       the model list (pull, copy, delete change it)
 *   "api_key": "k"             openai/lmstudio/llamaserver: requests without
 *                              "Authorization: Bearer k" get 401
 *   "chat": REPLY | [REPLY...] the n-th chat request (any chat route, once
 *                              it passed validation) gets the n-th reply;
 *                              the last repeats. Absent: tokens ["Hello","!"]
 *   "pull": PULL | [PULL...]   likewise for /api/pull
 *   "accept_any_model": false  true: chat with any model name works
 *   "version": "0.12.3"        Ollama /api/version
 *   "version_delay_ms": 0      Ollama: /api/version answers this much later
 *   "show_delay_ms": 0         Ollama: /api/show likewise (-1: never)
 *   "models_delay_ms": 0       OpenAI flavors: /v1/models and /api/v0/models
 *                              likewise
 *   "no_stream_tools": false   OpenAI flavors: a streamed chat with tools gets
 *                              500 "Cannot use tools with stream", as older
 *                              llama-server builds answer
 *   "loading_ms": 0            llamaserver: 503 "Loading model" for this
 *                              long after start (-1: for ever)
 *   "jit": false               lmstudio: /v1/models lists unloaded models too
 *                              and chat loads them instead of failing
 * MODEL: {"name" (required), "family":"llama", "parameter_size":"3.2B",
 *   "quantization_level":"Q4_K_M", "size":2019393189, "format":"gguf",
 *   "context_length":131072, "capabilities":[...] (absent: no capability
 *   checks), "loaded":true, "modified_at":"2025-07-01T10:00:00.123456789+02:00",
 *   "digest":"<64 hex>" (default derived from the name), "type":"llm",
 *   "publisher", "owned_by"}
 * REPLY: {"thinking":[...], "tokens":[...], "repeat":1, "echo":false,
 *   "tool_calls":[{"id","name","arguments":{...}}], "delay_ms":0,
 *   "first_byte_delay_ms":0, "chunk_bytes":0, "drip_ms":0, "status":200,
 *   "error":null, "error_raw":null, "error_type", "error_code", "retry_after",
 *   "error_after":-1, "drop_after":-1, "garbage_after":-1, "garbage_hex":null,
 *   "hang":false, "hang_at_end":false,
 *   "usage":true, "prompt_tokens":14, "reply_tokens":null,
 *   "done_reason":"stop", "ping_every":0}
 * PULL: {"layers":[{"digest":"sha256:<64hex>","total":N,"cached":false}],
 *   "steps":5, "delay_ms":0, "error":null, "orphans":false, "status":200,
 *   plus the pacing keys of REPLY (drop_after counts progress lines)}
 * tests/fakes/README.md says what each key does per flavor.
 */
#include "fake.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

#define BODY_MAX (64u * 1024 * 1024)

enum fake_flavor fake_flavor = FAKE_OLLAMA;

static json_t *scenario;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;
static atomic_bool stopping;
static atomic_long n_conn; /* connections accepted */
static int64_t started_ms;
static struct fake_model **models;
static size_t nmodels;
static long n_chat, n_pull;

static const struct {
	const char *name;
	enum fake_flavor flavor;
} flavors[] = {
	{ "ollama", FAKE_OLLAMA },
	{ "openai", FAKE_OPENAI },
	{ "lmstudio", FAKE_LMSTUDIO },
	{ "llamaserver", FAKE_LLAMASERVER },
};

json_t *
fake_scenario(void)
{
	return scenario;
}

bool
fake_stopping(void)
{
	return atomic_load(&stopping);
}

int64_t
fake_started_ms(void)
{
	return started_ms;
}

void
fake_lock(void)
{
	pthread_mutex_lock(&lock);
}

void
fake_unlock(void)
{
	pthread_mutex_unlock(&lock);
}

json_t *
fake_next_reply(const char *key)
{
	json_t *v = json_object_get(scenario, key);
	long *counter = strcmp(key, "pull") == 0 ? &n_pull : &n_chat;
	long n;
	size_t len;

	fake_lock();
	n = (*counter)++;
	fake_unlock();
	if (!json_is_array(v))
		return v;
	len = json_array_size(v);
	if (len == 0)
		return NULL;
	return json_array_get(v, (size_t)n < len ? (size_t)n : len - 1);
}

int64_t
fake_int(const json_t *obj, const char *key, int64_t def)
{
	json_t *v = json_object_get(obj, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v))
		return (int64_t)json_real_value(v);
	return def;
}

const char *
fake_str(const json_t *obj, const char *key, const char *def)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : def;
}

bool
fake_bool(const json_t *obj, const char *key, bool def)
{
	json_t *v = json_object_get(obj, key);

	return json_is_boolean(v) ? json_is_true(v) : def;
}

void
fake_pace_parse(const json_t *obj, struct fake_pace *p)
{
	memset(p, 0, sizeof *p);
	p->delay_ms = (int)fake_int(obj, "delay_ms", 0);
	p->first_byte_delay_ms = (int)fake_int(obj, "first_byte_delay_ms", 0);
	p->chunk_bytes = (int)fake_int(obj, "chunk_bytes", 0);
	p->drip_ms = (int)fake_int(obj, "drip_ms", 0);
	p->ping_every = (int)fake_int(obj, "ping_every", 0);
	p->error_after = fake_int(obj, "error_after", -1);
	p->drop_after = fake_int(obj, "drop_after", -1);
	p->garbage_after = fake_int(obj, "garbage_after", -1);
	p->hang = fake_bool(obj, "hang", false);
	p->hang_at_end = fake_bool(obj, "hang_at_end", false);
	p->error = fake_str(obj, "error", NULL);
	p->garbage_hex = fake_str(obj, "garbage_hex", NULL);
}

/* Models. */

static void
model_free(struct fake_model *m)
{
	if (m == NULL)
		return;
	free(m->name);
	free(m->family);
	free(m->parameter_size);
	free(m->quantization);
	free(m->format);
	free(m->modified_at);
	free(m->digest);
	free(m->type);
	free(m->publisher);
	free(m->owned_by);
	json_decref(m->capabilities);
	free(m);
}

char *
fake_digest(const char *seed)
{
	char *d = xmalloc(65);
	uint64_t h = 1469598103934665603ull;
	const char *p;
	int i;

	for (p = seed; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	for (i = 0; i < 4; i++) {
		/* splitmix64, so similar seeds give unrelated digests */
		uint64_t z = (h += 0x9e3779b97f4a7c15ull);

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		snprintf(d + i * 16, 17, "%016llx", (unsigned long long)z);
	}
	return d;
}

struct fake_model *
fake_model_new(const char *name)
{
	struct fake_model *m = xcalloc(1, sizeof *m);
	const char *slash = strchr(name, '/');

	m->name = xstrdup(name);
	m->family = xstrdup("llama");
	m->parameter_size = xstrdup("3.2B");
	m->quantization = xstrdup("Q4_K_M");
	m->format = xstrdup("gguf");
	m->modified_at = xstrdup("2025-07-01T10:00:00.123456789+02:00");
	m->digest = fake_digest(name);
	m->type = xstrdup("llm");
	m->publisher = slash != NULL ? xstrndup(name, (size_t)(slash - name)) : xstrdup("lmstudio-community");
	m->owned_by = NULL;
	m->size = 2019393189;
	m->context_length = 131072;
	m->loaded = true;
	return m;
}

static void
set_str(char **dst, const json_t *obj, const char *key)
{
	const char *v = fake_str(obj, key, NULL);

	if (v != NULL) {
		free(*dst);
		*dst = xstrdup(v);
	}
}

static struct fake_model *
model_from_json(const json_t *o)
{
	const char *name = fake_str(o, "name", NULL);
	struct fake_model *m;
	json_t *caps;

	if (name == NULL)
		name = fake_str(o, "id", NULL);
	if (name == NULL)
		fatal("scenario: a model without a name");
	m = fake_model_new(name);
	set_str(&m->family, o, "family");
	set_str(&m->parameter_size, o, "parameter_size");
	set_str(&m->quantization, o, "quantization_level");
	set_str(&m->format, o, "format");
	set_str(&m->modified_at, o, "modified_at");
	set_str(&m->digest, o, "digest");
	set_str(&m->type, o, "type");
	set_str(&m->publisher, o, "publisher");
	set_str(&m->owned_by, o, "owned_by");
	if (util_prefix(m->digest, "sha256:"))
		memmove(m->digest, m->digest + 7, strlen(m->digest + 7) + 1);
	m->size = fake_int(o, "size", m->size);
	m->context_length = fake_int(o, "context_length", m->context_length);
	m->loaded = fake_bool(o, "loaded", true);
	caps = json_object_get(o, "capabilities");
	if (json_is_array(caps))
		m->capabilities = json_deep_copy(caps);
	return m;
}

struct fake_model *
fake_model_dup(const struct fake_model *src, const char *name)
{
	struct fake_model *m = xcalloc(1, sizeof *m);

	*m = *src;
	m->name = xstrdup(name);
	m->family = xstrdup(src->family);
	m->parameter_size = xstrdup(src->parameter_size);
	m->quantization = xstrdup(src->quantization);
	m->format = xstrdup(src->format);
	m->modified_at = xstrdup(src->modified_at);
	m->digest = xstrdup(src->digest);
	m->type = xstrdup(src->type);
	m->publisher = xstrdup(src->publisher);
	m->owned_by = src->owned_by != NULL ? xstrdup(src->owned_by) : NULL;
	m->capabilities = src->capabilities != NULL ? json_deep_copy(src->capabilities) : NULL;
	return m;
}

struct fake_model **
fake_models(size_t *n)
{
	*n = nmodels;
	return models;
}

/* Ollama-style lookup: "llama3.2" finds "llama3.2:latest". */
static bool
name_matches(const char *have, const char *want)
{
	size_t n = strlen(want);

	if (strcmp(have, want) == 0)
		return true;
	return strchr(want, ':') == NULL && strncmp(have, want, n) == 0 &&
	    strcmp(have + n, ":latest") == 0;
}

struct fake_model *
fake_model_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < nmodels; i++) {
		if (name_matches(models[i]->name, name))
			return models[i];
	}
	return NULL;
}

void
fake_model_add(struct fake_model *m)
{
	size_t i;

	for (i = 0; i < nmodels; i++) {
		if (strcmp(models[i]->name, m->name) == 0) {
			model_free(models[i]);
			models[i] = m;
			return;
		}
	}
	models = xreallocarray(models, nmodels + 1, sizeof *models);
	models[nmodels++] = m;
}

bool
fake_model_remove(const char *name)
{
	size_t i;

	for (i = 0; i < nmodels; i++) {
		if (name_matches(models[i]->name, name)) {
			model_free(models[i]);
			memmove(models + i, models + i + 1, (nmodels - i - 1) * sizeof *models);
			nmodels--;
			return true;
		}
	}
	return false;
}

bool
fake_model_can(const struct fake_model *m, const char *capability)
{
	size_t i;
	json_t *v;

	if (m == NULL || m->capabilities == NULL)
		return true;
	json_array_foreach(m->capabilities, i, v)
	{
		if (util_streq(json_string_value(v), capability))
			return true;
	}
	return false;
}

/* JSON output. */

/*
 * Jansson writes compact JSON much as Go does, except that Go also escapes
 * <, > and & (and U+2028/U+2029) and writes \u escapes in lower case.
 */
static char *
go_escape(char *s)
{
	struct buf b = { 0 };
	const char *p;

	for (p = s; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c == '\\' && p[1] == 'u' && strlen(p) >= 6) {
			int i;

			buf_append(&b, "\\u", 2);
			for (i = 2; i < 6; i++)
				buf_putc(&b, (char)(p[i] >= 'A' && p[i] <= 'F' ? p[i] + 32 : p[i]));
			p += 5;
		} else if (c == '\\' && p[1] != '\0') {
			buf_append(&b, p, 2);
			p++;
		} else if (c == '<') {
			buf_puts(&b, "\\u003c");
		} else if (c == '>') {
			buf_puts(&b, "\\u003e");
		} else if (c == '&') {
			buf_puts(&b, "\\u0026");
		} else if (c == 0xe2 && (unsigned char)p[1] == 0x80 &&
		    ((unsigned char)p[2] == 0xa8 || (unsigned char)p[2] == 0xa9)) {
			buf_puts(&b, (unsigned char)p[2] == 0xa8 ? "\\u2028" : "\\u2029");
			p += 2;
		} else {
			buf_putc(&b, (char)c);
		}
	}
	free(s);
	if (b.data == NULL)
		return xstrdup("");
	return buf_steal(&b);
}

char *
fake_json_dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15));

	if (s == NULL)
		fatal("cannot encode JSON");
	if (fake_flavor == FAKE_OLLAMA)
		s = go_escape(s);
	return s;
}

char *
fake_json_quote(const char *s)
{
	json_t *j = json_string(s);
	char *out;

	if (j == NULL) /* not UTF-8: keep what can be kept */
		j = json_string("\xef\xbf\xbd");
	out = fake_json_dump(j);
	json_decref(j);
	return out;
}

void
fake_now_rfc3339(char *dst, size_t len)
{
	struct timespec ts;
	struct tm tm;
	char date[32], frac[16];
	int n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	/* Go's RFC3339Nano drops trailing zeros of the fraction. */
	snprintf(frac, sizeof frac, ".%09ld", ts.tv_nsec);
	n = (int)strlen(frac);
	while (n > 1 && frac[n - 1] == '0')
		frac[--n] = '\0';
	if (n == 1)
		frac[0] = '\0';
	snprintf(dst, len, "%s%sZ", date, frac);
}

/* Responses. */

enum MHD_Result
fake_respond(struct fake_req *req, unsigned status, const char *ctype,
    const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	if (ctype != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	ret = MHD_queue_response(req->conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

enum MHD_Result
fake_respond_json(struct fake_req *req, unsigned status, const char *ctype,
    json_t *j)
{
	char *s = fake_json_dump(j);
	enum MHD_Result ret;

	json_decref(j);
	/* Go's json.Encoder and most servers end the body with a newline only
	 * when streaming; gin's c.JSON does not add one. */
	ret = fake_respond(req, status, ctype, s, strlen(s));
	free(s);
	return ret;
}

bool
fake_sleep(struct MHD_Connection *conn, int ms)
{
	const union MHD_ConnectionInfo *ci = NULL;
	int64_t end = util_now_ms() + ms;
	int fd = -1;

	if (conn != NULL)
		ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL)
		fd = ci->connect_fd;
	for (;;) {
		int64_t left = ms < 0 ? 50 : end - util_now_ms();
		int slice = left > 50 ? 50 : (int)left;
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLRDHUP };

		if (fake_stopping())
			return false;
		if (ms >= 0 && left <= 0)
			return true;
		if (fd < 0) {
			struct timespec ts = { 0, slice * 1000000L };

			nanosleep(&ts, NULL);
			continue;
		}
		if (poll(&pfd, 1, slice) > 0) {
			char c;
			ssize_t n;

			if (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))
				return false;
			n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
			if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
				return false;
			/* a pipelined request waits: don't spin on it */
			struct timespec ts = { 0, slice * 1000000L };

			nanosleep(&ts, NULL);
		}
	}
}

/* The request log. */

static void
log_request(struct fake_req *req)
{
	const union MHD_ConnectionInfo *ci;
	json_t *line, *body;
	const char *expect;
	char *s;

	if (log_file == NULL)
		return;
	ci = MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	expect = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
	if (req->json != NULL)
		body = json_incref(req->json);
	else if (req->body.len == 0)
		body = json_null();
	else if ((body = json_stringn(req->body.data, req->body.len)) == NULL) {
		/* not UTF-8: log it with the bad bytes replaced */
		char *copy = xstrndup(req->body.data, req->body.len);
		size_t i;

		for (i = 0; copy[i] != '\0'; i++) {
			if ((unsigned char)copy[i] >= 0x80)
				copy[i] = '?';
		}
		body = json_string(copy);
		free(copy);
	}
	line = json_pack("{s:s, s:s, s:o, s:o, s:I, s:o}", "method", req->method,
	    "path", req->path,
	    "authorization", req->auth != NULL ? json_string(req->auth) : json_null(),
	    "body", body != NULL ? body : json_null(),
	    "conn", (json_int_t)(ci != NULL ? (intptr_t)ci->socket_context : 0),
	    "expect", expect != NULL ? json_string(expect) : json_null());
	s = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
	pthread_mutex_lock(&log_lock);
	fprintf(log_file, "%s\n", s);
	fflush(log_file);
	pthread_mutex_unlock(&log_lock);
	free(s);
	json_decref(line);
}

/* MHD glue. */

static enum MHD_Result
route(struct fake_req *req)
{
	if (fake_flavor == FAKE_OLLAMA)
		return fake_ollama_route(req);
	return fake_openai_route(req);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **con_cls)
{
	struct fake_req *req = *con_cls;

	(void)cls;
	(void)version;
	if (req == NULL) {
		req = xcalloc(1, sizeof *req);
		req->conn = conn;
		*con_cls = req;
		return MHD_YES;
	}
	if (*upload_size != 0) {
		if (req->body.len + *upload_size > BODY_MAX)
			return MHD_NO;
		buf_append(&req->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	req->method = method;
	req->path = url;
	req->auth = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	if (req->body.len > 0)
		req->json = json_loadb(req->body.data, req->body.len, JSON_DECODE_ANY, NULL);
	log_request(req);
	return route(req);
}

/* Number each connection, so the log shows which requests shared one. */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	(void)cls;
	(void)conn;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		*socket_context = (void *)(intptr_t)(atomic_fetch_add(&n_conn, 1) + 1);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode code)
{
	struct fake_req *req = *con_cls;

	(void)cls;
	(void)conn;
	(void)code;
	if (req == NULL)
		return;
	buf_free(&req->body);
	json_decref(req->json);
	free(req);
	*con_cls = NULL;
}

/* Setup. */

static void
load_scenario(const char *path)
{
	char *cause = NULL, *text;
	size_t len, i;
	json_error_t err;
	json_t *list, *m;

	text = util_read_file(path, &len, BODY_MAX, &cause);
	if (text == NULL)
		fatal("%s: %s", path, cause);
	scenario = json_loadb(text, len, 0, &err);
	free(text);
	if (!json_is_object(scenario))
		fatal("%s:%d: %s", path, err.line, scenario == NULL ? err.text : "not an object");
	list = json_object_get(scenario, "models");
	json_array_foreach(list, i, m)
	{
		fake_model_add(model_from_json(m));
	}
}

static void
write_port_file(const char *path, unsigned port)
{
	char *tmp = xasprintf("%s.tmp", path);
	FILE *f = fopen(tmp, "w");

	if (f == NULL || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0)
		fatal("%s: %s", tmp, strerror(errno));
	if (rename(tmp, path) != 0)
		fatal("%s: %s", path, strerror(errno));
	free(tmp);
}

static void
usage(void)
{
	fprintf(stderr, "usage: fakellm --flavor ollama|openai|lmstudio|llamaserver "
	                "--scenario FILE [--port N] [--port-file FILE] [--log FILE] "
	                "[--bind ADDR]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "flavor", required_argument, NULL, 'f' },
		{ "scenario", required_argument, NULL, 's' },
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "log", required_argument, NULL, 'l' },
		{ "bind", required_argument, NULL, 'b' },
		{ NULL, 0, NULL, 0 },
	};
	const char *flavor = NULL, *scen = NULL, *port_file = NULL, *log_path = NULL;
	const char *bind_addr = "127.0.0.1";
	unsigned port = 0, flags;
	struct sockaddr_storage ss;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	sigset_t set;
	size_t i;
	int c, sig;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			flavor = optarg;
			break;
		case 's':
			scen = optarg;
			break;
		case 'p':
			port = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 'P':
			port_file = optarg;
			break;
		case 'l':
			log_path = optarg;
			break;
		case 'b':
			bind_addr = optarg;
			break;
		default:
			usage();
		}
	}
	if (flavor == NULL || scen == NULL || optind != argc)
		usage();
	for (i = 0; i < sizeof flavors / sizeof flavors[0]; i++) {
		if (strcmp(flavor, flavors[i].name) == 0)
			break;
	}
	if (i == sizeof flavors / sizeof flavors[0])
		usage();
	fake_flavor = flavors[i].flavor;
	load_scenario(scen);
	if (log_path != NULL && (log_file = fopen(log_path, "a")) == NULL)
		fatal("%s: %s", log_path, strerror(errno));

	memset(&ss, 0, sizeof ss);
	flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
	if (strchr(bind_addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		if (inet_pton(AF_INET6, bind_addr, &s6->sin6_addr) != 1)
			fatal("bad --bind address %s", bind_addr);
		flags |= MHD_USE_IPv6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		if (inet_pton(AF_INET, bind_addr, &s4->sin_addr) != 1)
			fatal("bad --bind address %s", bind_addr);
	}

	/* Threads MHD starts inherit this mask: only main takes the signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	started_ms = util_now_ms();
	d = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, NULL,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024,
	    MHD_OPTION_END);
	if (d == NULL)
		fatal("cannot listen on %s port %u", bind_addr, port);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	if (info == NULL)
		fatal("cannot learn the port");
	if (port_file != NULL)
		write_port_file(port_file, info->port);

	sigwait(&set, &sig);
	atomic_store(&stopping, true);
	MHD_stop_daemon(d);

	for (i = 0; i < nmodels; i++)
		model_free(models[i]);
	free(models);
	json_decref(scenario);
	if (log_file != NULL)
		fclose(log_file);
	return 0;
}

json_t *
fake_embedding(const char *text, int64_t dims)
{
	json_t *v = json_array();
	char *hex = fake_digest(text);

	if (dims <= 0 || dims > 8)
		dims = 4;
	/* the input's length first, so a test can tell the inputs apart */
	json_array_append_new(v, json_real((double)strlen(text)));
	for (int64_t i = 1; i < dims; i++)
		json_array_append_new(v, json_real((double)util_hexval(hex[i]) / 16.0));
	free(hex);
	return v;
}
