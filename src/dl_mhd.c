/*
 * dl_mhd.c: the libmicrohttpd functions the listener calls, opened on
 * first use (see dl.h): only --listen and parley serve load the library.
 */
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>

#include "dl.h"

#ifndef PARLEY_MHD_SONAME
#define PARLEY_MHD_SONAME "libmicrohttpd.so.12"
#endif

static struct {
	enum MHD_Result (*add_response_header)(struct MHD_Response *, const char *, const char *);
	struct MHD_Response *(*create_response_from_buffer)(size_t, void *, enum MHD_ResponseMemoryMode);
	struct MHD_Response *(*create_response_from_callback)(
	    uint64_t, size_t, MHD_ContentReaderCallback, void *, MHD_ContentReaderFreeCallback);
	void (*destroy_response)(struct MHD_Response *);
	const union MHD_ConnectionInfo *(*get_connection_info)(struct MHD_Connection *, enum MHD_ConnectionInfoType, ...);
	const union MHD_DaemonInfo *(*get_daemon_info)(struct MHD_Daemon *, enum MHD_DaemonInfoType, ...);
	enum MHD_Result (*get_timeout)(struct MHD_Daemon *, MHD_UNSIGNED_LONG_LONG *);
	const char *(*lookup_connection_value)(struct MHD_Connection *, enum MHD_ValueKind, const char *);
	enum MHD_Result (*queue_response)(struct MHD_Connection *, unsigned int, struct MHD_Response *);
	void (*resume_connection)(struct MHD_Connection *);
	enum MHD_Result (*run)(struct MHD_Daemon *);
	struct MHD_Daemon *(*start_daemon_va)(
	    unsigned int, uint16_t, MHD_AcceptPolicyCallback, void *, MHD_AccessHandlerCallback, void *, va_list);
	void (*stop_daemon)(struct MHD_Daemon *);
	void (*suspend_connection)(struct MHD_Connection *);
} mhd;

static const char *const dl_mhd_names[] = {
	"MHD_add_response_header",
	"MHD_create_response_from_buffer",
	"MHD_create_response_from_callback",
	"MHD_destroy_response",
	"MHD_get_connection_info",
	"MHD_get_daemon_info",
	"MHD_get_timeout",
	"MHD_lookup_connection_value",
	"MHD_queue_response",
	"MHD_resume_connection",
	"MHD_run",
	"MHD_start_daemon_va",
	"MHD_stop_daemon",
	"MHD_suspend_connection",
};

_Static_assert(sizeof mhd == sizeof dl_mhd_names / sizeof dl_mhd_names[0] * sizeof(void *),
    "one name per function pointer");

static pthread_once_t dl_mhd_once = PTHREAD_ONCE_INIT;

static void
dl_mhd_open(void)
{
	dl_resolve(PARLEY_MHD_SONAME, dl_mhd_names, sizeof dl_mhd_names / sizeof dl_mhd_names[0], &mhd);
}

#define DL_MHD() pthread_once(&dl_mhd_once, dl_mhd_open)

struct MHD_Daemon *
MHD_start_daemon(unsigned int flags, uint16_t port, MHD_AcceptPolicyCallback apc, void *apc_cls,
    MHD_AccessHandlerCallback dh, void *dh_cls, ...)
{
	struct MHD_Daemon *d;
	va_list ap;

	DL_MHD();
	va_start(ap, dh_cls);
	d = mhd.start_daemon_va(flags, port, apc, apc_cls, dh, dh_cls, ap);
	va_end(ap);
	return d;
}

/* The connection and daemon facts parley asks for take no argument. */
const union MHD_ConnectionInfo *
MHD_get_connection_info(struct MHD_Connection *c, enum MHD_ConnectionInfoType type, ...)
{
	DL_MHD();
	return mhd.get_connection_info(c, type);
}

const union MHD_DaemonInfo *
MHD_get_daemon_info(struct MHD_Daemon *d, enum MHD_DaemonInfoType type, ...)
{
	DL_MHD();
	return mhd.get_daemon_info(d, type);
}

enum MHD_Result
MHD_add_response_header(struct MHD_Response *r, const char *header, const char *content)
{
	DL_MHD();
	return mhd.add_response_header(r, header, content);
}

struct MHD_Response *
MHD_create_response_from_buffer(size_t size, void *buffer, enum MHD_ResponseMemoryMode mode)
{
	DL_MHD();
	return mhd.create_response_from_buffer(size, buffer, mode);
}

struct MHD_Response *
MHD_create_response_from_callback(
    uint64_t size, size_t block_size, MHD_ContentReaderCallback crc, void *crc_cls, MHD_ContentReaderFreeCallback crfc)
{
	DL_MHD();
	return mhd.create_response_from_callback(size, block_size, crc, crc_cls, crfc);
}

void
MHD_destroy_response(struct MHD_Response *r)
{
	DL_MHD();
	mhd.destroy_response(r);
}

enum MHD_Result
MHD_get_timeout(struct MHD_Daemon *d, MHD_UNSIGNED_LONG_LONG *timeout)
{
	DL_MHD();
	return mhd.get_timeout(d, timeout);
}

const char *
MHD_lookup_connection_value(struct MHD_Connection *c, enum MHD_ValueKind kind, const char *key)
{
	DL_MHD();
	return mhd.lookup_connection_value(c, kind, key);
}

enum MHD_Result
MHD_queue_response(struct MHD_Connection *c, unsigned int status, struct MHD_Response *r)
{
	DL_MHD();
	return mhd.queue_response(c, status, r);
}

void
MHD_resume_connection(struct MHD_Connection *c)
{
	DL_MHD();
	mhd.resume_connection(c);
}

enum MHD_Result
MHD_run(struct MHD_Daemon *d)
{
	DL_MHD();
	return mhd.run(d);
}

void
MHD_stop_daemon(struct MHD_Daemon *d)
{
	DL_MHD();
	mhd.stop_daemon(d);
}

void
MHD_suspend_connection(struct MHD_Connection *c)
{
	DL_MHD();
	mhd.suspend_connection(c);
}
